// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_HC_FLUSH_TLB_V2 with random arguments, from guest code, checked
 * against a model of the ABI; and that what the model says fails flushes
 * nothing.
 *
 * A VM with the sender at APIC ID 0 and workers at 1, 64, 191 and 1000,
 * which halt and, each time they wake, read T0 once (pv_tlb_v2.h). The
 * sender makes ITERATIONS calls with random a0-a3: a0 a flush of 1 or 64
 * pages or a few, of each stride, stride 3 (reserved) too, from T0 or a
 * page below it (so that the range covers T0), next to T0, anywhere in
 * either canonical half, at the top of the lower half and the bottom of
 * the upper one (ranges that leave or enter the canonical space), at the
 * top of the address space (ranges that wrap), canonical only with 5-level
 * paging, or anywhere; or ALL, alone or with an address, a page count or
 * a stride; FREED_TABLES and GLOBAL at random; and now and then a random
 * a0. The vCPU sets are pv_fuzz.h's, in registers or in memory, with
 * sizes that lie, misaligned, unmapped. Before each call the sender works
 * out what the ABI allows: a0 is modelled page by page (every page the
 * range names is canonical for the caller, and none lies past 2^64),
 * where the host checks the first and last page; the set by
 * pv_fuzz.h. The call must return what the model says.
 *
 * The calls come in windows of WINDOW. At the start of each the sender
 * swaps T0 and T1; at its end it wakes the workers with KVM_HC_SEND_IPI,
 * the upstream call (the fence), and the host, once each worker has read
 * T0, reads the workers' tlb_flush stats. Half of the windows, chosen at
 * random, make only calls the model says fail. With nested paging, the
 * host checks that in those no worker flushed: a failed call that had
 * queued an entry and made the request would show when the fence woke the
 * worker. In the others, a worker that a valid call named flushed at
 * least once and at most once per such call (a drain counts its entries,
 * or one for a flush of everything), and a worker that none named did not
 * flush. Shadow paging flushes by itself when the sender writes the PTEs,
 * so there the counts are not checked. Always, a worker that a valid call
 * named whose range holds T0 (or ALL) must then read T0's new page; under
 * TCG, which drops cached translations on every VM entry, that holds even
 * without the flush, so only hardware gives this check teeth.
 *
 * The sender's 'hypercalls' stat must move by the calls and the fences;
 * at the end, each worker has taken each fence once and has no interrupt
 * left in IRR or ISR.
 *
 * The engine is pv_fuzz.h's: the seed is printed, -s SEED replays a
 * run, -n N sets the number of calls. ITERATIONS calls took 3 s in the
 * test VM under TCG, 625 windows included. The guest is in 64-bit mode, so a
 * 32-bit caller's limits (a range past 4G, windows of 64 IDs) are not
 * fuzzed; pv_tlb_v2_errors_test.c has the errors that need the host's
 * settings (-KVM_ENOSYS, -KVM_EOPNOTSUPP).
 */
#include "pv_fuzz.h"
#include "pv_tlb_v2.h"

#define NR_VCPUS	5
#define WORKERS		(BIT_ULL(NR_VCPUS) - 2)		/* vCPUs 1 and up */
#define ITERATIONS	40000
#define WINDOW		64
#define MAX_RETRIES	16
#define MAX_BAD		4
#define VEC_FENCE	0x30
#define ALL		KVM_FLUSH_TLB_V2_ALL
#define SPARSE		KVM_FLUSH_TLB_V2_SPARSE
#define STRIDE		KVM_FLUSH_TLB_V2_STRIDE
#define NR		KVM_FLUSH_TLB_V2_NR
#define ADDR		KVM_FLUSH_TLB_V2_ADDR

static const uint32_t apic_ids[NR_VCPUS] = { 0, 1, 64, 191, 1000 };

struct call {
	uint64_t a[4];
	uint64_t ret;
	uint64_t t0;			/* valid, flushes T0 on a worker */
};

/* What the sender's last window did, for the host. */
struct window {
	uint64_t failing;		/* it made only calls that the model fails */
	uint64_t named[NR_VCPUS];	/* valid calls that named each vCPU */
	uint64_t covered[NR_VCPUS];	/* those that also flushed T0 */
	struct call call[WINDOW];
};

static struct window win;
static uint64_t va_bits;		/* 48 or 57, as the sender's CR4 says */

/* The model of a0. */

static bool canonical(uint64_t va)
{
	int unused = 64 - va_bits;

	return (uint64_t)((int64_t)(va << unused) >> unused) == va;
}

/*
 * FUZZ_E_INVAL if a0 is not a flush that the ABI allows; else *covers
 * says whether it flushes T0, a 4K page.
 */
static uint64_t a0_model(uint64_t a0, bool *covers)
{
	uint64_t first = a0 & ADDR, step, page, i;
	unsigned int stride = (a0 & STRIDE) >> 6;

	*covers = false;
	if (a0 & ALL) {
		*covers = true;
		return a0 & (ADDR | NR | STRIDE) ? FUZZ_E_INVAL : 0;
	}
	if (stride == 3)
		return FUZZ_E_INVAL;
	step = 1ULL << (12 + 9 * stride);
	for (i = 0; i <= (a0 & NR); i++) {
		if (i * step > ~0ULL - first)
			return FUZZ_E_INVAL;
		page = first + i * step;
		if (!canonical(page))
			return FUZZ_E_INVAL;
		*covers |= page == pvt.t.gva[0];
	}
	return 0;
}

/* The generator of a0. */

/*
 * The first of nr + 1 pages, 1 << shift apart, in order: T0 or a page
 * below it, so that the range holds T0; next to T0; in the lower or the
 * upper canonical half; ending about the top of the lower half, or
 * starting below the bottom of the upper one, so that the first or the
 * last page is not canonical; ending about 2^64, so that the range may
 * wrap; canonical with 5-level paging; anywhere; near 0.
 */
static uint64_t gen_addr(unsigned int shift, uint64_t nr)
{
	uint64_t half = 1ULL << (va_bits - 1), step = 1ULL << shift;
	uint64_t span = (nr + 1) * step, t0 = pvt.t.gva[0];

	switch (fuzz_rnd_below(12)) {
	case 0:
	case 1:
	case 2:
		return t0 - fuzz_rnd_below(nr + 1) * step;
	case 3:
		return t0 - 4 * PV_PAGE_SIZE + fuzz_rnd_below(9) * PV_PAGE_SIZE;
	case 4:
		return fuzz_rnd() & (half - 1);
	case 5:
		return fuzz_rnd() | -half;
	case 6:
		return half - span + (fuzz_rnd_below(3) - 1) * step;
	case 7:
		return -half - fuzz_rnd_below(nr + 2) * step;
	case 8:
		return -span + (fuzz_rnd_below(3) - 1) * step;
	case 9:
		return (fuzz_rnd() & (BIT_ULL(56) - 1)) | (fuzz_rnd_below(2) ? -BIT_ULL(56) : 0);
	case 10:
		return fuzz_rnd();
	default:
		return fuzz_rnd_below(64) * step;
	}
}

static uint64_t gen_a0(void)
{
	uint64_t a0 = 0, nr, stride, r = fuzz_rnd_below(100);

	if (!fuzz_rnd_below(8))
		a0 |= KVM_FLUSH_TLB_V2_FREED_TABLES;
	if (!fuzz_rnd_below(8))
		a0 |= KVM_FLUSH_TLB_V2_GLOBAL;
	if (fuzz_rnd_below(2))
		a0 |= SPARSE;
	if (r < 12) {
		a0 |= ALL;
		if (!fuzz_rnd_below(3))
			a0 |= fuzz_rnd_bits() & (ADDR | NR | STRIDE);
		return a0;
	}
	if (r >= 96)
		return fuzz_rnd();

	/* 4K mostly, then 2M, 1G and the reserved stride 3. */
	stride = fuzz_rnd_below(16);
	stride = stride < 10 ? 0 : stride < 13 ? 1 : stride < 15 ? 2 : 3;
	switch (fuzz_rnd_below(4)) {
	case 0:
		nr = 0;
		break;
	case 1:
		nr = NR;
		break;
	case 2:
		nr = fuzz_rnd_below(4);
		break;
	default:
		nr = fuzz_rnd_below(NR + 1);
		break;
	}
	return a0 | (gen_addr(12 + 9 * stride, nr) & ADDR) | nr | stride << 6;
}

/*
 * A random call in a[]: the errors the model finds, or the vCPUs it names
 * and whether it flushes T0. With fail, one that the model says fails:
 * after MAX_RETRIES valid ones, the last gets stride 3.
 */
static uint64_t gen_call(uint64_t *a, bool fail, uint64_t *targets, bool *covers)
{
	uint64_t errs;
	int tries = 0;

	do {
		a[0] = gen_a0();
		fuzz_gen_set_args(a, a[0] & SPARSE);
		if (fail && ++tries > MAX_RETRIES)
			a[0] = (a[0] & ~ALL) | STRIDE;
		errs = a0_model(a[0], covers);
		errs |= fuzz_set_model(a, a[0] & SPARSE, targets);
	} while (fail && !errs);
	return errs;
}

static uint64_t fuzz_window(uint64_t first, uint64_t n)
{
	uint64_t ids[PV_MAX_VCPUS], errs, targets, ret, it, i, accepted = 0, fences;
	struct call *c;
	bool covers;
	int nr_ids;

	memset(&win, 0, sizeof(win));
	win.failing = fuzz_rnd_below(2);
	pv_tlb_pair_swap(&pvt.t);
	for (it = first; it < first + n; it++) {
		c = &win.call[it - first];
		errs = gen_call(c->a, win.failing, &targets, &covers);
		ret = pv_flush(c->a[0], c->a[1], c->a[2], c->a[3]);
		c->ret = ret;
		if (!fuzz_check(it, c->a, c->a[0] & SPARSE, errs, targets, ret))
			continue;
		c->t0 = covers && (targets & WORKERS);
		for (i = 0; i < pv.nr_vcpus; i++) {
			if (targets & BIT_ULL(i)) {
				win.named[i]++;
				win.covered[i] += covers;
			}
		}
	}
	nr_ids = pv_receiver_ids(ids);
	fences = pv_send_upstream(ids, nr_ids, VEC_FENCE, &accepted);
	GUEST_ASSERT_EQ(accepted, nr_ids);
	return n + fences;
}

static void sender_code(uint64_t idx)
{
	va_bits = get_cr4() & X86_CR4_LA57 ? 57 : 48;
	fuzz_guest_run(idx, fuzz_window);
}

static void worker_code(uint64_t idx)
{
	pv_guest_init(idx);
	pv_tlb_halt_loop(idx);
	GUEST_DONE();
}

/* Host side. */

static struct pv_tlb_shared *hs;
static struct window *hwin;
static uint64_t flushes[PV_MAX_VCPUS], wakes[PV_MAX_VCPUS];
/*
 * The VM's remote_tlb_flush stat at the end of the last two windows. The
 * tlb_flush stat also counts the flushes KVM makes of its own, of every
 * vCPU at once: when the host migrates or compacts guest memory, say. A
 * halted worker takes such a request when it next wakes, which the fence
 * does in the next window at the latest. So a window's counts are the
 * calls' alone if remote_tlb_flush has not moved since the end of the
 * window before it.
 */
static uint64_t host_flushes[2];
static uint64_t nr_host_flushed;
static bool tdp;

/*
 * Windows of failing calls and others, and flushes of T0 on a worker,
 * checked and found wrong; windows found wrong (the first MAX_BAD are
 * printed).
 */
static uint64_t nr_failing, bad_failing, nr_mixed, bad_mixed, nr_covered, bad_covered, nr_bad;

static void window_ready(struct pv_vm *p)
{
	/* Each worker has read T0 once, and halted: wakes[] moves only for the fences. */
	pv_tlb_wait_blocked(p, WORKERS);
	host_flushes[0] = host_flushes[1] = vm_get_stat(p->vm, "remote_tlb_flush");
}

static void window_before(struct pv_vm *p)
{
	pv_tlb_flushes(p, flushes);
	memcpy(wakes, hs->wakes, sizeof(wakes));
}

/*
 * The calls of a window that the host accepted: only those may flush. If
 * it accepted none, all of them.
 */
static void print_window(uint64_t first, uint64_t n)
{
	bool all = true;
	struct call *c;
	uint64_t i;

	for (i = 0; i < n; i++)
		all &= (int64_t)hwin->call[i].ret < 0;
	ksft_print_msg("%s:\n", all ? "the host accepted none of its calls" :
		       "its calls that the host accepted");
	for (i = 0; i < n; i++) {
		c = &hwin->call[i];
		if (all || (int64_t)c->ret >= 0)
			ksft_print_msg(
				       "  call %lu: a0 %#lx a1 %#lx a2 %#lx a3 %#lx returned %ld%s\n",
				       first + i, c->a[0], c->a[1], c->a[2], c->a[3],
				       (int64_t)c->ret, c->t0 ? ", flushing T0" : "");
	}
}

static void window_after(struct pv_vm *p, uint64_t first, uint64_t n)
{
	uint64_t after[PV_MAX_VCPUS], host, now, d, named;
	bool flushes_ok = true, seen_ok = true, say = nr_bad < MAX_BAD, counted;
	const char *fails = ", which the model says all fail";
	int w;

	pv_tlb_wait_woken(p, hs, wakes, WORKERS);
	pv_tlb_flushes(p, after);
	/* Read after the vCPUs' stats: a flush between them is KVM's. */
	host = vm_get_stat(p->vm, "remote_tlb_flush");
	counted = host == host_flushes[0];
	host_flushes[0] = host_flushes[1];
	host_flushes[1] = host;
	nr_host_flushed += !counted;
	now = pv_tlb_pair_expect(&hs->t, 0, hs->t.swapped);
	for (w = 1; w < p->nr; w++) {
		p->expect[w][VEC_FENCE]++;
		d = after[w] - flushes[w];
		named = hwin->named[w];
		if (tdp && counted && (d > named || (named && !d))) {
			if (say)
				ksft_print_msg(
					       "calls %lu-%lu%s: the worker at APIC ID %u flushed %lu times; %lu valid calls named it\n",
					       first, first + n - 1, hwin->failing ? fails : "",
					       apic_ids[w], d, named);
			flushes_ok = false;
		}
		if (!hwin->covered[w])
			continue;
		nr_covered++;
		if (READ_ONCE(hs->seen[w]) != now) {
			if (say)
				ksft_print_msg(
					       "calls %lu-%lu: %lu valid calls flushed T0 on the worker at APIC ID %u, which then read %#lx, not %#lx\n",
					       first, first + n - 1, hwin->covered[w], apic_ids[w],
					       hs->seen[w], now);
			bad_covered++;
			seen_ok = false;
		}
	}
	if (counted && hwin->failing) {
		nr_failing++;
		bad_failing += !flushes_ok;
	} else if (counted) {
		nr_mixed++;
		bad_mixed += !flushes_ok;
	}
	if (flushes_ok && seen_ok)
		return;
	if (say)
		print_window(first, n);
	nr_bad++;
}

int main(int argc, char *argv[])
{
	struct fuzz_args args = fuzz_parse_args(argc, argv, ITERATIONS);
	static const struct fuzz_ops ops = {
		.ready = window_ready,
		.before = window_before,
		.after = window_after,
	};
	struct fuzz_shared *hfz;
	struct pv_vm p;

	ksft_print_header();
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_KVM_PV_TLB_FLUSH_V2));
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_KVM_PV_SEND_IPI));
	pv_require_cpus(2);
	tdp = kvm_is_tdp_enabled();
	ksft_set_plan(5);
	fuzz_print_seed(&args);
	if (!tdp)
		ksft_print_msg(
			       "nested paging off: KVM flushes by itself when page tables change; flush counts are not checked\n");

	pv_vm_create(&p, apic_ids, NR_VCPUS, sender_code, worker_code);
	hs = pv_tlb_setup(&p);
	hwin = addr_gva2hva(p.vm, (vm_vaddr_t)&win);
	hfz = fuzz_setup(&p, &args, WINDOW);
	pv_tlb_start_workers(&p);
	fuzz_host_run(&p, hfz, &ops);

	if (nr_host_flushed)
		ksft_print_msg(
			       "%lu windows not counted: KVM flushed the VM's TLBs itself in them or the window before\n",
			       nr_host_flushed);
	if (tdp) {
		ksft_test_result(!bad_failing && nr_failing,
				 "in %lu windows of calls that fail, no worker flushed\n",
				 nr_failing);
		ksft_test_result(!bad_mixed && nr_mixed,
				 "in %lu other windows, each worker flushed at least once if a valid call named it, at most once per such call\n",
				 nr_mixed);
	} else {
		ksft_test_result_skip("windows of calls that fail: flush counts not checked\n");
		ksft_test_result_skip("other windows: flush counts not checked\n");
	}
	ksft_test_result(!bad_covered,
			 "%lu times, a worker that valid calls flushed T0 on then read T0's new page\n",
			 nr_covered);

	ksft_test_result(pv_vm_finish(&p),
			 "the guest survived: each worker took each fence once, no IRR or ISR bit left\n");
	pv_vm_free(&p);
	ksft_finished();
}
