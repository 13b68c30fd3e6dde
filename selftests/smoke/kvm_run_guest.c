// SPDX-License-Identifier: GPL-2.0
/*
 * KVM works inside the test VM: create a VM with one vCPU, run a few
 * real-mode instructions that compute a value and hand it out through a
 * port write, and check the value and the exits that KVM reports.
 *
 * This is the raw KVM API on purpose: the smoke test must not depend on
 * the selftests' kvm_util library, which later tests build on.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest.h"

#define GUEST_MEM	0x10000
#define GUEST_ENTRY	0x1000
#define RESULT_PORT	0x10

/* Sum 1..100 in a loop, write it to RESULT_PORT, halt. */
static const uint8_t guest_code[] = {
	0x31, 0xc0,		/* xor  %ax, %ax        */
	0xb9, 0x64, 0x00,	/* mov  $100, %cx       */
	0x01, 0xc8,		/* 1: add %cx, %ax      */
	0xe2, 0xfc,		/* loop 1b              */
	0xba, RESULT_PORT, 0x00,	/* mov $port, %dx */
	0xef,			/* out  %ax, (%dx)      */
	0xf4,			/* hlt                  */
};

int main(void)
{
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	int kvm, vm, vcpu, mmap_size;
	int io_exits = 0;
	uint16_t result = 0;
	uint8_t *mem;

	ksft_print_header();
	ksft_set_plan(3);

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		ksft_exit_skip("/dev/kvm: %s\n", strerror(errno));
	if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		ksft_exit_fail_msg("unexpected KVM API version\n");

	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		ksft_exit_fail_msg("KVM_CREATE_VM: %s\n", strerror(errno));
	ksft_test_result_pass("KVM_CREATE_VM\n");

	mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	memcpy(mem + GUEST_ENTRY, guest_code, sizeof(guest_code));

	region = (struct kvm_userspace_memory_region) {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = GUEST_MEM,
		.userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region))
		ksft_exit_fail_msg("KVM_SET_USER_MEMORY_REGION: %s\n", strerror(errno));

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		ksft_exit_fail_msg("KVM_CREATE_VCPU: %s\n", strerror(errno));
	mmap_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	run = mmap(NULL, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		ksft_exit_fail_msg("mmap kvm_run: %s\n", strerror(errno));

	if (ioctl(vcpu, KVM_GET_SREGS, &sregs))
		ksft_exit_fail_msg("KVM_GET_SREGS: %s\n", strerror(errno));
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs))
		ksft_exit_fail_msg("KVM_SET_SREGS: %s\n", strerror(errno));
	memset(&regs, 0, sizeof(regs));
	regs.rip = GUEST_ENTRY;
	regs.rflags = 0x2;
	if (ioctl(vcpu, KVM_SET_REGS, &regs))
		ksft_exit_fail_msg("KVM_SET_REGS: %s\n", strerror(errno));

	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0))
			ksft_exit_fail_msg("KVM_RUN: %s\n", strerror(errno));
		if (run->exit_reason == KVM_EXIT_HLT)
			break;
		if (run->exit_reason != KVM_EXIT_IO ||
		    run->io.direction != KVM_EXIT_IO_OUT ||
		    run->io.port != RESULT_PORT || run->io.size != 2)
			ksft_exit_fail_msg("unexpected exit reason %u\n", run->exit_reason);
		memcpy(&result, (uint8_t *)run + run->io.data_offset, 2);
		io_exits++;
	}
	ksft_test_result(io_exits == 1, "one port-I/O exit (%d)\n", io_exits);
	ksft_test_result(result == 5050, "guest computed 5050 (got %u)\n", result);

	close(vcpu);
	close(vm);
	close(kvm);
	ksft_finished();
}
