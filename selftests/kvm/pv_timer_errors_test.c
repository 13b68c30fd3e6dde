// SPDX-License-Identifier: GPL-2.0
/*
 * MSR_KVM_PV_TIMER's errors: each value and each state that
 * Documentation/virt/kvm/x86/pv-timer.rst says a write fails for, tried as
 * a guest that wants to break its host would, and shown to change nothing.
 *
 * One vCPU, x2APIC, LVTT in TSC-deadline mode, its area A registered. The
 * host writes a table of bad values into the guest; for each, the guest
 *
 *   1. programs d1 through the area (an exit: nothing is armed), then
 *      d2 = d1 + M (no exit: armed is d1), so a deadline is pending that
 *      only the area knows;
 *   2. writes the bad value: a WRMSR whose vector it records
 *      (wrmsr_safe()), or, for the host's rows, a sync at which the host
 *      makes the write with KVM_SET_MSRS;
 *   3. reads the MSR back (rdmsr_safe()), and the area's deadline and armed;
 *   4. programs d3 = d2 + M, which must not exit either, and waits.
 *
 * Each row is one TAP line, which checks: #GP (or KVM_SET_MSRS setting 0
 * MSRs); the MSR reads its old value; the area still holds d2 and armed d1;
 * no program after d1 exited, and the host's tsc_deadline_msr_writes moved
 * by exactly the guest's exits; the interrupt comes at or after d3, once;
 * the host re-armed at least once (pv_timer_rearms), so it still read the
 * area; version is 1. A write that disabled the area would hand d2 to the
 * MSR and fire early; one that re-enabled it would overwrite the deadline
 * with the armed d1.
 *
 * The rows: bits 5:1 one at a time (they are the alignment of the GPA, the
 * area being 64-byte aligned), with the enable bit set and clear, and all
 * of them; GPAs beyond the guest's MAXPHYADDR (its CPUID), enabled and not;
 * a GPA in no memslot, the last 64 bytes below MAXPHYADDR, a read-only
 * memslot, and the 64 bytes just past a memslot's end (an area cannot
 * straddle a memslot's end: 64-byte aligned, it lies in one page); with
 * kvm.pv_timer=N, a new area and the registered one again; and from the
 * host, the reserved bits and the too-wide GPAs.
 *
 * Then sequences, each one TAP line (a failure is a guest assertion that
 * says what went wrong):
 *
 *   hand-over   disabling with a deadline set without an exit: the MSR
 *               reads it, it fires at it, once;
 *   elsewhere   enabling an area B (the last 64 bytes of a memslot) with a
 *               deadline armed through the MSR: B holds it as deadline and
 *               armed, a later one pushed in B fires, A is left alone;
 *   param       kvm.pv_timer=N: A keeps working, a new enable gets #GP, a
 *               disable works (and hands over), enabling again gets #GP;
 *               at Y again it works;
 *   host        KVM_SET_MSRS of B: accepted, B untouched until the next
 *               entry, then in use; of a GPA outside RAM: accepted, read
 *               back, and the timer works through the MSR;
 *   vCPUs       4 vCPUs register one area and program through it and the
 *               MSR at once: each one's last deadline fires, and the host
 *               survives (the runner fails a test that splats).
 *
 * And VMs of their own: CPUID enforced without bit 21 (#GP on read and
 * write, a host write of 0 accepted, of an area refused) and with it; no
 * in-kernel LAPIC (#GP; the host's write is accepted, as the doc says it
 * checks only the bits and the width at once).
 *
 * -f ROW: expect the opposite vector for row ROW, to see the test fail.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "pv_errors.h"
#include "pv_timer.h"

#define TE_MAX_ROWS		64
#define TE_MARGIN_US		10000	/* M, first try; x4 per race */
#define TE_TRIES		4
#define TE_TIMEOUT_US		1000000
#define TE_SETTLE_US		5000
#define TE_CANARY		0x5a5a5a5a5a5a5a5aULL

/* GPAs of the memslots the rows aim at; nothing is mapped between them. */
#define TE_RW_GPA		0x50000000ULL	/* one page; B is its last 64 bytes */
#define TE_RW_SLOT		10
#define TE_RO_GPA		0x50100000ULL	/* one read-only page */
#define TE_RO_SLOT		11
#define TE_NOSLOT_GPA		0x60000000ULL
#define TE_B_GPA		(TE_RW_GPA + PV_PAGE_SIZE - 64)
#define TE_PAST_RW_GPA		(TE_RW_GPA + PV_PAGE_SIZE)

#define TE_NR_VCPUS		4	/* the shared-area sequence */
#define TE_SHARED_ITERS		200

enum {
	TE_ROW_START = 1,	/* host: set kvm.pv_timer for the row */
	TE_ROW_HOST,		/* host: make the row's write */
	TE_ROW_DONE,		/* host: check the row */
	TE_SEQ_HANDOVER,
	TE_SEQ_ELSEWHERE,
	TE_SEQ_PARAM_OFF,	/* host: kvm.pv_timer=N */
	TE_SEQ_PARAM,		/* host: back to Y */
	TE_SEQ_HOST_B,		/* host: write B */
	TE_SEQ_HOST_NORAM,	/* host: write a GPA outside RAM */
	TE_SEQ_HOST,
	TE_SEQ_PERIOD_START,	/* host: snapshot pv_timer_next_arms */
	TE_SEQ_PERIOD,		/* host: at most one next-tick arm per delivery */
	TE_END,
};

/*
 * Periods in the area that a guest can publish: too short to use, short
 * enough that the host's read comes before anything is re-armed (the
 * guest re-arms nothing here), past the next second, or overflowing the
 * deadline.
 */
static const struct {
	uint64_t cycles, us;	/* one of the two */
} te_periods[] = {
	{ .cycles = 1 }, { .cycles = 2 }, { .us = 100 }, { .us = 1000 },
	{ .cycles = 1ULL << 63 }, { .cycles = ~0ULL },
};
#define TE_PERIOD_FIRES		20

/* A row, as the guest sees it. */
struct te_row {
	uint64_t val;
	uint64_t host;		/* the host writes it, not the guest */
};

/* What the guest saw for a row. */
struct te_result {
	uint64_t wr_vec, rd_vec, rd_val;
	uint64_t d1, d2, d3;
	uint64_t exits, exits_late;	/* all programs; those after d1 */
	uint64_t deadline, armed;	/* the area's, after the write */
	uint64_t fired, irq_tsc, second, version, tries, canary;
	uint64_t reregistered;		/* the write did change the MSR */
};

static struct te_row te_rows[TE_MAX_ROWS];
static struct te_result te_res[TE_MAX_ROWS];
static uint64_t te_nr_rows;
static uint64_t te_a_gva, te_a_gpa;
static bool te_param;			/* kvm.pv_timer can be written */

/* ---------------------------------------------------------------- guest */

/* Take interrupts until TSC passes until: the fallout of a raced try. */
static void te_absorb(uint64_t until)
{
	while (rdtsc() <= until)
		pv_take_pending();
}

/*
 * Step 1: d1 with an exit, d2 = d1 + m without one. False if d1 passed
 * meanwhile (the host was slow), after which the caller takes what fired.
 */
static bool te_push(struct kvm_pv_timer *t, uint64_t m, uint64_t *d1, uint64_t *d2,
		    uint64_t *exits)
{
	*d1 = rdtsc() + m;
	*exits += pvt_area_program(t, *d1);
	*d2 = *d1 + m;
	*exits += pvt_area_program(t, *d2);
	return rdtsc() < *d1;
}

/*
 * Wait for the interrupt for d, then check that no second one comes. The
 * guest takes interrupts only here, so none came since d was armed.
 */
static void te_fires_once(uint64_t d, const char *what)
{
	__GUEST_ASSERT(pvt_wait_irq(pvt_irq_count(), d + pvt_us(TE_TIMEOUT_US), NULL),
		       "%s: no interrupt %u us after deadline %lu (lost)", what, TE_TIMEOUT_US,
		       d);
	__GUEST_ASSERT(pvt_irq_time() >= d, "%s: interrupt at %lu, %lu cycles before %lu (early)",
		       what, pvt_irq_time(), d - pvt_irq_time(), d);
	__GUEST_ASSERT(!pvt_wait_irq(pvt_irq_count(), rdtsc() + pvt_us(TE_SETTLE_US), NULL),
		       "%s: a second interrupt, at %lu, for deadline %lu", what, pvt_irq_time(), d);
}

static void te_row(struct kvm_pv_timer *t, uint64_t i)
{
	struct te_result *r = &te_res[i];
	uint64_t m = pvt_us(TE_MARGIN_US), before, e, pushed;

	GUEST_SYNC_ARGS(TE_ROW_START, i, 0, 0, 0);
	for (r->tries = 1; ; r->tries++, m *= 4) {
		before = pvt_irq_count();
		pushed = 0;
		if (!te_push(t, m, &r->d1, &r->d2, &pushed)) {
			r->exits += pushed;
			GUEST_ASSERT(r->tries < TE_TRIES);
			te_absorb(r->d2 + pvt_us(TE_SETTLE_US));
			continue;
		}
		r->exits += pushed;
		r->exits_late = pushed - 1;
		if (te_rows[i].host)
			GUEST_SYNC_ARGS(TE_ROW_HOST, i, 0, 0, 0);
		else
			r->wr_vec = wrmsr_safe(MSR_KVM_PV_TIMER, te_rows[i].val);
		r->rd_vec = rdmsr_safe(MSR_KVM_PV_TIMER, &r->rd_val);
		r->deadline = READ_ONCE(t->deadline);
		r->armed = READ_ONCE(t->armed);
		r->d3 = r->d2 + m;
		e = pvt_area_program(t, r->d3);
		r->exits += e;
		r->exits_late += e;
		if (rdtsc() < r->d1)
			break;
		/* d1 passed before d3 was in: the checks would mean nothing. */
		GUEST_ASSERT(r->tries < TE_TRIES);
		te_absorb(r->d3 + pvt_us(TE_SETTLE_US));
	}
	r->fired = pvt_wait_irq(before, r->d3 + pvt_us(TE_TIMEOUT_US), NULL);
	r->irq_tsc = pvt_irq_time();
	r->second = pvt_wait_irq(pvt_irq_count(), rdtsc() + pvt_us(TE_SETTLE_US), NULL);
	r->version = READ_ONCE(t->version);
	r->canary = t->pad[3];
	/* A row that failed must not take the rows after it down too. */
	if (rdmsr(MSR_KVM_PV_TIMER) != (te_a_gpa | KVM_MSR_ENABLED)) {
		te_absorb(rdtsc() + pvt_us(TE_SETTLE_US));
		r->reregistered = !wrmsr_safe(MSR_KVM_PV_TIMER, te_a_gpa | KVM_MSR_ENABLED);
	}
	GUEST_SYNC_ARGS(TE_ROW_DONE, i, 0, 0, 0);
}

/* A pending deadline, set without an exit; retried if the host was slow. */
static void te_pending(struct kvm_pv_timer *t, uint64_t *d1, uint64_t *d2)
{
	uint64_t m = pvt_us(TE_MARGIN_US), exits = 0;
	int tries;

	for (tries = 1; !te_push(t, m, d1, d2, &exits); tries++, m *= 4) {
		GUEST_ASSERT(tries < TE_TRIES);
		te_absorb(*d2 + pvt_us(TE_SETTLE_US));
	}
	__GUEST_ASSERT(exits == 1, "a deadline pushed later through the area exited (%lu exits)",
		       exits);
}

/* Disabling hands the deadline set without an exit over to the MSR. */
static void te_seq_handover(struct kvm_pv_timer *a)
{
	uint64_t d1, d2, v;

	te_pending(a, &d1, &d2);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_KVM_PV_TIMER, 0), 0);
	GUEST_ASSERT_EQ(rdmsr(MSR_KVM_PV_TIMER), 0);
	v = rdmsr(MSR_IA32_TSC_DEADLINE);
	__GUEST_ASSERT(v == d2, "disabled: TSC_DEADLINE reads %lu, not the pushed %lu (armed %lu)",
		       v, d2, d1);
	te_fires_once(d2, "disabled with a pushed deadline");
	GUEST_SYNC(TE_SEQ_HANDOVER);
}

/* Enabling B, elsewhere, with a deadline armed through the MSR. */
static void te_seq_elsewhere(struct kvm_pv_timer *a, struct kvm_pv_timer *b)
{
	struct kvm_pv_timer a_before = *a;
	uint64_t d1, d2;

	memset(b, 0, sizeof(*b));
	b->pad[3] = TE_CANARY;
	d1 = rdtsc() + pvt_us(TE_MARGIN_US) * 16;
	wrmsr(MSR_IA32_TSC_DEADLINE, d1);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_KVM_PV_TIMER, TE_B_GPA | KVM_MSR_ENABLED), 0);
	GUEST_ASSERT_EQ(rdmsr(MSR_KVM_PV_TIMER), TE_B_GPA | KVM_MSR_ENABLED);
	GUEST_ASSERT_EQ(READ_ONCE(b->version), KVM_PV_TIMER_VERSION);
	__GUEST_ASSERT(READ_ONCE(b->deadline) == d1 && READ_ONCE(b->armed) == d1,
		       "B enabled with %lu armed: deadline %llu, armed %llu", d1,
		       READ_ONCE(b->deadline), READ_ONCE(b->armed));
	d2 = d1 + pvt_us(TE_MARGIN_US);
	__GUEST_ASSERT(!pvt_area_program(b, d2), "pushing %lu later in B exited (armed %llu)",
		       d2, READ_ONCE(b->armed));
	te_fires_once(d2, "area B");
	GUEST_ASSERT_EQ(b->pad[3], TE_CANARY);
	GUEST_ASSERT(!memcmp(&a_before, a, sizeof(*a)));

	/* Back to A. */
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_KVM_PV_TIMER, te_a_gpa | KVM_MSR_ENABLED), 0);
	GUEST_SYNC(TE_SEQ_ELSEWHERE);
}

/* kvm.pv_timer=N between the two syncs. */
static void te_seq_param(struct kvm_pv_timer *a)
{
	uint64_t d1, d2, v;
	uint8_t vec;

	GUEST_SYNC(TE_SEQ_PARAM_OFF);
	te_pending(a, &d1, &d2);
	vec = wrmsr_safe(MSR_KVM_PV_TIMER, TE_B_GPA | KVM_MSR_ENABLED);
	__GUEST_ASSERT(vec == GP_VECTOR, "pv_timer=N: enabling B took vector %u, not #GP", vec);
	GUEST_ASSERT_EQ(rdmsr(MSR_KVM_PV_TIMER), te_a_gpa | KVM_MSR_ENABLED);
	te_fires_once(d2, "pv_timer=N, the area registered before");

	te_pending(a, &d1, &d2);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_KVM_PV_TIMER, 0), 0);
	te_fires_once(d2, "pv_timer=N, disabled with a pushed deadline");
	vec = wrmsr_safe(MSR_KVM_PV_TIMER, te_a_gpa | KVM_MSR_ENABLED);
	__GUEST_ASSERT(vec == GP_VECTOR, "pv_timer=N: enabling A again took vector %u", vec);
	GUEST_ASSERT_EQ(rdmsr(MSR_KVM_PV_TIMER), 0);
	d1 = rdtsc() + pvt_us(TE_MARGIN_US);
	wrmsr(MSR_IA32_TSC_DEADLINE, d1);
	te_fires_once(d1, "pv_timer=N, no area");
	GUEST_SYNC(TE_SEQ_PARAM);

	GUEST_ASSERT_EQ(wrmsr_safe(MSR_KVM_PV_TIMER, te_a_gpa | KVM_MSR_ENABLED), 0);
	te_pending(a, &d1, &d2);
	te_fires_once(d2, "pv_timer=Y again");
	v = rdmsr(MSR_KVM_PV_TIMER);
	GUEST_ASSERT_EQ(v, te_a_gpa | KVM_MSR_ENABLED);
}

/* KVM_SET_MSRS of B, then of a GPA outside RAM, at the syncs. */
static void te_seq_host(struct kvm_pv_timer *b)
{
	uint64_t d;

	memset(b, 0, sizeof(*b));
	GUEST_SYNC(TE_SEQ_HOST_B);
	GUEST_ASSERT_EQ(rdmsr(MSR_KVM_PV_TIMER), TE_B_GPA | KVM_MSR_ENABLED);
	GUEST_ASSERT_EQ(READ_ONCE(b->version), KVM_PV_TIMER_VERSION);
	d = rdtsc() + pvt_us(TE_MARGIN_US);
	wrmsr(MSR_IA32_TSC_DEADLINE, d);
	GUEST_ASSERT_EQ(READ_ONCE(b->deadline), d);
	te_fires_once(d, "area B, set by the host");

	GUEST_SYNC(TE_SEQ_HOST_NORAM);
	GUEST_ASSERT_EQ(rdmsr(MSR_KVM_PV_TIMER), TE_NOSLOT_GPA | KVM_MSR_ENABLED);
	b->deadline = 0;
	d = rdtsc() + pvt_us(TE_MARGIN_US);
	wrmsr(MSR_IA32_TSC_DEADLINE, d);
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_TSC_DEADLINE), d);
	GUEST_ASSERT_EQ(READ_ONCE(b->deadline), 0);
	te_fires_once(d, "an area outside RAM, set by the host: the MSR alone");

	GUEST_ASSERT_EQ(wrmsr_safe(MSR_KVM_PV_TIMER, te_a_gpa | KVM_MSR_ENABLED), 0);
	GUEST_SYNC(TE_SEQ_HOST);
}

/*
 * Bad periods: every deadline still fires once and not early, and nothing
 * else fires while the guest programs nothing after it.
 */
static void te_seq_period(struct kvm_pv_timer *a)
{
	uint64_t p, d, n = 0;
	int i, j;

	GUEST_SYNC(TE_SEQ_PERIOD_START);
	for (i = 0; i < ARRAY_SIZE(te_periods); i++) {
		p = te_periods[i].us ? pvt_us(te_periods[i].us) : te_periods[i].cycles;
		WRITE_ONCE(a->period, p);
		for (j = 0; j < TE_PERIOD_FIRES; j++, n++) {
			d = rdtsc() + pvt_us(TE_MARGIN_US);
			pvt_area_program(a, d);
			te_fires_once(d, "a deadline with an odd period");
		}
	}
	WRITE_ONCE(a->period, 0);
	GUEST_SYNC_ARGS(TE_SEQ_PERIOD, n, 0, 0, 0);
}

static void te_guest(void)
{
	struct kvm_pv_timer *a = (struct kvm_pv_timer *)te_a_gva;
	struct kvm_pv_timer *b = (struct kvm_pv_timer *)TE_B_GPA;	/* mapped 1:1 */
	uint64_t i;

	pvt_guest_lapic_init();
	a->pad[3] = TE_CANARY;
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_KVM_PV_TIMER, te_a_gpa | KVM_MSR_ENABLED), 0);
	for (i = 0; i < te_nr_rows; i++)
		te_row(a, i);
	te_seq_handover(a);
	te_seq_elsewhere(a, b);
	if (te_param)
		te_seq_param(a);
	te_seq_host(b);
	te_seq_period(a);
	GUEST_SYNC(TE_END);
	GUEST_DONE();
}

/* ----------------------------------------------------------------- host */

struct te_host_row {
	char name[120];
	int64_t host_ret;	/* host rows: what KVM_SET_MSRS returned */
	bool param_off;
};

static struct te_host_row te_names[TE_MAX_ROWS];
static int te_flip = -1;	/* -f: the row whose expected vector is flipped */
static unsigned int te_maxphy;

/* Is gpa in one of the VM's memslots? */
static bool te_in_memslot(struct kvm_vm *vm, uint64_t gpa)
{
	struct userspace_mem_region *region;
	int bkt;

	hash_for_each(vm->regions.slot_hash, bkt, region, slot_node)
		if (gpa - region->region.guest_phys_addr < region->region.memory_size)
			return true;
	return false;
}

static __printf(3, 4) void te_add(uint64_t val, bool host, const char *fmt, ...)
{
	va_list ap;
	int i = te_nr_rows++;

	TEST_ASSERT(i < TE_MAX_ROWS, "too many rows");
	te_rows[i] = (struct te_row){ .val = val, .host = host };
	te_names[i].param_off = false;
	va_start(ap, fmt);
	vsnprintf(te_names[i].name, sizeof(te_names[i].name), fmt, ap);
	va_end(ap);
}

static void te_add_rows(struct kvm_vm *vm)
{
	const uint64_t r = te_a_gpa | KVM_MSR_ENABLED, wide = 1ULL << te_maxphy;
	int b, host;

	for (host = 0; host < 2; host++) {
		const char *who = host ? "KVM_SET_MSRS" : "WRMSR";

		for (b = 1; b <= 5; b++)
			te_add(r | BIT_ULL(b), host,
			       "%s, bit %d (reserved; GPA %d bytes off 64-byte alignment)",
			       who, b, 1 << b);
		for (b = 1; b <= 5; b++)
			te_add(BIT_ULL(b), host, "%s, bit %d (reserved), enable bit clear", who, b);
		te_add(r | KVM_PV_TIMER_RESERVED, host, "%s, bits 5:1 all set", who);
		te_add(~0ULL, host, "%s, all ones", who);
		te_add(wide | KVM_MSR_ENABLED, host,
		       "%s, GPA 1 << %u, the first bit beyond MAXPHYADDR", who, te_maxphy);
		te_add(wide | r, host,
		       "%s, the area's GPA with bit %u (beyond MAXPHYADDR) set",
		       who,
		       te_maxphy);
		te_add(BIT_ULL(63) | r, host, "%s, the area's GPA with bit 63 set", who);
		te_add(wide, host, "%s, GPA 1 << %u (beyond MAXPHYADDR), enable bit clear", who,
		       te_maxphy);
	}
	te_add(TE_NOSLOT_GPA | KVM_MSR_ENABLED, false, "WRMSR, GPA %#llx: in no memslot",
	       TE_NOSLOT_GPA);
	te_add((wide - 64) | KVM_MSR_ENABLED, false,
	       "WRMSR, the last 64 bytes below MAXPHYADDR: in no memslot");
	te_add(TE_PAST_RW_GPA | KVM_MSR_ENABLED, false,
	       "WRMSR, the 64 bytes just past a memslot's end");
	for (b = te_nr_rows - 3; b < te_nr_rows; b++)
		TEST_ASSERT(!te_in_memslot(vm, te_rows[b].val & ~63ULL),
			    "%s: that GPA is in a memslot", te_names[b].name);
	te_add(TE_RO_GPA | KVM_MSR_ENABLED, false, "WRMSR, GPA in a read-only memslot");
	if (te_param) {
		te_add(TE_B_GPA | KVM_MSR_ENABLED, false, "kvm.pv_timer=N: WRMSR of a new area");
		te_names[te_nr_rows - 1].param_off = true;
		te_add(r, false, "kvm.pv_timer=N: WRMSR of the registered area again");
		te_names[te_nr_rows - 1].param_off = true;
	}
}

/* One TAP line for row i. */
static void te_check_row(struct kvm_vcpu *vcpu, int i, uint64_t writes, uint64_t rearms)
{
	const struct te_result *r = addr_gva2hva(vcpu->vm, (vm_vaddr_t)&te_res[i]);
	const uint64_t old = te_a_gpa | KVM_MSR_ENABLED;
	const char *name = te_names[i].name;
	int expect_vec = i == te_flip ? 0 : GP_VECTOR;
	bool ok = true;

#define TE_CHECK(cond, fmt, ...)						\
	do {									\
		if (!(cond)) {							\
			ksft_print_msg("%s: " fmt "\n", name, ##__VA_ARGS__);	\
			ok = false;						\
		}								\
	} while (0)

	if (te_rows[i].host)
		TE_CHECK(te_names[i].host_ret == (i == te_flip),
			 "KVM_SET_MSRS set %ld MSRs, not %d",
			 te_names[i].host_ret, i == te_flip);
	else
		TE_CHECK(r->wr_vec == expect_vec, "WRMSR took vector %lu, not %d", r->wr_vec,
			 expect_vec);
	TE_CHECK(!r->rd_vec && r->rd_val == old, "RDMSR: vector %lu, value %#lx, not %#lx",
		 r->rd_vec, r->rd_val, old);
	TE_CHECK(r->deadline == r->d2 && r->armed == r->d1,
		 "the area after the write: deadline %lu armed %lu, not %lu and %lu",
		 r->deadline, r->armed, r->d2, r->d1);
	TE_CHECK(!r->exits_late, "%lu programs after the first exited", r->exits_late);
	TE_CHECK(writes == r->exits, "host saw %lu TSC_DEADLINE writes, the guest made %lu",
		 writes, r->exits);
	TE_CHECK(r->fired, "no interrupt for d3 %lu (lost)", r->d3);
	TE_CHECK(!r->fired || r->irq_tsc >= r->d3,
		 "interrupt at %lu, before d3 %lu (early: d2 %lu, d1 %lu)",
		 r->irq_tsc, r->d3, r->d2, r->d1);
	TE_CHECK(!r->second, "a second interrupt");
	TE_CHECK(rearms >= 1, "the host never re-armed: it did not read the area");
	TE_CHECK(r->version == KVM_PV_TIMER_VERSION, "version %lu", r->version);
	TE_CHECK(r->canary == TE_CANARY, "the pad's canary is %#lx", r->canary);
	if (r->reregistered)
		ksft_print_msg("%s: the guest registered A again for the next rows\n", name);
	ksft_test_result(ok, "%s: %s, nothing changed (%lu %s)\n", name,
			 te_rows[i].host ? "refused" : "#GP", r->tries,
			 r->tries == 1 ? "try" : "tries");
#undef TE_CHECK
}

static void te_param_set(bool on)
{
	TEST_ASSERT(!pv_param_set(PVT_PARAM, on), "setting kvm.pv_timer %s", on ? "Y" : "N");
}

/* The host's part of a row, or of a sequence; true at TE_END. */
static bool te_handle(struct kvm_vcpu *vcpu, uint64_t stage, uint64_t i)
{
	static uint64_t writes0, rearms0, next0;
	struct kvm_pv_timer *b = addr_gpa2hva(vcpu->vm, TE_B_GPA);
	const uint64_t a = te_a_gpa | KVM_MSR_ENABLED;
	uint64_t v;
	int ret;

	switch (stage) {
	case TE_ROW_START:
		if (te_names[i].param_off)
			te_param_set(false);
		writes0 = read_vcpu_stat(vcpu, "tsc_deadline_msr_writes");
		rearms0 = read_vcpu_stat(vcpu, "pv_timer_rearms");
		break;
	case TE_ROW_HOST:
		te_names[i].host_ret = _vcpu_set_msr(vcpu, MSR_KVM_PV_TIMER, te_rows[i].val);
		break;
	case TE_ROW_DONE:
		if (te_names[i].param_off)
			te_param_set(true);
		te_check_row(vcpu, i, read_vcpu_stat(vcpu, "tsc_deadline_msr_writes") - writes0,
			     read_vcpu_stat(vcpu, "pv_timer_rearms") - rearms0);
		break;
	case TE_SEQ_HANDOVER:
		ksft_test_result_pass(
				      "disabling with a deadline set without an exit: the MSR reads it, it fires once, not early\n");
		break;
	case TE_SEQ_ELSEWHERE:
		ksft_test_result_pass(
				      "enabling B, the last 64 bytes of a memslot, with a deadline armed: B holds it, a push in B fires, A untouched\n");
		break;
	case TE_SEQ_PARAM_OFF:
		te_param_set(false);
		break;
	case TE_SEQ_PARAM:
		te_param_set(true);
		ksft_test_result_pass(
				      "kvm.pv_timer=N: A keeps working, enabling gets #GP, disabling hands over; Y again works\n");
		break;
	case TE_SEQ_HOST_B:
		ret = _vcpu_set_msr(vcpu, MSR_KVM_PV_TIMER, TE_B_GPA | KVM_MSR_ENABLED);
		TEST_ASSERT(ret == 1, "KVM_SET_MSRS of area B set %d MSRs", ret);
		TEST_ASSERT(!b->version, "KVM_SET_MSRS wrote area B (version %u) before an entry",
			    b->version);
		break;
	case TE_SEQ_HOST_NORAM:
		ret = _vcpu_set_msr(vcpu, MSR_KVM_PV_TIMER, TE_NOSLOT_GPA | KVM_MSR_ENABLED);
		TEST_ASSERT(ret == 1, "KVM_SET_MSRS of an area outside RAM set %d MSRs", ret);
		v = vcpu_get_msr(vcpu, MSR_KVM_PV_TIMER);
		TEST_ASSERT(v == (TE_NOSLOT_GPA | KVM_MSR_ENABLED), "read back %#lx", v);
		break;
	case TE_SEQ_HOST:
		ksft_test_result_pass(
				      "KVM_SET_MSRS: an area is used from the next entry, not before; one outside RAM is accepted and the MSR alone works\n");
		v = vcpu_get_msr(vcpu, MSR_KVM_PV_TIMER);
		TEST_ASSERT(v == a, "the guest re-registered A, the MSR reads %#lx", v);
		break;
	case TE_SEQ_PERIOD_START:
		next0 = read_vcpu_stat(vcpu, "pv_timer_next_arms");
		break;
	case TE_SEQ_PERIOD:
		v = read_vcpu_stat(vcpu, "pv_timer_next_arms") - next0;
		ksft_test_result(v <= i,
				 "periods 1, 2, 100 us, 1 ms, 2^63 and ~0: %lu deadlines fired once each, not early; %lu next-tick arms, at most one each\n",
				 i, v);
		break;
	case TE_END:
		return true;
	default:
		TEST_FAIL("unexpected stage %lu", stage);
	}
	return false;
}

static void te_main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;

	vm = vm_create_with_one_vcpu(&vcpu, te_guest);
	pvt_vcpu_setup(vcpu);
	te_maxphy = kvm_cpuid_property(vcpu->cpuid, X86_PROPERTY_MAX_PHY_ADDR);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, TE_RW_GPA, TE_RW_SLOT, 1, 0);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, TE_RO_GPA, TE_RO_SLOT, 1,
				    KVM_MEM_READONLY);
	virt_map(vm, TE_RW_GPA, TE_RW_GPA, 1);

	te_a_gva = vm_vaddr_alloc_page(vm);
	memset(addr_gva2hva(vm, te_a_gva), 0, PV_PAGE_SIZE);
	te_a_gpa = addr_gva2gpa(vm, te_a_gva);
	te_nr_rows = 0;
	te_add_rows(vm);

	sync_global_to_guest(vm, te_rows);
	sync_global_to_guest(vm, te_nr_rows);
	sync_global_to_guest(vm, te_a_gva);
	sync_global_to_guest(vm, te_a_gpa);
	sync_global_to_guest(vm, te_param);
	ksft_print_msg("area A at GPA %#lx, guest MAXPHYADDR %u, %lu rows\n", te_a_gpa, te_maxphy,
		       te_nr_rows);

	for (;;) {
		pv_vcpu_run(vcpu);
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			if (te_handle(vcpu, uc.args[1], uc.args[2]))
				break;
			continue;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
		default:
			TEST_FAIL("unexpected ucall %lu", uc.cmd);
		}
		break;
	}
	ksft_print_msg(
		       "stats: tsc_deadline_msr_writes %lu, pv_timer_rearms %lu, syncs %lu, deferred %lu\n",
		       read_vcpu_stat(vcpu, "tsc_deadline_msr_writes"),
		       read_vcpu_stat(vcpu, "pv_timer_rearms"),
		       read_vcpu_stat(vcpu, "pv_timer_syncs"),
		       read_vcpu_stat(vcpu, "pv_timer_deferred"));
	kvm_vm_free(vm);
}

/* ------------------------------------------------ many vCPUs, one area */

/* Per vCPU (x2APIC ID = vCPU ID): pvt_irqs is one count for the VM. */
static uint64_t te_shared_irqs[TE_NR_VCPUS];
static uint64_t te_shared_tsc[TE_NR_VCPUS];

static void te_shared_handler(struct ex_regs *regs)
{
	uint32_t id = x2apic_read_reg(APIC_ID);

	WRITE_ONCE(te_shared_tsc[id], rdtsc());
	WRITE_ONCE(te_shared_irqs[id], te_shared_irqs[id] + 1);
	x2apic_write_reg(APIC_EOI, 0);
}

/* Take interrupts until vCPU id has one more than before, or TSC > until. */
static bool te_shared_wait(uint32_t id, uint64_t before, uint64_t until)
{
	while (READ_ONCE(te_shared_irqs[id]) == before) {
		if (rdtsc() > until)
			return false;
		pv_take_pending();
	}
	return true;
}

/* Each vCPU hammers the shared area, then disables and arms its own last. */
static void te_shared_guest(uint64_t gva, uint64_t gpa, uint64_t seed)
{
	struct kvm_pv_timer *t = (struct kvm_pv_timer *)gva;
	uint32_t id;
	uint64_t d, i;

	pvt_guest_lapic_init();
	id = x2apic_read_reg(APIC_ID);
	GUEST_ASSERT(id < TE_NR_VCPUS);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_KVM_PV_TIMER, gpa | KVM_MSR_ENABLED), 0);
	for (i = 0; i < TE_SHARED_ITERS; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		d = rdtsc() + seed % pvt_us(200);
		if (seed & 1)
			pvt_area_program(t, d);
		else
			wrmsr(MSR_IA32_TSC_DEADLINE, d);
		pv_take_pending();
	}
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_KVM_PV_TIMER, 0), 0);
	/*
	 * Disabling handed the shared area's deadline over to the MSR. Under
	 * TCG its interrupt can come many ms late: wait until the MSR reads
	 * 0 (delivered), then take it, so it is not taken for the next one.
	 */
	d = rdtsc() + pvt_us(TE_TIMEOUT_US);
	while (rdmsr(MSR_IA32_TSC_DEADLINE) && rdtsc() < d)
		pv_take_pending();
	te_absorb(rdtsc() + pvt_us(TE_SETTLE_US));
	d = rdtsc() + pvt_us(TE_MARGIN_US);
	wrmsr(MSR_IA32_TSC_DEADLINE, d);
	i = READ_ONCE(te_shared_irqs[id]);
	__GUEST_ASSERT(te_shared_wait(id, i, d + pvt_us(TE_TIMEOUT_US)),
		       "vCPU %u: its own deadline %lu, after sharing an area, never fired", id, d);
	__GUEST_ASSERT(te_shared_tsc[id] >= d, "vCPU %u: interrupt at %lu before %lu", id,
		       te_shared_tsc[id], d);
	__GUEST_ASSERT(!te_shared_wait(id, i + 1, rdtsc() + pvt_us(TE_SETTLE_US)),
		       "vCPU %u: a second interrupt for %lu", id, d);
	GUEST_DONE();
}

static void te_shared(void)
{
	struct vcpu_thread threads[TE_NR_VCPUS];
	struct kvm_vcpu *vcpus[TE_NR_VCPUS];
	struct kvm_vm *vm;
	vm_vaddr_t gva;
	int i;

	vm = vm_create_with_vcpus(TE_NR_VCPUS, te_shared_guest, vcpus);
	gva = vm_vaddr_alloc_page(vm);
	memset(addr_gva2hva(vm, gva), 0, PV_PAGE_SIZE);
	for (i = 0; i < TE_NR_VCPUS; i++) {
		pvt_vcpu_setup(vcpus[i]);
		vm_install_exception_handler(vm, PVT_VECTOR, te_shared_handler);
		vcpu_args_set(vcpus[i], 3, gva, addr_gva2gpa(vm, gva),
			      0x9e3779b97f4a7c15ULL * (i + 1));
	}
	for (i = 0; i < TE_NR_VCPUS; i++)
		vcpu_thread_start(&threads[i], vcpus[i], -1);
	for (i = 0; i < TE_NR_VCPUS; i++)
		pthread_join(threads[i].thread, NULL);
	ksft_test_result_pass(
			      "%d vCPUs sharing one area, %d programs each: each one's last deadline fires once; rearms %lu, syncs %lu, deferred %lu on vCPU 0\n",
			      TE_NR_VCPUS, TE_SHARED_ITERS,
			      read_vcpu_stat(vcpus[0], "pv_timer_rearms"),
			      read_vcpu_stat(vcpus[0], "pv_timer_syncs"),
			      read_vcpu_stat(vcpus[0], "pv_timer_deferred"));
	kvm_vm_free(vm);
}

/* ---------------------------------------- CPUID enforced, and no LAPIC */

enum { TE_OTHER_DONE = 0x40 };

/* Under enforcement: the read's and the writes' vectors, or with the bit, 0s. */
static void te_enforced_guest(uint64_t gpa)
{
	uint64_t v = 0;
	uint8_t rd, wr_on, wr_off;

	rd = rdmsr_safe(MSR_KVM_PV_TIMER, &v);
	wr_on = wrmsr_safe(MSR_KVM_PV_TIMER, gpa | KVM_MSR_ENABLED);
	wr_off = wrmsr_safe(MSR_KVM_PV_TIMER, 0);
	GUEST_SYNC_ARGS(TE_OTHER_DONE, rd, wr_on, wr_off, v);
	GUEST_DONE();
}

static struct ucall te_run_other(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	pv_vcpu_run(vcpu);
	TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO, "unexpected exit %s",
		    exit_reason_str(vcpu->run->exit_reason));
	if (get_ucall(vcpu, &uc) == UCALL_ABORT)
		REPORT_GUEST_ASSERT(uc);
	TEST_ASSERT(uc.args[1] == TE_OTHER_DONE, "stage %lu", uc.args[1]);
	return uc;
}

static void te_enforced(bool bit)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	vm_vaddr_t gva;
	int set0, seta;

	vm = vm_create_with_one_vcpu(&vcpu, te_enforced_guest);
	errs_enforce_vcpu(vcpu, X86_FEATURE_KVM_PV_TIMER, bit);
	gva = vm_vaddr_alloc_page(vm);
	vcpu_args_set(vcpu, 1, addr_gva2gpa(vm, gva));
	uc = te_run_other(vcpu);
	if (bit) {
		ksft_test_result(!uc.args[2] && !uc.args[3] && !uc.args[4],
				 "enforced CPUID with bit 21: RDMSR, enable, disable work (vectors %lu %lu %lu)\n",
				 uc.args[2], uc.args[3], uc.args[4]);
	} else {
		set0 = _vcpu_set_msr(vcpu, MSR_KVM_PV_TIMER, 0);
		seta = _vcpu_set_msr(vcpu, MSR_KVM_PV_TIMER,
				     addr_gva2gpa(vm, gva) | KVM_MSR_ENABLED);
		ksft_test_result(uc.args[2] == GP_VECTOR && uc.args[3] == GP_VECTOR &&
				 uc.args[4] == GP_VECTOR && set0 == 1 && seta == 0,
				 "enforced CPUID without bit 21: RDMSR, enable, disable #GP (vectors %lu %lu %lu); KVM_SET_MSRS of 0 accepted (%d), of an area refused (%d)\n",
				 uc.args[2], uc.args[3], uc.args[4], set0, seta);
	}
	kvm_vm_free(vm);
}

/* No in-kernel LAPIC: the read works and reads 0, an enable gets #GP. */
static void te_nolapic_guest(uint64_t gpa)
{
	uint64_t v = ~0ULL, after = ~0ULL;
	uint8_t rd, wr_on, wr_off;

	rd = rdmsr_safe(MSR_KVM_PV_TIMER, &v);
	wr_on = wrmsr_safe(MSR_KVM_PV_TIMER, gpa | KVM_MSR_ENABLED);
	rdmsr_safe(MSR_KVM_PV_TIMER, &after);
	wr_off = wrmsr_safe(MSR_KVM_PV_TIMER, 0);
	GUEST_SYNC_ARGS(TE_OTHER_DONE, rd | (uint64_t)wr_off << 8, wr_on, v, after);
	GUEST_DONE();
}

static void te_nolapic(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	vm_vaddr_t page;
	uint64_t gpa, v;
	int set;

	vm = pv_vm_create_nolapic();
	errs_nolapic_idt(vm);
	page = vm_vaddr_alloc_page(vm);
	gpa = addr_gva2gpa(vm, page);
	vcpu = vm_vcpu_add(vm, 0, te_nolapic_guest);
	vcpu_set_cpuid_feature(vcpu, X86_FEATURE_KVM_PV_TIMER);
	vcpu_args_set(vcpu, 1, gpa);
	uc = te_run_other(vcpu);
	ksft_test_result(uc.args[2] == 0 && uc.args[3] == GP_VECTOR && uc.args[4] == 0 &&
			 uc.args[5] == 0,
			 "no in-kernel LAPIC: enable #GP (vector %lu), the MSR reads 0 before and after (%#lx, %#lx), disable works (vector %lu)\n",
			 uc.args[3], uc.args[4], uc.args[5], uc.args[2] >> 8);
	/* The doc: KVM_SET_MSRS checks the bits and the width only. */
	set = _vcpu_set_msr(vcpu, MSR_KVM_PV_TIMER, gpa | KVM_MSR_ENABLED);
	v = vcpu_get_msr(vcpu, MSR_KVM_PV_TIMER);
	ksft_test_result(set == 1 && v == (gpa | KVM_MSR_ENABLED),
			 "no in-kernel LAPIC: KVM_SET_MSRS of an area accepted (%d), read back %#lx\n",
			 set, v);
	kvm_vm_free(vm);
}

int main(int argc, char *argv[])
{
	char val[8] = "";
	int opt;

	while ((opt = getopt(argc, argv, "f:")) != -1) {
		if (opt != 'f')
			exit(KSFT_SKIP);
		te_flip = atoi(optarg);
	}

	ksft_print_header();
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_TSC_DEADLINE_TIMER));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_ENFORCE_PV_FEATURE_CPUID));
	TEST_REQUIRE(pv_feature_supported_now(KVM_FEATURE_PV_TIMER));
	te_param = errs_param_probe(PVT_PARAM, val, sizeof(val));
	if (te_flip >= 0)
		ksft_print_msg("-f %d: row %d expects the wrong result and must fail\n", te_flip,
			       te_flip);

	errs_test_param_cpuid(val, te_param, KVM_FEATURE_PV_TIMER);
	te_main();
	te_shared();
	te_enforced(false);
	te_enforced(true);
	te_nolapic();
	ksft_set_plan(ksft_test_num());
	ksft_finished();
}
