/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the MSR_KVM_PV_TIMER selftests share (pv_timer_test.c,
 * pv_timer_errors_test.c, pv_timer_state_test.c): the CPUID bit, the LVTT in
 * TSC-deadline mode on one vector, a handler that counts the timer's
 * interrupts and records the TSC of the last one, the guest side of the
 * ABI's programming rule, and the wait for an interrupt.
 *
 * Interrupts are taken only in pv_safe_halt() and pv_take_pending()
 * (pv_ipi_v2.h explains why: the red zone).
 */
#ifndef PV_TIMER_H
#define PV_TIMER_H

#include "pv_ipi_v2.h"		/* pv_safe_halt(), pv_take_pending(), pv_param_set() */

#define X86_FEATURE_KVM_PV_TIMER \
	KVM_X86_CPU_FEATURE(KVM_CPUID_FEATURES, 0, EAX, KVM_FEATURE_PV_TIMER)

#define PVT_PARAM		"/sys/module/kvm/parameters/pv_timer"
#define PVT_VECTOR		0xec
#define PVT_LVTT_DEADLINE	(APIC_LVT_TIMER_TSCDEADLINE | PVT_VECTOR)

static uint64_t pvt_cycles_per_us;	/* guest TSC */
/* Written by the timer handler, whenever interrupts are enabled. */
static uint64_t pvt_irqs;
static uint64_t pvt_irq_tsc;

/* Guest side. */

static inline uint64_t pvt_irq_count(void)
{
	return READ_ONCE(pvt_irqs);
}

static inline uint64_t pvt_irq_time(void)
{
	return READ_ONCE(pvt_irq_tsc);
}

static void pvt_timer_handler(struct ex_regs *regs)
{
	WRITE_ONCE(pvt_irq_tsc, rdtsc());
	WRITE_ONCE(pvt_irqs, pvt_irqs + 1);
	x2apic_write_reg(APIC_EOI, 0);
}

/* x2APIC on, the LVTT in TSC-deadline mode on PVT_VECTOR. */
static inline void pvt_guest_lapic_init(void)
{
	x2apic_enable();
	x2apic_write_reg(APIC_LVTT, PVT_LVTT_DEADLINE);
}

/*
 * Program deadline d through the area at t, as the ABI's rule and
 * arch/x86/kernel/kvm_pv_timer.c do. Returns whether it wrote the MSR (an
 * exit).
 */
static inline bool pvt_area_program(struct kvm_pv_timer *t, uint64_t d)
{
	uint64_t now = rdtsc(), armed;

	WRITE_ONCE(t->deadline, d);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);	/* G1 */
	armed = READ_ONCE(t->armed);
	if (armed && d >= armed && armed > now)
		return false;
	wrmsr(MSR_IA32_TSC_DEADLINE, d);
	return true;
}

/*
 * Take interrupts until one more than @before has come (true), or TSC >
 * @until (false). Halts if @halts, counting the halts there; else spins.
 */
static inline bool pvt_wait_irq(uint64_t before, uint64_t until, uint64_t *halts)
{
	while (pvt_irq_count() == before) {
		if (rdtsc() > until)
			return false;
		if (halts) {
			(*halts)++;
			pv_safe_halt();
		} else {
			pv_take_pending();
		}
	}
	return true;
}

static inline uint64_t pvt_us(uint64_t us)
{
	return us * pvt_cycles_per_us;
}

/* Host side. */

/*
 * Give the vCPU the TSC-deadline timer and the PV timer's CPUID bit, and
 * the VM the handler; tell the guest its TSC rate. Returns it in kHz.
 */
static inline uint64_t pvt_vcpu_setup(struct kvm_vcpu *vcpu)
{
	uint64_t tsc_khz;

	vcpu_set_cpuid_feature(vcpu, X86_FEATURE_TSC_DEADLINE_TIMER);
	vcpu_set_cpuid_feature(vcpu, X86_FEATURE_KVM_PV_TIMER);
	vm_install_exception_handler(vcpu->vm, PVT_VECTOR, pvt_timer_handler);

	tsc_khz = __vcpu_ioctl(vcpu, KVM_GET_TSC_KHZ, NULL);
	TEST_ASSERT(tsc_khz > 1000, "KVM_GET_TSC_KHZ: %lu", tsc_khz);
	pvt_cycles_per_us = tsc_khz / 1000;
	sync_global_to_guest(vcpu->vm, pvt_cycles_per_us);
	return tsc_khz;
}

#endif /* PV_TIMER_H */
