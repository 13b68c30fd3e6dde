// SPDX-License-Identifier: GPL-2.0
/*
 * Paravirt v2: the hypercall dispatch, the CPUID bits, and the vCPU sets
 * that every v2 hypercall takes.
 *
 * A vCPU set names vCPUs by APIC ID, as the guest knows them. Small sets
 * whose APIC IDs fit a 128-ID window come in two registers, like
 * KVM_HC_SEND_IPI's; any other set comes as a struct kvm_pv_vcpu_set in
 * guest memory, a sparse array of 64-ID banks that reaches every APIC ID
 * KVM allows. Both are decoded into a bitmap of vcpu_idx before anything
 * is done with them, so a set that cannot be read in full changes nothing.
 */

#include <linux/kvm_host.h>
#include <linux/nospec.h>
#include <uapi/linux/kvm_para.h>

#include "lapic.h"
#include "pv.h"

static_assert(KVM_PV_VCPU_SET_BANKS * 64 >= KVM_MAX_VCPU_IDS);

u32 kvm_pv_v2_supported_features(void)
{
	u32 features = 0;

	if (kvm_pv_ipi_v2_enabled())
		features |= 1u << KVM_FEATURE_PV_IPI_V2;

	return features;
}

unsigned long kvm_pv_v2_hypercall(struct kvm_vcpu *vcpu, unsigned long nr,
				  unsigned long a0, unsigned long a1,
				  unsigned long a2, unsigned long a3,
				  bool op_64_bit)
{
	switch (nr) {
	case KVM_HC_SEND_IPI_V2:
		return kvm_pv_send_ipi_v2(vcpu, a0, a1, a2, a3, op_64_bit);
	default:
		return -KVM_ENOSYS;
	}
}

/* Add the vCPUs whose APIC IDs are base + the bits set in @bits. */
static int kvm_pv_vcpu_mask_add(struct kvm *kvm, struct kvm_pv_vcpu_mask *mask,
				u64 base, u64 bits)
{
	struct kvm_apic_map *map;
	struct kvm_lapic *apic;
	u64 id;

	rcu_read_lock();
	map = rcu_dereference(kvm->arch.apic_map);
	if (unlikely(!map)) {
		rcu_read_unlock();
		return -KVM_EOPNOTSUPP;
	}

	for (; bits; bits &= bits - 1) {
		id = base + __ffs64(bits);
		if (id > map->max_apic_id)
			break;
		apic = map->phys_map[array_index_nospec(id, map->max_apic_id + 1)];
		if (apic)
			__set_bit(apic->vcpu->vcpu_idx, mask->bits);
	}

	rcu_read_unlock();
	return 0;
}

/*
 * The register form: @lo and @hi are bitmaps of the APIC IDs from @base, 64
 * each, or 32 each for a caller outside 64-bit mode.
 */
int kvm_pv_vcpu_mask_from_regs(struct kvm_vcpu *vcpu, struct kvm_pv_vcpu_mask *mask,
			       unsigned long lo, unsigned long hi,
			       unsigned long base, bool op_64_bit)
{
	unsigned int width = op_64_bit ? 64 : 32;
	int ret;

	if ((u64)base > U32_MAX)
		return -KVM_EINVAL;

	bitmap_zero(mask->bits, KVM_MAX_VCPUS);
	ret = kvm_pv_vcpu_mask_add(vcpu->kvm, mask, base, lo);
	if (!ret)
		ret = kvm_pv_vcpu_mask_add(vcpu->kvm, mask, (u64)base + width, hi);
	return ret;
}

/*
 * The memory form: @size bytes of struct kvm_pv_vcpu_set at @gpa. The size
 * must be exactly what bank_mask announces, so that a guest that got its
 * arithmetic wrong learns it instead of having banks ignored or invented.
 */
int kvm_pv_vcpu_mask_from_guest(struct kvm_vcpu *vcpu, struct kvm_pv_vcpu_mask *mask,
				gpa_t gpa, unsigned long size)
{
	u64 bank_mask[KVM_PV_VCPU_SET_BANKS / 64];
	DECLARE_BITMAP(present, KVM_PV_VCPU_SET_BANKS);
	u64 chunk[16];
	unsigned int nr_banks, bank, i = 0;
	int ret;

	if (!IS_ALIGNED(gpa, sizeof(u64)) || size < sizeof(bank_mask))
		return -KVM_EINVAL;
	if (kvm_vcpu_read_guest(vcpu, gpa, bank_mask, sizeof(bank_mask)))
		return -KVM_EFAULT;

	bitmap_from_arr64(present, bank_mask, KVM_PV_VCPU_SET_BANKS);
	nr_banks = bitmap_weight(present, KVM_PV_VCPU_SET_BANKS);
	if (size != struct_size_t(struct kvm_pv_vcpu_set, banks, nr_banks))
		return -KVM_EINVAL;

	bitmap_zero(mask->bits, KVM_MAX_VCPUS);
	gpa += sizeof(bank_mask);
	for_each_set_bit(bank, present, KVM_PV_VCPU_SET_BANKS) {
		unsigned int slot = i++ % ARRAY_SIZE(chunk);

		if (!slot) {
			unsigned int n = min_t(unsigned int, nr_banks - i + 1,
					       ARRAY_SIZE(chunk));

			if (kvm_vcpu_read_guest(vcpu, gpa, chunk, n * sizeof(u64)))
				return -KVM_EFAULT;
			gpa += n * sizeof(u64);
		}
		ret = kvm_pv_vcpu_mask_add(vcpu->kvm, mask, (u64)bank * 64, chunk[slot]);
		if (ret)
			return ret;
	}
	return 0;
}
