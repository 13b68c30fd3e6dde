// SPDX-License-Identifier: GPL-2.0
/*
 * vCPU sets for the KVM paravirt v2 hypercalls.
 *
 * A set whose APIC IDs fit a window of 2 * BITS_PER_LONG goes in two
 * registers from the lowest ID, and the host reads no guest memory for
 * it: that is every set of a guest with up to 128 densely numbered vCPUs.
 * Any other set goes as a struct kvm_pv_vcpu_set in a per-CPU buffer that
 * the host reads, 8 bytes per 64-ID bank the set touches.
 */

#include <linux/hardirq.h>
#include <linux/kvm_para.h>
#include <linux/percpu.h>
#include <linux/string.h>
#include <asm/kvm_pv_v2.h>
#include <asm/mem_encrypt.h>
#include <asm/pgtable_types.h>
#include <asm/set_memory.h>
#include <asm/smp.h>

struct kvm_pv_set_buf {
	u64 bank_mask[KVM_PV_VCPU_SET_BANKS / 64];	/* struct kvm_pv_vcpu_set */
	u64 banks[KVM_PV_VCPU_SET_BANKS];
};

static DEFINE_PER_CPU_DECRYPTED(struct kvm_pv_set_buf, kvm_pv_set_buf) __aligned(8);
static DEFINE_PER_CPU(phys_addr_t, kvm_pv_set_pa);

/* The host reads the buffer: SEV guests share it unencrypted. */
void __init kvm_pv_set_map_decrypted(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
		early_set_memory_decrypted((unsigned long)&per_cpu(kvm_pv_set_buf, cpu),
					   sizeof(struct kvm_pv_set_buf));
}

static int kvm_pv_set_build_sparse(const struct cpumask *mask, int skip_cpu,
				   u32 min, u32 max, struct kvm_pv_set_args *args)
{
	struct kvm_pv_set_buf *buf = this_cpu_ptr(&kvm_pv_set_buf);
	unsigned long *present = (unsigned long *)buf->bank_mask;
	unsigned int bank, nr = 0;
	u32 id;
	int cpu;

	if (max >= KVM_PV_VCPU_SET_BANKS * 64)
		return -E2BIG;
	/* An NMI may have interrupted this CPU while it filled its buffer. */
	if (in_nmi())
		return -EBUSY;

	memset(buf->bank_mask, 0, sizeof(buf->bank_mask));
	memset(&buf->banks[min / 64], 0, (max / 64 - min / 64 + 1) * sizeof(u64));
	for_each_cpu(cpu, mask) {
		id = per_cpu(x86_cpu_to_apicid, cpu);
		/* See kvm_pv_set_build(): the mask may have grown since. */
		if (cpu == skip_cpu || id < min || id > max)
			continue;
		buf->banks[id / 64] |= BIT_ULL(id % 64);
		__set_bit(id / 64, present);
	}

	/* Pack the banks in place: a bank only moves down. */
	for_each_set_bit(bank, present, KVM_PV_VCPU_SET_BANKS)
		buf->banks[nr++] = buf->banks[bank];

	if (unlikely(!this_cpu_read(kvm_pv_set_pa)))
		this_cpu_write(kvm_pv_set_pa, slow_virt_to_phys(buf));

	args->a1 = this_cpu_read(kvm_pv_set_pa);
	args->a2 = struct_size_t(struct kvm_pv_vcpu_set, banks, nr);
	args->a3 = 0;
	return 0;
}

/**
 * kvm_pv_set_build - encode a CPU mask as a v2 hypercall's vCPU set
 * @mask: the CPUs
 * @skip_cpu: a CPU of @mask to leave out, or -1
 * @sparse_flag: the hypercall's flag for the memory form
 * @args: the result
 *
 * Must be called with interrupts disabled: the memory form uses this CPU's
 * buffer until the hypercall returns.
 *
 * Return: the number of CPUs in the set; -E2BIG if an APIC ID is beyond what
 * the set can name, -EBUSY if the set needs the buffer and this is an NMI.
 */
int kvm_pv_set_build(const struct cpumask *mask, int skip_cpu,
		     unsigned long sparse_flag, struct kvm_pv_set_args *args)
{
	unsigned long window[2] = {};
	u32 id, min = U32_MAX, max = 0;
	int cpu, nr = 0, ret;

	lockdep_assert_irqs_disabled();

	for_each_cpu(cpu, mask) {
		if (cpu == skip_cpu)
			continue;
		id = per_cpu(x86_cpu_to_apicid, cpu);
		min = min(min, id);
		max = max(max, id);
		nr++;
	}
	if (!nr)
		return 0;

	if (max - min >= 2 * BITS_PER_LONG) {
		ret = kvm_pv_set_build_sparse(mask, skip_cpu, min, max, args);
		args->sparse = sparse_flag;
		return ret ? ret : nr;
	}

	/*
	 * The mask can change under us (cpu_online_mask, for "all but self"
	 * without shorthands): a CPU that came online since the first walk
	 * is left out rather than written outside the window.
	 */
	for_each_cpu(cpu, mask) {
		id = per_cpu(x86_cpu_to_apicid, cpu);
		if (cpu != skip_cpu && id >= min && id <= max)
			__set_bit(id - min, window);
	}
	args->sparse = 0;
	args->a1 = window[0];
	args->a2 = window[1];
	args->a3 = min;
	return nr;
}
