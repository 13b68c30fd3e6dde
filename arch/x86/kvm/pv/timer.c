// SPDX-License-Identifier: GPL-2.0
/*
 * PV timer: MSR_KVM_PV_TIMER, a guest's TSC deadline that it moves later
 * without an exit.
 *
 * A guest reprograms its TSC deadline many times for each time it fires:
 * every hrtimer that becomes the earliest, every tick stopped on idle entry,
 * and each of those is a WRMSR, so an exit. Here the guest and the host share
 * one cache line per vCPU, registered with MSR_KVM_PV_TIMER:
 *
 *   deadline  written by the guest: the deadline it wants (guest TSC), 0 = none
 *   armed     written by the host: its timer reads deadline by then, 0 = never
 *
 * To program d, the guest stores deadline = d, fences, and loads armed. If
 * armed is 0, later than d, or already past, it also writes
 * MSR_IA32_TSC_DEADLINE, which exits as before. Otherwise there is no exit:
 * the host's timer fires no later than armed <= d, finds the later deadline,
 * and re-arms for it without injecting anything. That happens in the hrtimer
 * callback, in hard IRQ, on whatever CPU the timer is on, and the vCPU may be
 * running, halted or preempted. With the VMX preemption timer it happens on
 * the (fastpath) exit. The host keeps the earliest armed deadline until it
 * fires: moving it later by itself would make the guest's next, earlier,
 * programming exit.
 *
 * The handshake is store-buffering in both directions. The guest stores
 * deadline and loads armed; the host stores armed and loads deadline. So
 * each side fences between its store and its load, and the host, after its
 * fence, reads deadline again and acts on what it finds (kvm_pv_timer_fn()).
 * Then either the guest sees the new armed and exits, or the host sees the
 * new deadline: never neither. Documentation/virt/kvm/x86/pv-v2.rst gives the
 * argument step by step.
 *
 * The host reads the area through a gfn_to_pfn_cache, from the callback as
 * Xen's timer does (kvm_xen_set_evtchn_fast()). It writes armed from hard
 * IRQ only while the memslot is not dirty-logged: with logging on, the write
 * waits for the vCPU's own thread, which can log it (mark_page_dirty_in_slot()
 * needs the running vCPU). Everything that changes the timer from the vCPU's
 * thread first cancels the hrtimer, which waits for a running callback, and
 * takes pt->lock around armed, fired and the publish.
 *
 * Delivering a deadline leaves nothing armed, so the guest's next program,
 * the re-arm of its tick that the interrupt handler does, would exit. A
 * guest that publishes its tick period (KVM_PV_TIMER_F_PERIOD) has the
 * host arm, as it delivers deadline d, for the guest's next tick at about
 * d + period: a read at that time (kvm_pv_timer_next()). The guest's tick
 * programs itself later without an exit, and the read delivers it. If the
 * guest programs an earlier deadline, it exits as before; if a later one,
 * the read re-arms for it. Either costs no more exits than arming nothing:
 * the exit that arming nothing would have cost the guest's program is at
 * most replaced by the read's interrupt, and only if the vCPU is in guest
 * mode then. Only a guest that programs nothing after a delivery pays for
 * a read it did not need.
 *
 * The effective deadline, E, is deadline, except that the deadline whose
 * interrupt was delivered last (fired) counts as 0, as the MSR reads 0 after
 * it fires. A WRMSR to MSR_IA32_TSC_DEADLINE keeps its meaning and also sets
 * deadline, so a guest that does not know the area still works.
 */

#include <linux/hrtimer.h>
#include <linux/kvm_host.h>
#include <linux/math64.h>
#include <linux/moduleparam.h>
#include <linux/srcu.h>
#include <asm/apicdef.h>
#include <uapi/linux/kvm_para.h>

#include "cpuid.h"
#include "lapic.h"
#include "trace.h"
#include "x86.h"
#include "pv.h"

static bool __read_mostly pv_timer = true;
module_param(pv_timer, bool, 0644);
MODULE_PARM_DESC(pv_timer, "Offer guests MSR_KVM_PV_TIMER (CPUID KVM_FEATURE_PV_TIMER)");

/* The GPA bits of MSR_KVM_PV_TIMER: the area is 64-byte aligned. */
#define KVM_PV_TIMER_GPA_MASK	(~0x3fULL)

/*
 * A far deadline re-arms at least this often, so that its expiry never
 * overflows into an early one; it costs one host interrupt an hour.
 */
#define KVM_PV_TIMER_MAX_NS	(3600ULL * NSEC_PER_SEC)

static_assert(sizeof(struct kvm_pv_timer) == 64);

enum kvm_pv_timer_action {
	KVM_PV_TIMER_NONE,	/* cancelled, or already delivered */
	KVM_PV_TIMER_INJECT,	/* due: deliver it */
	KVM_PV_TIMER_ARM,	/* later: arm for it, no interrupt */
};

bool kvm_pv_timer_enabled(void)
{
	return READ_ONCE(pv_timer);
}

void kvm_pv_timer_vcpu_init(struct kvm_vcpu *vcpu)
{
	struct kvm_pv_timer_state *pt = &vcpu->arch.pv_timer;

	kvm_gpc_init(&pt->gpc, vcpu->kvm);
	raw_spin_lock_init(&pt->lock);
}

void kvm_pv_timer_vcpu_destroy(struct kvm_vcpu *vcpu)
{
	kvm_gpc_deactivate(&vcpu->arch.pv_timer.gpc);
}

/* Is the area in force: enabled, and the LVTT in TSC-deadline mode? */
static bool kvm_pv_timer_applies(struct kvm_vcpu *vcpu)
{
	return kvm_pv_timer_active(vcpu) && kvm_apic_present(vcpu) &&
	       vcpu->arch.apic->lapic_timer.timer_mode == APIC_LVT_TIMER_TSCDEADLINE;
}

/*
 * Writing guest memory outside the vCPU's thread cannot be logged dirty:
 * mark_page_dirty_in_slot() wants the running vCPU, and the dirty ring is
 * not IRQ-safe. Xen's event channels write anyway (kvm_xen_set_evtchn_fast());
 * we wait for the vCPU instead.
 */
static bool kvm_pv_timer_dirty_logged(struct gfn_to_pfn_cache *gpc)
{
	return gpc->memslot && kvm_slot_dirty_track_enabled(gpc->memslot);
}

/*
 * Map the area for a short access: returns 0 with gpc->lock read-held and
 * IRQs off, or an error with neither. With @refresh (the vCPU's thread or
 * an ioctl, which may sleep) a stale cache is refreshed; without, a stale
 * cache is -EWOULDBLOCK and the caller leaves the work to the vCPU.
 */
static int kvm_pv_timer_map(struct kvm_pv_timer_state *pt, bool refresh,
			    unsigned long *flags)
{
	int r;

	read_lock_irqsave(&pt->gpc.lock, *flags);
	while (!kvm_gpc_check(&pt->gpc, sizeof(struct kvm_pv_timer))) {
		read_unlock_irqrestore(&pt->gpc.lock, *flags);
		if (!refresh)
			return -EWOULDBLOCK;
		r = kvm_gpc_refresh(&pt->gpc, sizeof(struct kvm_pv_timer));
		if (r)
			return r;
		read_lock_irqsave(&pt->gpc.lock, *flags);
	}
	return 0;
}

/* Must the host act on deadline @g, with its timer armed for @armed? */
static bool kvm_pv_timer_uncovered(u64 g, u64 fired, u64 armed)
{
	return g && g != fired && (!armed || g < armed);
}

/*
 * What the host does with guest deadline @g at guest TSC @now. A deadline
 * due within the timer advance is delivered now, as start_sw_tscdeadline()
 * and vmx_set_hv_timer() would: expired_tscdeadline then makes
 * __kvm_wait_lapic_expire() hold the interrupt until @g, so it is never early.
 */
static enum kvm_pv_timer_action kvm_pv_timer_decide(struct kvm_vcpu *vcpu, u64 g,
						    u64 fired, u64 now)
{
	u64 advance;

	if (!g || g == fired)
		return KVM_PV_TIMER_NONE;
	/* As start_sw_tscdeadline(): without a TSC frequency, no timer. */
	if (unlikely(!vcpu->arch.virtual_tsc_khz))
		return KVM_PV_TIMER_NONE;

	advance = nsec_to_cycles(vcpu, vcpu->arch.apic->lapic_timer.timer_advance_ns);
	if (g <= now || g - now <= advance)
		return KVM_PV_TIMER_INJECT;
	return KVM_PV_TIMER_ARM;
}

/* When the hrtimer must fire for deadline @g, seen at guest TSC @now_tsc. */
static ktime_t kvm_pv_timer_expiry(struct kvm_vcpu *vcpu, u64 g, u64 now_tsc, ktime_t now)
{
	struct kvm_timer *ktimer = &vcpu->arch.apic->lapic_timer;
	u64 ns;

	/* 128-bit intermediate: no far deadline wraps into an early expiry. */
	ns = mul_u64_u32_div(g - now_tsc, 1000000, vcpu->arch.virtual_tsc_khz);
	ns = min(ns, KVM_PV_TIMER_MAX_NS);
	return ktime_sub_ns(ktime_add_ns(now, ns), ktimer->timer_advance_ns);
}

/*
 * Whether the area's period is worth a read: longer than the window below,
 * and no longer than a second, beyond which a tick saves nothing.
 */
static bool kvm_pv_timer_period_ok(struct kvm_vcpu *vcpu, u64 period, u64 window)
{
	return period > window && period <= (u64)vcpu->arch.virtual_tsc_khz * MSEC_PER_SEC;
}

/**
 * kvm_pv_timer_next - arm for the guest's next tick, as @g is delivered
 * @vcpu: the vCPU, from kvm_pv_timer_fn()
 * @period: the area's period, in guest TSC cycles
 * @g: the deadline being delivered
 * @now_tsc: guest TSC now
 * @now: host time now
 *
 * The guest's tick lands at g + period give or take a microsecond: it
 * computes each deadline from a clock read a few instructions earlier. So
 * read the deadline at g + period - window / 2 (not a timer advance before:
 * kvm_pv_timer_decide() then delivers anything up to a window later, and
 * the entry waits for it), and publish that time as armed. With the window
 * the timer advance, a deadline in it costs no exit and is not early; one
 * at armed itself is as late as the advance would have hidden.
 *
 * Return: the armed deadline to publish, with the hrtimer's expiry set for
 * it; 0 if the period is not usable or its tick is already past.
 */
static u64 kvm_pv_timer_next(struct kvm_vcpu *vcpu, u64 period, u64 g,
			     u64 now_tsc, ktime_t now)
{
	struct kvm_timer *ktimer = &vcpu->arch.apic->lapic_timer;
	u64 window, next;

	window = nsec_to_cycles(vcpu, ktimer->timer_advance_ns);
	if (!kvm_pv_timer_period_ok(vcpu, period, window))
		return 0;
	if (check_add_overflow(g, period - window / 2, &next) ||
	    next > U64_MAX - window || next <= now_tsc)
		return 0;

	/* kvm_pv_timer_expiry() takes the advance off: read at next itself. */
	hrtimer_set_expires(&ktimer->timer,
			    kvm_pv_timer_expiry(vcpu, next + window, now_tsc, now));
	++vcpu->stat.pv_timer_next_arms;
	return next;
}

/*
 * With pt->lock held: what the host's timer reads deadline by, now. A timer
 * that is neither armed nor running its callback reads nothing.
 */
static u64 kvm_pv_timer_armed_now(struct kvm_vcpu *vcpu)
{
	struct kvm_pv_timer_state *pt = &vcpu->arch.pv_timer;

	lockdep_assert_held(&pt->lock);

	if (pt->armed && (!lapic_in_kernel(vcpu) ||
			  !kvm_lapic_pv_timer_armed(vcpu->arch.apic)))
		pt->armed = 0;
	return pt->armed;
}

/*
 * Ask the vCPU's thread to finish what the callback could not: read or
 * write the area. Before the vCPU enters again, kvm_pv_timer_sync() does.
 * A kick only if it is in guest mode: a halted vCPU runs nothing until it
 * enters, and a wake-up would be spurious.
 */
static void kvm_pv_timer_defer(struct kvm_vcpu *vcpu)
{
	++vcpu->stat.pv_timer_deferred;
	trace_kvm_pv_timer(vcpu->vcpu_id, KVM_PV_TIMER_DEFER, 0, vcpu->arch.pv_timer.armed);
	kvm_make_request(KVM_REQ_PV_TIMER, vcpu);
	if (READ_ONCE(vcpu->mode) != OUTSIDE_GUEST_MODE)
		kvm_vcpu_kick(vcpu);
}

/*
 * The callback cannot read the area (its page was invalidated, or the
 * memslots changed since the vCPU last entered). Do what the host does
 * without PV: deliver the deadline it armed for. That is no later than the
 * guest's, and a Linux guest takes an early timer interrupt as a no-op. The
 * vCPU then publishes armed = 0 before it runs again, and arms the guest's
 * deadline if it is still live.
 */
static enum hrtimer_restart kvm_pv_timer_fallback(struct kvm_lapic *apic)
{
	struct kvm_vcpu *vcpu = apic->vcpu;
	struct kvm_pv_timer_state *pt = &vcpu->arch.pv_timer;
	u64 d;

	raw_spin_lock(&pt->lock);
	d = pt->armed ?: apic->lapic_timer.tscdeadline;
	pt->fired = d;
	pt->armed = 0;
	kvm_lapic_pv_expire(apic, d);
	raw_spin_unlock(&pt->lock);

	trace_kvm_pv_timer(vcpu->vcpu_id, KVM_PV_TIMER_FALLBACK, d, 0);
	kvm_pv_timer_defer(vcpu);
	return HRTIMER_NORESTART;
}

/**
 * kvm_pv_timer_fn - the TSC-deadline hrtimer fired, with the area enabled
 * @apic: the vCPU's LAPIC
 *
 * Called from apic_timer_fn(), in hard IRQ, on any CPU: the vCPU may be in
 * guest mode elsewhere (posted timer interrupts, or before
 * __kvm_migrate_apic_timer() has moved the timer), halted, preempted, or in
 * the host after the exit that this very interrupt caused.
 *
 * Read the guest's deadline and deliver it, re-arm for it, or drop the
 * expiry if the guest cancelled. Then publish armed, fence, and read the
 * deadline again (pv-v2.rst, "The handshake"): a guest that
 * programmed while we decided, against the armed value it saw before ours,
 * is handled here, in a second round. A third would mean that something
 * rewrites the deadline faster than we can look, which a guest does not do
 * to its own vCPU, so that case goes to the vCPU's thread.
 *
 * Return: HRTIMER_RESTART if re-armed (the expiry is set), else
 * HRTIMER_NORESTART.
 */
enum hrtimer_restart kvm_pv_timer_fn(struct kvm_lapic *apic)
{
	struct kvm_vcpu *vcpu = apic->vcpu;
	struct kvm_pv_timer_state *pt = &vcpu->arch.pv_timer;
	struct kvm_timer *ktimer = &apic->lapic_timer;
	struct kvm_pv_timer *area;
	bool publish, defer = false, next_read;
	u64 g, period, now_tsc, armed = 0;
	unsigned int event = KVM_PV_TIMER_FIRE_NONE;
	unsigned long flags;
	ktime_t now;
	int idx, round;

	lockdep_assert_irqs_disabled();

	/* kvm_gpc_check() compares memslot generations: kvm->srcu, as Xen. */
	idx = srcu_read_lock(&vcpu->kvm->srcu);
	if (kvm_pv_timer_map(pt, false, &flags)) {
		srcu_read_unlock(&vcpu->kvm->srcu, idx);
		return kvm_pv_timer_fallback(apic);
	}
	area = pt->gpc.khva;
	publish = !kvm_pv_timer_dirty_logged(&pt->gpc);

	raw_spin_lock(&pt->lock);
	next_read = pt->armed && pt->armed == pt->next;
	pt->next = 0;
	period = READ_ONCE(area->period);
	g = READ_ONCE(area->deadline);
	for (round = 0; ; round++) {
		now = ktime_get();
		now_tsc = kvm_read_l1_tsc(vcpu, rdtsc());

		switch (kvm_pv_timer_decide(vcpu, g, pt->fired, now_tsc)) {
		case KVM_PV_TIMER_NONE:
			armed = 0;
			event = KVM_PV_TIMER_FIRE_NONE;
			break;
		case KVM_PV_TIMER_INJECT:
			pt->fired = g;
			/* Takes the posted path if the vCPU has one, as today. */
			kvm_lapic_pv_expire(apic, g);
			if (next_read && !round)
				++vcpu->stat.pv_timer_next_hits;
			armed = kvm_pv_timer_next(vcpu, period, g, now_tsc, now);
			pt->next = armed;
			event = KVM_PV_TIMER_FIRE_INJECT;
			break;
		case KVM_PV_TIMER_ARM:
			armed = g;
			ktimer->tscdeadline = g;
			hrtimer_set_expires(&ktimer->timer,
					    kvm_pv_timer_expiry(vcpu, g, now_tsc, now));
			++vcpu->stat.pv_timer_rearms;
			event = KVM_PV_TIMER_FIRE_ARM;
			break;
		}
		pt->armed = armed;
		trace_kvm_pv_timer(vcpu->vcpu_id, event, g, armed);

		if (!publish) {
			/* The vCPU's thread publishes, before the vCPU runs again. */
			defer = true;
			break;
		}
		WRITE_ONCE(area->armed, armed);
		/*
		 * H1: order the store of armed before the load of deadline.
		 * Pairs with the guest's fence between its store of deadline
		 * and its load of armed (G1).
		 */
		smp_mb();
		g = READ_ONCE(area->deadline);		/* F3; rule H2 below */
		if (!kvm_pv_timer_uncovered(g, pt->fired, armed))
			break;
		if (round) {
			defer = true;
			break;
		}
	}
	raw_spin_unlock(&pt->lock);
	read_unlock_irqrestore(&pt->gpc.lock, flags);
	srcu_read_unlock(&vcpu->kvm->srcu, idx);

	if (defer)
		kvm_pv_timer_defer(vcpu);
	return armed ? HRTIMER_RESTART : HRTIMER_NORESTART;
}

/*
 * From the vCPU's thread: apply a host write of deadline that is due, and
 * publish armed. With @can_sleep the cache may be refreshed; otherwise (IRQs
 * off: the fastpaths), an invalid cache leaves it all to the next entry.
 * Returns false if nothing was written.
 */
static bool kvm_pv_timer_write(struct kvm_vcpu *vcpu, bool can_sleep)
{
	struct kvm_pv_timer_state *pt = &vcpu->arch.pv_timer;
	struct kvm_pv_timer *area;
	unsigned long flags;
	u64 armed;
	int idx;

	idx = srcu_read_lock(&vcpu->kvm->srcu);
	if (kvm_pv_timer_map(pt, can_sleep, &flags)) {
		srcu_read_unlock(&vcpu->kvm->srcu, idx);
		kvm_make_request(KVM_REQ_PV_TIMER, vcpu);
		return false;
	}
	area = pt->gpc.khva;

	raw_spin_lock(&pt->lock);
	if (pt->set_deadline_pending) {
		WRITE_ONCE(area->deadline, pt->set_deadline);
		pt->set_deadline_pending = false;
	}
	armed = kvm_pv_timer_armed_now(vcpu);
	WRITE_ONCE(area->armed, armed);
	raw_spin_unlock(&pt->lock);

	kvm_gpc_mark_dirty_in_slot(&pt->gpc);
	read_unlock_irqrestore(&pt->gpc.lock, flags);
	srcu_read_unlock(&vcpu->kvm->srcu, idx);
	return true;
}

/**
 * kvm_pv_timer_effective - the vCPU's TSC deadline, with the area in force
 * @vcpu: the vCPU, from its own thread or an ioctl (may sleep)
 *
 * What MSR_IA32_TSC_DEADLINE would hold: the guest's deadline, or 0 once it
 * was delivered. If the area cannot be read, the deadline the host armed.
 */
u64 kvm_pv_timer_effective(struct kvm_vcpu *vcpu)
{
	struct kvm_pv_timer_state *pt = &vcpu->arch.pv_timer;
	struct kvm_pv_timer *area;
	unsigned long flags;
	u64 g = 0;
	int idx;

	if (pt->set_deadline_pending)
		return pt->set_deadline;

	idx = srcu_read_lock(&vcpu->kvm->srcu);
	if (kvm_pv_timer_map(pt, true, &flags)) {
		srcu_read_unlock(&vcpu->kvm->srcu, idx);
		return vcpu->arch.apic->lapic_timer.tscdeadline;
	}
	area = pt->gpc.khva;
	g = READ_ONCE(area->deadline);
	read_unlock_irqrestore(&pt->gpc.lock, flags);
	srcu_read_unlock(&vcpu->kvm->srcu, idx);

	return g == READ_ONCE(pt->fired) ? 0 : g;
}

/*
 * Map the area and set it up, from the vCPU's thread. @from_guest: the
 * guest's WRMSR, so the area starts as the native state is, with the
 * deadline MSR's armed deadline in it. Otherwise a restore (the first entry
 * after a host-initiated write): deadline is what userspace restored into
 * MSR_IA32_TSC_DEADLINE, if it did, else what restored RAM holds; armed is
 * never taken from RAM.
 */
static bool kvm_pv_timer_activate(struct kvm_vcpu *vcpu, bool from_guest)
{
	struct kvm_pv_timer_state *pt = &vcpu->arch.pv_timer;
	struct kvm_lapic *apic = vcpu->arch.apic;
	struct kvm_pv_timer *area;
	unsigned long flags;
	u64 native = 0;
	int idx, r;

	pt->activate_pending = false;
	idx = srcu_read_lock(&vcpu->kvm->srcu);
	/* A restore may name an area for a VM without an in-kernel LAPIC. */
	r = -EINVAL;
	if (!lapic_in_kernel(vcpu))
		goto fail;
	r = kvm_gpc_activate(&pt->gpc, pt->msr & KVM_PV_TIMER_GPA_MASK,
			     sizeof(struct kvm_pv_timer));
	if (r)
		goto fail;

	r = kvm_pv_timer_map(pt, true, &flags);
	if (r)
		goto fail;
	area = pt->gpc.khva;

	raw_spin_lock(&pt->lock);
	pt->fired = 0;
	pt->armed = 0;
	if (from_guest) {
		if (kvm_apic_present(vcpu) && kvm_lapic_pv_timer_armed(apic))
			native = apic->lapic_timer.tscdeadline;
		pt->armed = native;
		pt->set_deadline = native;
		pt->set_deadline_pending = true;
	}
	WRITE_ONCE(area->version, KVM_PV_TIMER_VERSION);
	WRITE_ONCE(area->flags, KVM_PV_TIMER_F_PERIOD);
	raw_spin_unlock(&pt->lock);
	kvm_gpc_mark_dirty_in_slot(&pt->gpc);
	read_unlock_irqrestore(&pt->gpc.lock, flags);
	srcu_read_unlock(&vcpu->kvm->srcu, idx);

	/* From here, the callback and the syncs use the area. */
	WRITE_ONCE(pt->enabled, true);
	kvm_pv_timer_write(vcpu, true);
	trace_kvm_pv_timer(vcpu->vcpu_id, KVM_PV_TIMER_ENABLE, native, pt->armed);
	return true;

fail:
	srcu_read_unlock(&vcpu->kvm->srcu, idx);
	kvm_gpc_deactivate(&pt->gpc);
	if (!from_guest)
		pr_warn_ratelimited("kvm: vcpu %u: cannot map MSR_KVM_PV_TIMER area at %llx (%d); timer is native\n",
				    vcpu->vcpu_id, pt->msr & KVM_PV_TIMER_GPA_MASK, r);
	return false;
}

/*
 * Stop using the area. @hand_over: make the guest's deadline the MSR's, so
 * that a deadline set without an exit still fires; not on INIT or RESET,
 * after which the native deadline is 0.
 */
static void kvm_pv_timer_disable(struct kvm_vcpu *vcpu, bool hand_over)
{
	struct kvm_pv_timer_state *pt = &vcpu->arch.pv_timer;
	unsigned long flags;
	u64 e = 0;

	pt->activate_pending = false;
	if (!kvm_pv_timer_active(vcpu))
		goto out;

	hand_over = hand_over && kvm_pv_timer_applies(vcpu);
	if (hand_over) {
		/*
		 * Own the timer first (waits for a running callback), so
		 * that nothing delivers the deadline between reading it and
		 * arming it natively.
		 */
		hrtimer_cancel(&vcpu->arch.apic->lapic_timer.timer);
		e = kvm_pv_timer_effective(vcpu);
	}

	/* The callback now takes the upstream path (apic_timer_fn()). */
	WRITE_ONCE(pt->enabled, false);
	if (hand_over)
		kvm_lapic_pv_arm(vcpu, e);

	/* Waits, on the write side of gpc->lock, for a callback still reading. */
	kvm_gpc_deactivate(&pt->gpc);
	trace_kvm_pv_timer(vcpu->vcpu_id, KVM_PV_TIMER_DISABLE, e, 0);
out:
	raw_spin_lock_irqsave(&pt->lock, flags);
	pt->armed = 0;
	pt->fired = 0;
	pt->set_deadline_pending = false;
	raw_spin_unlock_irqrestore(&pt->lock, flags);
}

/* INIT and RESET (kvm_vcpu_reset()), after the LAPIC was reset. */
void kvm_pv_timer_reset(struct kvm_vcpu *vcpu)
{
	kvm_pv_timer_disable(vcpu, false);
	vcpu->arch.pv_timer.msr = 0;
}

/* Is the area's GPA in a writable memslot? Checked before anything changes. */
static bool kvm_pv_timer_gpa_ok(struct kvm_vcpu *vcpu, gpa_t gpa)
{
	bool writable;
	unsigned long hva;

	hva = kvm_vcpu_gfn_to_hva_prot(vcpu, gpa_to_gfn(gpa), &writable);
	return !kvm_is_error_hva(hva) && writable;
}

/**
 * kvm_pv_timer_set_msr - WRMSR to MSR_KVM_PV_TIMER
 * @vcpu: the vCPU
 * @data: the value
 * @host_initiated: from KVM_SET_MSRS
 *
 * Return: 0, or 1 for #GP (guest) or a failed KVM_SET_MSRS (host).
 */
int kvm_pv_timer_set_msr(struct kvm_vcpu *vcpu, u64 data, bool host_initiated)
{
	struct kvm_pv_timer_state *pt = &vcpu->arch.pv_timer;
	gpa_t gpa = data & KVM_PV_TIMER_GPA_MASK;
	bool enable = data & KVM_MSR_ENABLED;

	if (data & KVM_PV_TIMER_RESERVED)
		return 1;
	/* Enabled or not: the ABI has no use for a GPA the guest cannot have. */
	if (!kvm_vcpu_is_legal_gpa(vcpu, gpa))
		return 1;

	if (host_initiated) {
		bool restored = pt->set_deadline_pending;
		u64 deadline = pt->set_deadline;

		/*
		 * A restore: RAM may not be there yet (postcopy), or may be
		 * restored after the MSRs. Touch it at the first entry only.
		 */
		kvm_pv_timer_disable(vcpu, true);
		pt->msr = data;
		pt->activate_pending = enable;
		/*
		 * MSR_IA32_TSC_DEADLINE precedes this MSR in
		 * KVM_GET_MSR_INDEX_LIST. A value restored before it is still
		 * the deadline the area starts with, not what RAM holds: RAM
		 * keeps a deadline that was delivered, the MSR reads 0.
		 */
		if (enable && restored) {
			pt->set_deadline = deadline;
			pt->set_deadline_pending = true;
		}
		return 0;
	}

	if (!enable) {
		kvm_pv_timer_disable(vcpu, true);
		pt->msr = data;
		return 0;
	}

	if (!kvm_pv_timer_enabled() || !lapic_in_kernel(vcpu) ||
	    !kvm_pv_timer_gpa_ok(vcpu, gpa))
		return 1;

	kvm_pv_timer_disable(vcpu, true);	/* an area elsewhere */
	pt->msr = data;
	if (!kvm_pv_timer_activate(vcpu, true)) {
		/* The page could not be faulted in after all. */
		pt->msr = 0;
		return 1;
	}
	return 0;
}

u64 kvm_pv_timer_get_msr(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.pv_timer.msr;
}

/*
 * A host-initiated write of MSR_IA32_TSC_DEADLINE (a restore): the next sync
 * makes it the area's deadline, whatever the order in which userspace
 * restores the LAPIC, the MSRs and guest RAM.
 */
void kvm_pv_timer_restore_deadline(struct kvm_vcpu *vcpu, u64 data)
{
	struct kvm_pv_timer_state *pt = &vcpu->arch.pv_timer;

	pt->set_deadline = data;
	pt->set_deadline_pending = true;
}

/*
 * kvm_set_lapic_tscdeadline_msr(), the hrtimer cancelled, before the timer
 * is armed: a new deadline, not delivered yet, and the one the timer will
 * be armed for, so that a callback that fires at once finds it.
 */
void kvm_pv_timer_msr_arming(struct kvm_vcpu *vcpu, u64 data)
{
	struct kvm_pv_timer_state *pt = &vcpu->arch.pv_timer;
	unsigned long flags;

	if (!kvm_pv_timer_active(vcpu))
		return;

	raw_spin_lock_irqsave(&pt->lock, flags);
	pt->fired = 0;
	pt->armed = data;
	raw_spin_unlock_irqrestore(&pt->lock, flags);
}

/*
 * ... and after: the area's deadline becomes the MSR's, and armed is
 * published. IRQs may be off (the WRMSR fastpath): then an invalid cache
 * waits for the entry, which the request makes the fastpath loop go to.
 */
void kvm_pv_timer_msr_written(struct kvm_vcpu *vcpu, u64 data)
{
	struct kvm_pv_timer_state *pt = &vcpu->arch.pv_timer;

	if (!kvm_pv_timer_active(vcpu))
		return;

	pt->set_deadline = data;
	pt->set_deadline_pending = true;
	kvm_pv_timer_write(vcpu, false);
	trace_kvm_pv_timer(vcpu->vcpu_id, KVM_PV_TIMER_MSR, data, pt->armed);
}

/*
 * The guest changed the LVTT's timer mode; apic_update_lvtt() cancelled the
 * timer and zeroed tscdeadline. The area's deadline goes to 0 as well: a
 * deadline from an earlier TSC-deadline epoch must never fire.
 */
void kvm_pv_timer_mode_changed(struct kvm_vcpu *vcpu)
{
	struct kvm_pv_timer_state *pt = &vcpu->arch.pv_timer;
	unsigned long flags;

	if (!kvm_pv_timer_active(vcpu))
		return;

	raw_spin_lock_irqsave(&pt->lock, flags);
	pt->armed = 0;
	pt->fired = 0;
	pt->set_deadline = 0;
	pt->set_deadline_pending = true;
	raw_spin_unlock_irqrestore(&pt->lock, flags);
	kvm_pv_timer_write(vcpu, false);
}

/* kvm_lapic_pv_arm(), before the timer can fire: what it will be armed for. */
void kvm_pv_timer_arming(struct kvm_vcpu *vcpu, u64 deadline)
{
	struct kvm_pv_timer_state *pt = &vcpu->arch.pv_timer;
	unsigned long flags;

	raw_spin_lock_irqsave(&pt->lock, flags);
	pt->armed = deadline;
	raw_spin_unlock_irqrestore(&pt->lock, flags);
}

/*
 * apic_timer_expired() from the vCPU's thread, in TSC-deadline mode:
 * @deadline is delivered (or coalesced into a pending expiry), and nothing
 * is armed any more.
 */
void kvm_pv_timer_expired(struct kvm_vcpu *vcpu, u64 deadline)
{
	struct kvm_pv_timer_state *pt = &vcpu->arch.pv_timer;
	unsigned long flags;

	if (!kvm_pv_timer_active(vcpu))
		return;

	raw_spin_lock_irqsave(&pt->lock, flags);
	pt->fired = deadline;
	pt->armed = 0;
	raw_spin_unlock_irqrestore(&pt->lock, flags);
}

/**
 * kvm_pv_timer_hv_expired - the hv timer (VMX preemption timer) fired
 * @vcpu: the vCPU, from its own thread, preemption off, IRQs maybe off
 *
 * From kvm_lapic_expired_hv_timer(), in TSC-deadline mode. The vCPU is out
 * of guest mode, so its deadline cannot change under us: one round. Arm for
 * the guest's deadline, which delivers it if it is due (start_hv_timer()
 * reports it expired), or cancel if there is none.
 *
 * Return: true if handled; false to let the caller deliver the deadline it
 * armed, as without PV (the area cannot be read now).
 */
bool kvm_pv_timer_hv_expired(struct kvm_vcpu *vcpu)
{
	struct kvm_pv_timer_state *pt = &vcpu->arch.pv_timer;
	enum kvm_pv_timer_action action;
	struct kvm_pv_timer *area;
	unsigned long flags;
	u64 g, fired;
	int idx;

	if (!kvm_pv_timer_active(vcpu))
		return false;

	/* The fastpath holds no SRCU; plain srcu_read_lock() nests. */
	idx = srcu_read_lock(&vcpu->kvm->srcu);
	if (kvm_pv_timer_map(pt, false, &flags)) {
		srcu_read_unlock(&vcpu->kvm->srcu, idx);
		++vcpu->stat.pv_timer_deferred;
		kvm_make_request(KVM_REQ_PV_TIMER, vcpu);
		return false;
	}
	area = pt->gpc.khva;
	g = READ_ONCE(area->deadline);
	fired = READ_ONCE(pt->fired);
	read_unlock_irqrestore(&pt->gpc.lock, flags);
	srcu_read_unlock(&vcpu->kvm->srcu, idx);

	action = kvm_pv_timer_decide(vcpu, g, fired,
				     kvm_read_l1_tsc(vcpu, rdtsc()));
	/* Delivers g now if it is due; no timer at all for 0. */
	kvm_lapic_pv_arm(vcpu, action == KVM_PV_TIMER_NONE ? 0 : g);
	if (action == KVM_PV_TIMER_ARM)
		++vcpu->stat.pv_timer_rearms;
	kvm_pv_timer_write(vcpu, false);
	trace_kvm_pv_timer(vcpu->vcpu_id, KVM_PV_TIMER_HV_ARM, g, pt->armed);
	return true;
}

/**
 * kvm_pv_timer_sync - pick up the guest's deadline before entering
 * @vcpu: the vCPU, from vcpu_enter_guest(), may sleep, kvm->srcu held
 *
 * Runs on every entry. Activates an area restored by userspace, applies a
 * host write of the deadline that is due, and arms the guest's deadline if
 * the host's timer does not cover it: nothing armed, or armed later. That
 * only happens after a deferral, a fallback, a restore, or a guest that does
 * not follow the protocol. It never moves the armed deadline later: keeping
 * the earliest one is what lets the guest's later programs skip their exit
 * (pv-v2.rst). Publishes armed if the published value is stale.
 */
void kvm_pv_timer_sync(struct kvm_vcpu *vcpu)
{
	struct kvm_pv_timer_state *pt = &vcpu->arch.pv_timer;
	struct kvm_pv_timer *area;
	unsigned long flags;
	bool need, stale;
	u64 g, armed;

	if (likely(!kvm_pv_timer_active(vcpu) && !pt->activate_pending))
		return;
	if (unlikely(pt->activate_pending) && !kvm_pv_timer_activate(vcpu, false))
		return;

	if (!kvm_pv_timer_applies(vcpu)) {
		/* Another LVTT mode: armed is 0 (kvm_pv_timer_mode_changed()). */
		if (pt->set_deadline_pending)
			kvm_pv_timer_write(vcpu, true);
		return;
	}

	if (pt->set_deadline_pending && !kvm_pv_timer_write(vcpu, true))
		return;

	if (kvm_pv_timer_map(pt, true, &flags))
		return;		/* retried on the next entry */
	area = pt->gpc.khva;
	raw_spin_lock(&pt->lock);
	g = READ_ONCE(area->deadline);
	armed = kvm_pv_timer_armed_now(vcpu);
	/*
	 * An expiry pending injection arms nothing (restart_apic_timer());
	 * its KVM_REQ_UNBLOCK brings us back here after it is injected.
	 */
	need = kvm_pv_timer_uncovered(g, pt->fired, armed) &&
	       !atomic_read(&vcpu->arch.apic->lapic_timer.pending);
	stale = READ_ONCE(area->armed) != armed;
	raw_spin_unlock(&pt->lock);
	read_unlock_irqrestore(&pt->gpc.lock, flags);

	if (need) {
		kvm_lapic_pv_arm(vcpu, g);
		++vcpu->stat.pv_timer_syncs;
		trace_kvm_pv_timer(vcpu->vcpu_id, KVM_PV_TIMER_SYNC_ARM, g, pt->armed);
	}
	if (need || stale) {
		kvm_pv_timer_write(vcpu, true);
		if (!need)
			trace_kvm_pv_timer(vcpu->vcpu_id, KVM_PV_TIMER_SYNC_PUBLISH, g, pt->armed);
	}
}
