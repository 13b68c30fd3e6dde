/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest side of KVM paravirt v2: vCPU sets for the v2 hypercalls, and the
 * features built on them. See Documentation/virt/kvm/x86/pv-v2.rst.
 */
#ifndef _ASM_X86_KVM_PV_V2_H
#define _ASM_X86_KVM_PV_V2_H

#include <linux/cpumask.h>

/* The set arguments of a v2 hypercall, and the flag that says which form. */
struct kvm_pv_set_args {
	unsigned long sparse;	/* 0 or the feature's SPARSE flag */
	unsigned long a1, a2, a3;
};

#ifdef CONFIG_KVM_GUEST_PV_V2
int kvm_pv_set_build(const struct cpumask *mask, int skip_cpu,
		     unsigned long sparse_flag, struct kvm_pv_set_args *args);
void __init kvm_pv_set_map_decrypted(void);

bool __init kvm_pv_ipi_v2_supported(void);
void __init kvm_pv_ipi_v2_setup(void);
void __init kvm_pv_ipi_v2_setup_call_func(void);
#else
static inline void kvm_pv_set_map_decrypted(void) { }
static inline bool kvm_pv_ipi_v2_supported(void) { return false; }
static inline void kvm_pv_ipi_v2_setup(void) { }
static inline void kvm_pv_ipi_v2_setup_call_func(void) { }
#endif

#endif /* _ASM_X86_KVM_PV_V2_H */
