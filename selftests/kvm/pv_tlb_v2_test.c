// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_HC_FLUSH_TLB_V2: once the hypercall has returned, no target reads
 * through a translation that the flush covered, and a flush costs the
 * sender one exit, whatever the set.
 *
 * A VM with the sender at APIC ID 0 and five workers at 63, 64, 127, 128
 * and 1023, in x2APIC mode. The IDs sit on both sides of the 64-ID bank
 * boundaries at 64 and 128, and of the register form's word boundary at
 * 63 + 64, so both forms of the vCPU set are used at their edges. The test
 * pages are the pair T0, T1 (4K) and the pair H0, H1 (2M pages in a memslot
 * of their own); the sender swaps a pair by swapping its PTEs (PDEs).
 *
 * The workers spin. Each reads the four pages and checks those that its
 * token names against the pages the token says they map. The sender
 * publishes a new token only after its flush returned; a read counts only
 * if the token was the same before and after it, and tokens carry a
 * sequence number (hyperv_tlb_flush.c's protocol, without its ABA hazard).
 * A read that does not match is stale, and the worker counts it. After
 * each iteration the host waits until every target has checked against the
 * new token, so no iteration goes unchecked.
 *
 * Stages of NTRY iterations, the sender swapping and flushing: one page,
 * set in registers (four workers, 63-128 from base 63); one page, set in
 * memory (all five); two pages; two 2M pages, 2M stride; ALL; two pages
 * with FREED_TABLES; two pages with GLOBAL, set in registers; one page
 * with the sender in its own set (it reads T0 itself as soon as the call
 * returns); a control that swaps and does not flush; ALL, to resync. After
 * each stage: every call returned the number of targets, no target read a
 * stale value, each target's tlb_flush stat moved at least once per
 * iteration (it drained), and, with nested paging, where KVM seldom
 * flushes by itself, a worker outside the set moved less than half as
 * much. The control passes if its workers read stale values and is skipped
 * if they did not: then this platform flushes on its own (TCG does on every
 * VM entry) and the stale-read checks above cannot fail here.
 *
 * The sender's cost: WINDOWS windows of N flushes (ALL, set in memory, to
 * spinning workers, so each call kicks all of them). The 'hypercalls' stat
 * moves by N, and the quietest window has exactly N exits that no other
 * stat explains: one exit per flush; the kicks are the workers' exits.
 *
 * Overflow, the workers halted: the sender swaps T and queues OVF_CALLS
 * flushes of other pages, then T0's, on all workers, and wakes them with an
 * upstream KVM_HC_SEND_IPI. While the flushes are queued, no worker woke
 * (KVM_REQUEST_NO_WAKEUP) or, with nested paging, flushed. Woken, every
 * worker read T0's new page, and, with nested paging, its tlb_flush stat
 * moved by exactly one: the queue kept 15 entries and a flush-all, and a
 * drain that meets a flush-all flushes everything once. Drained one by
 * one, the 21 entries would count 21.
 */
#include <asm/barrier.h>

#include "pv_tlb_v2.h"

#define NR_VCPUS	6
#define ALL_WORKERS	(BIT_ULL(NR_VCPUS) - 2)		/* vCPUs 1-5 */
#define REG_WORKERS	(ALL_WORKERS & ~BIT_ULL(5))	/* 63-128: one 128-ID window */
#define NR_WORKERS	(NR_VCPUS - 1)
#define NTRY		50
#define N		8	/* flushes per window */
#define WINDOWS		3
#define OVF_CALLS	20
#define OVF_NTRY	5
#define VEC_FENCE	0x30
#define HUGE_GPA	0x80000000ULL
#define HUGE_SLOT	1
#define MAX_STAGES	16

static const uint32_t apic_ids[NR_VCPUS] = { 0, 63, 64, 127, 128, 1023 };

enum { SLOT_T0, SLOT_T1, SLOT_H0, SLOT_H1, NR_SLOTS };

/* A token: the slots to check, the pairs' state, and a sequence number. */
#define TOK_CHECK(s)	BIT_ULL(s)
#define TOK_T_SWAPPED	BIT_ULL(4)
#define TOK_H_SWAPPED	BIT_ULL(5)
#define TOK_SEQ_SHIFT	8
#define CHECK_T		(TOK_CHECK(SLOT_T0) | TOK_CHECK(SLOT_T1))
#define CHECK_H		(TOK_CHECK(SLOT_H0) | TOK_CHECK(SLOT_H1))

#define SWAP_T		BIT(0)
#define SWAP_H		BIT(1)

enum {
	STAGE_READY,
	STAGE_WAIT,		/* token, targets */
	STAGE_DONE,		/* calls, bad calls, the first bad return, its call */
	STAGE_WINDOW,		/* the same */
	STAGE_OVF_READY,
	STAGE_OVF_QUEUED,	/* the same */
	STAGE_OVF_WOKEN,
	STAGE_END,
};

/* A stage of the table, which the host writes before the sender runs. */
struct stage {
	uint64_t a0;		/* but KVM_FLUSH_TLB_V2_SPARSE */
	uint64_t targets;	/* bit i: vCPU i; 0 is the sender */
	uint64_t sparse;	/* the set in memory, else in registers */
	uint64_t swap;		/* SWAP_* */
	uint64_t check;		/* TOK_CHECK() of the slots the targets check */
	uint64_t control;	/* swap, and do not flush */
};

struct test_data {
	uint64_t slot[NR_SLOTS];		/* the GVAs that workers read */
	struct pv_tlb_pair h;			/* H0, H1 */
	uint64_t nr_stages;
	struct stage stages[MAX_STAGES];
	uint64_t again;				/* host: run the window again */
	uint64_t halt;				/* workers: stop spinning, halt */
	uint64_t exp[PV_MAX_VCPUS];		/* the token to check against, or 0 */
	uint64_t checked[PV_MAX_VCPUS];		/* the last token checked */
	uint64_t stale[PV_MAX_VCPUS];		/* reads that did not match their token */
	uint64_t first_stale[PV_MAX_VCPUS][3];	/* the first: token, slot, value */
	uint64_t self_stale;			/* the sender's, in its own set */
};

static struct test_data td;

/* What slot s maps under tok. */
static uint64_t slot_expect(uint64_t tok, int s)
{
	if (s == SLOT_T0 || s == SLOT_T1)
		return pv_tlb_pair_expect(&pvt.t, s - SLOT_T0, tok & TOK_T_SWAPPED);
	return pv_tlb_pair_expect(&td.h, s - SLOT_H0, tok & TOK_H_SWAPPED);
}

static void worker_check(uint64_t idx)
{
	uint64_t tok, again, val[NR_SLOTS];
	int s;

	tok = READ_ONCE(td.exp[idx]);
	/* The pages are read after the token... */
	rmb();
	for (s = 0; s < NR_SLOTS; s++)
		val[s] = pv_tlb_read(td.slot[s]);
	/* ...and before it is read again. */
	rmb();
	again = READ_ONCE(td.exp[idx]);
	if (!tok || tok != again)
		return;

	for (s = 0; s < NR_SLOTS; s++) {
		if (!(tok & TOK_CHECK(s)) || val[s] == slot_expect(tok, s))
			continue;
		if (!td.stale[idx]++) {
			td.first_stale[idx][0] = tok;
			td.first_stale[idx][1] = s;
			td.first_stale[idx][2] = val[s];
		}
	}
	WRITE_ONCE(td.checked[idx], tok);
}

static void worker_code(uint64_t idx)
{
	pv_guest_init(idx);
	while (!READ_ONCE(td.halt))
		worker_check(idx);
	pv_tlb_halt_loop(idx);
	GUEST_DONE();
}

/* The arguments a1-a3 of the set of the vCPUs in mask; its SPARSE flag. */
static uint64_t set_args(uint64_t mask, bool sparse, uint64_t *a)
{
	uint64_t ids[PV_MAX_VCPUS], base = ~0ULL, off;
	int i, n = 0;

	for (i = 0; i < NR_VCPUS; i++) {
		if (!(mask & BIT_ULL(i)))
			continue;
		ids[n++] = pv.apic_id[i];
		base = min(base, pv.apic_id[i]);
	}
	if (sparse) {
		a[0] = pv.set_gpa;
		a[1] = pv_set_build((void *)pv.set_gva, ids, n);
		a[2] = 0;
		return KVM_FLUSH_TLB_V2_SPARSE;
	}

	a[0] = 0;
	a[1] = 0;
	for (i = 0; i < n; i++) {
		off = ids[i] - base;
		GUEST_ASSERT(off < 128);
		a[off / 64] |= BIT_ULL(off % 64);
	}
	a[2] = base;
	return 0;
}

static void iteration(const struct stage *s, uint64_t seq)
{
	uint64_t a[3], flags, tok, w;

	for (w = 1; w < NR_VCPUS; w++)
		WRITE_ONCE(td.exp[w], 0);
	/*
	 * The workers stop checking before their mappings change: pairs with
	 * the rmb()s in worker_check().
	 */
	wmb();

	/* In its own set, the sender caches T0's translation, for the flush to drop. */
	if (s->targets & BIT_ULL(0))
		pv_tlb_read(pvt.t.gva[0]);

	if (s->swap & SWAP_T)
		pv_tlb_pair_swap(&pvt.t);
	if (s->swap & SWAP_H)
		pv_tlb_pair_swap(&td.h);

	if (!s->control) {
		flags = set_args(s->targets, s->sparse, a);
		pv_check_ret(pv_flush(s->a0 | flags, a[0], a[1], a[2]),
			     __builtin_popcountll(s->targets));
	}

	if ((s->targets & BIT_ULL(0)) &&
	    pv_tlb_read(pvt.t.gva[0]) != pv_tlb_pair_expect(&pvt.t, 0, pvt.t.swapped))
		td.self_stale++;

	tok = seq << TOK_SEQ_SHIFT | s->check |
	      (pvt.t.swapped ? TOK_T_SWAPPED : 0) | (td.h.swapped ? TOK_H_SWAPPED : 0);
	/*
	 * Published after the flush returned, so a read under tok comes after
	 * it; pairs with the rmb()s in worker_check().
	 */
	wmb();
	for (w = 1; w < NR_VCPUS; w++)
		if (s->targets & BIT_ULL(w))
			WRITE_ONCE(td.exp[w], tok);
	GUEST_SYNC_ARGS(STAGE_WAIT, tok, s->targets, 0, 0);
}

static void sender_code(uint64_t idx)
{
	uint64_t a[3], a0, flags, st, i, k, seq = 0;

	GUEST_ASSERT(this_cpu_has(X86_FEATURE_KVM_PV_TLB_FLUSH_V2));
	pv_guest_init(idx);
	GUEST_SYNC_ARGS(STAGE_READY, 0, 0, 0, 0);

	for (st = 0; st < READ_ONCE(td.nr_stages); st++) {
		for (i = 0; i < NTRY; i++)
			iteration(&td.stages[st], ++seq);
		pv_sync_stage(STAGE_DONE);
	}

	flags = set_args(ALL_WORKERS, true, a);
	do {
		for (i = 0; i < N; i++)
			pv_check_ret(pv_flush(KVM_FLUSH_TLB_V2_ALL | flags, a[0], a[1], a[2]),
				     NR_WORKERS);
		pv_sync_stage(STAGE_WINDOW);
	} while (READ_ONCE(td.again));

	WRITE_ONCE(td.halt, 1);
	for (i = 0; i < OVF_NTRY; i++) {
		GUEST_SYNC_ARGS(STAGE_OVF_READY, i, 0, 0, 0);
		pv_tlb_pair_swap(&pvt.t);
		for (k = 0; k < OVF_CALLS; k++) {
			a0 = PV_TLB_A0(pvt.t.gva[0] + (16 + k) * PG_SIZE_4K, 1, 12);
			pv_check_ret(pv_flush(a0 | flags, a[0], a[1], a[2]), NR_WORKERS);
		}
		pv_check_ret(pv_flush(PV_TLB_A0(pvt.t.gva[0], 1, 12) | flags, a[0], a[1], a[2]),
			     NR_WORKERS);
		pv_sync_stage(STAGE_OVF_QUEUED);
		pv_upstream_to_receivers(VEC_FENCE);	/* wakes every worker */
		GUEST_SYNC_ARGS(STAGE_OVF_WOKEN, i, 0, 0, 0);
	}

	pv_sender_end(STAGE_END);
}

/* Host side. */

static struct pv_vm vm;
static struct test_data *tdh;
static struct pv_tlb_shared *pvth;
static const char *stage_names[MAX_STAGES];
static bool tdp;

static void add_stage(const char *name, uint64_t a0, uint64_t targets, bool sparse,
		      uint64_t swap, uint64_t check, bool control)
{
	uint64_t n = tdh->nr_stages++;

	TEST_ASSERT(n < MAX_STAGES, "too many stages");
	stage_names[n] = name;
	tdh->stages[n] = (struct stage){
		.a0 = a0, .targets = targets, .sparse = sparse, .swap = swap,
		.check = check, .control = control,
	};
}

static void add_stages(void)
{
	uint64_t t0 = pvth->t.gva[0], h0 = tdh->h.gva[0];

	add_stage("one page, set in registers", PV_TLB_A0(t0, 1, 12), REG_WORKERS, false,
		  SWAP_T, TOK_CHECK(SLOT_T0), false);
	add_stage("one page, set in memory", PV_TLB_A0(t0, 1, 12), ALL_WORKERS, true,
		  SWAP_T, TOK_CHECK(SLOT_T0), false);
	add_stage("two pages", PV_TLB_A0(t0, 2, 12), ALL_WORKERS, true, SWAP_T, CHECK_T, false);
	add_stage("two 2M pages, 2M stride", PV_TLB_A0(h0, 2, 21), ALL_WORKERS, true,
		  SWAP_H, CHECK_H, false);
	add_stage("ALL", KVM_FLUSH_TLB_V2_ALL, ALL_WORKERS, true, SWAP_T | SWAP_H,
		  CHECK_T | CHECK_H, false);
	add_stage("two pages, FREED_TABLES", PV_TLB_A0(t0, 2, 12) | KVM_FLUSH_TLB_V2_FREED_TABLES,
		  ALL_WORKERS, true, SWAP_T, CHECK_T, false);
	add_stage("two pages, GLOBAL, set in registers",
		  PV_TLB_A0(t0, 2, 12) | KVM_FLUSH_TLB_V2_GLOBAL, REG_WORKERS, false,
		  SWAP_T, CHECK_T, false);
	add_stage("one page, the sender in its own set", PV_TLB_A0(t0, 1, 12),
		  ALL_WORKERS | BIT_ULL(0), true, SWAP_T, TOK_CHECK(SLOT_T0), false);
	add_stage("control: swap, no flush", 0, ALL_WORKERS, true, SWAP_T, CHECK_T, true);
	add_stage("ALL, after the control", KVM_FLUSH_TLB_V2_ALL, ALL_WORKERS, true, SWAP_T,
		  CHECK_T | CHECK_H, false);
}

/* Wait until every target has checked its pages against tok. */
static void wait_checked(uint64_t tok, uint64_t targets)
{
	uint64_t deadline = pv_now_ns() + PV_WAIT_NS;
	int w;

	for (w = 1; w < NR_VCPUS; w++) {
		if (!(targets & BIT_ULL(w)))
			continue;
		while (READ_ONCE(tdh->checked[w]) != tok) {
			TEST_ASSERT(pv_now_ns() < deadline,
				    "the worker at APIC ID %u did not check token %#lx",
				    apic_ids[w], tok);
			usleep(50);
		}
	}
}

static void run_stage(int st)
{
	uint64_t before[NR_VCPUS], after[NR_VCPUS], stale0[NR_VCPUS], self0, n, stale = 0;
	const struct stage *s = &tdh->stages[st];
	const char *name = stage_names[st];
	struct ucall uc;
	bool ok;
	int i, w;

	pv_tlb_flushes(&vm, before);
	for (w = 0; w < NR_VCPUS; w++)
		stale0[w] = READ_ONCE(tdh->stale[w]);
	self0 = READ_ONCE(tdh->self_stale);

	for (i = 0; i < NTRY; i++) {
		pv_sender_to(&vm, &uc, STAGE_WAIT);
		wait_checked(uc.args[2], uc.args[3]);
	}
	pv_sender_to(&vm, &uc, STAGE_DONE);
	pv_tlb_flushes(&vm, after);

	ok = pv_check_calls(name, &uc, s->control ? 0 : NTRY);
	for (w = 1; w < NR_VCPUS; w++) {
		n = READ_ONCE(tdh->stale[w]) - stale0[w];
		stale += n;
		if (n && !s->control) {
			ksft_print_msg(
				       "%s: the worker at APIC ID %u read %lu stale values, the first %#lx in slot %lu under token %#lx\n",
				       name, apic_ids[w], n, tdh->first_stale[w][2],
				       tdh->first_stale[w][1], tdh->first_stale[w][0]);
			ok = false;
		}
		if (s->control)
			continue;
		if ((s->targets & BIT_ULL(w)) && after[w] - before[w] < NTRY) {
			ksft_print_msg(
				       "%s: the worker at APIC ID %u flushed %lu times, expected at least %d\n",
				       name, apic_ids[w], after[w] - before[w], NTRY);
			ok = false;
		}
		/* Shadow paging flushes every vCPU when page tables change. */
		if (tdp && !(s->targets & BIT_ULL(w)) && after[w] - before[w] >= NTRY / 2) {
			ksft_print_msg(
				       "%s: the worker at APIC ID %u is not in the set but flushed %lu times\n",
				       name, apic_ids[w], after[w] - before[w]);
			ok = false;
		}
	}
	if ((s->targets & BIT_ULL(0)) && tdh->self_stale != self0) {
		ksft_print_msg("%s: the sender read %lu stale values right after its call\n",
			       name, tdh->self_stale - self0);
		ok = false;
	}

	if (!s->control) {
		ksft_test_result(ok,
				 "%s: %d flushes returned their count; no stale read; each target drained each\n",
				 name, NTRY);
	} else if (!ok) {
		ksft_test_result_fail("%s\n", name);
	} else if (stale) {
		ksft_test_result_pass("%s: %lu stale reads: the stale-read checks can fail\n",
				      name, stale);
	} else {
		ksft_test_result_skip(
				      "%s: no stale read without a flush: this platform flushes on its own, and the stale-read checks cannot fail here\n",
				      name);
	}
}

static void run_windows(void)
{
	uint64_t least = ~0ULL;
	struct pv_stats d;
	struct ucall uc;
	bool ok = true;
	int w;

	pv_sender_stats(&vm);
	for (w = 0; w < WINDOWS; w++) {
		pv_sender_to(&vm, &uc, STAGE_WINDOW);
		d = pv_sender_stats(&vm);
		ok &= pv_check_calls("window", &uc, N);
		if (d.v[PV_HYPERCALLS] != N) {
			ksft_print_msg("window %d: the hypercalls stat moved by %lu, expected %d\n",
				       w, d.v[PV_HYPERCALLS], N);
			ok = false;
		}
		ksft_print_msg(
			       "window %d: %lu hypercalls, %lu exits: %lu unexplained; io %lu, irq %lu, npf %lu, hlt %lu\n",
			       w, d.v[PV_HYPERCALLS], d.v[PV_EXITS], pv_exits_unexplained(&d),
			       d.v[PV_IO_EXITS], d.v[PV_IRQ_EXITS], d.v[PV_PF_TAKEN],
			       d.v[PV_HALT_EXITS]);
		least = min(least, pv_exits_unexplained(&d));
		WRITE_ONCE(tdh->again, w + 1 < WINDOWS);
	}
	ksft_test_result(ok,
			 "sender: %d flushes of 5 spinning workers per window, each returned 5\n",
			 N);
	ksft_test_result(ok && least == N,
			 "sender: %d flushes, %lu exits no other stat explains (quietest of %d windows)\n",
			 N, least, WINDOWS);
}

static void run_overflow(void)
{
	uint64_t before[NR_VCPUS], queued[NR_VCPUS], after[NR_VCPUS], wakes[PV_MAX_VCPUS];
	uint64_t least = ~0ULL, most = 0, expect, d;
	bool ok = true, quiet = true, fresh = true;
	struct ucall uc;
	int i, w;

	for (i = 0; i < OVF_NTRY; i++) {
		pv_sender_to(&vm, &uc, STAGE_OVF_READY);
		pv_tlb_wait_blocked(&vm, ALL_WORKERS);
		pv_tlb_flushes(&vm, before);
		memcpy(wakes, pvth->wakes, sizeof(wakes));

		pv_sender_to(&vm, &uc, STAGE_OVF_QUEUED);
		ok &= pv_check_calls("overflow", &uc, OVF_CALLS + 1);
		pv_tlb_flushes(&vm, queued);
		for (w = 1; w < NR_VCPUS; w++) {
			if (pv_stat_read(&vm.stats[w], PV_BLOCKING) &&
			    READ_ONCE(pvth->wakes[w]) == wakes[w] &&
			    (!tdp || queued[w] == before[w]))
				continue;
			ksft_print_msg(
				       "overflow %d: with the flushes queued, the worker at APIC ID %u %s (tlb_flush +%lu)\n",
				       i, apic_ids[w], READ_ONCE(pvth->wakes[w]) != wakes[w] ?
				       "woke" : "ran or flushed", queued[w] - before[w]);
			quiet = false;
		}

		pv_sender_to(&vm, &uc, STAGE_OVF_WOKEN);
		for (w = 1; w < NR_VCPUS; w++)
			vm.expect[w][VEC_FENCE]++;
		pv_tlb_wait_woken(&vm, pvth, wakes, ALL_WORKERS);
		pv_tlb_flushes(&vm, after);
		expect = pv_tlb_pair_expect(&pvth->t, 0, pvth->t.swapped);
		for (w = 1; w < NR_VCPUS; w++) {
			if (READ_ONCE(pvth->seen[w]) != expect) {
				ksft_print_msg(
					       "overflow %d: woken, the worker at APIC ID %u read %#lx in T0, expected %#lx\n",
					       i, apic_ids[w], READ_ONCE(pvth->seen[w]), expect);
				fresh = false;
			}
			d = after[w] - before[w];
			least = min(least, d);
			most = max(most, d);
		}
	}

	ksft_test_result(ok && quiet,
			 "overflow: %d flushes queued on 5 halted workers: none woke%s\n",
			 OVF_CALLS + 1, tdp ? " or flushed" : "");
	ksft_test_result(fresh, "overflow: once woken, every worker read T0's new page\n");
	if (!tdp) {
		ksft_test_result_skip(
				      "overflow: tlb_flush counts: shadow paging flushes on its own\n");
		return;
	}
	ksft_test_result(least == 1,
			 "overflow: tlb_flush moved by %lu to %lu per worker and wake-up, expected 1: 15 entries and a flush-all, flushed as one\n",
			 least, most);
}

int main(void)
{
	struct ucall uc;
	int st;

	ksft_print_header();
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_MAX_VCPU_ID));
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_KVM_PV_TLB_FLUSH_V2));
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_KVM_PV_SEND_IPI));
	pv_require_cpus(2);
	tdp = kvm_is_tdp_enabled();

	pv_vm_create(&vm, apic_ids, NR_VCPUS, sender_code, worker_code);
	pvth = pv_tlb_setup(&vm);
	tdh = addr_gva2hva(vm.vm, (vm_vaddr_t)&td);
	pv_tlb_pair_create_2m(vm.vm, &tdh->h, HUGE_GPA, HUGE_SLOT, 3);
	tdh->slot[SLOT_T0] = pvth->t.gva[0];
	tdh->slot[SLOT_T1] = pvth->t.gva[1];
	tdh->slot[SLOT_H0] = tdh->h.gva[0];
	tdh->slot[SLOT_H1] = tdh->h.gva[1];
	add_stages();
	ksft_set_plan(tdh->nr_stages + 2 + 3 + 1);
	ksft_print_msg("nested paging %s\n", tdp ? "on" :
		       "off: KVM shadows the guest's page tables and flushes on its own when they change");

	pv_tlb_start_workers(&vm);
	pv_sender_to(&vm, &uc, STAGE_READY);
	pv_wait_ready(&vm);

	for (st = 0; st < tdh->nr_stages; st++)
		run_stage(st);
	run_windows();
	run_overflow();

	ksft_test_result(pv_vm_end(&vm, STAGE_END),
			 "at the end: every worker took each wake-up once, no IRR or ISR bit left\n");
	pv_vm_free(&vm);
	ksft_finished();
}
