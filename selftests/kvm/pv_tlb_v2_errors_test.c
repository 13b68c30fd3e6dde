// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_HC_FLUSH_TLB_V2's errors: each one the ABI names, and that a call that
 * fails has flushed nothing and queued nothing.
 *
 * A VM with the sender at APIC ID 0 and workers at 1 and 100 (banks 0 and
 * 1), which halt and, each time they wake, read T0 once (pv_tlb_v2.h); the
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
 * (pv_ipi_v2_errors_test.c), among them a set of 256 banks whose first 126,
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
#include "pv_errors.h"
#include "pv_tlb_v2.h"

#define WORKERS		(BIT_ULL(1) | BIT_ULL(2))
#define VEC_FENCE	0x30
#define SPARSE		KVM_FLUSH_TLB_V2_SPARSE
#define STRIDE_RSVD	KVM_FLUSH_TLB_V2_STRIDE
#define ALL		KVM_FLUSH_TLB_V2_ALL

enum {
	STAGE_READY,
	STAGE_CALL,
	STAGE_RESTORE,
	STAGE_END,
};

static void fence(void)
{
	GUEST_ASSERT_EQ(errs_fence(VEC_FENCE), 2);
}

static void sender_code(uint64_t idx)
{
	uint64_t i, ret;

	pv_guest_init(idx);
	GUEST_SYNC_ARGS(STAGE_READY, 0, 0, 0, 0);
	for (i = 0; i < READ_ONCE(errs_nr_calls); i++) {
		pv_tlb_pair_swap(&pvt.t);
		ret = errs_hypercall(KVM_HC_FLUSH_TLB_V2, i);
		fence();
		GUEST_SYNC_ARGS(STAGE_CALL, i, ret, 0, 0);

		pv_tlb_pair_swap(&pvt.t);
		ret = pv_flush(PV_TLB_A0(pvt.t.gva[0], 1, 12), ERRS_LO, ERRS_HI, 0);
		fence();
		GUEST_SYNC_ARGS(STAGE_RESTORE, i, ret, 0, 0);
	}
	pv_sender_end(STAGE_END);
}

static void worker_code(uint64_t idx)
{
	pv_guest_init(idx);
	pv_tlb_halt_loop(idx);
	GUEST_DONE();
}

/* Host side. */

/* The table is pv_errors.h's; a call's effect is its kind. */
enum kind {
	FAILS,		/* an error: nothing flushed */
	NAMES,		/* valid, names both workers, not T0 */
	COVERS,		/* valid, names both workers, covers T0 */
	NOBODY,		/* valid, names no vCPU */
};

static bool tdp;

/* A call with the two workers in registers; a valid one returns 2. */
#define BAD(a0, fmt, ...)	\
	errs_add(-KVM_EINVAL, FAILS, a0, ERRS_LO, ERRS_HI, 0, fmt, ##__VA_ARGS__)
#define GOOD(kind, a0, fmt, ...) errs_add(2, kind, a0, ERRS_LO, ERRS_HI, 0, fmt, ##__VA_ARGS__)

static void add_a0_errors(uint64_t t0)
{
	static const int shifts[] = { 12, 21, 30 };
	uint64_t top, last;
	int i, s;

	GOOD(COVERS, PV_TLB_A0(t0, 1, 12), "valid: T0, set in registers");
	errs_add(2, COVERS, PV_TLB_A0(t0, 1, 12) | SPARSE, ERRS_SET, ERRS_SET_SIZE, 0,
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
	BAD(0xff00000000000000ULL,
	    "first page canonical with 5 levels, not 4 (upper): -KVM_EINVAL");
	BAD(0x8000000000000000ULL, "first page 1 << 63: -KVM_EINVAL");

	for (i = 0; i < ARRAY_SIZE(shifts); i++) {
		s = shifts[i];
		/* The last page of the lower half, at this stride... */
		top = (1ULL << 47) - (1ULL << s);
		GOOD(NAMES, PV_TLB_A0(top, 1, s),
		     "valid: the last %s page of the lower half",
		     s == 12 ? "4K" : s == 21 ? "2M" : "1G");
		/* ...and one page more. */
		BAD(PV_TLB_A0(top, 2, s),
		    "%s stride, 2 pages, the second past the lower half: -KVM_EINVAL",
		    s == 12 ? "4K" : s == 21 ? "2M" : "1G");
		/* The last page of the address space, and one more: a wrap. */
		last = -(1ULL << s);
		GOOD(NAMES, PV_TLB_A0(last, 1, s),
		     "valid: the last %s page of the address space",
		     s == 12 ? "4K" : s == 21 ? "2M" : "1G");
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
	static const uint64_t bad_sizes[] = { 0, 8, 32, 40, 56, ERRS_FULL_SIZE, ~0ULL };
	uint64_t a0 = PV_TLB_A0(t0, 1, 12), k;
	int i;

	errs_add(-KVM_EINVAL, FAILS, a0, ERRS_LO, ERRS_HI, 1ULL << 32,
		 "registers, base 1 << 32: -KVM_EINVAL");
	errs_add(-KVM_EINVAL, FAILS, a0, ERRS_LO, ERRS_HI, ~0ULL,
		 "registers, base ~0: -KVM_EINVAL");
	for (i = 0; i < ARRAY_SIZE(bad_a3); i++)
		errs_add(-KVM_EINVAL, FAILS, a0 | SPARSE, ERRS_SET, ERRS_SET_SIZE, bad_a3[i],
			 "memory, a3 %#lx: -KVM_EINVAL", bad_a3[i]);
	for (k = 1; k <= 7; k += 3)
		errs_add(-KVM_EINVAL, FAILS, a0 | SPARSE, ERRS_MISALIGNED(k), ERRS_SET_SIZE, 0,
			 "memory, set %lu bytes past 8-byte alignment: -KVM_EINVAL", k);
	for (i = 0; i < ARRAY_SIZE(bad_sizes); i++)
		errs_add(-KVM_EINVAL, FAILS, a0 | SPARSE, ERRS_SET, bad_sizes[i], 0,
			 "memory, two banks, size %ld, not %d: -KVM_EINVAL",
			 (int64_t)bad_sizes[i], ERRS_SET_SIZE);
	errs_add(-KVM_EINVAL, FAILS, a0 | SPARSE, ERRS_FULL, ERRS_FULL_SIZE - 8, 0,
		 "memory, 256 banks, size %d, not %d: -KVM_EINVAL", ERRS_FULL_SIZE - 8,
		 ERRS_FULL_SIZE);

	errs_add(0, NOBODY, a0 | SPARSE, ERRS_EMPTY, 32, 0, "valid: empty set, 0");
	errs_add(2, COVERS, a0 | SPARSE, ERRS_FULL, ERRS_FULL_SIZE, 0,
		 "valid: 256 banks naming the workers and IDs without a vCPU, 2");

	errs_add(-KVM_EFAULT, FAILS, a0 | SPARSE, ERRS_RGN_END, ERRS_SET_SIZE, 0,
		 "memory, set just past the memslot: -KVM_EFAULT");
	errs_add(-KVM_EFAULT, FAILS, a0 | SPARSE, 1ULL << 40, ERRS_SET_SIZE, 0,
		 "memory, set at 1 << 40, no memory: -KVM_EFAULT");
	errs_add(-KVM_EFAULT, FAILS, ALL | SPARSE, ERRS_MASK_AT_END, ERRS_SET_SIZE, 0,
		 "ALL, bank mask at the end of a memslot, banks past it: -KVM_EFAULT");
	errs_add(-KVM_EFAULT, FAILS, ALL | SPARSE, ERRS_FULL_CUT, ERRS_FULL_SIZE, 0,
		 "ALL, 256 banks, 126 in memory naming the workers: -KVM_EFAULT, nothing flushed");
	errs_add(2, COVERS, a0 | SPARSE, ERRS_SET, ERRS_SET_SIZE, 0,
		 "valid: T0, set in memory, after the set errors");
}

/* Calls made with pv_tlb_v2=N. */
static void add_param_calls(uint64_t t0)
{
	errs_add(-KVM_ENOSYS, FAILS, PV_TLB_A0(t0, 1, 12), ERRS_LO, ERRS_HI, 0,
		 "pv_tlb_v2=N: registers, -KVM_ENOSYS");
	errs_cases[errs_nr - 1].param_off = true;
	errs_add(-KVM_ENOSYS, FAILS, ALL | SPARSE, ERRS_SET, ERRS_SET_SIZE, 0,
		 "pv_tlb_v2=N: ALL, memory, -KVM_ENOSYS");
	errs_cases[errs_nr - 1].param_off = true;
	GOOD(COVERS, PV_TLB_A0(t0, 1, 12), "valid: pv_tlb_v2=Y again");
}

/* Wait until both workers have woken since wakes[], and read T0. */
static void wait_workers(struct pv_vm *p, struct pv_tlb_shared *hs, const uint64_t *wakes)
{
	pv_tlb_wait_woken(p, hs, wakes, WORKERS);
	errs_expect_targets(p, VEC_FENCE);
}

/*
 * Run the sender to stage, then check what the call returned, the
 * sender's stats, and what each worker flushed and read; false, after
 * saying what differs, if something does. *stale counts workers that read
 * T0's old page after a call that failed.
 */
static bool run_call(struct pv_vm *p, struct pv_tlb_shared *hs, const struct errs_case *c,
		     int64_t stage, uint64_t *stale)
{
	uint64_t before[ERRS_NR_VCPUS], after[ERRS_NR_VCPUS], wakes[PV_MAX_VCPUS], now, old;
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
		errs_param_set(true);
	wait_workers(p, hs, wakes);
	pv_tlb_flushes(p, after);
	d = pv_stats_delta(&s0, &s1);

	if ((int64_t)uc.args[3] != c->expect) {
		ksft_print_msg("%s: returned %ld, expected %ld\n", c->name,
			       (int64_t)uc.args[3], c->expect);
		ok = false;
	}
	if (d.v[PV_HYPERCALLS] != 2 || (tdp && pv_exits_unexplained(&d) != 2)) {
		ksft_print_msg(
			       "%s: the sender's hypercalls stat moved by %lu, its unexplained exits by %lu; expected 2 (the call and the fence)\n",
			       c->name, d.v[PV_HYPERCALLS], pv_exits_unexplained(&d));
		ok = false;
	}

	now = pv_tlb_pair_expect(&hs->t, 0, hs->t.swapped);
	old = pv_tlb_pair_expect(&hs->t, 0, !hs->t.swapped);
	for (w = 1; w < ERRS_NR_VCPUS; w++) {
		uint64_t flushes = after[w] - before[w], seen = READ_ONCE(hs->seen[w]);
		uint64_t want = c->effect == NAMES || c->effect == COVERS;

		if (tdp && flushes != want) {
			ksft_print_msg(
				       "%s: the worker at APIC ID %u flushed %lu times, expected %lu\n",
				       c->name, errs_apic_ids[w], flushes, want);
			ok = false;
		}
		if (c->effect == COVERS && seen != now) {
			ksft_print_msg(
				       "%s: the worker at APIC ID %u read %#lx in T0, expected %#lx\n",
				       c->name, errs_apic_ids[w], seen, now);
			ok = false;
		}
		if (c->effect == FAILS && seen == old)
			(*stale)++;
	}
	return ok;
}

/* Run the sender through the table, one TAP line per call. */
static void run_calls(struct pv_vm *p, struct pv_tlb_shared *hs, int64_t restore_expect)
{
	struct errs_case restore = {
		.expect = restore_expect,
		.effect = restore_expect == 2 ? COVERS : FAILS,
	};
	uint64_t stale = 0, fails = 0, ignored = 0;
	struct errs_case *c;
	bool ok;
	int i;

	errs_start(p, pv_tlb_start_workers, STAGE_READY);
	/* Each worker has read T0 once, and halted: wakes[] moves only for the fences. */
	pv_tlb_wait_blocked(p, WORKERS);

	for (i = 0; i < errs_nr; i++) {
		c = &errs_cases[i];
		if (c->param_off)
			errs_param_set(false);
		ok = run_call(p, hs, c, STAGE_CALL, &stale);
		fails += c->effect == FAILS;

		snprintf(restore.name, sizeof(restore.name), "%.80s: T0 flushed back", c->name);
		ok &= run_call(p, hs, &restore, STAGE_RESTORE, &ignored);
		ksft_test_result(ok, "%s\n", c->name);
	}
	ksft_print_msg("after %lu failed calls, a worker read T0's old page %lu times: %s\n",
		       fails, stale, stale ? "those calls demonstrably flushed nothing" :
		       "this platform drops cached translations on its own (TCG does on every VM entry)");
	ksft_test_result(pv_vm_end(p, STAGE_END),
			 "after %d calls: each fence taken once, no IRR or ISR bit left on any vCPU\n",
			 errs_nr);
}

static struct pv_tlb_shared *new_vm(struct pv_vm *p)
{
	errs_vm_create(p, sender_code, worker_code);
	return pv_tlb_setup(p);
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
	errs_enforce(&p, X86_FEATURE_KVM_PV_TLB_FLUSH_V2, bit);
	if (bit) {
		GOOD(COVERS, PV_TLB_A0(t0, 1, 12), "valid: enforced CPUID with bit 20, registers");
		errs_add(2, COVERS, ALL | SPARSE, ERRS_SET, ERRS_SET_SIZE, 0,
			 "valid: enforced CPUID with bit 20, ALL, memory");
	} else {
		errs_add(-KVM_ENOSYS, FAILS, PV_TLB_A0(t0, 1, 12), ERRS_LO, ERRS_HI, 0,
			 "enforced CPUID without bit 20: registers, -KVM_ENOSYS");
		errs_add(-KVM_ENOSYS, FAILS, ALL | SPARSE, ERRS_SET, ERRS_SET_SIZE, 0,
			 "enforced CPUID without bit 20: ALL, memory, -KVM_ENOSYS");
	}
	/* Without the bit, the flush back fails too, and is checked as failing. */
	run_calls(&p, hs, bit ? 2 : -KVM_ENOSYS);
	pv_vm_free(&p);
}

/* No in-kernel LAPIC: three calls, for errs_test_no_lapic(). */
static void nolapic_code(void)
{
	uint64_t range, all, sparse;

	range = pv_flush(PV_TLB_A0(0x100000, 2, 12), 1, 0, 0);
	all = pv_flush(ALL, 1, 0, 0);
	sparse = pv_flush(ALL | SPARSE, errs_nolapic_set_gpa, 40, 0);
	GUEST_SYNC_ARGS(STAGE_END, range, all, sparse, 0);
	GUEST_DONE();
}

/* How many calls test_main() makes: it needs a VM to know T0. */
static int count_main_calls(bool param)
{
	errs_nr = 0;
	add_a0_errors(0x1000);
	add_set_errors(0x1000);
	if (param)
		add_param_calls(0x1000);
	return errs_nr;
}

int main(void)
{
	static const char * const nolapic_calls[] = { "two pages", "ALL", "ALL, set in memory" };
	char val[8] = "";
	bool param;
	int n;

	ksft_print_header();
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_MAX_VCPU_ID));
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_KVM_PV_TLB_FLUSH_V2));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_ENFORCE_PV_FEATURE_CPUID));
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_KVM_PV_SEND_IPI));
	pv_require_cpus(2);
	tdp = kvm_is_tdp_enabled();

	param = errs_param_probe(PV_TLB_PARAM, val, sizeof(val));

	n = count_main_calls(param);
	ksft_set_plan(1 + 2 + n + 1 + 2 + 1 + 2 + 1 + 3);
	ksft_print_msg("nested paging %s\n", tdp ? "on" :
		       "off: KVM flushes by itself when page tables change; flush counts are not checked");

	errs_test_param_cpuid(val, param, KVM_FEATURE_PV_TLB_FLUSH_V2);
	test_main(param);
	test_enforced(false);
	test_enforced(true);
	errs_test_no_lapic(nolapic_code, STAGE_END, nolapic_calls);
	ksft_finished();
}
