// SPDX-License-Identifier: GPL-2.0
/*
 * MSR_KVM_PV_TIMER: TSC deadlines that the guest moves later without an exit
 * fire when they should, never early, never lost, and exactly once, and the
 * exits the guest saves are exits the host did not see.
 *
 * One vCPU, x2APIC, LVTT in TSC-deadline mode on PVT_VECTOR. The guest
 * programs deadlines with the protocol of the ABI (pvt_program(): store the
 * deadline, full fence, load armed, WRMSR only if armed is 0, later, or
 * past) and counts its programs and its exits. Its handler records the TSC
 * and counts. Each stage runs NITER iterations; an iteration programs a
 * sequence of deadlines (later, earlier or random), all MARGIN or more ahead,
 * then waits for the interrupt (spinning or halting), then for SETTLE more
 * to catch a second one. The effective deadline is the last one programmed:
 *
 *   none early   the interrupt's TSC >= the effective deadline
 *   none lost    an interrupt comes within TIMEOUT of it (halting: the host's
 *                alarm fails the test if the vCPU never comes back)
 *   exactly one  no second interrupt within SETTLE
 *   exits        the host's tsc_deadline_msr_writes moved by exactly the
 *                guest's exits; in the control stage (no area), by exactly
 *                the programs: the stat can tell the two apart
 *
 * An iteration whose programming took longer than its margin (TCG is slow,
 * a DEBUG=1 kernel slower still) may see a deadline expire while it is
 * replaced. It is "raced": it needs some interrupt at or after the effective
 * deadline and none before the earliest deadline it programmed. Each raced
 * iteration doubles the stage's margin, up to MARGIN_MAX; more than 10%
 * raced iterations fail the stage, which would otherwise check nothing.
 *
 * Interrupts are taken only in pv_safe_halt() and pv_take_pending()
 * (pv_ipi_v2.h explains why: the red zone).
 *
 * The host's clocksource must be its TSC, as for kvm_clock_test. Otherwise
 * KVM has no master clock: each vcpu_load() re-bases the guest's TSC on the
 * value it had at the last vcpu_put(), so a deadline converted to host time
 * before a descheduling fires early in guest TSC, with or without the area
 * (seen: 3.6M cycles early, on a test VM whose TSC the clocksource watchdog
 * had marked unstable), and kvmclock_update_fn() kicks a halted vCPU up to
 * every 100 ms (seen: 24 wake-ups of 1013 in one halt stage).
 *
 * Not covered here yet: the host's callback racing the guest from another
 * CPU on purpose, a TSC offset changed under a pending deadline, a vCPU in
 * a nested guest, and dirty logging of the area's memslot.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "pv_timer.h"

#define PVT_MAX_K		16
#define PVT_NITER		3000	/* x stages x ~8 deadlines: ~1e5 */
#define PVT_MARGIN_US		2000
#define PVT_MARGIN_MAX_US	128000
#define PVT_STEP_US		20
#define PVT_TIMEOUT_US		1000000
#define PVT_SETTLE_US		500
#define PVT_ALARM_S		30	/* between two GUEST_SYNCs */
#define PVT_PROGRESS		500	/* iterations between progress syncs */
#define PVT_TICK_US		4000	/* the tick stage's period: HZ=250 */
#define PVT_TICK_MAX_US		64000
#define PVT_PROMPT_US		10	/* > KVM's largest timer advance, 5 us */

enum pvt_stage {
	PVT_CONTROL,		/* no area: every program is a WRMSR */
	PVT_LATER,		/* D0, then pushed later: 1 exit per iteration */
	PVT_EARLIER,		/* each earlier than the last: K exits */
	PVT_RANDOM,		/* random K, random order */
	PVT_HALT_LATER,		/* as LATER, waiting in HLT */
	PVT_HALT_RANDOM,	/* as RANDOM, waiting in HLT */
	PVT_TICK,		/* a period published, re-armed from each interrupt */
	PVT_LVTT,		/* mode switches and mask with a deadline pending */
	PVT_FAR,		/* ~0, 1, now */
	PVT_NR_STAGES,
	PVT_PROGRESS_SYNC = 0x100,
};

static const char * const pvt_stage_names[PVT_NR_STAGES] = {
	"control", "later", "earlier", "random", "halt-later", "halt-random",
	"tick", "lvtt", "far",
};

/* What the guest tells the host; globals live in guest memory too. */
struct pvt_result {
	uint64_t stage;
	uint64_t iter;
	uint64_t programs;
	uint64_t exits;
	uint64_t raced;
	uint64_t halts;
	uint64_t irqs;
	uint64_t max_late;	/* cycles after the effective deadline */
	uint64_t margin_us;	/* from now to the first deadline of an iteration */
	uint64_t starts;	/* tick: chains started from no armed deadline */
	uint64_t earlier;	/* tick: re-arms earlier than the period */
	uint64_t period_us;	/* tick: the period at the end */
	uint64_t unarmed;	/* tick: re-arms that found nothing armed, and exited */
};

static struct pvt_result pvt;
static uint64_t pvt_niter = PVT_NITER;
static uint64_t pvt_seed;
static bool pvt_area_on;

/* ---------------------------------------------------------------- guest */

/* xorshift64: reproducible from the seed the host prints. */
static uint64_t pvt_rand(void)
{
	pvt_seed ^= pvt_seed << 13;
	pvt_seed ^= pvt_seed >> 7;
	pvt_seed ^= pvt_seed << 17;
	return pvt_seed;
}

/* The guest side of the ABI, counted; without the area, the MSR. */
static void pvt_program(struct kvm_pv_timer *t, uint64_t d)
{
	pvt.programs++;
	if (pvt_area_on) {
		pvt.exits += pvt_area_program(t, d);
		return;
	}
	pvt.exits++;
	wrmsr(MSR_IA32_TSC_DEADLINE, d);
}

/* Take interrupts until one more than @before has come, or TSC > @until. */
static bool pvt_wait(uint64_t before, uint64_t until, bool halt)
{
	return pvt_wait_irq(before, until, halt ? &pvt.halts : NULL);
}

static int pvt_pattern_k(enum pvt_stage stage)
{
	switch (stage) {
	case PVT_RANDOM:
	case PVT_HALT_RANDOM:
		return 1 + pvt_rand() % PVT_MAX_K;
	default:
		return 8;
	}
}

static uint64_t pvt_pattern_d(enum pvt_stage stage, uint64_t base, int i, int k)
{
	uint64_t step = PVT_STEP_US * pvt_cycles_per_us;

	switch (stage) {
	case PVT_EARLIER:
		return base + (k - 1 - i) * step;
	case PVT_RANDOM:
	case PVT_HALT_RANDOM:
		return base + pvt_rand() % (PVT_MAX_K * step);
	default:			/* control, later, halt-later */
		return base + i * step;
	}
}

static void pvt_iteration(struct kvm_pv_timer *t, enum pvt_stage stage)
{
	bool halt = stage == PVT_HALT_LATER || stage == PVT_HALT_RANDOM;
	uint64_t base, d, eff = 0, first = ~0ull, before, end;
	int i, k = pvt_pattern_k(stage);
	bool raced;

	before = pvt_irq_count();
	base = rdtsc() + pvt.margin_us * pvt_cycles_per_us;
	for (i = 0; i < k; i++) {
		d = pvt_pattern_d(stage, base, i, k);
		pvt_program(t, d);
		eff = d;
		first = d < first ? d : first;
	}
	/* A deadline may have expired while it was being replaced. */
	raced = rdtsc() >= first;
	pvt.raced += raced;
	if (raced && pvt.margin_us < PVT_MARGIN_MAX_US)
		pvt.margin_us *= 2;

	__GUEST_ASSERT(pvt_wait(before, eff + PVT_TIMEOUT_US * pvt_cycles_per_us, halt),
		       "%s, iteration %lu: no interrupt %u us after deadline %lu (lost)",
		       pvt_stage_names[stage], pvt.iter, PVT_TIMEOUT_US, eff);
	if (!raced)
		__GUEST_ASSERT(pvt_irq_time() >= eff,
			       "%s, iteration %lu: interrupt at %lu, %lu cycles before deadline %lu (early)",
			       pvt_stage_names[stage], pvt.iter, pvt_irq_time(),
			       eff - pvt_irq_time(), eff);
	else
		__GUEST_ASSERT(pvt_irq_time() >= first,
			       "%s, raced iteration %lu: interrupt at %lu before the earliest deadline %lu",
			       pvt_stage_names[stage], pvt.iter, pvt_irq_time(), first);

	/* Raced: the effective deadline may still be due after an older one. */
	if (raced && pvt_irq_time() < eff)
		__GUEST_ASSERT(pvt_wait(pvt_irq_count(),
					eff + PVT_TIMEOUT_US * pvt_cycles_per_us, halt),
			       "%s, raced iteration %lu: nothing at or after %lu (lost)",
			       pvt_stage_names[stage], pvt.iter, eff);
	if (pvt_irq_time() - eff > pvt.max_late)
		pvt.max_late = pvt_irq_time() - eff;

	/* Exactly one: nothing more comes, spinning (not halting) for SETTLE. */
	if (raced)
		return;
	before = pvt_irq_count();
	end = rdtsc() + PVT_SETTLE_US * pvt_cycles_per_us;
	__GUEST_ASSERT(!pvt_wait(before, end, false),
		       "%s, iteration %lu: a second interrupt at %lu for deadline %lu",
		       pvt_stage_names[stage], pvt.iter, pvt_irq_time(), eff);
}

/* Start a stage: its counters zeroed, the first margin 2 ms. */
static void pvt_begin(enum pvt_stage stage)
{
	memset(&pvt, 0, sizeof(pvt));
	pvt.stage = stage;
	pvt.margin_us = PVT_MARGIN_US;
}

static void pvt_stage(struct kvm_pv_timer *t, enum pvt_stage stage)
{
	pvt_begin(stage);
	for (pvt.iter = 0; pvt.iter < pvt_niter; pvt.iter++) {
		pvt_iteration(t, stage);
		if (pvt.iter % PVT_PROGRESS == PVT_PROGRESS - 1)
			GUEST_SYNC(PVT_PROGRESS_SYNC | stage);
	}
	pvt.irqs = pvt_irq_count();
	__GUEST_ASSERT(pvt.raced * 10 <= pvt_niter,
		       "%s: %lu of %lu iterations raced: the stage checked too little",
		       pvt_stage_names[stage], pvt.raced, pvt_niter);
	GUEST_SYNC(stage);
}

enum pvt_tick_kind {
	PVT_TICK_NONE,		/* nothing re-armed: nothing may fire */
	PVT_TICK_EARLIER,	/* half a period on: exits, the host armed later */
	PVT_TICK_TWICE,		/* two periods on: the host's read re-arms */
	PVT_TICK_LATE,		/* an eighth of a period late: the same */
	PVT_TICK_EXACT,		/* one period on, as a tick: the rest */
};

/*
 * TICK: with a period published, each interrupt's handler re-arms, as a
 * tick does. One period on, or later, must not exit: the host armed for
 * the next tick as it delivered this one. Earlier exits; nothing re-armed
 * fires nothing. Every interrupt must still come at or after its deadline.
 *
 * A re-arm made half a period or more after the deadline it follows is
 * "raced": the host may have delivered too late to arm for the next tick,
 * and the program may exit. So is one after a deadline that was due as it
 * was programmed: the WRMSR delivered it at once, with no timer to arm.
 * A re-arm that found nothing armed and exited, not raced, is counted:
 * the host may not arm (a callback that cannot read the area delivers
 * without it); more than 1% fails the stage. One that found something
 * armed and still exited fails at once.
 * While more than one re-arm in 20 races, each raced one doubles the
 * period, up to TICK_MAX (a DEBUG=1 kernel takes milliseconds to handle
 * an interrupt); more than a quarter raced fails the stage.
 */
static void pvt_tick(struct kvm_pv_timer *t)
{
	uint64_t period = pvt_us(PVT_TICK_US), before, d;
	enum pvt_tick_kind kind;
	bool halt, exited, raced, prompt;
	uint64_t seen;

	pvt_begin(PVT_TICK);
	WRITE_ONCE(t->period, period);

	before = pvt_irq_count();
	d = rdtsc() + pvt_us(PVT_MARGIN_US);
	pvt_program(t, d);
	pvt.starts++;
	prompt = false;
	for (pvt.iter = 0; pvt.iter < pvt_niter; pvt.iter++) {
		halt = pvt_rand() & 1;
		__GUEST_ASSERT(pvt_wait(before, d + pvt_us(PVT_TIMEOUT_US), halt),
			       "tick, iteration %lu: no interrupt %u us after deadline %lu (lost)",
			       pvt.iter, PVT_TIMEOUT_US, d);
		__GUEST_ASSERT(pvt_irq_time() >= d,
			       "tick, iteration %lu: interrupt at %lu, %lu cycles before deadline %lu (early)",
			       pvt.iter, pvt_irq_time(), d - pvt_irq_time(), d);
		if (pvt_irq_time() - d > pvt.max_late)
			pvt.max_late = pvt_irq_time() - d;

		before = pvt_irq_count();
		kind = pvt_rand() % 16;
		if (kind > PVT_TICK_EXACT)
			kind = PVT_TICK_EXACT;
		if (kind == PVT_TICK_NONE) {
			/* The host's read at the next tick finds nothing new. */
			__GUEST_ASSERT(!pvt_wait(before, d + 2 * period, false),
				       "tick, iteration %lu: an interrupt at %lu with nothing re-armed after %lu",
				       pvt.iter, pvt_irq_time(), d);
			d = rdtsc() + pvt_us(PVT_MARGIN_US);
			pvt_program(t, d);
			pvt.starts++;
			prompt = false;
			continue;
		}

		raced = prompt || rdtsc() >= d + period / 2;
		d += kind == PVT_TICK_EARLIER ? period / 2 :
		     kind == PVT_TICK_TWICE ? 2 * period :
		     kind == PVT_TICK_LATE ? period + period / 8 : period;
		seen = READ_ONCE(t->armed);
		exited = pvt_area_program(t, d);
		prompt = rdtsc() + pvt_us(PVT_PROMPT_US) >= d;
		pvt.programs++;
		pvt.exits += exited;
		pvt.raced += raced;
		if (raced && pvt.raced * 20 > pvt.iter + 1 &&
		    period < pvt_us(PVT_TICK_MAX_US)) {
			period *= 2;
			WRITE_ONCE(t->period, period);
		}
		if (kind == PVT_TICK_EARLIER) {
			pvt.earlier++;
			__GUEST_ASSERT(exited,
				       "tick, iteration %lu: a re-arm earlier than the period did not exit",
				       pvt.iter);
		} else if (exited && !raced && !seen) {
			/* The host armed nothing: counted, bounded below. */
			pvt.unarmed++;
		} else {
			__GUEST_ASSERT(exited <= raced,
				       "tick, iteration %lu: re-arm (kind %d) for %lu exited at %lu, %lu cycles after the interrupt, armed %llu: the host did not arm for the next tick",
				       pvt.iter, kind, d, rdtsc(), rdtsc() - pvt_irq_time(),
				       READ_ONCE(t->armed));
		}
		if (pvt.iter % PVT_PROGRESS == PVT_PROGRESS - 1)
			GUEST_SYNC(PVT_PROGRESS_SYNC | PVT_TICK);
	}
	__GUEST_ASSERT(pvt_wait(before, d + pvt_us(PVT_TIMEOUT_US), false),
		       "tick: the last deadline %lu never fired", d);
	WRITE_ONCE(t->period, 0);
	pvt.irqs = pvt_irq_count();
	pvt.period_us = period / pvt_cycles_per_us;
	__GUEST_ASSERT(pvt.raced * 4 <= pvt_niter,
		       "tick: %lu of %lu iterations raced: the stage checked too little",
		       pvt.raced, pvt_niter);
	__GUEST_ASSERT(pvt.unarmed * 100 <= pvt_niter,
		       "tick: %lu of %lu re-arms found nothing armed: the host did not arm for the next tick",
		       pvt.unarmed, pvt_niter);
	GUEST_SYNC(PVT_TICK);
}

/*
 * LVTT: a pending deadline never fires across a mode
 * switch; after one, armed and deadline read 0; masked, nothing is delivered.
 */
static void pvt_lvtt(struct kvm_pv_timer *t)
{
	uint64_t d, before, exits;

	pvt_begin(PVT_LVTT);

	/* Pending, pushed later without an exit, then one-shot mode. */
	pvt_program(t, rdtsc() + PVT_MARGIN_US * pvt_cycles_per_us);
	d = rdtsc() + 2 * PVT_MARGIN_US * pvt_cycles_per_us;
	pvt_program(t, d);
	x2apic_write_reg(APIC_LVTT, APIC_LVT_TIMER_ONESHOT | PVT_VECTOR);
	GUEST_ASSERT_EQ(READ_ONCE(t->armed), 0);
	before = pvt_irq_count();
	GUEST_ASSERT(!pvt_wait(before, d + PVT_TIMEOUT_US * pvt_cycles_per_us / 10, false));

	/* Back to TSC-deadline mode: the old deadline is gone. */
	x2apic_write_reg(APIC_LVTT, PVT_LVTT_DEADLINE);
	GUEST_ASSERT_EQ(READ_ONCE(t->armed), 0);
	GUEST_ASSERT_EQ(READ_ONCE(t->deadline), 0);
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_TSC_DEADLINE), 0);

	/* Masked: no interrupt; unmasked: the next one works. */
	x2apic_write_reg(APIC_LVTT, PVT_LVTT_DEADLINE | APIC_LVT_MASKED);
	d = rdtsc() + PVT_MARGIN_US * pvt_cycles_per_us;
	pvt_program(t, d);
	before = pvt_irq_count();
	GUEST_ASSERT(!pvt_wait(before, d + PVT_TIMEOUT_US * pvt_cycles_per_us / 10, false));
	/*
	 * KVM keeps an expiry that came while the LVTT was masked pending,
	 * and delivers it once unmasked (apic_has_pending_timer()), with the
	 * area or without: at most that one, then the next deadline works.
	 */
	x2apic_write_reg(APIC_LVTT, PVT_LVTT_DEADLINE);
	pv_take_pending();
	GUEST_ASSERT(pvt_irq_count() - before <= 1);
	pvt_iteration(t, PVT_LATER);

	/* Periodic mode: the area does not apply, every program exits. */
	x2apic_write_reg(APIC_LVTT, APIC_LVT_TIMER_PERIODIC | APIC_LVT_MASKED | PVT_VECTOR);
	exits = pvt.exits;
	pvt_program(t, rdtsc() + PVT_MARGIN_US * pvt_cycles_per_us);
	pvt_program(t, rdtsc() + 2 * PVT_MARGIN_US * pvt_cycles_per_us);
	GUEST_ASSERT_EQ(pvt.exits - exits, 2);
	x2apic_write_reg(APIC_LVTT, PVT_LVTT_DEADLINE);
	GUEST_SYNC(PVT_LVTT);
}

/* Odd deadlines: far, in the past, now. */
static void pvt_far(struct kvm_pv_timer *t)
{
	uint64_t before;

	pvt_begin(PVT_FAR);

	/* ~0 after a near one: re-armed (clamped), never delivered. */
	pvt_program(t, rdtsc() + PVT_MARGIN_US * pvt_cycles_per_us);
	pvt_program(t, ~0ull);
	before = pvt_irq_count();
	GUEST_ASSERT(!pvt_wait(before, rdtsc() + 100 * PVT_MARGIN_US * pvt_cycles_per_us, false));

	/* 1 and now: at once, exactly once each. */
	before = pvt_irq_count();
	pvt_program(t, 1);
	GUEST_ASSERT(pvt_wait(before, rdtsc() + PVT_TIMEOUT_US * pvt_cycles_per_us, false));
	before = pvt_irq_count();
	pvt_program(t, rdtsc());
	GUEST_ASSERT(pvt_wait(before, rdtsc() + PVT_TIMEOUT_US * pvt_cycles_per_us, false));
	before = pvt_irq_count();
	GUEST_ASSERT(!pvt_wait(before, rdtsc() + PVT_SETTLE_US * pvt_cycles_per_us, false));
	GUEST_SYNC(PVT_FAR);
}

static void pvt_guest(uint64_t area_gva, uint64_t area_gpa)
{
	struct kvm_pv_timer *t = (struct kvm_pv_timer *)area_gva;
	int stage;

	pvt_guest_lapic_init();

	pvt_area_on = false;
	pvt_stage(t, PVT_CONTROL);

	/* A guest canary in the pad: the host never touches it. */
	t->pad[3] = 0x5a5a5a5a5a5a5a5aull;
	GUEST_ASSERT(!wrmsr_safe(MSR_KVM_PV_TIMER, area_gpa | KVM_MSR_ENABLED));
	GUEST_ASSERT_EQ(READ_ONCE(t->version), KVM_PV_TIMER_VERSION);
	GUEST_ASSERT_EQ(rdmsr(MSR_KVM_PV_TIMER), area_gpa | KVM_MSR_ENABLED);
	pvt_area_on = true;

	for (stage = PVT_LATER; stage <= PVT_HALT_RANDOM; stage++)
		pvt_stage(t, stage);
	pvt_tick(t);
	pvt_lvtt(t);
	pvt_far(t);

	GUEST_ASSERT_EQ(t->pad[3], 0x5a5a5a5a5a5a5a5aull);
	GUEST_DONE();
}

/* ----------------------------------------------------------------- host */

static struct kvm_vm *pvt_vm;
static struct pvt_result *pvt_live;	/* the guest's pvt, read on alarm */

static void pvt_alarm(int sig)
{
	TEST_FAIL(
		  "no sync for %u s in stage %s, iteration %lu: the vCPU is stuck (a lost deadline while halted?)",
		  PVT_ALARM_S,
		  pvt_live->stage < PVT_NR_STAGES ? pvt_stage_names[pvt_live->stage] : "?",
		  pvt_live->iter);
}

/*
 * Wake-ups of a halted vCPU that are not its timer's: with a master clock,
 * kvmclock_sync_fn() kicks every vCPU once per KVMCLOCK_SYNC_PERIOD.
 */
#define PVT_CLOCK_SYNC_S	300

static void pvt_check_stage(struct kvm_vcpu *vcpu, enum pvt_stage stage,
			    uint64_t writes, uint64_t wakeups, uint64_t secs)
{
	sync_global_from_guest(pvt_vm, pvt);

	ksft_print_msg(
		       "%-12s %5lu iterations %7lu programs %7lu exits (host: %7lu) %4lu raced (margin %lu us), late by <= %lu us, %lu halts, %lu wake-ups\n",
		       pvt_stage_names[stage], pvt_niter, pvt.programs, pvt.exits, writes,
		       pvt.raced, pvt.margin_us, pvt.max_late / pvt_cycles_per_us,
		       pvt.halts, wakeups);

	TEST_ASSERT(writes == pvt.exits,
		    "%s: the host saw %lu TSC_DEADLINE writes, the guest made %lu",
		    pvt_stage_names[stage], writes, pvt.exits);
	switch (stage) {
	case PVT_CONTROL:
		TEST_ASSERT(pvt.exits == pvt.programs,
			    "control: %lu exits for %lu programs without the area",
			    pvt.exits, pvt.programs);
		break;
	case PVT_LATER:
	case PVT_HALT_LATER:
		/* One exit per iteration; a raced one may take all of its K. */
		TEST_ASSERT(pvt.exits <= pvt_niter + pvt.raced * PVT_MAX_K,
			    "%s: %lu exits for %lu iterations: pushes later exited",
			    pvt_stage_names[stage], pvt.exits, pvt_niter);
		break;
	case PVT_EARLIER:
		TEST_ASSERT(pvt.exits == pvt.programs,
			    "earlier: %lu exits for %lu programs", pvt.exits, pvt.programs);
		break;
	case PVT_TICK:
		ksft_print_msg(
			       "tick: period %lu us at the end, %lu chains, %lu earlier, %lu unarmed; next-tick arms %lu, delivered from them %lu\n",
			       pvt.period_us, pvt.starts, pvt.earlier, pvt.unarmed,
			       read_vcpu_stat(vcpu, "pv_timer_next_arms"),
			       read_vcpu_stat(vcpu, "pv_timer_next_hits"));
		/* The guest checked each re-arm; the host must agree on the total. */
		TEST_ASSERT(pvt.exits <= pvt.starts + pvt.earlier + pvt.raced + pvt.unarmed,
			    "tick: %lu exits for %lu chains, %lu earlier, %lu raced and %lu unarmed re-arms",
			    pvt.exits, pvt.starts, pvt.earlier, pvt.raced, pvt.unarmed);
		TEST_ASSERT(read_vcpu_stat(vcpu, "pv_timer_next_hits"),
			    "tick: no deadline was delivered from a next-tick arm");
		break;
	default:
		break;
	}
	/* Without a period published, the host never arms ahead. */
	if (stage < PVT_TICK)
		TEST_ASSERT(!read_vcpu_stat(vcpu, "pv_timer_next_arms"),
			    "%s: %lu next-tick arms without a period",
			    pvt_stage_names[stage], read_vcpu_stat(vcpu, "pv_timer_next_arms"));
	if (stage == PVT_HALT_LATER || stage == PVT_HALT_RANDOM || stage == PVT_TICK) {
		/* A pushed deadline must not wake the vCPU at the old time. */
		TEST_ASSERT(wakeups <= pvt.halts + 1 + secs / PVT_CLOCK_SYNC_S,
			    "%s: %lu wake-ups for %lu halts in %lu s: spurious wake-ups",
			    pvt_stage_names[stage], wakeups, pvt.halts, secs);
		TEST_ASSERT(read_vcpu_stat(vcpu, "pv_timer_rearms"),
			    "%s: the host never re-armed for a later deadline",
			    pvt_stage_names[stage]);
	}
	TEST_ASSERT(!read_vcpu_stat(vcpu, "pv_timer_deferred"),
		    "%s: %lu deferrals with no memslot change or dirty logging",
		    pvt_stage_names[stage], read_vcpu_stat(vcpu, "pv_timer_deferred"));
}

static void pvt_run(struct kvm_vcpu *vcpu)
{
	uint64_t writes0 = 0, wake0 = 0;
	time_t start = time(NULL);
	struct ucall uc;

	for (;;) {
		alarm(PVT_ALARM_S);
		vcpu_run(vcpu);
		alarm(0);
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);

		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			if (uc.args[1] & PVT_PROGRESS_SYNC)
				continue;
			pvt_check_stage(vcpu, uc.args[1],
					read_vcpu_stat(vcpu, "tsc_deadline_msr_writes") - writes0,
					read_vcpu_stat(vcpu, "halt_wakeup") - wake0,
					time(NULL) - start);
			writes0 = read_vcpu_stat(vcpu, "tsc_deadline_msr_writes");
			wake0 = read_vcpu_stat(vcpu, "halt_wakeup");
			start = time(NULL);
			break;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
			return;
		case UCALL_DONE:
			return;
		default:
			TEST_FAIL("unexpected ucall %lu", uc.cmd);
		}
	}
}

int main(int argc, char *argv[])
{
	struct kvm_vcpu *vcpu;
	vm_vaddr_t area_gva;
	uint64_t tsc_khz;
	int opt;

	pvt_seed = time(NULL) | 1;
	while ((opt = getopt(argc, argv, "n:s:")) != -1) {
		switch (opt) {
		case 'n':
			pvt_niter = strtoull(optarg, NULL, 0);
			break;
		case 's':
			pvt_seed = strtoull(optarg, NULL, 0) | 1;
			break;
		default:
			exit(KSFT_SKIP);
		}
	}

	/* KVM emulates it always, and says so in a capability, not in CPUID. */
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_TSC_DEADLINE_TIMER));
	TEST_REQUIRE(pv_feature_supported_now(KVM_FEATURE_PV_TIMER));
	TEST_REQUIRE(sys_clocksource_is_based_on_tsc());

	pvt_vm = vm_create_with_one_vcpu(&vcpu, pvt_guest);
	tsc_khz = pvt_vcpu_setup(vcpu);

	area_gva = vm_vaddr_alloc_page(pvt_vm);
	memset(addr_gva2hva(pvt_vm, area_gva), 0, getpagesize());
	vcpu_args_set(vcpu, 2, area_gva, addr_gva2gpa(pvt_vm, area_gva));

	sync_global_to_guest(pvt_vm, pvt_niter);
	sync_global_to_guest(pvt_vm, pvt_seed);
	pvt_live = addr_gva2hva(pvt_vm, (vm_vaddr_t)&pvt);
	signal(SIGALRM, pvt_alarm);

	ksft_print_header();
	ksft_print_msg("seed %lu (-s), %lu iterations per stage (-n), TSC %lu kHz\n",
		       pvt_seed, pvt_niter, tsc_khz);
	pvt_run(vcpu);

	kvm_vm_free(pvt_vm);
	ksft_print_msg("all stages passed\n");
	return 0;
}
