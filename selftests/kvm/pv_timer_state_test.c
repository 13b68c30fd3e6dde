// SPDX-License-Identifier: GPL-2.0
/*
 * MSR_KVM_PV_TIMER across save and restore, in the style of
 * x86_64/state_test.c: a TSC deadline pending when the vCPU is saved fires
 * in the new VM exactly once, never early, and is never lost, whatever
 * the order in which userspace restores the MSRs, the LAPIC and RAM
 * (Documentation/virt/kvm/x86/pv-timer.rst: "the order in which a restore
 * writes the MSRs, the LAPIC and guest RAM does not matter").
 *
 * One vCPU, x2APIC, LVTT in TSC-deadline mode, its area registered. The
 * guest sets up a case and syncs; the host saves the vCPU
 * (vcpu_save_state(), which holds every MSR of KVM_GET_MSR_INDEX_LIST,
 * MSR_KVM_PV_TIMER and MSR_IA32_TSC_DEADLINE among them, plus
 * KVM_GET_LAPIC, which it lacks), checks that the saved TSC_DEADLINE is the
 * effective deadline, destroys the VM, and restores into a new one. The
 * cases:
 *
 *   lazy      d1 armed with an exit, d2 = d1 + M set in the area without
 *             one: TSC_DEADLINE must save as d2, and d2 fire;
 *   exit      d armed with a WRMSR: saved as d, fires at d;
 *   fired     d delivered before the save: saved as 0, nothing after;
 *   downtime  as lazy, but the host waits after the restore until the
 *             guest's TSC has passed d2: it fires at once, once. (With
 *             the host's TSC unstable, KVM holds a vCPU's TSC while it does
 *             not run; the wait is bounded and the TAP line says so.)
 *
 * and the orders, for each case:
 *
 *   lapic-msrs      KVM_SET_LAPIC, then the MSRs (as saved: TSC_DEADLINE
 *                   comes before MSR_KVM_PV_TIMER in the index list);
 *   msrs-lapic      the MSRs, then the LAPIC;
 *   msrs-lapic-ram  the area's RAM wiped before, put back after both;
 *   pv-first        MSR_KVM_PV_TIMER moved before TSC_DEADLINE, then the
 *                   LAPIC.
 *
 * Each (case, order) is one TAP line: the interrupt comes at or after the
 * deadline, and one only (none for fired), within 1 s of guest TSC; the
 * MSR reads back in the new VM. A case whose deadline passed before the
 * save (a slow host) is retried with four times the margin.
 *
 * -b pv, -b deadline, -b ram: leave MSR_KVM_PV_TIMER, MSR_IA32_TSC_DEADLINE
 * or (msrs-lapic-ram) the area's RAM out of the restore, to see the test
 * catch what that loses. Without MSR_KVM_PV_TIMER every line fails (the
 * MSR reads 0), and the orders that restore the MSRs before the LAPIC lose
 * the deadline, as upstream does when TSC_DEADLINE comes before the
 * LVTT. Without TSC_DEADLINE nothing is lost, by design: the area's RAM
 * holds the deadline; without both it and the RAM, msrs-lapic-ram loses
 * it.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pv_timer.h"

#define ST_MARGIN_US		50000	/* M, first try; x4 per race */
#define ST_TRIES		4
#define ST_TIMEOUT_US		1000000
#define ST_SETTLE_US		20000
#define ST_ALARM_S		60	/* for one KVM_RUN */

enum st_case { ST_LAZY, ST_EXIT, ST_FIRED, ST_DOWNTIME, ST_NR_CASES };
enum st_order { ST_LAPIC_MSRS, ST_MSRS_LAPIC, ST_MSRS_LAPIC_RAM, ST_PV_FIRST, ST_NR_ORDERS };

static const char * const st_case_names[] = { "lazy", "exit", "fired", "downtime" };
static const char * const st_order_names[] = {
	"lapic-msrs", "msrs-lapic", "msrs-lapic-ram", "pv-first"
};

enum { ST_SAVE = 1, ST_DONE };

/* Written by the host at ST_SAVE: the deadline passed before the save. */
static uint64_t st_retry;

/* ---------------------------------------------------------------- guest */

/* Set case c up; returns the deadline that must fire (0: none). */
static uint64_t st_setup(struct kvm_pv_timer *t, enum st_case c, uint64_t m, uint64_t *d1)
{
	uint64_t d, before;

	switch (c) {
	case ST_EXIT:
		d = rdtsc() + m;
		wrmsr(MSR_IA32_TSC_DEADLINE, d);
		*d1 = d;
		return d;
	case ST_FIRED:
		before = pvt_irq_count();
		d = rdtsc() + pvt_us(100);
		wrmsr(MSR_IA32_TSC_DEADLINE, d);
		__GUEST_ASSERT(pvt_wait_irq(before, d + pvt_us(ST_TIMEOUT_US), NULL),
			       "fired: deadline %lu never fired before the save", d);
		*d1 = d;
		return 0;
	default:
		*d1 = rdtsc() + m;
		GUEST_ASSERT(pvt_area_program(t, *d1));
		d = *d1 + m;
		__GUEST_ASSERT(!pvt_area_program(t, d), "d2 %lu, later than d1 %lu, exited", d,
			       *d1);
		return d;
	}
}

static void st_guest(uint64_t area_gva, uint64_t area_gpa, uint64_t nr_runs)
{
	struct kvm_pv_timer *t = (struct kvm_pv_timer *)area_gva;
	uint64_t run, m, d, d1, before, fired, second, tsc, armed;
	enum st_case c;

	pvt_guest_lapic_init();
	GUEST_ASSERT(!wrmsr_safe(MSR_KVM_PV_TIMER, area_gpa | KVM_MSR_ENABLED));

	for (run = 0; run < nr_runs; run++) {
		c = run % ST_NR_CASES;
		/* A restore that lost the area (-b pv) must not fail the runs after it. */
		if (rdmsr(MSR_KVM_PV_TIMER) != (area_gpa | KVM_MSR_ENABLED))
			GUEST_ASSERT(!wrmsr_safe(MSR_KVM_PV_TIMER, area_gpa | KVM_MSR_ENABLED));
		for (m = pvt_us(ST_MARGIN_US); ; m *= 4) {
			d = st_setup(t, c, m, &d1);
			before = pvt_irq_count();
			GUEST_SYNC_ARGS(ST_SAVE, run, d, d1, rdtsc());
			if (!READ_ONCE(st_retry))
				break;
			/* Fired before the save: take it, and try with more margin. */
			GUEST_ASSERT(m < pvt_us(ST_MARGIN_US) << (2 * ST_TRIES));
			pvt_wait_irq(before, d + pvt_us(ST_TIMEOUT_US), NULL);
			pv_take_pending();
		}
		/* The first entry after the restore has published armed. */
		armed = READ_ONCE(t->armed);
		/* fired: nothing may come in a window from now. */
		fired = pvt_wait_irq(before, d ? d + pvt_us(ST_TIMEOUT_US) :
					     rdtsc() + pvt_us(ST_SETTLE_US), NULL);
		tsc = pvt_irq_time();
		second = fired && pvt_wait_irq(pvt_irq_count(), rdtsc() + pvt_us(ST_SETTLE_US),
					       NULL);
		GUEST_SYNC_ARGS(ST_DONE, fired | second << 1, tsc, armed,
				rdmsr(MSR_KVM_PV_TIMER));
	}
	GUEST_DONE();
}

/* ----------------------------------------------------------------- host */

static bool st_break_pv, st_break_deadline, st_break_ram;
static int st_alarm_run = -1;

static void st_alarm(int sig)
{
	TEST_FAIL("run %d (%s, restored %s): no sync for %d s: the vCPU is stuck", st_alarm_run,
		  st_alarm_run < 0 ? "?" : st_case_names[st_alarm_run % ST_NR_CASES],
		  st_alarm_run < 0 ? "?" : st_order_names[st_alarm_run / ST_NR_CASES], ST_ALARM_S);
}

/* The saved value of msr, or ~0 if it was not saved. */
static uint64_t st_saved_msr(struct kvm_x86_state *state, uint32_t msr, int *idx)
{
	int i;

	for (i = 0; i < state->msrs.nmsrs; i++) {
		if (state->msrs.entries[i].index == msr) {
			if (idx)
				*idx = i;
			return state->msrs.entries[i].data;
		}
	}
	return ~0ULL;
}

/* Take MSR entry i out of the saved set. */
static void st_drop_msr(struct kvm_x86_state *state, int i)
{
	memmove(&state->msrs.entries[i], &state->msrs.entries[i + 1],
		(state->msrs.nmsrs - i - 1) * sizeof(state->msrs.entries[0]));
	state->msrs.nmsrs--;
}

/* Restore state and lapic into vcpu, in the order o. */
static void st_restore(struct kvm_vcpu *vcpu, struct kvm_x86_state *state,
		       struct kvm_lapic_state *lapic, enum st_order o, void *area,
		       const struct kvm_pv_timer *area_saved)
{
	struct kvm_msr_entry e;
	int ipv, idl;

	/* As a VMM: CPUID first, which sets what the LVTT's mode bits can be. */
	pvt_vcpu_setup(vcpu);

	if (st_break_pv && st_saved_msr(state, MSR_KVM_PV_TIMER, &ipv) != ~0ULL)
		st_drop_msr(state, ipv);
	if (st_break_deadline && st_saved_msr(state, MSR_IA32_TSC_DEADLINE, &idl) != ~0ULL)
		st_drop_msr(state, idl);
	if (o == ST_PV_FIRST && st_saved_msr(state, MSR_KVM_PV_TIMER, &ipv) != ~0ULL &&
	    st_saved_msr(state, MSR_IA32_TSC_DEADLINE, &idl) != ~0ULL && ipv > idl) {
		e = state->msrs.entries[ipv];
		memmove(&state->msrs.entries[idl + 1], &state->msrs.entries[idl],
			(ipv - idl) * sizeof(e));
		state->msrs.entries[idl] = e;
	}

	switch (o) {
	case ST_LAPIC_MSRS:
		vcpu_ioctl(vcpu, KVM_SET_LAPIC, lapic);
		vcpu_load_state(vcpu, state);
		break;
	case ST_MSRS_LAPIC_RAM:
		memset(area, 0xff, sizeof(*area_saved));
		vcpu_load_state(vcpu, state);
		vcpu_ioctl(vcpu, KVM_SET_LAPIC, lapic);
		if (!st_break_ram)
			memcpy(area, area_saved, sizeof(*area_saved));
		break;
	default:
		vcpu_load_state(vcpu, state);
		vcpu_ioctl(vcpu, KVM_SET_LAPIC, lapic);
		break;
	}
}

struct st_run {
	enum st_case c;
	enum st_order o;
	uint64_t d, d1, saved_deadline, tries;
	bool saved_ok;
	bool tsc_frozen;	/* downtime: the TSC did not pass d before the run */
};

/*
 * At ST_SAVE: save, check the saved deadline, and restore into a new VM;
 * or, if the deadline passed before the save, ask the guest to retry.
 */
static struct kvm_vcpu *st_save_restore(struct kvm_vm *vm, struct kvm_vcpu *vcpu,
					struct st_run *r, struct ucall *uc, uint64_t area_gpa,
					void *area)
{
	uint64_t *retry = addr_gva2hva(vm, (vm_vaddr_t)&st_retry);
	struct kvm_pv_timer area_saved;
	struct kvm_x86_state *state;
	struct kvm_lapic_state lapic;
	uint64_t pv, expect;

	r->d = uc->args[3];
	r->d1 = uc->args[4];
	expect = r->c == ST_FIRED ? 0 : r->d;

	state = vcpu_save_state(vcpu);
	vcpu_ioctl(vcpu, KVM_GET_LAPIC, &lapic);
	r->saved_deadline = st_saved_msr(state, MSR_IA32_TSC_DEADLINE, NULL);
	pv = st_saved_msr(state, MSR_KVM_PV_TIMER, NULL);
	memcpy(&area_saved, area, sizeof(area_saved));

	*retry = r->c != ST_FIRED && !r->saved_deadline &&
		 st_saved_msr(state, MSR_IA32_TSC, NULL) >= r->d1;
	if (*retry) {
		r->tries++;
		kvm_x86_state_cleanup(state);
		return vcpu;
	}
	r->saved_ok = r->saved_deadline == expect && pv == (area_gpa | KVM_MSR_ENABLED);
	if (!r->saved_ok)
		ksft_print_msg(
			       "%s/%s: saved TSC_DEADLINE %#lx, effective %#lx (d1 %#lx); MSR_KVM_PV_TIMER %#lx\n",
			       st_case_names[r->c], st_order_names[r->o], r->saved_deadline,
			       expect, r->d1, pv);

	kvm_vm_release(vm);
	vcpu = vm_recreate_with_one_vcpu(vm);
	st_restore(vcpu, state, &lapic, r->o, area, &area_saved);
	kvm_x86_state_cleanup(state);

	/*
	 * Past the deadline while the restored vCPU waits to run. With the
	 * host's TSC marked unstable, KVM holds a vCPU that does not run at
	 * its last TSC (kvm_arch_vcpu_load()), so the wait is bounded: twice
	 * the time to d, and the case says if the TSC got there.
	 */
	if (r->c == ST_DOWNTIME) {
		uint64_t us = (r->d - uc->args[5]) / pvt_cycles_per_us, waited;

		for (waited = 0; waited < 2 * us + 100000; waited += 1000) {
			if (vcpu_get_msr(vcpu, MSR_IA32_TSC) > r->d)
				break;
			usleep(1000);
		}
		r->tsc_frozen = vcpu_get_msr(vcpu, MSR_IA32_TSC) <= r->d;
	}
	return vcpu;
}

static void st_check(struct st_run *r, struct ucall *uc, uint64_t area_gpa)
{
	bool fired = uc->args[2] & 1, second = uc->args[2] & 2;
	uint64_t tsc = uc->args[3], armed = uc->args[4], pv = uc->args[5];
	const char *c = st_case_names[r->c], *o = st_order_names[r->o];
	bool ok = r->saved_ok;

	if (r->c == ST_FIRED) {
		if (fired) {
			ksft_print_msg(
				       "%s/%s: an interrupt at %lu after the restore, for %lu delivered before the save\n",
				       c, o, tsc, r->d1);
			ok = false;
		}
	} else if (!fired) {
		ksft_print_msg("%s/%s: no interrupt for deadline %lu (lost)\n", c, o, r->d);
		ok = false;
	} else if (tsc < r->d) {
		ksft_print_msg(
			       "%s/%s: interrupt at %lu, %lu cycles before deadline %lu (early; d1 %lu)\n",
			       c, o, tsc, r->d - tsc, r->d, r->d1);
		ok = false;
	}
	if (second) {
		ksft_print_msg("%s/%s: a second interrupt\n", c, o);
		ok = false;
	}
	if (pv != (area_gpa | KVM_MSR_ENABLED)) {
		ksft_print_msg("%s/%s: MSR_KVM_PV_TIMER reads %#lx in the new VM\n", c, o, pv);
		ok = false;
	}
	ksft_test_result(ok,
			 "%s, restored %s: saved TSC_DEADLINE %s, %s (armed %s after the first entry, %lu %s%s)\n",
			 c, o, r->saved_ok ? "= effective" : "WRONG",
			 r->c == ST_FIRED ? "nothing fires again" : "fires once, not early",
			 !armed ? "0" : armed == r->d ? "= deadline" : "other", r->tries + 1,
			 r->tries ? "tries" : "try",
			 r->tsc_frozen ? "; the TSC had not passed d before the run" : "");
}

int main(int argc, char *argv[])
{
	const int nr_runs = ST_NR_CASES * ST_NR_ORDERS;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct st_run r = {};
	struct ucall uc;
	vm_vaddr_t area_gva;
	uint64_t area_gpa;
	void *area;
	int opt, run = -1;

	while ((opt = getopt(argc, argv, "b:")) != -1) {
		if (opt != 'b')
			exit(KSFT_SKIP);
		st_break_pv |= !strcmp(optarg, "pv");
		st_break_deadline |= !strcmp(optarg, "deadline");
		st_break_ram |= !strcmp(optarg, "ram");
	}

	ksft_print_header();
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_TSC_DEADLINE_TIMER));
	TEST_REQUIRE(pv_feature_supported_now(KVM_FEATURE_PV_TIMER));
	/* Without a master clock, KVM itself fires deadlines early (pv_timer_test.c). */
	TEST_REQUIRE(sys_clocksource_is_based_on_tsc());
	ksft_set_plan(1 + nr_runs);
	if (st_break_pv || st_break_deadline || st_break_ram)
		ksft_print_msg(
			       "breaking the restore:%s%s%s\n",
			       st_break_pv ? " no MSR_KVM_PV_TIMER" : "",
			       st_break_deadline ? " no TSC_DEADLINE" : "",
			       st_break_ram ? " no area RAM" : "");

	ksft_test_result(kvm_msr_is_in_save_restore_list(MSR_KVM_PV_TIMER) &&
			 kvm_msr_is_in_save_restore_list(MSR_IA32_TSC_DEADLINE),
			 "MSR_KVM_PV_TIMER and MSR_IA32_TSC_DEADLINE are in KVM_GET_MSR_INDEX_LIST\n");

	vm = vm_create_with_one_vcpu(&vcpu, st_guest);
	ksft_print_msg("TSC %lu kHz, %d runs\n", pvt_vcpu_setup(vcpu), nr_runs);
	area_gva = vm_vaddr_alloc_page(vm);
	memset(addr_gva2hva(vm, area_gva), 0, PV_PAGE_SIZE);
	area_gpa = addr_gva2gpa(vm, area_gva);
	area = addr_gva2hva(vm, area_gva);
	vcpu_args_set(vcpu, 3, area_gva, area_gpa, nr_runs);

	signal(SIGALRM, st_alarm);
	for (;;) {
		alarm(ST_ALARM_S);
		vcpu_run(vcpu);
		alarm(0);
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			break;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
		case UCALL_DONE:
			goto done;
		default:
			TEST_FAIL("unexpected ucall %lu", uc.cmd);
		}
		if (uc.args[1] == ST_SAVE) {
			if (uc.args[2] != run) {
				run = uc.args[2];
				st_alarm_run = run;
				r = (struct st_run){ .c = run % ST_NR_CASES,
						     .o = run / ST_NR_CASES };
			}
			vcpu = st_save_restore(vm, vcpu, &r, &uc, area_gpa, area);
		} else {
			st_check(&r, &uc, area_gpa);
		}
	}
done:
	ksft_print_msg("last VM: pv_timer_syncs %lu, rearms %lu, deferred %lu\n",
		       read_vcpu_stat(vcpu, "pv_timer_syncs"),
		       read_vcpu_stat(vcpu, "pv_timer_rearms"),
		       read_vcpu_stat(vcpu, "pv_timer_deferred"));
	kvm_vm_free(vm);
	ksft_finished();
}
