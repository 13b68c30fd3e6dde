/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the error tests of the v2 hypercalls (pv_ipi_v2_errors_test.c,
 * pv_tlb_v2_errors_test.c) share, on top of pv_ipi_v2.h's VM: the sender at
 * APIC ID 0 and two targets at 1 and 100 (banks 0 and 1); a table of calls
 * that the host writes into the guest before the sender runs, with a name
 * and an expected return for each; the vCPU sets the calls read, in a
 * memslot of their own and at the ends of more memslots; the kvm module
 * parameter that turns the hypercall and its CPUID bit off; the sender
 * under KVM_CAP_ENFORCE_PV_FEATURE_CPUID; and a VM without an in-kernel
 * LAPIC, in which the MSR tests (pv_timer_errors_test.c) can also take a
 * #GP with the library's *_safe() accessors.
 */
#ifndef PV_ERRORS_H
#define PV_ERRORS_H

#include <stdarg.h>

#include "pv_ipi_v2.h"

#define ERRS_NR_VCPUS		3
#define ERRS_MAX_CASES		160

/* The register form of the two targets: IDs 1 and 64 + 36 from base 0. */
#define ERRS_LO			BIT_ULL(1)
#define ERRS_HI			BIT_ULL(36)

/*
 * The sets, written by errs_write_sets(). In a region of their own: the
 * two targets' set, and copies of it 1, 4 and 7 bytes past 8-byte
 * alignment; an empty set; a set of all 256 banks naming the targets, ID 5
 * and every ID from 128, which name no vCPU. Each tail slot, one page,
 * ends inside a set: after the targets' bank mask, in the middle of it, or
 * after 126 of the 256 banks.
 */
#define ERRS_RGN_GPA		0x40000000ULL
#define ERRS_RGN_SLOT		1
#define ERRS_RGN_PAGES		2
#define ERRS_RGN_END		(ERRS_RGN_GPA + ERRS_RGN_PAGES * PV_PAGE_SIZE)
#define ERRS_SET		ERRS_RGN_GPA
#define ERRS_SET_SIZE		48	/* two banks */
#define ERRS_MISALIGNED(k)	(ERRS_RGN_GPA + 0x100 + 0x101 * (k))
#define ERRS_EMPTY		(ERRS_RGN_GPA + 0xa00)	/* 32 bytes */
#define ERRS_FULL		(ERRS_RGN_GPA + 0xc00)
#define ERRS_FULL_SIZE		(32 + 8 * KVM_PV_VCPU_SET_BANKS)
#define ERRS_TAIL_SLOT		2	/* ERRS_TAIL_SLOT + 0, 1, 2 */
#define ERRS_TAIL_END(k)	(ERRS_RGN_GPA + ((k) + 1) * 0x100000ULL + PV_PAGE_SIZE)
#define ERRS_MASK_AT_END	(ERRS_TAIL_END(0) - 32)	/* banks past the memslot */
#define ERRS_MASK_ACROSS_END	(ERRS_TAIL_END(1) - 16)
#define ERRS_FULL_CUT		(ERRS_TAIL_END(2) - 32 - 126 * 8)

static const uint32_t errs_apic_ids[ERRS_NR_VCPUS] = { 0, 1, 100 };

/* A call of the table: a0-a3. */
struct errs_call {
	uint64_t a[4];
};

/* Written by the host before the sender runs. */
static struct errs_call errs_calls[ERRS_MAX_CASES];
static uint64_t errs_nr_calls;

/* Guest side. */

/* Make call i of the table with hypercall nr. */
static __always_inline uint64_t errs_hypercall(uint64_t nr, uint64_t i)
{
	const uint64_t *a = errs_calls[i].a;

	return pv_hypercall(nr, a[0], a[1], a[2], a[3]);
}

/* KVM_HC_SEND_IPI, the upstream call, of vector to both targets. */
static inline uint64_t errs_fence(uint64_t vector)
{
	return pv_hypercall(KVM_HC_SEND_IPI, ERRS_LO, ERRS_HI, 0, APIC_DM_FIXED | vector);
}

/* Host side. */

struct errs_case {
	char name[120];
	int64_t expect;
	int effect;		/* what the call must do, in its test's terms */
	bool param_off;		/* made with the module parameter at N */
};

static struct errs_case errs_cases[ERRS_MAX_CASES];
static struct errs_call errs_host_calls[ERRS_MAX_CASES];
static int errs_nr;

/* Add a call to the table; it must return expect. */
static inline __printf(7, 8) void errs_add(int64_t expect, int effect, uint64_t a0, uint64_t a1,
					   uint64_t a2, uint64_t a3, const char *fmt, ...)
{
	struct errs_case *c;
	va_list ap;

	TEST_ASSERT(errs_nr < ERRS_MAX_CASES, "too many calls");
	c = &errs_cases[errs_nr];
	errs_host_calls[errs_nr] = (struct errs_call){ .a = { a0, a1, a2, a3 } };
	c->expect = expect;
	c->effect = effect;
	c->param_off = false;
	va_start(ap, fmt);
	vsnprintf(c->name, sizeof(c->name), fmt, ap);
	va_end(ap);
	errs_nr++;
}

/*
 * Give the guest the table, start the targets' threads with start, and
 * run the sender to its stage ready, once both targets are up.
 */
static inline void errs_start(struct pv_vm *p, void (*start)(struct pv_vm *p), int64_t ready)
{
	struct ucall uc;

	memcpy(addr_gva2hva(p->vm, (vm_vaddr_t)errs_calls), errs_host_calls,
	       errs_nr * sizeof(errs_host_calls[0]));
	*(uint64_t *)addr_gva2hva(p->vm, (vm_vaddr_t)&errs_nr_calls) = errs_nr;
	start(p);
	pv_sender_to(p, &uc, ready);
	pv_wait_ready(p);
}

static inline void errs_write_sets(struct kvm_vm *vm)
{
	static const uint64_t targets[] = { 1, 100 };
	struct kvm_pv_vcpu_set *set;
	uint64_t gpa;
	void *rgn;
	int i, k;

	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, ERRS_RGN_GPA, ERRS_RGN_SLOT,
				    ERRS_RGN_PAGES, 0);
	rgn = addr_gpa2hva(vm, ERRS_RGN_GPA);
	TEST_ASSERT(pv_set_build(rgn, targets, 2) == ERRS_SET_SIZE, "set size");
	for (k = 1; k <= 7; k += 3)
		memcpy(addr_gpa2hva(vm, ERRS_MISALIGNED(k)), rgn, ERRS_SET_SIZE);
	memset(addr_gpa2hva(vm, ERRS_EMPTY), 0, 32);
	set = addr_gpa2hva(vm, ERRS_FULL);
	memset(set->bank_mask, 0xff, sizeof(set->bank_mask));
	for (i = 0; i < KVM_PV_VCPU_SET_BANKS; i++)
		set->banks[i] = ~0ULL;
	set->banks[0] = BIT_ULL(1) | BIT_ULL(5);
	set->banks[1] = BIT_ULL(36) | BIT_ULL(63);

	for (k = 0; k < 3; k++) {
		gpa = ERRS_TAIL_END(k) - PV_PAGE_SIZE;
		vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, gpa, ERRS_TAIL_SLOT + k,
					    1, 0);
	}
	memcpy(addr_gpa2hva(vm, ERRS_MASK_AT_END), rgn, 32);
	memcpy(addr_gpa2hva(vm, ERRS_MASK_ACROSS_END), rgn, 16);
	memcpy(addr_gpa2hva(vm, ERRS_FULL_CUT), set, 32 + 126 * 8);
}

/*
 * A VM of errs_apic_ids, vCPU 0 running sender_code, with the sets, and an
 * empty table.
 */
static inline void errs_vm_create(struct pv_vm *p, void *sender_code, void *receiver_code)
{
	pv_vm_create(p, errs_apic_ids, ERRS_NR_VCPUS, sender_code, receiver_code);
	errs_write_sets(p->vm);
	errs_nr = 0;
}

/* Add what a call or fence delivers to each target to what it must take. */
static inline void errs_expect_targets(struct pv_vm *p, int vector)
{
	p->expect[1][vector]++;
	p->expect[2][vector]++;
}

/* A vCPU under KVM_CAP_ENFORCE_PV_FEATURE_CPUID, with or without feature. */
static inline void errs_enforce_vcpu(struct kvm_vcpu *vcpu, struct kvm_x86_cpu_feature feature,
				     bool on)
{
	vcpu_enable_cap(vcpu, KVM_CAP_ENFORCE_PV_FEATURE_CPUID, 1);
	if (on)
		vcpu_set_cpuid_feature(vcpu, feature);
	else
		vcpu_clear_cpuid_feature(vcpu, feature);
}

/* The sender under KVM_CAP_ENFORCE_PV_FEATURE_CPUID, with or without feature. */
static inline void errs_enforce(struct pv_vm *p, struct kvm_x86_cpu_feature feature, bool on)
{
	errs_enforce_vcpu(p->vcpu[0], feature, on);
}

/*
 * The kvm module parameter that turns the hypercall off, and takes its
 * CPUID bit out of KVM_GET_SUPPORTED_CPUID; it is put back at exit.
 */
static const char *errs_param, *errs_param_name;

/* Read the parameter at path into val; can the test write it? */
static inline bool errs_param_probe(const char *path, char *val, size_t size)
{
	int ret = pv_param_read(path, val, size);

	if (ret)
		ksft_exit_fail_msg("reading %s: %s\n", path, strerror(-ret));
	errs_param = path;
	errs_param_name = strrchr(path, '/') + 1;
	return !geteuid() && !access(path, W_OK);
}

static inline void errs_param_set(bool on)
{
	TEST_ASSERT(!pv_param_set(errs_param, on), "setting %s %s", errs_param_name,
		    on ? "back to Y" : "to N");
}

/*
 * Three TAP lines: the parameter is Y (val) and KVM_GET_SUPPORTED_CPUID
 * reports the CPUID bit; if the parameter can be written, the bit goes at
 * N and comes back at Y.
 */
static inline void errs_test_param_cpuid(const char *val, bool writable, unsigned int bit)
{
	const char *name = errs_param_name;

	ksft_test_result(!strcmp(val, "Y") && pv_feature_supported_now(bit),
			 "%s=%s, KVM_GET_SUPPORTED_CPUID reports bit %u\n", name, val, bit);
	if (!writable) {
		ksft_test_result_skip("%s=N: %s is not writable\n", name, errs_param);
		ksft_test_result_skip("%s=Y again: %s is not writable\n", name, errs_param);
		return;
	}
	errs_param_set(false);
	ksft_test_result(!pv_feature_supported_now(bit),
			 "%s=N: KVM_GET_SUPPORTED_CPUID does not report bit %u\n", name, bit);
	errs_param_set(true);
	ksft_test_result(pv_feature_supported_now(bit),
			 "%s=Y again: KVM_GET_SUPPORTED_CPUID reports bit %u\n", name, bit);
}

/*
 * Let the guest of a VM from pv_vm_create_nolapic() take exceptions, so
 * that wrmsr_safe() and rdmsr_safe() report a #GP instead of a triple
 * fault. The library fills its descriptor tables in a static function
 * that also makes the irqchip, so this writes what an exception needs: the
 * code segment the vCPU runs in (KERNEL_CS, 0x8, of lib/x86_64/processor.c;
 * SS is null, which IRETQ takes at CPL 0) and an interrupt gate to the
 * library's stub for each vector. exception_handlers stays 0, so the stub
 * goes straight to the *_safe() fixup.
 */
static inline void errs_nolapic_idt(struct kvm_vm *vm)
{
	extern void *idt_handlers;
	struct idt_entry *idt = addr_gva2hva(vm, vm->arch.idt);
	uint64_t *gdt = addr_gva2hva(vm, vm->arch.gdt);
	unsigned long addr;
	int i;

	gdt[1] = 0x00af9b000000ffffULL;		/* 64-bit code, DPL 0, present */
	for (i = 0; i < PV_NR_VECTORS; i++) {
		addr = (unsigned long)(&idt_handlers)[i];
		idt[i] = (struct idt_entry){
			.offset0 = addr, .selector = 0x8, .type = 14, .p = 1,
			.offset1 = addr >> 16, .offset2 = addr >> 32,
		};
	}
}

/* For the VM without a LAPIC: a set of vCPU 0 alone, an empty set 64 bytes on. */
static uint64_t errs_nolapic_set_gpa;

/*
 * Run guest_code in a VM without an in-kernel LAPIC
 * (pv_vm_create_nolapic()). It makes three calls, named by what[], and
 * reports their returns with GUEST_SYNC_ARGS(stage, ret0, ret1, ret2, 0);
 * each must be -KVM_EOPNOTSUPP: three TAP lines.
 */
static inline void errs_test_no_lapic(void *guest_code, int64_t stage, const char * const *what)
{
	const uint64_t self = 0;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	vm_vaddr_t page;
	int i;

	vm = pv_vm_create_nolapic();
	page = vm_vaddr_alloc_page(vm);
	pv_set_build(addr_gva2hva(vm, page), &self, 1);
	memset(addr_gva2hva(vm, page + 64), 0, 32);
	errs_nolapic_set_gpa = addr_gva2gpa(vm, page);
	sync_global_to_guest(vm, errs_nolapic_set_gpa);

	vcpu = vm_vcpu_add(vm, 0, guest_code);
	pv_vcpu_run(vcpu);
	TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO, "no LAPIC: unexpected exit %s",
		    exit_reason_str(vcpu->run->exit_reason));
	if (get_ucall(vcpu, &uc) == UCALL_ABORT)
		REPORT_GUEST_ASSERT(uc);
	TEST_ASSERT(uc.args[1] == stage, "no LAPIC: stage %lu", uc.args[1]);
	for (i = 0; i < 3; i++)
		ksft_test_result((int64_t)uc.args[2 + i] == -KVM_EOPNOTSUPP,
				 "no in-kernel LAPIC, %s: -KVM_EOPNOTSUPP (got %ld)\n",
				 what[i], (int64_t)uc.args[2 + i]);
	kvm_vm_free(vm);
}

#endif /* PV_ERRORS_H */
