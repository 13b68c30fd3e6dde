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
#include <stdarg.h>

#include "vmf_pv_ipi.h"

#define NR_VCPUS	3
#define VEC_FENCE	16
#define VEC_VALID	0x20	/* the valid calls: 0x20 + their number */
#define VEC_ERROR	0x80	/* what the failing calls would deliver */
#define MAX_CASES	160
#define RGN_GPA		0x40000000ULL
#define RGN_SLOT	1
#define RGN_PAGES	2
#define TAIL_SLOT	2	/* TAIL_SLOT + 0, 1, 2: one page each */
#define TAIL_STRIDE	0x100000ULL
#define SET_SIZE	48	/* two banks */
#define FULL_SIZE	(32 + 8 * KVM_PV_VCPU_SET_BANKS)
#define OFF_SET		0x0
#define OFF_MISALIGNED	0x100	/* + 0x100 * k + k, k = 1, 4, 7 */
#define OFF_EMPTY	0x800
#define OFF_FULL	0xc00	/* FULL_SIZE bytes */
#define FLAGS_SPARSE	KVM_SEND_IPI_V2_SPARSE

static const uint32_t apic_ids[NR_VCPUS] = { 0, 1, 100 };
static const uint64_t receiver_ids[] = { 1, 100 };

/* The inline form of the two receivers: IDs 1 and 64 + 36 from base 0. */
#define LO		BIT_ULL(1)
#define HI		BIT_ULL(36)

enum {
	STAGE_READY,
	STAGE_CALL,
	STAGE_FENCE,
	STAGE_END,
};

struct call {
	uint64_t a[4];
};

/* Written by the host before the sender runs. */
static struct call calls[MAX_CASES];
static uint64_t nr_calls;

static void sender_code(uint64_t idx)
{
	uint64_t i, ret;

	pv_guest_init(idx);
	GUEST_SYNC_ARGS(STAGE_READY, 0, 0, 0, 0);
	for (i = 0; i < READ_ONCE(nr_calls); i++) {
		ret = pv_send(calls[i].a[0], calls[i].a[1], calls[i].a[2], calls[i].a[3]);
		GUEST_SYNC_ARGS(STAGE_CALL, i, ret, 0, 0);
		ret = pv_hypercall(KVM_HC_SEND_IPI, LO, HI, 0, APIC_DM_FIXED | VEC_FENCE);
		GUEST_SYNC_ARGS(STAGE_FENCE, i, ret, 0, 0);
	}
	GUEST_SYNC_ARGS(STAGE_END, 0, 0, 0, 0);
	pv_stop_receivers();
	GUEST_DONE();
}

/* Host side. */

struct desc {
	char name[100];
	int64_t expect;
	int vector;		/* what a valid call delivers, NMI_VECTOR, or 0 */
	bool param_off;		/* made with pv_ipi_v2=N */
};

static struct desc descs[MAX_CASES];
static struct call host_calls[MAX_CASES];
static int nr, nr_valid;

/* The GPAs of the sets; see below. */
static uint64_t rgn_end(int slot)
{
	return slot == RGN_SLOT ? RGN_GPA + RGN_PAGES * PV_PAGE_SIZE :
	       RGN_GPA + (slot - TAIL_SLOT + 1) * TAIL_STRIDE + PV_PAGE_SIZE;
}

static __printf(7, 8) void add(int64_t expect, int vector, uint64_t a0, uint64_t a1,
				uint64_t a2, uint64_t a3, const char *fmt, ...)
{
	va_list ap;

	TEST_ASSERT(nr < MAX_CASES, "too many calls");
	host_calls[nr] = (struct call){ .a = { a0, a1, a2, a3 } };
	descs[nr].expect = expect;
	descs[nr].vector = vector;
	va_start(ap, fmt);
	vsnprintf(descs[nr].name, sizeof(descs[nr].name), fmt, ap);
	va_end(ap);
	nr++;
}

/* A vector for the next valid call: each has its own. */
static int valid_vector(void)
{
	return VEC_VALID + nr_valid++;
}

/* A valid call between the errors: it must reach both receivers. */
static void add_valid_sparse(const char *what)
{
	int v = valid_vector();

	add(2, v, FLAGS_SPARSE | v, RGN_GPA + OFF_SET, SET_SIZE, 0,
	    "valid, %s: sparse call reaches both receivers", what);
}

/*
 * The sets, written by the host. Region RGN_SLOT: the two receivers at
 * OFF_SET and, misaligned, at OFF_MISALIGNED + 0x101 * k; an empty set;
 * a set of all 256 banks naming the receivers, ID 5 and every ID from
 * 128, which name no vCPU. Each tail slot ends inside a set: its bank
 * mask but not its banks, half its bank mask, or 126 of 256 banks.
 */
static void write_sets(struct kvm_vm *vm)
{
	struct kvm_pv_vcpu_set *set;
	uint64_t gpa;
	void *rgn;
	int i, k;

	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, RGN_GPA, RGN_SLOT, RGN_PAGES, 0);
	rgn = addr_gpa2hva(vm, RGN_GPA);
	TEST_ASSERT(pv_set_build(rgn + OFF_SET, receiver_ids, 2) == SET_SIZE, "set size");
	for (k = 1; k <= 7; k += 3)
		memcpy(rgn + OFF_MISALIGNED + 0x101 * k, rgn + OFF_SET, SET_SIZE);
	memset(rgn + OFF_EMPTY, 0, 32);
	set = rgn + OFF_FULL;
	memset(set->bank_mask, 0xff, sizeof(set->bank_mask));
	for (i = 0; i < KVM_PV_VCPU_SET_BANKS; i++)
		set->banks[i] = ~0ULL;
	set->banks[0] = (1ULL << 1) | (1ULL << 5);
	set->banks[1] = (1ULL << 36) | (1ULL << 63);

	for (k = 0; k < 3; k++) {
		gpa = rgn_end(TAIL_SLOT + k) - PV_PAGE_SIZE;
		vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, gpa, TAIL_SLOT + k, 1, 0);
	}
	/* The bank mask of the receivers' set, in the last 32 bytes. */
	gpa = rgn_end(TAIL_SLOT) - 32;
	memcpy(addr_gpa2hva(vm, gpa), rgn + OFF_SET, 32);
	/* Its first 16 bytes. */
	gpa = rgn_end(TAIL_SLOT + 1) - 16;
	memcpy(addr_gpa2hva(vm, gpa), rgn + OFF_SET, 16);
	/* 256 banks, the first two naming the receivers; 126 fit. */
	gpa = rgn_end(TAIL_SLOT + 2) - 32 - 126 * 8;
	memcpy(addr_gpa2hva(vm, gpa), rgn + OFF_FULL, 32 + 126 * 8);
}

static void add_flag_errors(void)
{
	int b, m, v;

	add_valid_sparse("first");
	v = valid_vector();
	add(2, v, v, LO, HI, 0, "valid, inline call reaches both receivers");
	add(2, NMI_VECTOR, KVM_SEND_IPI_V2_MODE_NMI, LO, HI, 0,
	    "valid, inline NMI reaches both receivers");

	for (b = 11; b < 64; b++) {
		if (b == 16 || b == 17)
			continue;
		add(-KVM_EINVAL, 0, VEC_ERROR | (1ULL << b), LO, HI, 0,
		    "a0 bit %d (reserved): -KVM_EINVAL", b);
	}
	add(-KVM_EINVAL, 0, FLAGS_SPARSE | (1ULL << 18) | VEC_ERROR, RGN_GPA + OFF_SET,
	    SET_SIZE, 0, "sparse, a0 bit 18 (reserved): -KVM_EINVAL");
	add(-KVM_EINVAL, 0, KVM_SEND_IPI_V2_YIELD | (1ULL << 40) | VEC_ERROR, LO, HI, 0,
	    "YIELD, a0 bit 40 (reserved): -KVM_EINVAL, no yield");
	add(-KVM_EINVAL, 0, ~0ULL, LO, HI, 0, "a0 all ones: -KVM_EINVAL");
	for (m = 1; m < 8; m++) {
		if (m == 4)
			continue;
		add(-KVM_EINVAL, 0, (m << 8) | VEC_ERROR, LO, HI, 0,
		    "mode %d (a0 bits 10:8): -KVM_EINVAL", m);
	}
	for (v = 0; v < PV_FIRST_VECTOR; v++)
		add(-KVM_EINVAL, 0, v, LO, HI, 0, "fixed, vector %d: -KVM_EINVAL", v);
	add(-KVM_EINVAL, 0, KVM_SEND_IPI_V2_MODE_NMI | 1, LO, HI, 0,
	    "NMI, vector 1: -KVM_EINVAL");
	add(-KVM_EINVAL, 0, KVM_SEND_IPI_V2_MODE_NMI | VEC_FENCE, LO, HI, 0,
	    "NMI, vector 16: -KVM_EINVAL");
	add(-KVM_EINVAL, 0, KVM_SEND_IPI_V2_MODE_NMI | 0xff, LO, HI, 0,
	    "NMI, vector 255: -KVM_EINVAL");
}

static void add_set_errors(void)
{
	static const uint64_t bad_a3[] = { 1, 1ULL << 32, ~0ULL };
	static const uint64_t bad_sizes[] = { 0, 8, 31, 32, 40, 47, 49, 56, 64, FULL_SIZE, ~0ULL };
	uint64_t k, size;
	int i, v;

	add_valid_sparse("after the flags");
	add(0, 0, valid_vector(), ~0ULL, ~0ULL, 0xffffffff,
	    "valid, inline base 0xffffffff: IDs that name no vCPU, 0 accept");
	add(-KVM_EINVAL, 0, VEC_ERROR, LO, HI, 1ULL << 32, "inline, base 1 << 32: -KVM_EINVAL");
	add(-KVM_EINVAL, 0, VEC_ERROR, LO, HI, ~0ULL, "inline, base ~0: -KVM_EINVAL");
	for (i = 0; i < ARRAY_SIZE(bad_a3); i++) {
		k = bad_a3[i];
		add(-KVM_EINVAL, 0, FLAGS_SPARSE | VEC_ERROR, RGN_GPA + OFF_SET, SET_SIZE, k,
		    "sparse, a3 %#lx: -KVM_EINVAL", k);
	}
	for (k = 1; k <= 7; k += 3)
		add(-KVM_EINVAL, 0, FLAGS_SPARSE | VEC_ERROR,
		    RGN_GPA + OFF_MISALIGNED + 0x101 * k, SET_SIZE, 0,
		    "sparse, set at an address %lu bytes past 8-byte alignment: -KVM_EINVAL", k);
	add(-KVM_EINVAL, 0, FLAGS_SPARSE | KVM_SEND_IPI_V2_YIELD | VEC_ERROR,
	    RGN_GPA + OFF_MISALIGNED + 0x101, SET_SIZE, 0,
	    "YIELD, misaligned set: -KVM_EINVAL, no yield");
	for (i = 0; i < ARRAY_SIZE(bad_sizes); i++) {
		size = bad_sizes[i];
		add(-KVM_EINVAL, 0, FLAGS_SPARSE | VEC_ERROR, RGN_GPA + OFF_SET, size, 0,
		    "sparse, two banks, size %ld, not %d: -KVM_EINVAL", (int64_t)size, SET_SIZE);
	}
	add(-KVM_EINVAL, 0, FLAGS_SPARSE | VEC_ERROR, RGN_GPA + OFF_FULL, FULL_SIZE - 8, 0,
	    "sparse, 256 banks, size %d, not %d: -KVM_EINVAL", FULL_SIZE - 8, FULL_SIZE);
	add(-KVM_EINVAL, 0, FLAGS_SPARSE | VEC_ERROR, RGN_GPA + OFF_FULL, FULL_SIZE + 8, 0,
	    "sparse, 256 banks, size %d, not %d: -KVM_EINVAL", FULL_SIZE + 8, FULL_SIZE);

	add(0, 0, FLAGS_SPARSE | valid_vector(), RGN_GPA + OFF_EMPTY, 32, 0,
	    "valid, empty set: 0 accept");
	v = valid_vector();
	add(2, v, FLAGS_SPARSE | v, RGN_GPA + OFF_FULL, FULL_SIZE, 0,
	    "valid, 256 banks naming the receivers and IDs without a vCPU: 2 accept");

	add(-KVM_EFAULT, 0, FLAGS_SPARSE | VEC_ERROR, rgn_end(RGN_SLOT), SET_SIZE, 0,
	    "sparse, set just past the memslot: -KVM_EFAULT");
	add(-KVM_EFAULT, 0, FLAGS_SPARSE | VEC_ERROR, 1ULL << 40, SET_SIZE, 0,
	    "sparse, set at 1 << 40, no memory: -KVM_EFAULT");
	add(-KVM_EFAULT, 0, FLAGS_SPARSE | VEC_ERROR, ~7ULL, SET_SIZE, 0,
	    "sparse, set at ~7: -KVM_EFAULT");
	add(-KVM_EFAULT, 0, FLAGS_SPARSE | KVM_SEND_IPI_V2_YIELD | VEC_ERROR, rgn_end(RGN_SLOT),
	    SET_SIZE, 0, "YIELD, set past the memslot: -KVM_EFAULT, no yield");
	add(-KVM_EFAULT, 0, FLAGS_SPARSE | VEC_ERROR, rgn_end(TAIL_SLOT) - 32, SET_SIZE, 0,
	    "sparse, bank mask at the end of a memslot, banks past it: -KVM_EFAULT");
	add(-KVM_EFAULT, 0, FLAGS_SPARSE | VEC_ERROR, rgn_end(TAIL_SLOT + 1) - 16, SET_SIZE, 0,
	    "sparse, bank mask across the end of a memslot: -KVM_EFAULT");
	add(-KVM_EFAULT, 0, FLAGS_SPARSE | VEC_ERROR, rgn_end(TAIL_SLOT + 2) - 32 - 126 * 8,
	    FULL_SIZE, 0,
	    "sparse, 256 banks, 126 in memory naming the receivers: -KVM_EFAULT, none delivered");
	add_valid_sparse("after the set errors");
}

/* Calls made with pv_ipi_v2=N, and one after it is back at Y. */
static void add_param_calls(void)
{
	add(-KVM_ENOSYS, 0, VEC_ERROR, LO, HI, 0, "pv_ipi_v2=N: inline call -KVM_ENOSYS");
	descs[nr - 1].param_off = true;
	add(-KVM_ENOSYS, 0, FLAGS_SPARSE | VEC_ERROR, RGN_GPA + OFF_SET, SET_SIZE, 0,
	    "pv_ipi_v2=N: sparse call -KVM_ENOSYS");
	descs[nr - 1].param_off = true;
	add_valid_sparse("pv_ipi_v2=Y again");
}

/* Set pv_ipi_v2; 0 or -errno. It is put back at exit. */
static int param_set(bool on)
{
	return pv_param_set(PV_PARAM, on);
}

/* Add each receiver's share of a call or fence to what it must take. */
static void expect_both(struct pv_vm *p, int vector)
{
	p->expect[1][vector]++;
	p->expect[2][vector]++;
}

/*
 * Run the sender through the table of a VM made by pv_vm_create(), one
 * TAP line per call; the sender's CPUID and caps are the caller's.
 */
static void run_calls(struct pv_vm *p)
{
	struct pv_stats before, after, d;
	struct desc *c;
	struct ucall uc;
	int64_t ret;
	bool ok;
	int i;

	memcpy(addr_gva2hva(p->vm, (vm_vaddr_t)calls), host_calls, nr * sizeof(host_calls[0]));
	*(uint64_t *)addr_gva2hva(p->vm, (vm_vaddr_t)&nr_calls) = nr;
	pv_start_receivers(p);
	pv_sender_to(p, &uc, STAGE_READY);
	pv_wait_ready(p);
	for (i = 0; i < nr; i++) {
		c = &descs[i];
		if (c->param_off)
			TEST_ASSERT(!param_set(false), "setting pv_ipi_v2 to N");
		pv_stats_read(&p->stats[0], &before);
		pv_sender_to(p, &uc, STAGE_CALL);
		pv_stats_read(&p->stats[0], &after);
		if (c->param_off)
			TEST_ASSERT(!param_set(true), "setting pv_ipi_v2 back to Y");
		d = pv_stats_delta(&before, &after);
		ret = uc.args[3];

		ok = ret == c->expect;
		if (!ok)
			ksft_print_msg("%s: returned %ld, expected %ld\n", c->name, ret, c->expect);
		if (d.v[PV_HYPERCALLS] != 1 || pv_exits_unexplained(&d) != 1 ||
		    d.v[PV_YIELD_ATTEMPTED] || d.v[PV_YIELD_SUCCESSFUL] ||
		    d.v[PV_IRQ_INJECTIONS] || d.v[PV_NMI_INJECTIONS]) {
			ksft_print_msg("%s: sender stats moved by: hypercalls %lu, unexplained exits %lu, yields attempted %lu, successful %lu, injections %lu + %lu NMI\n",
				       c->name, d.v[PV_HYPERCALLS], pv_exits_unexplained(&d),
				       d.v[PV_YIELD_ATTEMPTED], d.v[PV_YIELD_SUCCESSFUL],
				       d.v[PV_IRQ_INJECTIONS], d.v[PV_NMI_INJECTIONS]);
			ok = false;
		}

		pv_sender_to(p, &uc, STAGE_FENCE);
		TEST_ASSERT(uc.args[3] == 2, "the fence (KVM_HC_SEND_IPI) returned %ld",
			    (int64_t)uc.args[3]);
		if (c->vector)
			expect_both(p, c->vector);
		expect_both(p, VEC_FENCE);
		ok &= pv_wait_rcvd(p, c->name);
		ksft_test_result(ok, "%s\n", c->name);
	}
	pv_sender_to(p, &uc, STAGE_END);
	WRITE_ONCE(p->hs->stop, 1);
	TEST_ASSERT(pv_run_sender(p, &uc) == -1, "the sender did not finish");
	ksft_test_result(pv_vm_finish(p),
			 "after %d calls: counts exact, no IRR or ISR bit left on any vCPU\n", nr);
}

static void new_vm(struct pv_vm *p)
{
	pv_vm_create(p, apic_ids, NR_VCPUS, sender_code, NULL);
	write_sets(p->vm);
	nr = 0;
	nr_valid = 0;
}

static int add_main_calls(bool param)
{
	nr = 0;
	nr_valid = 0;
	add_flag_errors();
	add_set_errors();
	if (param)
		add_param_calls();
	return nr;
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
	vcpu_enable_cap(p.vcpu[0], KVM_CAP_ENFORCE_PV_FEATURE_CPUID, 1);
	if (bit) {
		vcpu_set_cpuid_feature(p.vcpu[0], X86_FEATURE_KVM_PV_IPI_V2);
		add_valid_sparse("enforced CPUID with bit 19");
		v = valid_vector();
		add(2, v, v, LO, HI, 0,
		    "valid, enforced CPUID with bit 19: inline call reaches both receivers");
	} else {
		vcpu_clear_cpuid_feature(p.vcpu[0], X86_FEATURE_KVM_PV_IPI_V2);
		add(-KVM_ENOSYS, 0, VEC_ERROR, LO, HI, 0,
		    "enforced CPUID without bit 19: inline call -KVM_ENOSYS");
		add(-KVM_ENOSYS, 0, FLAGS_SPARSE | VEC_ERROR, RGN_GPA + OFF_SET, SET_SIZE, 0,
		    "enforced CPUID without bit 19: sparse call -KVM_ENOSYS");
	}
	run_calls(&p);
	pv_vm_free(&p);
}

/* No in-kernel LAPIC: the three calls of nolapic_code(). */
static uint64_t nolapic_set_gpa;

static void nolapic_code(void)
{
	uint64_t inl, sparse, empty;

	inl = pv_send(VEC_ERROR, 1, 0, 0);
	sparse = pv_send(FLAGS_SPARSE | VEC_ERROR, nolapic_set_gpa, 40, 0);
	empty = pv_send(FLAGS_SPARSE | VEC_ERROR, nolapic_set_gpa + 64, 32, 0);
	GUEST_SYNC_ARGS(STAGE_END, inl, sparse, empty, 0);
	GUEST_DONE();
}

/* A VM without an in-kernel LAPIC (pv_vm_create_nolapic()). */
static void test_no_lapic(void)
{
	static const char * const what[] = { "inline call", "sparse call", "empty sparse set" };
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

int main(void)
{
	char val[8] = "";
	bool param;
	int n, ret;

	ksft_print_header();
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_KVM_PV_IPI_V2));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_ENFORCE_PV_FEATURE_CPUID));
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_KVM_PV_SEND_IPI));

	/* The parameter must be there and Y: bit 19 is reported. */
	ret = vmf_read_file(PV_PARAM, val, sizeof(val));
	if (ret)
		ksft_exit_fail_msg("reading %s: %s\n", PV_PARAM, strerror(-ret));
	param = !geteuid() && !access(PV_PARAM, W_OK);

	n = add_main_calls(param);
	ksft_set_plan(1 + 2 + n + 1 + 2 + 1 + 2 + 1 + 3);

	ksft_test_result(!strcmp(val, "Y") && pv_supported_now(),
			 "pv_ipi_v2=%s, KVM_GET_SUPPORTED_CPUID reports bit 19\n", val);
	if (param) {
		TEST_ASSERT(!param_set(false), "setting pv_ipi_v2 to N");
		ksft_test_result(!pv_supported_now(),
				 "pv_ipi_v2=N: KVM_GET_SUPPORTED_CPUID does not report bit 19\n");
		TEST_ASSERT(!param_set(true), "setting pv_ipi_v2 back to Y");
		ksft_test_result(pv_supported_now(),
				 "pv_ipi_v2=Y again: KVM_GET_SUPPORTED_CPUID reports bit 19\n");
	} else {
		ksft_test_result_skip("pv_ipi_v2=N: %s is not writable\n", PV_PARAM);
		ksft_test_result_skip("pv_ipi_v2=Y again: %s is not writable\n", PV_PARAM);
	}

	test_main(param);
	test_enforced(false);
	test_enforced(true);
	test_no_lapic();
	ksft_finished();
}
