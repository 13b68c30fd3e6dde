// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_HC_FLUSH_TLB_V2's errors: each one the ABI names, and that a call that
 * fails has flushed nothing and queued nothing.
 *
 * A VM with the sender at APIC ID 0 and workers at 1 and 100 (banks 0 and
 * 1), which halt and, each time they wake, read T0 once (vmf_pv_tlb.h); the
 * read also keeps T0's translation cached. The host writes a table of calls
 * into the guest, each aimed at both workers unless its arguments say
 * otherwise, and the sets they read into a memslot of its own; more
 * memslots end just where a set still goes on. For each call the sender
 * swaps T0 and T1, makes the call, and wakes both workers with
 * KVM_HC_SEND_IPI, the upstream call (the fence). The host checks:
 *
 * - the return value;
 * - the sender's 'hypercalls' stat moved by two (the call and the fence)
 *   and, with nested paging, so did the exits no other stat explains;
 * - with nested paging, each worker's tlb_flush stat moved by 0 after a
 *   failed call, and by 1 after a valid one that names it. A failed call
 *   that had queued an entry and made the request would show as a flush
 *   when the fence woke the worker. Shadow paging flushes by itself when
 *   the sender writes the PTEs, so the counts are not checked there;
 * - after a valid call that covers T0, both workers read T0's new page;
 * - after a failed call, a worker that still reads T0's old page shows
 *   that nothing was flushed. That takes a TLB that keeps the entry across
 *   the exits of a halt and a wake-up: hardware with VPID or ASID does,
 *   TCG does not. Such reads are counted and printed, not required.
 *
 * Then the sender swaps back and flushes T0 on both workers, with a fence,
 * so that each call starts with T0's translation cached and right: that
 * call returns 2, the workers read T0's first page, and, with nested
 * paging, flushed once.
 *
 * The calls: stride 3; ALL with an address, a page count or a stride;
 * first pages that are not canonical for a 4-level guest (two of them are
 * canonical with 5 levels); last pages that are not (one page past the
 * lower half, with each stride); ranges that wrap, with each stride; the
 * valid calls at each of those edges; the set errors of KVM_HC_SEND_IPI_V2
 * (vmf_pv_ipi_errors.c), among them a set of 256 banks whose first 126,
 * naming both workers, are in memory: -KVM_EFAULT, and nothing flushed.
 * Then -KVM_ENOSYS with kvm.pv_tlb_v2=N, which also takes bit 20 out of
 * KVM_GET_SUPPORTED_CPUID (skipped if the parameter cannot be written; it
 * is put back at exit); VMs whose sender has
 * KVM_CAP_ENFORCE_PV_FEATURE_CPUID with bit 20 clear (-KVM_ENOSYS) and set
 * (the control: the calls work); and a VM without an in-kernel LAPIC
 * (-KVM_EOPNOTSUPP).
 *
 * Not covered: -KVM_EPERM at CPL 3, which is KVM's generic check before
 * any hypercall is dispatched.
 */
#include <stdarg.h>

#include "vmf_pv_tlb.h"

#define NR_VCPUS	3
#define WORKERS		(BIT_ULL(1) | BIT_ULL(2))
#define VEC_FENCE	0x30
#define MAX_CASES	96
#define RGN_GPA		0x40000000ULL
#define RGN_SLOT	1
#define RGN_PAGES	2
#define TAIL_SLOT	2	/* TAIL_SLOT + 0, 1: one page each */
#define TAIL_STRIDE	0x100000ULL
#define SET_SIZE	48	/* two banks */
#define FULL_SIZE	(32 + 8 * KVM_PV_VCPU_SET_BANKS)
#define OFF_SET		0x0
#define OFF_MISALIGNED	0x100	/* + 0x101 * k, k = 1, 4, 7 */
#define OFF_EMPTY	0xa00
#define OFF_FULL	0xc00	/* FULL_SIZE bytes */
#define SPARSE		KVM_FLUSH_TLB_V2_SPARSE
#define STRIDE_RSVD	KVM_FLUSH_TLB_V2_STRIDE
#define ALL		KVM_FLUSH_TLB_V2_ALL

static const uint32_t apic_ids[NR_VCPUS] = { 0, 1, 100 };
static const uint64_t worker_ids[] = { 1, 100 };

/* The register form of the two workers: IDs 1 and 64 + 36 from base 0. */
#define LO		BIT_ULL(1)
#define HI		BIT_ULL(36)

enum {
	STAGE_READY,
	STAGE_CALL,
	STAGE_RESTORE,
	STAGE_END,
};

struct call {
	uint64_t a[4];
};

/* Written by the host before the sender runs. */
static struct call calls[MAX_CASES];
static uint64_t nr_calls;

static void fence(void)
{
	GUEST_ASSERT_EQ(pv_hypercall(KVM_HC_SEND_IPI, LO, HI, 0, APIC_DM_FIXED | VEC_FENCE), 2);
}

static void sender_code(uint64_t idx)
{
	uint64_t i, ret;

	pv_guest_init(idx);
	GUEST_SYNC_ARGS(STAGE_READY, 0, 0, 0, 0);
	for (i = 0; i < READ_ONCE(nr_calls); i++) {
		pv_tlb_pair_swap(&pvt.t);
		ret = pv_flush(calls[i].a[0], calls[i].a[1], calls[i].a[2], calls[i].a[3]);
		fence();
		GUEST_SYNC_ARGS(STAGE_CALL, i, ret, 0, 0);

		pv_tlb_pair_swap(&pvt.t);
		ret = pv_flush(PV_TLB_A0(pvt.t.gva[0], 1, 12), LO, HI, 0);
		fence();
		GUEST_SYNC_ARGS(STAGE_RESTORE, i, ret, 0, 0);
	}
	GUEST_SYNC_ARGS(STAGE_END, 0, 0, 0, 0);
	pv_stop_receivers();
	GUEST_DONE();
}

static void worker_code(uint64_t idx)
{
	pv_guest_init(idx);
	pv_tlb_halt_loop(idx);
	GUEST_DONE();
}

/* Host side. */

enum kind {
	FAILS,		/* an error: nothing flushed */
	NAMES,		/* valid, names both workers, not T0 */
	COVERS,		/* valid, names both workers, covers T0 */
	NOBODY,		/* valid, names no vCPU */
};

struct desc {
	char name[120];
	int64_t expect;
	enum kind kind;
	bool param_off;		/* made with pv_tlb_v2=N */
};

static struct desc descs[MAX_CASES];
static struct call host_calls[MAX_CASES];
static int nr;
static bool tdp;

static uint64_t rgn_end(int slot)
{
	return slot == RGN_SLOT ? RGN_GPA + RGN_PAGES * PV_PAGE_SIZE :
	       RGN_GPA + (slot - TAIL_SLOT + 1) * TAIL_STRIDE + PV_PAGE_SIZE;
}

static __printf(7, 8) void add(int64_t expect, enum kind kind, uint64_t a0, uint64_t a1,
				uint64_t a2, uint64_t a3, const char *fmt, ...)
{
	va_list ap;

	TEST_ASSERT(nr < MAX_CASES, "too many calls");
	host_calls[nr] = (struct call){ .a = { a0, a1, a2, a3 } };
	descs[nr].expect = expect;
	descs[nr].kind = kind;
	descs[nr].param_off = false;
	va_start(ap, fmt);
	vsnprintf(descs[nr].name, sizeof(descs[nr].name), fmt, ap);
	va_end(ap);
	nr++;
}

/* A call with the two workers in registers; a valid one returns 2. */
#define BAD(a0, fmt, ...)	add(-KVM_EINVAL, FAILS, a0, LO, HI, 0, fmt, ##__VA_ARGS__)
#define GOOD(kind, a0, fmt, ...) add(2, kind, a0, LO, HI, 0, fmt, ##__VA_ARGS__)

/*
 * The sets, written by the host. Region RGN_SLOT: the two workers at
 * OFF_SET and, misaligned, at OFF_MISALIGNED + 0x101 * k; an empty set; a
 * set of all 256 banks naming the workers, ID 5 and every ID from 128,
 * which name no vCPU. Tail slot 0 ends after the bank mask of the workers'
 * set, tail slot 1 after 126 of the 256 banks.
 */
static void write_sets(struct kvm_vm *vm)
{
	struct kvm_pv_vcpu_set *set;
	uint64_t gpa;
	void *rgn;
	int i, k;

	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, RGN_GPA, RGN_SLOT, RGN_PAGES, 0);
	rgn = addr_gpa2hva(vm, RGN_GPA);
	TEST_ASSERT(pv_set_build(rgn + OFF_SET, worker_ids, 2) == SET_SIZE, "set size");
	for (k = 1; k <= 7; k += 3)
		memcpy(rgn + OFF_MISALIGNED + 0x101 * k, rgn + OFF_SET, SET_SIZE);
	memset(rgn + OFF_EMPTY, 0, 32);
	set = rgn + OFF_FULL;
	memset(set->bank_mask, 0xff, sizeof(set->bank_mask));
	for (i = 0; i < KVM_PV_VCPU_SET_BANKS; i++)
		set->banks[i] = ~0ULL;
	set->banks[0] = BIT_ULL(1) | BIT_ULL(5);
	set->banks[1] = BIT_ULL(36) | BIT_ULL(63);

	for (k = 0; k < 2; k++) {
		gpa = rgn_end(TAIL_SLOT + k) - PV_PAGE_SIZE;
		vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, gpa, TAIL_SLOT + k, 1, 0);
	}
	gpa = rgn_end(TAIL_SLOT) - 32;
	memcpy(addr_gpa2hva(vm, gpa), rgn + OFF_SET, 32);
	gpa = rgn_end(TAIL_SLOT + 1) - 32 - 126 * 8;
	memcpy(addr_gpa2hva(vm, gpa), rgn + OFF_FULL, 32 + 126 * 8);
}

static void add_a0_errors(uint64_t t0)
{
	static const int shifts[] = { 12, 21, 30 };
	uint64_t top, last;
	int i, s;

	GOOD(COVERS, PV_TLB_A0(t0, 1, 12), "valid: T0, set in registers");
	add(2, COVERS, PV_TLB_A0(t0, 1, 12) | SPARSE, RGN_GPA + OFF_SET, SET_SIZE, 0,
	    "valid: T0, set in memory");

	BAD(t0 | STRIDE_RSVD, "stride 3 (reserved), T0: -KVM_EINVAL");
	BAD(STRIDE_RSVD, "stride 3 (reserved), address 0: -KVM_EINVAL");
	BAD(t0 | STRIDE_RSVD | KVM_FLUSH_TLB_V2_NR, "stride 3 (reserved), 64 pages: -KVM_EINVAL");
	BAD(ALL | t0, "ALL with an address: -KVM_EINVAL");
	BAD(ALL | 1, "ALL with 2 pages: -KVM_EINVAL");
	BAD(ALL | KVM_FLUSH_TLB_V2_STRIDE_2M, "ALL with a 2M stride: -KVM_EINVAL");
	BAD(ALL | STRIDE_RSVD, "ALL with stride 3: -KVM_EINVAL");
	BAD(ALL | (1ULL << 63), "ALL with address bit 63: -KVM_EINVAL");
	GOOD(COVERS, ALL | KVM_FLUSH_TLB_V2_FREED_TABLES | KVM_FLUSH_TLB_V2_GLOBAL,
	     "valid: ALL with FREED_TABLES and GLOBAL");
	GOOD(COVERS, PV_TLB_A0(t0, 1, 12) | KVM_FLUSH_TLB_V2_FREED_TABLES,
	     "valid: T0 with FREED_TABLES");
	GOOD(COVERS, PV_TLB_A0(t0, 2, 12) | KVM_FLUSH_TLB_V2_GLOBAL,
	     "valid: T0 and T1 with GLOBAL");

	/* The selftest guest has 4-level paging: 48-bit canonical. */
	BAD(0x0000800000000000ULL, "first page 1 << 47, not canonical: -KVM_EINVAL");
	BAD(0xffff7ffffffff000ULL, "first page just below the upper half: -KVM_EINVAL");
	BAD(0x00fffffffffff000ULL, "first page canonical with 5 levels, not 4: -KVM_EINVAL");
	BAD(0xff00000000000000ULL, "first page canonical with 5 levels, not 4 (upper): -KVM_EINVAL");
	BAD(0x8000000000000000ULL, "first page 1 << 63: -KVM_EINVAL");

	for (i = 0; i < ARRAY_SIZE(shifts); i++) {
		s = shifts[i];
		/* The last page of the lower half, at this stride... */
		top = (1ULL << 47) - (1ULL << s);
		GOOD(NAMES, PV_TLB_A0(top, 1, s),
		     "valid: the last %s page of the lower half", s == 12 ? "4K" : s == 21 ? "2M" : "1G");
		/* ...and one page more. */
		BAD(PV_TLB_A0(top, 2, s),
		    "%s stride, 2 pages, the second past the lower half: -KVM_EINVAL",
		    s == 12 ? "4K" : s == 21 ? "2M" : "1G");
		/* The last page of the address space, and one more: a wrap. */
		last = -(1ULL << s);
		GOOD(NAMES, PV_TLB_A0(last, 1, s),
		     "valid: the last %s page of the address space", s == 12 ? "4K" : s == 21 ? "2M" : "1G");
		BAD(PV_TLB_A0(last, 2, s), "%s stride, 2 pages from the last: wraps, -KVM_EINVAL",
		    s == 12 ? "4K" : s == 21 ? "2M" : "1G");
	}
	GOOD(NAMES, PV_TLB_A0((1ULL << 47) - 64 * PV_PAGE_SIZE, 64, 12),
	     "valid: 64 pages ending at the top of the lower half");
	BAD(PV_TLB_A0((1ULL << 47) - 63 * PV_PAGE_SIZE, 64, 12),
	    "64 pages, the last past the lower half: -KVM_EINVAL");
	GOOD(NAMES, PV_TLB_A0(0xffff800000000000ULL, 64, 30),
	     "valid: 64 1G pages from the bottom of the upper half");
	BAD(PV_TLB_A0(-64 * PV_PAGE_SIZE + PV_PAGE_SIZE, 64, 12),
	    "64 pages from the 63rd last: wraps, -KVM_EINVAL");
}

static void add_set_errors(uint64_t t0)
{
	static const uint64_t bad_a3[] = { 1, 1ULL << 32, ~0ULL };
	static const uint64_t bad_sizes[] = { 0, 8, 32, 40, 56, FULL_SIZE, ~0ULL };
	uint64_t a0 = PV_TLB_A0(t0, 1, 12), k;
	int i;

	add(-KVM_EINVAL, FAILS, a0, LO, HI, 1ULL << 32, "registers, base 1 << 32: -KVM_EINVAL");
	add(-KVM_EINVAL, FAILS, a0, LO, HI, ~0ULL, "registers, base ~0: -KVM_EINVAL");
	for (i = 0; i < ARRAY_SIZE(bad_a3); i++)
		add(-KVM_EINVAL, FAILS, a0 | SPARSE, RGN_GPA + OFF_SET, SET_SIZE, bad_a3[i],
		    "memory, a3 %#lx: -KVM_EINVAL", bad_a3[i]);
	for (k = 1; k <= 7; k += 3)
		add(-KVM_EINVAL, FAILS, a0 | SPARSE, RGN_GPA + OFF_MISALIGNED + 0x101 * k,
		    SET_SIZE, 0, "memory, set %lu bytes past 8-byte alignment: -KVM_EINVAL", k);
	for (i = 0; i < ARRAY_SIZE(bad_sizes); i++)
		add(-KVM_EINVAL, FAILS, a0 | SPARSE, RGN_GPA + OFF_SET, bad_sizes[i], 0,
		    "memory, two banks, size %ld, not %d: -KVM_EINVAL",
		    (int64_t)bad_sizes[i], SET_SIZE);
	add(-KVM_EINVAL, FAILS, a0 | SPARSE, RGN_GPA + OFF_FULL, FULL_SIZE - 8, 0,
	    "memory, 256 banks, size %d, not %d: -KVM_EINVAL", FULL_SIZE - 8, FULL_SIZE);

	add(0, NOBODY, a0 | SPARSE, RGN_GPA + OFF_EMPTY, 32, 0, "valid: empty set, 0");
	add(2, COVERS, a0 | SPARSE, RGN_GPA + OFF_FULL, FULL_SIZE, 0,
	    "valid: 256 banks naming the workers and IDs without a vCPU, 2");

	add(-KVM_EFAULT, FAILS, a0 | SPARSE, rgn_end(RGN_SLOT), SET_SIZE, 0,
	    "memory, set just past the memslot: -KVM_EFAULT");
	add(-KVM_EFAULT, FAILS, a0 | SPARSE, 1ULL << 40, SET_SIZE, 0,
	    "memory, set at 1 << 40, no memory: -KVM_EFAULT");
	add(-KVM_EFAULT, FAILS, ALL | SPARSE, rgn_end(TAIL_SLOT) - 32, SET_SIZE, 0,
	    "ALL, bank mask at the end of a memslot, banks past it: -KVM_EFAULT");
	add(-KVM_EFAULT, FAILS, ALL | SPARSE, rgn_end(TAIL_SLOT + 1) - 32 - 126 * 8, FULL_SIZE, 0,
	    "ALL, 256 banks, 126 in memory naming the workers: -KVM_EFAULT, nothing flushed");
	add(2, COVERS, a0 | SPARSE, RGN_GPA + OFF_SET, SET_SIZE, 0,
	    "valid: T0, set in memory, after the set errors");
}

/* Calls made with pv_tlb_v2=N. */
static void add_param_calls(uint64_t t0)
{
	add(-KVM_ENOSYS, FAILS, PV_TLB_A0(t0, 1, 12), LO, HI, 0,
	    "pv_tlb_v2=N: registers, -KVM_ENOSYS");
	descs[nr - 1].param_off = true;
	add(-KVM_ENOSYS, FAILS, ALL | SPARSE, RGN_GPA + OFF_SET, SET_SIZE, 0,
	    "pv_tlb_v2=N: ALL, memory, -KVM_ENOSYS");
	descs[nr - 1].param_off = true;
	GOOD(COVERS, PV_TLB_A0(t0, 1, 12), "valid: pv_tlb_v2=Y again");
}

static int param_set(bool on)
{
	return pv_param_set(PV_TLB_PARAM, on);
}

/* Wait until both workers have woken since wakes[], and read T0. */
static void wait_workers(struct pv_vm *p, struct pv_tlb_shared *hs, const uint64_t *wakes)
{
	pv_tlb_wait_woken(p, hs, wakes, WORKERS);
	p->expect[1][VEC_FENCE]++;
	p->expect[2][VEC_FENCE]++;
}

/*
 * Run the sender to stage, then check what the call returned, the
 * sender's stats, and what each worker flushed and read; false, after
 * saying what differs, if something does. *stale counts workers that read
 * T0's old page after a call that failed.
 */
static bool run_call(struct pv_vm *p, struct pv_tlb_shared *hs, const struct desc *c,
		     int64_t stage, uint64_t *stale)
{
	uint64_t before[NR_VCPUS], after[NR_VCPUS], wakes[PV_MAX_VCPUS], now, old;
	struct pv_stats s0, s1, d;
	struct ucall uc;
	bool ok = true;
	int w;

	pv_stats_read(&p->stats[0], &s0);
	pv_tlb_flushes(p, before);
	memcpy(wakes, hs->wakes, sizeof(wakes));
	pv_sender_to(p, &uc, stage);
	pv_stats_read(&p->stats[0], &s1);
	if (c->param_off)
		TEST_ASSERT(!param_set(true), "setting pv_tlb_v2 back to Y");
	wait_workers(p, hs, wakes);
	pv_tlb_flushes(p, after);
	d = pv_stats_delta(&s0, &s1);

	if ((int64_t)uc.args[3] != c->expect) {
		ksft_print_msg("%s: returned %ld, expected %ld\n", c->name,
			       (int64_t)uc.args[3], c->expect);
		ok = false;
	}
	if (d.v[PV_HYPERCALLS] != 2 || (tdp && pv_exits_unexplained(&d) != 2)) {
		ksft_print_msg("%s: the sender's hypercalls stat moved by %lu, its unexplained exits by %lu; expected 2 (the call and the fence)\n",
			       c->name, d.v[PV_HYPERCALLS], pv_exits_unexplained(&d));
		ok = false;
	}

	now = pv_tlb_pair_expect(&hs->t, 0, hs->t.swapped);
	old = pv_tlb_pair_expect(&hs->t, 0, !hs->t.swapped);
	for (w = 1; w < NR_VCPUS; w++) {
		uint64_t flushes = after[w] - before[w], seen = READ_ONCE(hs->seen[w]);
		uint64_t want = c->kind == NAMES || c->kind == COVERS;

		if (tdp && flushes != want) {
			ksft_print_msg("%s: the worker at APIC ID %u flushed %lu times, expected %lu\n",
				       c->name, apic_ids[w], flushes, want);
			ok = false;
		}
		if (c->kind == COVERS && seen != now) {
			ksft_print_msg("%s: the worker at APIC ID %u read %#lx in T0, expected %#lx\n",
				       c->name, apic_ids[w], seen, now);
			ok = false;
		}
		if (c->kind == FAILS && seen == old)
			(*stale)++;
	}
	return ok;
}

/* Run the sender through the table, one TAP line per call. */
static void run_calls(struct pv_vm *p, struct pv_tlb_shared *hs, int64_t restore_expect)
{
	struct desc restore = {
		.expect = restore_expect,
		.kind = restore_expect == 2 ? COVERS : FAILS,
	};
	uint64_t stale = 0, fails = 0, ignored = 0;
	struct ucall uc;
	bool ok;
	int i;

	memcpy(addr_gva2hva(p->vm, (vm_vaddr_t)calls), host_calls, nr * sizeof(host_calls[0]));
	*(uint64_t *)addr_gva2hva(p->vm, (vm_vaddr_t)&nr_calls) = nr;
	pv_tlb_start_workers(p);
	pv_sender_to(p, &uc, STAGE_READY);
	pv_wait_ready(p);
	/* Each worker has read T0 once, and halted: wakes[] moves only for the fences. */
	pv_tlb_wait_blocked(p, WORKERS);

	for (i = 0; i < nr; i++) {
		if (descs[i].param_off)
			TEST_ASSERT(!param_set(false), "setting pv_tlb_v2 to N");
		ok = run_call(p, hs, &descs[i], STAGE_CALL, &stale);
		fails += descs[i].kind == FAILS;

		snprintf(restore.name, sizeof(restore.name), "%.80s: T0 flushed back",
			 descs[i].name);
		ok &= run_call(p, hs, &restore, STAGE_RESTORE, &ignored);
		ksft_test_result(ok, "%s\n", descs[i].name);
	}
	pv_sender_to(p, &uc, STAGE_END);
	WRITE_ONCE(p->hs->stop, 1);
	TEST_ASSERT(pv_run_sender(p, &uc) == -1, "the sender did not finish");
	ksft_print_msg("after %lu failed calls, a worker read T0's old page %lu times: %s\n",
		       fails, stale, stale ? "those calls demonstrably flushed nothing" :
		       "this platform drops cached translations on its own (TCG does on every VM entry)");
	ksft_test_result(pv_vm_finish(p),
			 "after %d calls: each fence taken once, no IRR or ISR bit left on any vCPU\n", nr);
}

static struct pv_tlb_shared *new_vm(struct pv_vm *p)
{
	struct pv_tlb_shared *hs;

	pv_vm_create(p, apic_ids, NR_VCPUS, sender_code, worker_code);
	hs = pv_tlb_setup(p);
	write_sets(p->vm);
	nr = 0;
	return hs;
}

static void test_main(bool param)
{
	struct pv_tlb_shared *hs;
	struct pv_vm p;

	hs = new_vm(&p);
	add_a0_errors(hs->t.gva[0]);
	add_set_errors(hs->t.gva[0]);
	if (param)
		add_param_calls(hs->t.gva[0]);
	run_calls(&p, hs, 2);
	pv_vm_free(&p);
}

/* A sender under KVM_CAP_ENFORCE_PV_FEATURE_CPUID, with or without bit 20. */
static void test_enforced(bool bit)
{
	struct pv_tlb_shared *hs;
	struct pv_vm p;
	uint64_t t0;

	hs = new_vm(&p);
	t0 = hs->t.gva[0];
	vcpu_enable_cap(p.vcpu[0], KVM_CAP_ENFORCE_PV_FEATURE_CPUID, 1);
	if (bit) {
		vcpu_set_cpuid_feature(p.vcpu[0], X86_FEATURE_KVM_PV_TLB_FLUSH_V2);
		GOOD(COVERS, PV_TLB_A0(t0, 1, 12), "valid: enforced CPUID with bit 20, registers");
		add(2, COVERS, ALL | SPARSE, RGN_GPA + OFF_SET, SET_SIZE, 0,
		    "valid: enforced CPUID with bit 20, ALL, memory");
	} else {
		vcpu_clear_cpuid_feature(p.vcpu[0], X86_FEATURE_KVM_PV_TLB_FLUSH_V2);
		add(-KVM_ENOSYS, FAILS, PV_TLB_A0(t0, 1, 12), LO, HI, 0,
		    "enforced CPUID without bit 20: registers, -KVM_ENOSYS");
		add(-KVM_ENOSYS, FAILS, ALL | SPARSE, RGN_GPA + OFF_SET, SET_SIZE, 0,
		    "enforced CPUID without bit 20: ALL, memory, -KVM_ENOSYS");
	}
	/* Without the bit, the flush back fails too, and is checked as failing. */
	run_calls(&p, hs, bit ? 2 : -KVM_ENOSYS);
	pv_vm_free(&p);
}

/* No in-kernel LAPIC: the calls of nolapic_code(). */
static uint64_t nolapic_set_gpa;

static void nolapic_code(void)
{
	uint64_t range, all, sparse;

	range = pv_flush(PV_TLB_A0(0x100000, 2, 12), 1, 0, 0);
	all = pv_flush(ALL, 1, 0, 0);
	sparse = pv_flush(ALL | SPARSE, nolapic_set_gpa, 40, 0);
	GUEST_SYNC_ARGS(STAGE_END, range, all, sparse, 0);
	GUEST_DONE();
}

static void test_no_lapic(void)
{
	static const char * const what[] = { "two pages", "ALL", "ALL, set in memory" };
	const uint64_t self = 0;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	vm_vaddr_t page;
	int i;

	vm = pv_vm_create_nolapic();
	page = vm_vaddr_alloc_page(vm);
	pv_set_build(addr_gva2hva(vm, page), &self, 1);
	nolapic_set_gpa = addr_gva2gpa(vm, page);
	sync_global_to_guest(vm, nolapic_set_gpa);

	vcpu = vm_vcpu_add(vm, 0, nolapic_code);
	vcpu_run(vcpu);
	TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO, "no LAPIC: unexpected exit %s",
		    exit_reason_str(vcpu->run->exit_reason));
	if (get_ucall(vcpu, &uc) == UCALL_ABORT)
		REPORT_GUEST_ASSERT(uc);
	TEST_ASSERT(uc.args[1] == STAGE_END, "no LAPIC: stage %lu", uc.args[1]);
	for (i = 0; i < 3; i++)
		ksft_test_result((int64_t)uc.args[2 + i] == -KVM_EOPNOTSUPP,
				 "no in-kernel LAPIC, %s: -KVM_EOPNOTSUPP (got %ld)\n",
				 what[i], (int64_t)uc.args[2 + i]);
	kvm_vm_free(vm);
}

/* How many calls test_main() makes: it needs a VM to know T0. */
static int count_main_calls(bool param)
{
	nr = 0;
	add_a0_errors(0x1000);
	add_set_errors(0x1000);
	if (param)
		add_param_calls(0x1000);
	return nr;
}

int main(void)
{
	char val[8] = "";
	bool param;
	int n, ret;

	ksft_print_header();
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_MAX_VCPU_ID));
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_KVM_PV_TLB_FLUSH_V2));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_ENFORCE_PV_FEATURE_CPUID));
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_KVM_PV_SEND_IPI));
	vmf_require_cpus(2);
	tdp = kvm_is_tdp_enabled();

	ret = vmf_read_file(PV_TLB_PARAM, val, sizeof(val));
	if (ret)
		ksft_exit_fail_msg("reading %s: %s\n", PV_TLB_PARAM, strerror(-ret));
	param = !geteuid() && !access(PV_TLB_PARAM, W_OK);

	n = count_main_calls(param);
	ksft_set_plan(1 + 2 + n + 1 + 2 + 1 + 2 + 1 + 3);
	ksft_print_msg("nested paging %s\n", tdp ? "on" :
		       "off: KVM flushes by itself when page tables change; flush counts are not checked");

	ksft_test_result(!strcmp(val, "Y") && pv_feature_supported_now(KVM_FEATURE_PV_TLB_FLUSH_V2),
			 "pv_tlb_v2=%s, KVM_GET_SUPPORTED_CPUID reports bit 20\n", val);
	if (param) {
		TEST_ASSERT(!param_set(false), "setting pv_tlb_v2 to N");
		ksft_test_result(!pv_feature_supported_now(KVM_FEATURE_PV_TLB_FLUSH_V2),
				 "pv_tlb_v2=N: KVM_GET_SUPPORTED_CPUID does not report bit 20\n");
		TEST_ASSERT(!param_set(true), "setting pv_tlb_v2 back to Y");
		ksft_test_result(pv_feature_supported_now(KVM_FEATURE_PV_TLB_FLUSH_V2),
				 "pv_tlb_v2=Y again: KVM_GET_SUPPORTED_CPUID reports bit 20\n");
	} else {
		ksft_test_result_skip("pv_tlb_v2=N: %s is not writable\n", PV_TLB_PARAM);
		ksft_test_result_skip("pv_tlb_v2=Y again: %s is not writable\n", PV_TLB_PARAM);
	}

	test_main(param);
	test_enforced(false);
	test_enforced(true);
	test_no_lapic();
	ksft_finished();
}
