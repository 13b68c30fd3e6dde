// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_HC_SEND_IPI_V2 with random arguments, from guest code, checked
 * against a model of the ABI.
 *
 * A VM with the sender at APIC ID 0 and receivers at 1, 64, 191 and 1000,
 * which halt and count every vector 16-255 and every NMI they take. The
 * sender makes ITERATIONS calls with random a0-a3, a mix of structured
 * and random values: valid flags, reserved bits, bad modes and vectors;
 * inline bases near the vCPUs, in the 32-bit range and above it; sparse
 * sets in a memslot of their own (the sender writes them with random
 * contents and sizes), straddling its ends, misaligned, in the hole after
 * it and anywhere in the 64-bit space. Before each call the sender works
 * out, from the arguments and the memory the host will read, what the
 * ABI allows: the errors that apply (any of them when several do, as the
 * ABI does not order them), or else the exact number of vCPUs named,
 * self included; the call must return that. For each valid call it
 * counts what each vCPU should take.
 *
 * Then the host checks that the guest survived, that the sender's
 * 'hypercalls' stat moved by one per call, and, once the receivers have
 * left, that every vCPU took each vector (and NMIs) at least once if it
 * was sent, at most as often as it was sent (IPIs of one vector coalesce
 * in the IRR, and KVM keeps at most two NMIs pending), and never if it was
 * not: whatever a failed call delivered shows. No IRR or ISR bit may be
 * left.
 *
 * The seed is printed; -s SEED (or VMF_FUZZ_SEED) replays a run, -n N (or
 * VMF_FUZZ_ITERATIONS) sets the number of calls. ITERATIONS calls took
 * 3 s in the test VM under TCG, where an exit costs some 75 us, and 30 s
 * on its debug kernel.
 */
#include <getopt.h>

#include "vmf_pv_ipi.h"

#define NR_VCPUS	5
#define ITERATIONS	20000
#define MAX_MISMATCHES	8
#define RGN_GPA		0x40000000ULL
#define RGN_SLOT	1
#define RGN_PAGES	4
#define RGN_SIZE	(RGN_PAGES * PV_PAGE_SIZE)
#define SET_HDR		32	/* sizeof(struct kvm_pv_vcpu_set) */
#define MAX_ID		(KVM_PV_VCPU_SET_BANKS * 64)
#define E_INVAL		BIT(0)
#define E_FAULT		BIT(1)
#define FLAGS_VALID	(KVM_SEND_IPI_V2_VECTOR | KVM_SEND_IPI_V2_MODE | \
			 KVM_SEND_IPI_V2_YIELD | KVM_SEND_IPI_V2_SPARSE)

static const uint32_t apic_ids[NR_VCPUS] = { 0, 1, 64, 191, 1000 };

enum {
	STAGE_READY,
	STAGE_FUZZED,
};

/* Set by the host. */
static uint64_t seed, iterations, rgn_gva;

/* A call the model did not predict. */
struct mismatch {
	uint64_t iteration;
	uint64_t a[4];
	uint64_t ret;
	uint64_t errs;		/* E_*: the errors that applied */
	uint64_t count;		/* or the count expected */
};

/* Kept by the sender. */
static uint64_t sent[PV_MAX_VCPUS][PV_NR_VECTORS];
static struct mismatch mismatches[MAX_MISMATCHES];
static uint64_t nr_mismatches, nr_valid, nr_valid_sparse, nr_einval, nr_efault, nr_sent;
static uint64_t rng;
static uint8_t set_buf[PV_SET_MAX_SIZE];

/* xorshift64*: the same seed, the same calls. */
static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static uint64_t rnd_below(uint64_t n)
{
	return rnd() % n;
}

/* Random bits, dense or sparse. */
static uint64_t rnd_bits(void)
{
	switch (rnd_below(4)) {
	case 0:
		return rnd();
	case 1:
		return rnd() & rnd() & rnd();
	case 2:
		return 1ULL << rnd_below(64);
	default:
		return 0;
	}
}

/* The model. */

static bool flags_valid(uint64_t a0)
{
	if (a0 & ~(uint64_t)FLAGS_VALID)
		return false;
	switch (a0 & KVM_SEND_IPI_V2_MODE) {
	case KVM_SEND_IPI_V2_MODE_FIXED:
		return (a0 & KVM_SEND_IPI_V2_VECTOR) >= PV_FIRST_VECTOR;
	case KVM_SEND_IPI_V2_MODE_NMI:
		return !(a0 & KVM_SEND_IPI_V2_VECTOR);
	default:
		return false;
	}
}

/* Is [gpa, gpa + len) in the region, the only memory sets can be in? */
static bool backed(uint64_t gpa, uint64_t len)
{
	return gpa >= RGN_GPA && len <= RGN_SIZE && gpa - RGN_GPA <= RGN_SIZE - len;
}

static void *rgn_ptr(uint64_t gpa)
{
	return (void *)(rgn_gva + (gpa - RGN_GPA));
}

/* The vCPUs (bit = index) that an inline call names, asked per vCPU. */
static uint64_t inline_targets(uint64_t lo, uint64_t hi, uint64_t base)
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
static uint64_t sparse_targets(uint64_t gpa)
{
	struct kvm_pv_vcpu_set *set = rgn_ptr(gpa);
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

static bool size_possible(uint64_t size)
{
	return size >= SET_HDR && !((size - SET_HDR) % 8) &&
	       (size - SET_HDR) / 8 <= KVM_PV_VCPU_SET_BANKS;
}

/*
 * What the ABI lets the call return: the E_* errors that apply, or, when
 * none does, *targets says which vCPUs it reaches.
 */
static uint64_t model(const uint64_t *a, uint64_t *targets)
{
	struct kvm_pv_vcpu_set *set;
	uint64_t errs = 0, nr_banks = 0;
	int w;

	*targets = 0;
	if (!flags_valid(a[0]))
		errs |= E_INVAL;
	if (!(a[0] & KVM_SEND_IPI_V2_SPARSE)) {
		if (a[3] > 0xffffffffULL)
			return errs | E_INVAL;
		*targets = inline_targets(a[1], a[2], a[3]);
		return errs;
	}

	if (a[3])
		errs |= E_INVAL;
	if (a[1] % 8)
		errs |= E_INVAL;
	if (!size_possible(a[2]))
		errs |= E_INVAL;
	if (!backed(a[1], SET_HDR))
		return errs | E_FAULT;
	set = rgn_ptr(a[1]);
	for (w = 0; w < KVM_PV_VCPU_SET_BANKS / 64; w++)
		nr_banks += __builtin_popcountll(set->bank_mask[w]);
	if (a[2] != SET_HDR + 8 * nr_banks)
		return errs | E_INVAL;
	if (!backed(a[1], a[2]))
		return errs | E_FAULT;
	*targets = sparse_targets(a[1]);
	return errs;
}

/* The generator. */

static uint64_t gen_flags(void)
{
	static const uint64_t bad_modes[] = { 1, 2, 3, 5, 6, 7 };
	uint64_t flags, r = rnd_below(100);

	if (rnd_below(5))
		flags = KVM_SEND_IPI_V2_MODE_FIXED | (PV_FIRST_VECTOR + rnd_below(240));
	else
		flags = KVM_SEND_IPI_V2_MODE_NMI;
	if (!rnd_below(4))
		flags |= KVM_SEND_IPI_V2_YIELD;
	if (rnd_below(2))
		flags |= KVM_SEND_IPI_V2_SPARSE;

	if (r < 70)
		return flags;
	if (r < 78)
		return flags | (~(uint64_t)FLAGS_VALID & (1ULL << rnd_below(64)));
	if (r < 84)
		return (flags & ~(uint64_t)KVM_SEND_IPI_V2_MODE) |
		       (bad_modes[rnd_below(ARRAY_SIZE(bad_modes))] << 8);
	if (r < 90)
		return (flags & ~(uint64_t)(KVM_SEND_IPI_V2_MODE | KVM_SEND_IPI_V2_VECTOR)) |
		       rnd_below(PV_FIRST_VECTOR);
	if (r < 95)
		return flags | KVM_SEND_IPI_V2_MODE_NMI | (1 + rnd_below(255));
	return rnd();
}

/* An APIC ID near a vCPU's, or anywhere sets reach. */
static uint64_t gen_id(void)
{
	if (rnd_below(3))
		return pv.apic_id[rnd_below(pv.nr_vcpus)];
	return rnd_below(MAX_ID);
}

static void gen_inline(uint64_t *a)
{
	uint64_t near = pv.apic_id[rnd_below(pv.nr_vcpus)];
	uint64_t targets, i, off;

	switch (rnd_below(8)) {
	case 0:
	case 1:
		a[3] = 0;
		break;
	case 2:
	case 3:
	case 4:
		a[3] = near - min(near, rnd_below(128));
		break;
	case 5:
		a[3] = rnd_below(2048);
		break;
	case 6:
		a[3] = 0xffffffffULL - rnd_below(128);
		break;
	default:
		a[3] = rnd_below(2) ? rnd() & 0xffffffffULL : rnd();
		break;
	}
	a[1] = rnd_bits();
	a[2] = rnd_bits();
	/* Often, some vCPUs in the window on top. */
	if (rnd_below(2)) {
		targets = rnd();
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

/* Write a set of random kind into set_buf; its size. */
static uint64_t gen_set(void)
{
	struct kvm_pv_vcpu_set *set = (void *)set_buf;
	uint64_t ids[32], nr_banks = 0, i;
	int n, w;

	switch (rnd_below(8)) {
	case 0:
		/* Random bank mask and banks. */
		for (w = 0; w < KVM_PV_VCPU_SET_BANKS / 64; w++) {
			set->bank_mask[w] = rnd_below(3) ? rnd() & rnd() & rnd() & rnd() :
							   rnd_bits();
			nr_banks += __builtin_popcountll(set->bank_mask[w]);
		}
		for (i = 0; i < nr_banks; i++)
			set->banks[i] = rnd_bits();
		return SET_HDR + 8 * nr_banks;
	case 1:
		memset(set, 0, SET_HDR);
		return SET_HDR;
	default:
		/* Some vCPUs, and IDs anywhere. */
		n = 1 + rnd_below(ARRAY_SIZE(ids));
		for (i = 0; i < n; i++)
			ids[i] = gen_id();
		return pv_set_build(set, ids, n);
	}
}

static uint64_t gen_gpa(void)
{
	switch (rnd_below(16)) {
	case 0:
		return RGN_GPA + rnd_below(RGN_SIZE);			/* any alignment */
	case 1:
		return RGN_GPA + RGN_SIZE - 8 * rnd_below(300);		/* across the end */
	case 2:
		return RGN_GPA - 8 * (1 + rnd_below(64));		/* before it */
	case 3:
		return RGN_GPA + RGN_SIZE + 8 * rnd_below(1 << 16);	/* the hole after */
	case 4:
		return rnd() & ~7ULL;					/* anywhere */
	case 5:
		return rnd();
	default:
		return RGN_GPA + 8 * rnd_below(RGN_SIZE / 8);
	}
}

static void gen_sparse(uint64_t *a)
{
	uint64_t size = gen_set(), gpa = gen_gpa(), i;

	/* Whatever part of the set falls into the region is written there. */
	for (i = 0; i < size; i++)
		if (backed(gpa + i, 1))
			*(uint8_t *)rgn_ptr(gpa + i) = set_buf[i];

	a[1] = gpa;
	switch (rnd_below(16)) {
	case 0:
		a[2] = size + 8;
		break;
	case 1:
		a[2] = size - 8;
		break;
	case 2:
		a[2] = rnd_below(PV_SET_MAX_SIZE + 64);
		break;
	case 3:
		a[2] = rnd_below(4) ? 0 : rnd();
		break;
	default:
		a[2] = size;
		break;
	}
	a[3] = rnd_below(12) ? 0 : rnd_bits();
}

static void record_mismatch(uint64_t it, const uint64_t *a, uint64_t ret, uint64_t errs,
			    uint64_t count)
{
	if (nr_mismatches < MAX_MISMATCHES)
		mismatches[nr_mismatches] = (struct mismatch){
			.iteration = it, .a = { a[0], a[1], a[2], a[3] },
			.ret = ret, .errs = errs, .count = count,
		};
	nr_mismatches++;
}

static void fuzz_one(uint64_t it)
{
	uint64_t a[4], errs, targets, ret, count, i, vector;

	a[0] = gen_flags();
	if (a[0] & KVM_SEND_IPI_V2_SPARSE)
		gen_sparse(a);
	else
		gen_inline(a);
	errs = model(a, &targets);
	count = __builtin_popcountll(targets);

	ret = pv_send(a[0], a[1], a[2], a[3]);

	if (errs) {
		if ((errs & E_INVAL) && ret == -KVM_EINVAL)
			nr_einval++;
		else if ((errs & E_FAULT) && ret == -KVM_EFAULT)
			nr_efault++;
		else
			record_mismatch(it, a, ret, errs, 0);
		return;
	}
	if (ret != count) {
		record_mismatch(it, a, ret, 0, count);
		return;
	}
	nr_valid++;
	nr_valid_sparse += !!(a[0] & KVM_SEND_IPI_V2_SPARSE);
	vector = (a[0] & KVM_SEND_IPI_V2_MODE) == KVM_SEND_IPI_V2_MODE_NMI ?
		 NMI_VECTOR : a[0] & KVM_SEND_IPI_V2_VECTOR;
	for (i = 0; i < pv.nr_vcpus; i++) {
		if (targets & (1ULL << i)) {
			sent[i][vector]++;
			nr_sent++;
		}
	}
}

static void sender_code(uint64_t idx)
{
	uint64_t it;

	pv_guest_init(idx);
	GUEST_SYNC_ARGS(STAGE_READY, 0, 0, 0, 0);
	rng = seed ?: 1;
	for (it = 0; it < iterations; it++)
		fuzz_one(it);
	/* The IPIs the sender sent itself; its NMIs came at once. */
	pv_take_pending();
	GUEST_SYNC_ARGS(STAGE_FUZZED, nr_valid, nr_valid_sparse, nr_einval, nr_efault);
	pv_stop_receivers();
	GUEST_DONE();
}

/* Host side. */

static const char *errs_str(uint64_t errs)
{
	switch (errs) {
	case E_INVAL:
		return "-KVM_EINVAL";
	case E_FAULT:
		return "-KVM_EFAULT";
	case E_INVAL | E_FAULT:
		return "-KVM_EINVAL or -KVM_EFAULT";
	default:
		return "a count";
	}
}

static bool check_mismatches(struct pv_vm *p)
{
	struct mismatch *m = addr_gva2hva(p->vm, (vm_vaddr_t)mismatches);
	uint64_t n = *(uint64_t *)addr_gva2hva(p->vm, (vm_vaddr_t)&nr_mismatches);
	char count[24] = "";
	uint64_t i;

	for (i = 0; i < min_t(uint64_t, n, MAX_MISMATCHES); i++, m++) {
		if (!m->errs)
			snprintf(count, sizeof(count), " %lu", m->count);
		ksft_print_msg("call %lu: a0 %#lx a1 %#lx a2 %#lx a3 %#lx returned %ld, expected %s%s\n",
			       m->iteration, m->a[0], m->a[1], m->a[2], m->a[3], (int64_t)m->ret,
			       errs_str(m->errs), m->errs ? "" : count);
	}
	if (n > MAX_MISMATCHES)
		ksft_print_msg("... %lu calls in all returned what the model did not allow\n", n);
	return !n;
}

/*
 * Each vCPU took each vector that was sent to it at least once and at
 * most as often as it was sent, and nothing that was not sent.
 */
static bool check_rcvd(struct pv_vm *p)
{
	uint64_t (*s)[PV_NR_VECTORS] = addr_gva2hva(p->vm, (vm_vaddr_t)sent);
	uint64_t got, want;
	int i, v, bad = 0;

	for (i = 0; i < p->nr; i++) {
		for (v = 0; v < PV_NR_VECTORS; v++) {
			want = s[i][v] + (i && v == PV_VEC_STOP);
			got = p->hs->rcvd[i][v];
			if (want ? got >= 1 && got <= want : !got)
				continue;
			if (bad++ < 16)
				ksft_print_msg("APIC ID %lu took %s %d %lu times, sent %lu times\n",
					       p->hs->apic_id[i], v == NMI_VECTOR ? "NMI, vector" :
					       "vector", v, got, want);
		}
	}
	return !bad;
}

static uint64_t parse(const char *what, const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	if (!*s || *end)
		ksft_exit_fail_msg("bad %s: %s\n", what, s);
	return v;
}

int main(int argc, char *argv[])
{
	uint64_t seed_v = 0, iters = ITERATIONS, deadline, start_ns;
	struct pv_stats before, after;
	struct kvm_lapic_state lapic;
	bool have_seed = false, ok;
	struct timespec ts;
	struct pv_vm p;
	struct ucall uc;
	vm_vaddr_t gva;
	int opt, i;

	if (getenv("VMF_FUZZ_SEED")) {
		seed_v = parse("seed", getenv("VMF_FUZZ_SEED"));
		have_seed = true;
	}
	if (getenv("VMF_FUZZ_ITERATIONS"))
		iters = parse("iterations", getenv("VMF_FUZZ_ITERATIONS"));
	while ((opt = getopt(argc, argv, "s:n:")) != -1) {
		switch (opt) {
		case 's':
			seed_v = parse("seed", optarg);
			have_seed = true;
			break;
		case 'n':
			iters = parse("iterations", optarg);
			break;
		default:
			ksft_exit_fail_msg("usage: %s [-s SEED] [-n ITERATIONS]\n", argv[0]);
		}
	}
	if (!have_seed) {
		clock_gettime(CLOCK_REALTIME, &ts);
		seed_v = (ts.tv_sec * VMF_NSEC_PER_SEC + ts.tv_nsec) ^ ((uint64_t)getpid() << 40);
	}

	ksft_print_header();
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_KVM_PV_IPI_V2));
	ksft_set_plan(4);
	ksft_print_msg("seed %#lx, %lu calls (replay: -s %#lx -n %lu)\n", seed_v, iters, seed_v,
		       iters);

	pv_vm_create(&p, apic_ids, NR_VCPUS, sender_code, NULL);
	vm_userspace_mem_region_add(p.vm, VM_MEM_SRC_ANONYMOUS, RGN_GPA, RGN_SLOT, RGN_PAGES, 0);
	gva = vm_vaddr_unused_gap(p.vm, RGN_SIZE, KVM_UTIL_MIN_VADDR);
	virt_map(p.vm, gva, RGN_GPA, RGN_PAGES);
	*(uint64_t *)addr_gva2hva(p.vm, (vm_vaddr_t)&rgn_gva) = gva;
	*(uint64_t *)addr_gva2hva(p.vm, (vm_vaddr_t)&seed) = seed_v;
	*(uint64_t *)addr_gva2hva(p.vm, (vm_vaddr_t)&iterations) = iters;

	pv_start_receivers(&p);
	pv_sender_to(&p, &uc, STAGE_READY);
	pv_wait_ready(&p);
	pv_stats_read(&p.stats[0], &before);
	start_ns = vmf_now_ns();
	pv_sender_to(&p, &uc, STAGE_FUZZED);
	pv_stats_read(&p.stats[0], &after);
	ksft_print_msg("%lu calls in %llu ms: %lu valid (%lu sparse) sending %lu IPIs, %lu -KVM_EINVAL, %lu -KVM_EFAULT\n",
		       iters, (vmf_now_ns() - start_ns) / VMF_NSEC_PER_MSEC, uc.args[2],
		       uc.args[3], *(uint64_t *)addr_gva2hva(p.vm, (vm_vaddr_t)&nr_sent),
		       uc.args[4], uc.args[5]);
	ok = check_mismatches(&p);
	ksft_test_result(ok && after.v[PV_HYPERCALLS] - before.v[PV_HYPERCALLS] == iters,
			 "%lu random calls returned what the ABI allows, one hypercall each\n",
			 iters);

	WRITE_ONCE(p.hs->stop, 1);
	TEST_ASSERT(pv_run_sender(&p, &uc) == -1, "the sender did not finish");
	deadline = vmf_now_ns() + PV_WAIT_NS;
	for (i = 1; i < p.nr; i++) {
		while (!READ_ONCE(p.hs->rcvd[i][PV_VEC_STOP])) {
			TEST_ASSERT(vmf_now_ns() < deadline,
				    "the receiver at APIC ID %lu does not take interrupts",
				    p.hs->apic_id[i]);
			vmf_sleep_ns(VMF_NSEC_PER_MSEC);
		}
		pthread_join(p.thread[i].thread, NULL);
	}
	ksft_test_result_pass("the guest survived: every vCPU finished\n");
	ksft_test_result(check_rcvd(&p),
			 "every vCPU took what was sent to it, and only that\n");
	ok = true;
	for (i = 0; i < p.nr; i++) {
		vcpu_ioctl(p.vcpu[i], KVM_GET_LAPIC, &lapic);
		if (!pv_apic_bitmap_empty(&lapic, APIC_IRR) ||
		    !pv_apic_bitmap_empty(&lapic, PV_APIC_ISR)) {
			ksft_print_msg("APIC ID %lu has interrupts left in IRR or ISR\n",
				       p.hs->apic_id[i]);
			ok = false;
		}
	}
	ksft_test_result(ok, "no IRR or ISR bit left on any vCPU\n");
	pv_vm_free(&p);
	ksft_finished();
}
