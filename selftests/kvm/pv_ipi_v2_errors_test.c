// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_HC_SEND_IPI_V2's errors: each one the ABI names, and that an error
 * changes nothing.
 *
 * A VM with the sender at APIC ID 0 and receivers at 1 and 100 (banks 0
 * and 1), which halt and count every vector and NMI they take. The host
 * writes a table of calls into the guest, each aimed at both receivers
 * unless its arguments say otherwise, and the sets they read into a
 * memslot of its own with nothing mapped after it; more memslots end just
 * where a set still goes on. The sender makes each call, then a fence:
 * KVM_HC_SEND_IPI, the upstream call, of vector 16 to both receivers.
 * Vector 16 has the lowest priority of all, so by the time a receiver has
 * taken it, it has taken anything that a failed call sent it too; a
 * vector under 16 would never be taken, but would stay in the IRR, which
 * the host checks once the receivers have left. For each call the host
 * checks:
 *
 * - the return value;
 * - that the receivers took the fence and nothing else, or, for the valid
 *   calls that come between the errors, exactly their IPI;
 * - the sender's stats over the call: 'hypercalls' moved by one, one exit
 *   that no other stat explains, no directed yield attempted, nothing
 *   injected.
 *
 * The calls: every reserved bit of a0; every mode but fixed and NMI;
 * fixed vectors 0-15 and NMIs with a vector; an inline base above 32
 * bits; a sparse a3 that is not 0; misaligned sets; sizes that do not
 * match the bank mask; sets that are not, or not entirely, in memory
 * (-KVM_EFAULT), among them a set of 256 banks whose first 126 name both
 * receivers: nothing may be delivered from the part that was read. And
 * -KVM_ENOSYS with the module parameter pv_ipi_v2 at N, which also takes
 * bit 19 out of KVM_GET_SUPPORTED_CPUID (skipped if the parameter cannot
 * be written; it is put back at exit).
 *
 * Then two VMs whose sender has KVM_CAP_ENFORCE_PV_FEATURE_CPUID, with
 * bit 19 cleared (-KVM_ENOSYS) and set (the control: the call works), and
 * a VM without an in-kernel LAPIC, where the ABI wants -KVM_EOPNOTSUPP.
 */
#include "pv_errors.h"

#define VEC_FENCE	16
#define VEC_VALID	0x20	/* the valid calls: 0x20 + their number */
#define VEC_ERROR	0x80	/* what the failing calls would deliver */
#define FLAGS_SPARSE	KVM_SEND_IPI_V2_SPARSE

enum {
	STAGE_READY,
	STAGE_CALL,
	STAGE_FENCE,
	STAGE_END,
};

static void sender_code(uint64_t idx)
{
	uint64_t i, ret;

	pv_guest_init(idx);
	GUEST_SYNC_ARGS(STAGE_READY, 0, 0, 0, 0);
	for (i = 0; i < READ_ONCE(errs_nr_calls); i++) {
		ret = errs_hypercall(KVM_HC_SEND_IPI_V2, i);
		GUEST_SYNC_ARGS(STAGE_CALL, i, ret, 0, 0);
		ret = errs_fence(VEC_FENCE);
		GUEST_SYNC_ARGS(STAGE_FENCE, i, ret, 0, 0);
	}
	pv_sender_end(STAGE_END);
}

/* Host side. */

/*
 * The table is pv_errors.h's; a call's effect is the vector it
 * delivers if valid, NMI_VECTOR, or 0.
 */
static int nr_valid;

/* A vector for the next valid call: each has its own. */
static int valid_vector(void)
{
	return VEC_VALID + nr_valid++;
}

/* A valid call between the errors: it must reach both receivers. */
static void add_valid_sparse(const char *what)
{
	int v = valid_vector();

	errs_add(2, v, FLAGS_SPARSE | v, ERRS_SET, ERRS_SET_SIZE, 0,
		 "valid, %s: sparse call reaches both receivers", what);
}

static void add_flag_errors(void)
{
	int b, m, v;

	add_valid_sparse("first");
	v = valid_vector();
	errs_add(2, v, v, ERRS_LO, ERRS_HI, 0, "valid, inline call reaches both receivers");
	errs_add(2, NMI_VECTOR, KVM_SEND_IPI_V2_MODE_NMI, ERRS_LO, ERRS_HI, 0,
		 "valid, inline NMI reaches both receivers");

	for (b = 11; b < 64; b++) {
		if (b == 16 || b == 17)
			continue;
		errs_add(-KVM_EINVAL, 0, VEC_ERROR | (1ULL << b), ERRS_LO, ERRS_HI, 0,
			 "a0 bit %d (reserved): -KVM_EINVAL", b);
	}
	errs_add(-KVM_EINVAL, 0, FLAGS_SPARSE | (1ULL << 18) | VEC_ERROR, ERRS_SET,
		 ERRS_SET_SIZE, 0, "sparse, a0 bit 18 (reserved): -KVM_EINVAL");
	errs_add(-KVM_EINVAL, 0, KVM_SEND_IPI_V2_YIELD | (1ULL << 40) | VEC_ERROR,
		 ERRS_LO, ERRS_HI, 0, "YIELD, a0 bit 40 (reserved): -KVM_EINVAL, no yield");
	errs_add(-KVM_EINVAL, 0, ~0ULL, ERRS_LO, ERRS_HI, 0, "a0 all ones: -KVM_EINVAL");
	for (m = 1; m < 8; m++) {
		if (m == 4)
			continue;
		errs_add(-KVM_EINVAL, 0, (m << 8) | VEC_ERROR, ERRS_LO, ERRS_HI, 0,
			 "mode %d (a0 bits 10:8): -KVM_EINVAL", m);
	}
	for (v = 0; v < PV_FIRST_VECTOR; v++)
		errs_add(-KVM_EINVAL, 0, v, ERRS_LO, ERRS_HI, 0,
			 "fixed, vector %d: -KVM_EINVAL", v);
	errs_add(-KVM_EINVAL, 0, KVM_SEND_IPI_V2_MODE_NMI | 1, ERRS_LO, ERRS_HI, 0,
		 "NMI, vector 1: -KVM_EINVAL");
	errs_add(-KVM_EINVAL, 0, KVM_SEND_IPI_V2_MODE_NMI | VEC_FENCE, ERRS_LO, ERRS_HI, 0,
		 "NMI, vector 16: -KVM_EINVAL");
	errs_add(-KVM_EINVAL, 0, KVM_SEND_IPI_V2_MODE_NMI | 0xff, ERRS_LO, ERRS_HI, 0,
		 "NMI, vector 255: -KVM_EINVAL");
}

static void add_set_errors(void)
{
	static const uint64_t bad_a3[] = { 1, 1ULL << 32, ~0ULL };
	static const uint64_t bad_sizes[] = {
		0, 8, 31, 32, 40, 47, 49, 56, 64, ERRS_FULL_SIZE, ~0ULL
	};
	uint64_t k, size;
	int i, v;

	add_valid_sparse("after the flags");
	errs_add(0, 0, valid_vector(), ~0ULL, ~0ULL, 0xffffffff,
		 "valid, inline base 0xffffffff: IDs that name no vCPU, 0 accept");
	errs_add(-KVM_EINVAL, 0, VEC_ERROR, ERRS_LO, ERRS_HI, 1ULL << 32,
		 "inline, base 1 << 32: -KVM_EINVAL");
	errs_add(-KVM_EINVAL, 0, VEC_ERROR, ERRS_LO, ERRS_HI, ~0ULL,
		 "inline, base ~0: -KVM_EINVAL");
	for (i = 0; i < ARRAY_SIZE(bad_a3); i++) {
		k = bad_a3[i];
		errs_add(-KVM_EINVAL, 0, FLAGS_SPARSE | VEC_ERROR, ERRS_SET, ERRS_SET_SIZE, k,
			 "sparse, a3 %#lx: -KVM_EINVAL", k);
	}
	for (k = 1; k <= 7; k += 3)
		errs_add(-KVM_EINVAL, 0, FLAGS_SPARSE | VEC_ERROR, ERRS_MISALIGNED(k),
			 ERRS_SET_SIZE, 0,
			 "sparse, set at an address %lu bytes past 8-byte alignment: -KVM_EINVAL",
			 k);
	errs_add(-KVM_EINVAL, 0, FLAGS_SPARSE | KVM_SEND_IPI_V2_YIELD | VEC_ERROR,
		 ERRS_MISALIGNED(1), ERRS_SET_SIZE, 0,
		 "YIELD, misaligned set: -KVM_EINVAL, no yield");
	for (i = 0; i < ARRAY_SIZE(bad_sizes); i++) {
		size = bad_sizes[i];
		errs_add(-KVM_EINVAL, 0, FLAGS_SPARSE | VEC_ERROR, ERRS_SET, size, 0,
			 "sparse, two banks, size %ld, not %d: -KVM_EINVAL", (int64_t)size,
			 ERRS_SET_SIZE);
	}
	errs_add(-KVM_EINVAL, 0, FLAGS_SPARSE | VEC_ERROR, ERRS_FULL, ERRS_FULL_SIZE - 8, 0,
		 "sparse, 256 banks, size %d, not %d: -KVM_EINVAL", ERRS_FULL_SIZE - 8,
		 ERRS_FULL_SIZE);
	errs_add(-KVM_EINVAL, 0, FLAGS_SPARSE | VEC_ERROR, ERRS_FULL, ERRS_FULL_SIZE + 8, 0,
		 "sparse, 256 banks, size %d, not %d: -KVM_EINVAL", ERRS_FULL_SIZE + 8,
		 ERRS_FULL_SIZE);

	errs_add(0, 0, FLAGS_SPARSE | valid_vector(), ERRS_EMPTY, 32, 0,
		 "valid, empty set: 0 accept");
	v = valid_vector();
	errs_add(2, v, FLAGS_SPARSE | v, ERRS_FULL, ERRS_FULL_SIZE, 0,
		 "valid, 256 banks naming the receivers and IDs without a vCPU: 2 accept");

	errs_add(-KVM_EFAULT, 0, FLAGS_SPARSE | VEC_ERROR, ERRS_RGN_END, ERRS_SET_SIZE, 0,
		 "sparse, set just past the memslot: -KVM_EFAULT");
	errs_add(-KVM_EFAULT, 0, FLAGS_SPARSE | VEC_ERROR, 1ULL << 40, ERRS_SET_SIZE, 0,
		 "sparse, set at 1 << 40, no memory: -KVM_EFAULT");
	errs_add(-KVM_EFAULT, 0, FLAGS_SPARSE | VEC_ERROR, ~7ULL, ERRS_SET_SIZE, 0,
		 "sparse, set at ~7: -KVM_EFAULT");
	errs_add(-KVM_EFAULT, 0, FLAGS_SPARSE | KVM_SEND_IPI_V2_YIELD | VEC_ERROR, ERRS_RGN_END,
		 ERRS_SET_SIZE, 0, "YIELD, set past the memslot: -KVM_EFAULT, no yield");
	errs_add(-KVM_EFAULT, 0, FLAGS_SPARSE | VEC_ERROR, ERRS_MASK_AT_END, ERRS_SET_SIZE, 0,
		 "sparse, bank mask at the end of a memslot, banks past it: -KVM_EFAULT");
	errs_add(-KVM_EFAULT, 0, FLAGS_SPARSE | VEC_ERROR, ERRS_MASK_ACROSS_END, ERRS_SET_SIZE, 0,
		 "sparse, bank mask across the end of a memslot: -KVM_EFAULT");
	errs_add(-KVM_EFAULT, 0, FLAGS_SPARSE | VEC_ERROR, ERRS_FULL_CUT, ERRS_FULL_SIZE, 0,
		 "sparse, 256 banks, 126 in memory naming the receivers: -KVM_EFAULT, none delivered");
	add_valid_sparse("after the set errors");
}

/* Calls made with pv_ipi_v2=N, and one after it is back at Y. */
static void add_param_calls(void)
{
	errs_add(-KVM_ENOSYS, 0, VEC_ERROR, ERRS_LO, ERRS_HI, 0,
		 "pv_ipi_v2=N: inline call -KVM_ENOSYS");
	errs_cases[errs_nr - 1].param_off = true;
	errs_add(-KVM_ENOSYS, 0, FLAGS_SPARSE | VEC_ERROR, ERRS_SET, ERRS_SET_SIZE, 0,
		 "pv_ipi_v2=N: sparse call -KVM_ENOSYS");
	errs_cases[errs_nr - 1].param_off = true;
	add_valid_sparse("pv_ipi_v2=Y again");
}

/*
 * Run the sender through the table of a VM made by errs_vm_create(), one
 * TAP line per call; the sender's CPUID and caps are the caller's.
 */
static void run_calls(struct pv_vm *p)
{
	struct pv_stats before, after, d;
	struct errs_case *c;
	struct ucall uc;
	int64_t ret;
	bool ok;
	int i;

	errs_start(p, pv_start_receivers, STAGE_READY);
	for (i = 0; i < errs_nr; i++) {
		c = &errs_cases[i];
		if (c->param_off)
			errs_param_set(false);
		pv_stats_read(&p->stats[0], &before);
		pv_sender_to(p, &uc, STAGE_CALL);
		pv_stats_read(&p->stats[0], &after);
		if (c->param_off)
			errs_param_set(true);
		d = pv_stats_delta(&before, &after);
		ret = uc.args[3];

		ok = ret == c->expect;
		if (!ok)
			ksft_print_msg("%s: returned %ld, expected %ld\n", c->name, ret, c->expect);
		if (d.v[PV_HYPERCALLS] != 1 || pv_exits_unexplained(&d) != 1 ||
		    d.v[PV_YIELD_ATTEMPTED] || d.v[PV_YIELD_SUCCESSFUL] ||
		    d.v[PV_IRQ_INJECTIONS] || d.v[PV_NMI_INJECTIONS]) {
			ksft_print_msg(
				       "%s: sender stats moved by: hypercalls %lu, unexplained exits %lu, yields attempted %lu, successful %lu, injections %lu + %lu NMI\n",
				       c->name, d.v[PV_HYPERCALLS], pv_exits_unexplained(&d),
				       d.v[PV_YIELD_ATTEMPTED], d.v[PV_YIELD_SUCCESSFUL],
				       d.v[PV_IRQ_INJECTIONS], d.v[PV_NMI_INJECTIONS]);
			ok = false;
		}

		pv_sender_to(p, &uc, STAGE_FENCE);
		TEST_ASSERT(uc.args[3] == 2, "the fence (KVM_HC_SEND_IPI) returned %ld",
			    (int64_t)uc.args[3]);
		if (c->effect)
			errs_expect_targets(p, c->effect);
		errs_expect_targets(p, VEC_FENCE);
		ok &= pv_wait_rcvd(p, c->name);
		ksft_test_result(ok, "%s\n", c->name);
	}
	ksft_test_result(pv_vm_end(p, STAGE_END),
			 "after %d calls: counts exact, no IRR or ISR bit left on any vCPU\n",
			 errs_nr);
}

static void new_vm(struct pv_vm *p)
{
	errs_vm_create(p, sender_code, NULL);
	nr_valid = 0;
}

static int add_main_calls(bool param)
{
	errs_nr = 0;
	nr_valid = 0;
	add_flag_errors();
	add_set_errors();
	if (param)
		add_param_calls();
	return errs_nr;
}

static void test_main(bool param)
{
	struct pv_vm p;

	new_vm(&p);
	add_main_calls(param);
	run_calls(&p);
	pv_vm_free(&p);
}

/* A sender under KVM_CAP_ENFORCE_PV_FEATURE_CPUID, with or without bit 19. */
static void test_enforced(bool bit)
{
	struct pv_vm p;
	int v;

	new_vm(&p);
	errs_enforce(&p, X86_FEATURE_KVM_PV_IPI_V2, bit);
	if (bit) {
		add_valid_sparse("enforced CPUID with bit 19");
		v = valid_vector();
		errs_add(2, v, v, ERRS_LO, ERRS_HI, 0,
			 "valid, enforced CPUID with bit 19: inline call reaches both receivers");
	} else {
		errs_add(-KVM_ENOSYS, 0, VEC_ERROR, ERRS_LO, ERRS_HI, 0,
			 "enforced CPUID without bit 19: inline call -KVM_ENOSYS");
		errs_add(-KVM_ENOSYS, 0, FLAGS_SPARSE | VEC_ERROR, ERRS_SET, ERRS_SET_SIZE, 0,
			 "enforced CPUID without bit 19: sparse call -KVM_ENOSYS");
	}
	run_calls(&p);
	pv_vm_free(&p);
}

/* No in-kernel LAPIC: three calls, for errs_test_no_lapic(). */
static void nolapic_code(void)
{
	uint64_t inl, sparse, empty;

	inl = pv_send(VEC_ERROR, 1, 0, 0);
	sparse = pv_send(FLAGS_SPARSE | VEC_ERROR, errs_nolapic_set_gpa, 40, 0);
	empty = pv_send(FLAGS_SPARSE | VEC_ERROR, errs_nolapic_set_gpa + 64, 32, 0);
	GUEST_SYNC_ARGS(STAGE_END, inl, sparse, empty, 0);
	GUEST_DONE();
}

int main(void)
{
	static const char * const nolapic_calls[] = {
		"inline call", "sparse call", "empty sparse set"
	};
	char val[8] = "";
	bool param;
	int n;

	ksft_print_header();
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_KVM_PV_IPI_V2));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_ENFORCE_PV_FEATURE_CPUID));
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_KVM_PV_SEND_IPI));

	/* The parameter must be there and Y: bit 19 is reported. */
	param = errs_param_probe(PV_PARAM, val, sizeof(val));

	n = add_main_calls(param);
	ksft_set_plan(1 + 2 + n + 1 + 2 + 1 + 2 + 1 + 3);

	errs_test_param_cpuid(val, param, KVM_FEATURE_PV_IPI_V2);
	test_main(param);
	test_enforced(false);
	test_enforced(true);
	errs_test_no_lapic(nolapic_code, STAGE_END, nolapic_calls);
	ksft_finished();
}
