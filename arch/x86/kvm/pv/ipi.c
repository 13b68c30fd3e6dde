// SPDX-License-Identifier: GPL-2.0
/*
 * PV IPI v2: one hypercall delivers a fixed or NMI IPI to any set of vCPUs
 * and, if the guest asks, yields to one of them that is preempted.
 *
 * KVM_HC_SEND_IPI takes a 128-bit window of APIC IDs, so a guest whose
 * targets span more than 128 IDs makes one hypercall per window, and the
 * call-function path adds a KVM_HC_SCHED_YIELD to a target that the guest
 * guesses, from steal time, is preempted. Here the set has no span limit,
 * and the host, which knows which targets are preempted, picks the one to
 * yield to in the same exit.
 */

#include <linux/kvm_host.h>
#include <linux/moduleparam.h>
#include <linux/sched/stat.h>
#include <uapi/linux/kvm_para.h>

#include "cpuid.h"
#include "lapic.h"
#include "pv.h"

static bool __read_mostly pv_ipi_v2 = true;
module_param(pv_ipi_v2, bool, 0644);
MODULE_PARM_DESC(pv_ipi_v2, "Offer guests KVM_HC_SEND_IPI_V2 (CPUID KVM_FEATURE_PV_IPI_V2)");

#define KVM_SEND_IPI_V2_VALID	(KVM_SEND_IPI_V2_VECTOR | KVM_SEND_IPI_V2_MODE | \
				 KVM_SEND_IPI_V2_YIELD | KVM_SEND_IPI_V2_SPARSE)

bool kvm_pv_ipi_v2_enabled(void)
{
	return READ_ONCE(pv_ipi_v2);
}

/* The interrupt that @flags asks for, as the APIC would take it from an ICR. */
static int kvm_pv_ipi_v2_irq(unsigned long flags, struct kvm_lapic_irq *irq)
{
	u32 vector = flags & KVM_SEND_IPI_V2_VECTOR;

	if (flags & ~KVM_SEND_IPI_V2_VALID)
		return -KVM_EINVAL;

	switch (flags & KVM_SEND_IPI_V2_MODE) {
	case KVM_SEND_IPI_V2_MODE_FIXED:
		/* Vectors 0-15 are illegal in the APIC. */
		if (vector < 16)
			return -KVM_EINVAL;
		irq->delivery_mode = APIC_DM_FIXED;
		break;
	case KVM_SEND_IPI_V2_MODE_NMI:
		if (vector)
			return -KVM_EINVAL;
		irq->delivery_mode = APIC_DM_NMI;
		break;
	default:
		return -KVM_EINVAL;
	}

	irq->vector = vector;
	irq->level = true;
	irq->dest_mode = APIC_DEST_PHYSICAL;
	irq->shorthand = APIC_DEST_NOSHORT;
	return 0;
}

/*
 * Yield to the first target whose vCPU was preempted while it ran: it is
 * runnable, and the IPI that was just sent waits for it. A halted target
 * was woken by the IPI and needs no help. The per-vCPU stats count only
 * real attempts, so that they say how often a preempted target was found.
 */
static void kvm_pv_yield_to_preempted(struct kvm_vcpu *vcpu,
				      const struct kvm_pv_vcpu_mask *mask)
{
	struct kvm_vcpu *target;
	unsigned long i;

	if (single_task_running())
		return;

	for_each_set_bit(i, mask->bits, KVM_MAX_VCPUS) {
		target = kvm_get_vcpu(vcpu->kvm, i);
		if (!target || target == vcpu || !READ_ONCE(target->preempted))
			continue;

		vcpu->stat.directed_yield_attempted++;
		if (kvm_vcpu_yield_to(target) > 0)
			vcpu->stat.directed_yield_successful++;
		return;
	}
}

unsigned long kvm_pv_send_ipi_v2(struct kvm_vcpu *vcpu, unsigned long flags,
				 unsigned long a1, unsigned long a2,
				 unsigned long a3, bool op_64_bit)
{
	struct kvm_pv_vcpu_mask mask;
	struct kvm_lapic_irq irq = {};
	struct kvm_vcpu *target;
	unsigned long i;
	int count = 0, ret;

	if (!kvm_pv_ipi_v2_enabled() || !guest_pv_has(vcpu, KVM_FEATURE_PV_IPI_V2))
		return -KVM_ENOSYS;

	ret = kvm_pv_ipi_v2_irq(flags, &irq);
	if (ret)
		return ret;
	if (!lapic_in_kernel(vcpu))
		return -KVM_EOPNOTSUPP;

	ret = kvm_pv_vcpu_mask_from_args(vcpu, &mask, flags & KVM_SEND_IPI_V2_SPARSE, a1, a2, a3,
					 op_64_bit);
	if (ret)
		return ret;

	for_each_set_bit(i, mask.bits, KVM_MAX_VCPUS) {
		target = kvm_get_vcpu(vcpu->kvm, i);
		if (target)
			count += kvm_apic_set_irq(target, &irq, NULL);
	}

	if (flags & KVM_SEND_IPI_V2_YIELD)
		kvm_pv_yield_to_preempted(vcpu, &mask);

	return count;
}
