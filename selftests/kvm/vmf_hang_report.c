// SPDX-License-Identifier: GPL-2.0
/*
 * pv_hang_report() (pv_vcpu.h): what a KVM test that timed out says of
 * its vCPUs when scripts/vm-run-tests.sh sends it SIGUSR2. The runner
 * replays such a test under TCG only if a vCPU was outside the guest's
 * code, so both answers must be right.
 *
 * Two vCPUs halt with interrupts off, so that only a signal gets their
 * threads out of KVM_RUN: one in the test's own code, where all guest
 * code is, one in a page of guest memory outside it. The test sends
 * SIGUSR2 to its own process, as the runner does, and reads what its
 * threads print on stderr: each line must name its vCPU, mp_state 3
 * (halted) and where the vCPU is.
 */
#include <poll.h>

#include "pv_vcpu.h"
#include "vmf_common.h"

#define NR_VCPUS	2
#define REPORT_WAIT_MS	30000

/* cli; hlt; jmp back to the hlt: a halt that nothing but a signal ends. */
static const uint8_t halt_forever[] = { 0xfa, 0xf4, 0xeb, 0xfd };

static void guest_halt(void)
{
	for (;;)
		asm volatile("cli; hlt");
}

/* Read stderr's pipe until it holds n report lines, or give up. */
static void read_reports(int fd, char *buf, size_t size, int n)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t len = 0;
	ssize_t r;
	char *p;
	int lines;

	buf[0] = '\0';
	for (;;) {
		for (lines = 0, p = buf; (p = strstr(p, "hung: vCPU")); p++)
			lines++;
		if (lines >= n || len + 1 >= size || poll(&pfd, 1, REPORT_WAIT_MS) <= 0)
			return;
		r = read(fd, buf + len, size - len - 1);
		if (r <= 0)
			return;
		len += r;
		buf[len] = '\0';
	}
}

static bool report_says(const char *buf, int id, const char *where)
{
	char want[64];
	const char *line;

	snprintf(want, sizeof(want), "hung: vCPU %d at RIP ", id);
	line = strstr(buf, want);
	if (!line)
		return false;
	return strstr(line, ", mp_state 3, ") && strstr(line, where) &&
	       strstr(line, where) < strchrnul(line, '\n');
}

int main(int argc, char *argv[])
{
	struct vcpu_thread t[NR_VCPUS];
	struct kvm_vcpu *vcpu[NR_VCPUS];
	struct kvm_regs regs;
	struct kvm_vm *vm;
	vm_vaddr_t page;
	int pipefd[2], stats[NR_VCPUS], saved, i;
	char buf[1024];

	ksft_print_header();
	ksft_set_plan(2);

	vm = vm_create_with_vcpus(NR_VCPUS, guest_halt, vcpu);
	page = vm_vaddr_alloc_page(vm);
	memcpy(addr_gva2hva(vm, page), halt_forever, sizeof(halt_forever));
	vcpu_regs_get(vcpu[1], &regs);
	regs.rip = page;
	vcpu_regs_set(vcpu[1], &regs);

	for (i = 0; i < NR_VCPUS; i++) {
		stats[i] = vcpu_get_stats_fd(vcpu[i]);
		vcpu_thread_start(&t[i], vcpu[i], -1);
	}
	for (i = 0; i < NR_VCPUS; i++)
		while (!read_vcpu_stat_fd(stats[i], "halt_exits"))
			vmf_sleep_ns(VMF_NSEC_PER_MSEC);

	TEST_ASSERT(!pipe(pipefd), "pipe");
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	TEST_ASSERT(saved >= 0 && dup2(pipefd[1], STDERR_FILENO) == STDERR_FILENO, "dup2");
	TEST_ASSERT(!kill(getpid(), SIGUSR2), "kill");
	read_reports(pipefd[0], buf, sizeof(buf), NR_VCPUS);
	dup2(saved, STDERR_FILENO);
	ksft_print_msg("the vCPU threads said:\n%s", buf);

	ksft_test_result(report_says(buf, 0, "in the guest's code"),
			 "a vCPU halted in the test's code: halted, in the guest's code\n");
	ksft_test_result(report_says(buf, 1, "outside the guest's code"),
			 "a vCPU halted in other guest memory: halted, outside the guest's code\n");
	/* The vCPUs halt for good; exiting ends their threads. */
	ksft_finished();
}
