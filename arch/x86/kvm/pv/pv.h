/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Paravirt v2: hypercalls that take any set of vCPUs, and what they share.
 * See Documentation/virt/kvm/x86/pv-v2.rst.
 */
#ifndef ARCH_X86_KVM_PV_PV_H
#define ARCH_X86_KVM_PV_PV_H

#include <linux/kvm_host.h>

#ifdef CONFIG_KVM_PV_V2
u32 kvm_pv_v2_supported_features(void);
unsigned long kvm_pv_v2_hypercall(struct kvm_vcpu *vcpu, unsigned long nr,
				  unsigned long a0, unsigned long a1,
				  unsigned long a2, unsigned long a3,
				  bool op_64_bit);

/* A set of vCPUs by vcpu_idx, decoded from the guest's APIC IDs. */
struct kvm_pv_vcpu_mask {
	DECLARE_BITMAP(bits, KVM_MAX_VCPUS);
};

int kvm_pv_vcpu_mask_from_regs(struct kvm_vcpu *vcpu, struct kvm_pv_vcpu_mask *mask,
			       unsigned long lo, unsigned long hi,
			       unsigned long base, bool op_64_bit);
int kvm_pv_vcpu_mask_from_guest(struct kvm_vcpu *vcpu, struct kvm_pv_vcpu_mask *mask,
				gpa_t gpa, unsigned long size);

/* ipi.c */
bool kvm_pv_ipi_v2_enabled(void);
unsigned long kvm_pv_send_ipi_v2(struct kvm_vcpu *vcpu, unsigned long flags,
				 unsigned long a1, unsigned long a2,
				 unsigned long a3, bool op_64_bit);
#else
static inline u32 kvm_pv_v2_supported_features(void)
{
	return 0;
}

static inline unsigned long kvm_pv_v2_hypercall(struct kvm_vcpu *vcpu, unsigned long nr,
						unsigned long a0, unsigned long a1,
						unsigned long a2, unsigned long a3,
						bool op_64_bit)
{
	return -KVM_ENOSYS;
}
#endif

#endif /* ARCH_X86_KVM_PV_PV_H */
