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
 * The engine (PRNG, sets, their model, the loop) is pv_fuzz.h's; the
 * seed is printed, -s SEED replays a run, -n N sets the number of calls.
 * ITERATIONS calls took 3 s in the test VM under TCG, where an exit costs
 * some 75 us, and 30 s on its debug kernel.
 */
#include "pv_fuzz.h"

#define NR_VCPUS	5
#define ITERATIONS	20000
#define FLAGS_VALID	(KVM_SEND_IPI_V2_VECTOR | KVM_SEND_IPI_V2_MODE | \
			 KVM_SEND_IPI_V2_YIELD | KVM_SEND_IPI_V2_SPARSE)

static const uint32_t apic_ids[NR_VCPUS] = { 0, 1, 64, 191, 1000 };

/* Kept by the sender. */
static uint64_t sent[PV_MAX_VCPUS][PV_NR_VECTORS];
static uint64_t nr_sent;

/* The model of a0. */
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

static uint64_t gen_flags(void)
{
	static const uint64_t bad_modes[] = { 1, 2, 3, 5, 6, 7 };
	uint64_t flags, r = fuzz_rnd_below(100);

	if (fuzz_rnd_below(5))
		flags = KVM_SEND_IPI_V2_MODE_FIXED | (PV_FIRST_VECTOR + fuzz_rnd_below(240));
	else
		flags = KVM_SEND_IPI_V2_MODE_NMI;
	if (!fuzz_rnd_below(4))
		flags |= KVM_SEND_IPI_V2_YIELD;
	if (fuzz_rnd_below(2))
		flags |= KVM_SEND_IPI_V2_SPARSE;

	if (r < 70)
		return flags;
	if (r < 78)
		return flags | (~(uint64_t)FLAGS_VALID & (1ULL << fuzz_rnd_below(64)));
	if (r < 84)
		return (flags & ~(uint64_t)KVM_SEND_IPI_V2_MODE) |
		       (bad_modes[fuzz_rnd_below(ARRAY_SIZE(bad_modes))] << 8);
	if (r < 90)
		return (flags & ~(uint64_t)(KVM_SEND_IPI_V2_MODE | KVM_SEND_IPI_V2_VECTOR)) |
		       fuzz_rnd_below(PV_FIRST_VECTOR);
	if (r < 95)
		return flags | KVM_SEND_IPI_V2_MODE_NMI | (1 + fuzz_rnd_below(255));
	return fuzz_rnd();
}

static void fuzz_one(uint64_t it)
{
	uint64_t a[4], errs, targets, ret, i, vector;
	bool sparse;

	a[0] = gen_flags();
	sparse = a[0] & KVM_SEND_IPI_V2_SPARSE;
	fuzz_gen_set_args(a, sparse);
	errs = fuzz_set_model(a, sparse, &targets);
	if (!flags_valid(a[0]))
		errs |= FUZZ_E_INVAL;

	ret = pv_send(a[0], a[1], a[2], a[3]);
	if (!fuzz_check(it, a, sparse, errs, targets, ret))
		return;

	vector = (a[0] & KVM_SEND_IPI_V2_MODE) == KVM_SEND_IPI_V2_MODE_NMI ?
		 NMI_VECTOR : a[0] & KVM_SEND_IPI_V2_VECTOR;
	for (i = 0; i < pv.nr_vcpus; i++) {
		if (targets & (1ULL << i)) {
			sent[i][vector]++;
			nr_sent++;
		}
	}
}

/* All the calls come in one window: the host looks at the end. */
static uint64_t fuzz_window(uint64_t first, uint64_t n)
{
	uint64_t it;

	for (it = first; it < first + n; it++)
		fuzz_one(it);
	/* The IPIs the sender sent itself; its NMIs came at once. */
	pv_take_pending();
	return n;
}

static void sender_code(uint64_t idx)
{
	fuzz_guest_run(idx, fuzz_window);
}

/* Host side. */

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

int main(int argc, char *argv[])
{
	struct fuzz_args args = fuzz_parse_args(argc, argv, ITERATIONS);
	static const struct fuzz_ops ops = {};
	struct kvm_lapic_state lapic;
	struct fuzz_shared *hfz;
	uint64_t deadline;
	struct pv_vm p;
	bool ok;
	int i;

	ksft_print_header();
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_KVM_PV_IPI_V2));
	ksft_set_plan(4);
	fuzz_print_seed(&args);

	pv_vm_create(&p, apic_ids, NR_VCPUS, sender_code, NULL);
	hfz = fuzz_setup(&p, &args, 0);
	pv_start_receivers(&p);
	fuzz_host_run(&p, hfz, &ops);
	ksft_print_msg("the valid calls sent %lu IPIs\n",
		       *(uint64_t *)addr_gva2hva(p.vm, (vm_vaddr_t)&nr_sent));

	deadline = pv_now_ns() + PV_WAIT_NS;
	for (i = 1; i < p.nr; i++) {
		while (!READ_ONCE(p.hs->rcvd[i][PV_VEC_STOP])) {
			TEST_ASSERT(pv_now_ns() < deadline,
				    "the receiver at APIC ID %lu does not take interrupts",
				    p.hs->apic_id[i]);
			usleep(1000);
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
