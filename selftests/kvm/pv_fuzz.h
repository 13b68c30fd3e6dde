/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The engine of the v2 hypercall fuzzers (pv_ipi_v2_fuzz_test.c,
 * pv_tlb_v2_fuzz_test.c), on top of pv_ipi_v2.h's VM: a seeded PRNG; random
 * vCPU sets in a1-a3, in registers or in a memslot of their own (written
 * by the sender with random contents and sizes, straddling the memslot's
 * ends, misaligned, in the hole after it and anywhere in the 64-bit
 * space); a model of the rules of vCPU sets, which both hypercalls share;
 * the check of each return value against the model; and the loop that
 * runs the sender's calls in windows, between which the host can look.
 *
 * A model gives, for a call, the errors that apply (any of them may come
 * back when several do, as the ABI does not order them) or, when none
 * does, the vCPUs the call names: it must then return their number, the
 * caller included. The guest is in 64-bit mode: the truncation that a
 * 32-bit caller's arguments undergo is not modelled.
 *
 * The seed is printed; -s SEED (or PV_FUZZ_SEED) replays a run, -n N (or
 * PV_FUZZ_ITERATIONS) sets the number of calls.
 */
#ifndef PV_FUZZ_H
#define PV_FUZZ_H

#include <getopt.h>

#include "pv_ipi_v2.h"

#define FUZZ_MAX_MISMATCHES	8
#define FUZZ_RGN_GPA		0x40000000ULL
#define FUZZ_RGN_SLOT		1
#define FUZZ_RGN_PAGES		4
#define FUZZ_RGN_SIZE		(FUZZ_RGN_PAGES * PV_PAGE_SIZE)
#define FUZZ_SET_HDR		32	/* sizeof(struct kvm_pv_vcpu_set) */
#define FUZZ_MAX_ID		(KVM_PV_VCPU_SET_BANKS * 64)
#define FUZZ_E_INVAL		BIT(0)
#define FUZZ_E_FAULT		BIT(1)

enum {
	FUZZ_STAGE_READY,
	FUZZ_STAGE_WINDOW,
	FUZZ_STAGE_DONE,
};

/* A call the model did not predict. */
struct fuzz_mismatch {
	uint64_t iteration;
	uint64_t a[4];
	uint64_t ret;
	uint64_t errs;		/* FUZZ_E_*: the errors that applied */
	uint64_t count;		/* or the count expected */
};

/* Shared by the guest and the host, which reaches it through its hva. */
struct fuzz_shared {
	/* Set by the host. */
	uint64_t seed, iterations, window, rgn_gva;
	/* Kept by the sender. */
	uint64_t rng;
	uint64_t hypercalls;	/* every one it made, fuzzed or not */
	uint64_t nr_valid, nr_valid_sparse, nr_einval, nr_efault, nr_mismatches;
	struct fuzz_mismatch mismatches[FUZZ_MAX_MISMATCHES];
	uint8_t set_buf[PV_SET_MAX_SIZE];
};

static struct fuzz_shared fz;

/* Guest side: the PRNG. */

/* xorshift64*: the same seed, the same calls. */
static inline uint64_t fuzz_rnd(void)
{
	fz.rng ^= fz.rng >> 12;
	fz.rng ^= fz.rng << 25;
	fz.rng ^= fz.rng >> 27;
	return fz.rng * 0x2545f4914f6cdd1dULL;
}

static inline uint64_t fuzz_rnd_below(uint64_t n)
{
	return fuzz_rnd() % n;
}

/* Random bits, dense or sparse. */
static inline uint64_t fuzz_rnd_bits(void)
{
	switch (fuzz_rnd_below(4)) {
	case 0:
		return fuzz_rnd();
	case 1:
		return fuzz_rnd() & fuzz_rnd() & fuzz_rnd();
	case 2:
		return 1ULL << fuzz_rnd_below(64);
	default:
		return 0;
	}
}

/* The model of vCPU sets. */

/* Is [gpa, gpa + len) in the region, the only memory sets can be in? */
static inline bool fuzz_backed(uint64_t gpa, uint64_t len)
{
	return gpa >= FUZZ_RGN_GPA && len <= FUZZ_RGN_SIZE &&
	       gpa - FUZZ_RGN_GPA <= FUZZ_RGN_SIZE - len;
}

static inline void *fuzz_rgn_ptr(uint64_t gpa)
{
	return (void *)(fz.rgn_gva + (gpa - FUZZ_RGN_GPA));
}

/* The vCPUs (bit = index) that a set in registers names, asked per vCPU. */
static inline uint64_t fuzz_inline_targets(uint64_t lo, uint64_t hi, uint64_t base)
{
	uint64_t targets = 0, off;
	uint64_t i;

	for (i = 0; i < pv.nr_vcpus; i++) {
		off = pv.apic_id[i] - base;
		if (pv.apic_id[i] < base || off >= 128)
			continue;
		if ((off < 64 ? lo >> off : hi >> (off - 64)) & 1)
			targets |= 1ULL << i;
	}
	return targets;
}

/* The vCPUs that the set at gpa names; it is in memory. */
static inline uint64_t fuzz_sparse_targets(uint64_t gpa)
{
	struct kvm_pv_vcpu_set *set = fuzz_rgn_ptr(gpa);
	uint64_t targets = 0, id, bank, k, w;
	uint64_t i;

	for (i = 0; i < pv.nr_vcpus; i++) {
		id = pv.apic_id[i];
		bank = id / 64;
		if (!(set->bank_mask[bank / 64] & (1ULL << (bank % 64))))
			continue;
		k = 0;
		for (w = 0; w < bank / 64; w++)
			k += __builtin_popcountll(set->bank_mask[w]);
		k += __builtin_popcountll(set->bank_mask[bank / 64] & ((1ULL << (bank % 64)) - 1));
		if (set->banks[k] & (1ULL << (id % 64)))
			targets |= 1ULL << i;
	}
	return targets;
}

static inline bool fuzz_size_possible(uint64_t size)
{
	return size >= FUZZ_SET_HDR && !((size - FUZZ_SET_HDR) % 8) &&
	       (size - FUZZ_SET_HDR) / 8 <= KVM_PV_VCPU_SET_BANKS;
}

/*
 * The set of a1-a3, in memory if sparse: the FUZZ_E_* errors that apply,
 * or, when none does, *targets says which vCPUs it names.
 */
static inline uint64_t fuzz_set_model(const uint64_t *a, bool sparse, uint64_t *targets)
{
	struct kvm_pv_vcpu_set *set;
	uint64_t errs = 0, nr_banks = 0;
	int w;

	*targets = 0;
	if (!sparse) {
		if (a[3] > 0xffffffffULL)
			return FUZZ_E_INVAL;
		*targets = fuzz_inline_targets(a[1], a[2], a[3]);
		return 0;
	}

	if (a[3])
		errs |= FUZZ_E_INVAL;
	if (a[1] % 8)
		errs |= FUZZ_E_INVAL;
	if (!fuzz_size_possible(a[2]))
		errs |= FUZZ_E_INVAL;
	if (!fuzz_backed(a[1], FUZZ_SET_HDR))
		return errs | FUZZ_E_FAULT;
	set = fuzz_rgn_ptr(a[1]);
	for (w = 0; w < KVM_PV_VCPU_SET_BANKS / 64; w++)
		nr_banks += __builtin_popcountll(set->bank_mask[w]);
	if (a[2] != FUZZ_SET_HDR + 8 * nr_banks)
		return errs | FUZZ_E_INVAL;
	if (!fuzz_backed(a[1], a[2]))
		return errs | FUZZ_E_FAULT;
	*targets = fuzz_sparse_targets(a[1]);
	return errs;
}

/* The generator of vCPU sets. */

/* An APIC ID near a vCPU's, or anywhere sets reach. */
static inline uint64_t fuzz_gen_id(void)
{
	if (fuzz_rnd_below(3))
		return pv.apic_id[fuzz_rnd_below(pv.nr_vcpus)];
	return fuzz_rnd_below(FUZZ_MAX_ID);
}

static inline void fuzz_gen_inline(uint64_t *a)
{
	uint64_t near = pv.apic_id[fuzz_rnd_below(pv.nr_vcpus)];
	uint64_t targets, i, off;

	switch (fuzz_rnd_below(8)) {
	case 0:
	case 1:
		a[3] = 0;
		break;
	case 2:
	case 3:
	case 4:
		a[3] = near - min(near, fuzz_rnd_below(128));
		break;
	case 5:
		a[3] = fuzz_rnd_below(2048);
		break;
	case 6:
		a[3] = 0xffffffffULL - fuzz_rnd_below(128);
		break;
	default:
		a[3] = fuzz_rnd_below(2) ? fuzz_rnd() & 0xffffffffULL : fuzz_rnd();
		break;
	}
	a[1] = fuzz_rnd_bits();
	a[2] = fuzz_rnd_bits();
	/* Often, some vCPUs in the window on top. */
	if (fuzz_rnd_below(2)) {
		targets = fuzz_rnd();
		for (i = 0; i < pv.nr_vcpus; i++) {
			off = pv.apic_id[i] - a[3];
			if (pv.apic_id[i] < a[3] || off >= 128 || !(targets & (1ULL << i)))
				continue;
			if (off < 64)
				a[1] |= 1ULL << off;
			else
				a[2] |= 1ULL << (off - 64);
		}
	}
}

/* Write a set of random kind into fz.set_buf; its size. */
static inline uint64_t fuzz_gen_set(void)
{
	struct kvm_pv_vcpu_set *set = (void *)fz.set_buf;
	uint64_t ids[32], nr_banks = 0, i;
	int n, w;

	switch (fuzz_rnd_below(8)) {
	case 0:
		/* Random bank mask and banks. */
		for (w = 0; w < KVM_PV_VCPU_SET_BANKS / 64; w++) {
			set->bank_mask[w] = fuzz_rnd_below(3) ?
					    fuzz_rnd() & fuzz_rnd() & fuzz_rnd() & fuzz_rnd() :
					    fuzz_rnd_bits();
			nr_banks += __builtin_popcountll(set->bank_mask[w]);
		}
		for (i = 0; i < nr_banks; i++)
			set->banks[i] = fuzz_rnd_bits();
		return FUZZ_SET_HDR + 8 * nr_banks;
	case 1:
		memset(set, 0, FUZZ_SET_HDR);
		return FUZZ_SET_HDR;
	default:
		/* Some vCPUs, and IDs anywhere. */
		n = 1 + fuzz_rnd_below(ARRAY_SIZE(ids));
		for (i = 0; i < n; i++)
			ids[i] = fuzz_gen_id();
		return pv_set_build(set, ids, n);
	}
}

/*
 * Where a set goes: anywhere in the region and 8-byte aligned, mostly; at
 * any alignment; across its end; before it; in the hole after it; or
 * anywhere at all.
 */
static inline uint64_t fuzz_gen_gpa(void)
{
	switch (fuzz_rnd_below(16)) {
	case 0:
		return FUZZ_RGN_GPA + fuzz_rnd_below(FUZZ_RGN_SIZE);
	case 1:
		return FUZZ_RGN_GPA + FUZZ_RGN_SIZE - 8 * fuzz_rnd_below(300);
	case 2:
		return FUZZ_RGN_GPA - 8 * (1 + fuzz_rnd_below(64));
	case 3:
		return FUZZ_RGN_GPA + FUZZ_RGN_SIZE + 8 * fuzz_rnd_below(1 << 16);
	case 4:
		return fuzz_rnd() & ~7ULL;
	case 5:
		return fuzz_rnd();
	default:
		return FUZZ_RGN_GPA + 8 * fuzz_rnd_below(FUZZ_RGN_SIZE / 8);
	}
}

static inline void fuzz_gen_sparse(uint64_t *a)
{
	uint64_t size = fuzz_gen_set(), gpa = fuzz_gen_gpa(), i;

	/* Whatever part of the set falls into the region is written there. */
	for (i = 0; i < size; i++)
		if (fuzz_backed(gpa + i, 1))
			*(uint8_t *)fuzz_rgn_ptr(gpa + i) = fz.set_buf[i];

	a[1] = gpa;
	switch (fuzz_rnd_below(16)) {
	case 0:
		a[2] = size + 8;
		break;
	case 1:
		a[2] = size - 8;
		break;
	case 2:
		a[2] = fuzz_rnd_below(PV_SET_MAX_SIZE + 64);
		break;
	case 3:
		a[2] = fuzz_rnd_below(4) ? 0 : fuzz_rnd();
		break;
	default:
		a[2] = size;
		break;
	}
	a[3] = fuzz_rnd_below(12) ? 0 : fuzz_rnd_bits();
}

/* a1-a3: a set in memory if sparse, else in registers. */
static inline void fuzz_gen_set_args(uint64_t *a, bool sparse)
{
	if (sparse)
		fuzz_gen_sparse(a);
	else
		fuzz_gen_inline(a);
}

/*
 * Call it made with a[], which returned ret: is that what the model
 * allowed (errs, or else the vCPUs in targets)? The answer is counted, and
 * a mismatch kept for the host. True if the call was valid, as predicted.
 */
static inline bool fuzz_check(uint64_t it, const uint64_t *a, bool sparse, uint64_t errs,
			      uint64_t targets, uint64_t ret)
{
	uint64_t count = __builtin_popcountll(targets);
	struct fuzz_mismatch *m;

	if (errs) {
		if ((errs & FUZZ_E_INVAL) && ret == -KVM_EINVAL)
			fz.nr_einval++;
		else if ((errs & FUZZ_E_FAULT) && ret == -KVM_EFAULT)
			fz.nr_efault++;
		else
			goto mismatch;
		return false;
	}
	if (ret == count) {
		fz.nr_valid++;
		fz.nr_valid_sparse += sparse;
		return true;
	}
mismatch:
	if (fz.nr_mismatches < FUZZ_MAX_MISMATCHES) {
		m = &fz.mismatches[fz.nr_mismatches];
		*m = (struct fuzz_mismatch){
			.iteration = it, .a = { a[0], a[1], a[2], a[3] },
			.ret = ret, .errs = errs, .count = count,
		};
	}
	fz.nr_mismatches++;
	return false;
}

/*
 * The sender's code: fz.iterations calls, in windows of at most fz.window
 * (all of them if 0). window(first, n) makes calls first to first + n - 1
 * and returns how many hypercalls it made in all; the host looks at each
 * window. At the end, the receivers are woken to leave.
 */
static inline void fuzz_guest_run(uint64_t idx, uint64_t (*window)(uint64_t first, uint64_t n))
{
	uint64_t it, n;

	pv_guest_init(idx);
	GUEST_SYNC_ARGS(FUZZ_STAGE_READY, 0, 0, 0, 0);
	fz.rng = fz.seed ?: 1;
	for (it = 0; it < fz.iterations; it += n) {
		n = fz.iterations - it;
		if (fz.window)
			n = min(n, fz.window);
		fz.hypercalls += window(it, n);
		GUEST_SYNC_ARGS(FUZZ_STAGE_WINDOW, it, n, 0, 0);
	}
	GUEST_SYNC_ARGS(FUZZ_STAGE_DONE, 0, 0, 0, 0);
	pv_stop_receivers();
	GUEST_DONE();
}

/* Host side. */

struct fuzz_args {
	uint64_t seed, iterations;
};

static inline uint64_t fuzz_parse(const char *what, const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	if (!*s || *end)
		ksft_exit_fail_msg("bad %s: %s\n", what, s);
	return v;
}

/* -s SEED, -n ITERATIONS, or their variables; a seed from the clock if none. */
static inline struct fuzz_args fuzz_parse_args(int argc, char *argv[], uint64_t iterations)
{
	struct fuzz_args args = { .iterations = iterations };
	bool have_seed = false;
	struct timespec ts;
	int opt;

	if (getenv("PV_FUZZ_SEED")) {
		args.seed = fuzz_parse("seed", getenv("PV_FUZZ_SEED"));
		have_seed = true;
	}
	if (getenv("PV_FUZZ_ITERATIONS"))
		args.iterations = fuzz_parse("iterations", getenv("PV_FUZZ_ITERATIONS"));
	while ((opt = getopt(argc, argv, "s:n:")) != -1) {
		switch (opt) {
		case 's':
			args.seed = fuzz_parse("seed", optarg);
			have_seed = true;
			break;
		case 'n':
			args.iterations = fuzz_parse("iterations", optarg);
			break;
		default:
			ksft_exit_fail_msg("usage: %s [-s SEED] [-n ITERATIONS]\n", argv[0]);
		}
	}
	if (!have_seed) {
		clock_gettime(CLOCK_REALTIME, &ts);
		args.seed = ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
		args.seed ^= (uint64_t)getpid() << 40;
	}
	return args;
}

static inline void fuzz_print_seed(const struct fuzz_args *args)
{
	ksft_print_msg("seed %#lx, %lu calls (replay: -s %#lx -n %lu)\n", args->seed,
		       args->iterations, args->seed, args->iterations);
}

/*
 * Give the VM the sets' memslot, mapped for the sender, and the sender
 * its arguments; windows of window calls (0: one). The guest's
 * struct fuzz_shared.
 */
static inline struct fuzz_shared *fuzz_setup(struct pv_vm *p, const struct fuzz_args *args,
					     uint64_t window)
{
	struct fuzz_shared *hfz = addr_gva2hva(p->vm, (vm_vaddr_t)&fz);
	vm_vaddr_t gva;

	vm_userspace_mem_region_add(p->vm, VM_MEM_SRC_ANONYMOUS, FUZZ_RGN_GPA, FUZZ_RGN_SLOT,
				    FUZZ_RGN_PAGES, 0);
	gva = vm_vaddr_unused_gap(p->vm, FUZZ_RGN_SIZE, KVM_UTIL_MIN_VADDR);
	virt_map(p->vm, gva, FUZZ_RGN_GPA, FUZZ_RGN_PAGES);
	hfz->rgn_gva = gva;
	hfz->seed = args->seed;
	hfz->iterations = args->iterations;
	hfz->window = window;
	return hfz;
}

/* Say which calls returned what the model did not allow; true if none. */
static inline bool fuzz_check_mismatches(struct fuzz_shared *hfz)
{
	static const char * const expected[] = {
		[FUZZ_E_INVAL] = "-KVM_EINVAL",
		[FUZZ_E_FAULT] = "-KVM_EFAULT",
		[FUZZ_E_INVAL | FUZZ_E_FAULT] = "-KVM_EINVAL or -KVM_EFAULT",
	};
	uint64_t n = hfz->nr_mismatches, i;
	struct fuzz_mismatch *m = hfz->mismatches;
	char count[24] = "";

	for (i = 0; i < min_t(uint64_t, n, FUZZ_MAX_MISMATCHES); i++, m++) {
		if (!m->errs)
			snprintf(count, sizeof(count), " %lu", m->count);
		ksft_print_msg(
			       "call %lu: a0 %#lx a1 %#lx a2 %#lx a3 %#lx returned %ld, expected %s%s\n",
			       m->iteration, m->a[0], m->a[1], m->a[2], m->a[3], (int64_t)m->ret,
			       m->errs ? expected[m->errs] : "a count", m->errs ? "" : count);
	}
	if (n > FUZZ_MAX_MISMATCHES)
		ksft_print_msg("... %lu calls in all returned what the model did not allow\n", n);
	return !n;
}

/*
 * What the host does around the sender's windows, after which (calls first
 * to first + n - 1) it can look at what they did; any may be NULL.
 */
struct fuzz_ops {
	void (*ready)(struct pv_vm *p);		/* once, before the first window */
	void (*before)(struct pv_vm *p);
	void (*after)(struct pv_vm *p, uint64_t first, uint64_t n);
};

/*
 * Run the sender, whose receivers run, from its start through its windows
 * to its end, which wakes the receivers to leave, and report the first
 * test: every call returned what the model allowed, and the sender's
 * 'hypercalls' stat moved by as many as it made.
 */
static inline void fuzz_host_run(struct pv_vm *p, struct fuzz_shared *hfz,
				 const struct fuzz_ops *ops)
{
	uint64_t before, made, start_ns, windows = 0;
	struct ucall uc;
	int64_t stage;
	bool ok;

	pv_sender_to(p, &uc, FUZZ_STAGE_READY);
	pv_wait_ready(p);
	if (ops->ready)
		ops->ready(p);
	before = pv_stat_read(&p->stats[0], PV_HYPERCALLS);
	start_ns = pv_now_ns();
	for (;;) {
		if (ops->before)
			ops->before(p);
		stage = pv_run_sender(p, &uc);
		if (stage == FUZZ_STAGE_DONE)
			break;
		TEST_ASSERT(stage == FUZZ_STAGE_WINDOW, "sender: stage %ld", stage);
		windows++;
		if (ops->after)
			ops->after(p, uc.args[2], uc.args[3]);
	}
	ksft_print_msg(
		       "%lu calls in %lu windows, %lu ms: %lu valid (%lu sparse), %lu -KVM_EINVAL, %lu -KVM_EFAULT\n",
		       hfz->iterations, windows, (pv_now_ns() - start_ns) / NSEC_PER_MSEC,
		       hfz->nr_valid, hfz->nr_valid_sparse, hfz->nr_einval, hfz->nr_efault);
	ok = fuzz_check_mismatches(hfz);
	made = pv_stat_read(&p->stats[0], PV_HYPERCALLS) - before;
	if (made != hfz->hypercalls) {
		ksft_print_msg("the sender's hypercalls stat moved by %lu; it made %lu\n", made,
			       hfz->hypercalls);
		ok = false;
	}
	ksft_test_result(ok,
			 "%lu random calls returned what the ABI allows; the sender made %lu hypercalls, as its stat says\n",
			 hfz->iterations, hfz->hypercalls);
	WRITE_ONCE(p->hs->stop, 1);
	TEST_ASSERT(pv_run_sender(p, &uc) == -1, "the sender did not finish");
}

#endif /* PV_FUZZ_H */
