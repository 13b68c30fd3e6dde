/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KVM_HC_SCHED_YIELD under SCHED_VMF: what the directed-yield tests of
 * the scheduling class need from a vCPU.
 */
#ifndef VMF_YIELD_H
#define VMF_YIELD_H

#include "vmf_util.h"
#include "pv_vcpu.h"

/* What the KVM_HC_SCHED_YIELD tests need, or skip. */
static inline void vmf_require_pv_sched_yield(void)
{
	close(open_kvm_dev_path_or_exit());
	vmf_require_cpus(2);
	vmf_require();
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_ENFORCE_PV_FEATURE_CPUID));
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_KVM_PV_SCHED_YIELD));
}

/*
 * Give a vCPU KVM_FEATURE_PV_SCHED_YIELD, enforced, and put it into KVM's
 * APIC map, where kvm_sched_yield() looks its targets up. KVM only builds
 * a vCPU's entry when the map is recalculated after the vCPU was created;
 * like a VMM, set its LAPIC state once all vCPUs exist.
 */
static inline void vmf_vcpu_pv_sched_yield(struct kvm_vcpu *vcpu)
{
	struct kvm_lapic_state lapic;

	vcpu_enable_cap(vcpu, KVM_CAP_ENFORCE_PV_FEATURE_CPUID, 1);
	vcpu_set_cpuid_feature(vcpu, X86_FEATURE_KVM_PV_SCHED_YIELD);
	vcpu_ioctl(vcpu, KVM_GET_LAPIC, &lapic);
	vcpu_ioctl(vcpu, KVM_SET_LAPIC, &lapic);
}

#endif /* VMF_YIELD_H */
