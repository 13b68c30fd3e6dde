// SPDX-License-Identifier: GPL-2.0
/*
 * PV IPI v2 for KVM guests: one KVM_HC_SEND_IPI_V2 per multicast IPI,
 * whatever the span of the targets' APIC IDs, and one per call-function
 * IPI together with the directed yield that upstream makes a second
 * hypercall for.
 *
 * Which path an IPI takes:
 * - one target, x2APIC: the native ICR write. It costs one exit, as the
 *   hypercall does, and it is what IPI virtualization (Intel IPIv, AMD
 *   x2AVIC) delivers with no exit at all;
 * - one target, xAPIC: the hypercall, one exit where the native path
 *   writes ICR2 and ICR, two;
 * - any other set: the hypercall, one exit;
 * - call-function IPIs, any set: the hypercall with KVM_SEND_IPI_V2_YIELD,
 *   unless the host says its vCPUs have dedicated CPUs (KVM_HINTS_REALTIME).
 * If the host refuses the hypercall (it can be turned off at run time), the
 * IPI goes out natively, one target at a time.
 */

#define pr_fmt(fmt) "kvm-guest: " fmt

#include <linux/init.h>
#include <linux/irqflags.h>
#include <linux/kvm_para.h>
#include <linux/printk.h>
#include <asm/apic.h>
#include <asm/irq_vectors.h>
#include <asm/kvm_pv_v2.h>
#include <asm/smp.h>

static bool pv_ipi_v2_off __initdata;
static bool pv_ipi_v2_refused __read_mostly;
static unsigned long pv_ipi_v2_yield __read_mostly;
/* The APIC driver's own, for the fallback: apic->send_IPI may be ours. */
static void (*pv_ipi_v2_native_send_IPI)(int cpu, int vector) __ro_after_init;

static int __init parse_no_kvm_pv_ipi_v2(char *arg)
{
	pv_ipi_v2_off = true;
	return 0;
}
early_param("no-kvm-pv-ipi-v2", parse_no_kvm_pv_ipi_v2);

bool __init kvm_pv_ipi_v2_supported(void)
{
	return kvm_para_has_feature(KVM_FEATURE_PV_IPI_V2) && !pv_ipi_v2_off &&
	       num_possible_cpus() > 1;
}

static void kvm_pv_ipi_v2_fallback(const struct cpumask *mask, int vector, int skip_cpu)
{
	int cpu;

	for_each_cpu(cpu, mask) {
		if (cpu != skip_cpu)
			pv_ipi_v2_native_send_IPI(cpu, vector);
	}
}

static void kvm_pv_ipi_v2_send(const struct cpumask *mask, int vector,
			       int skip_cpu, unsigned long yield)
{
	struct kvm_pv_set_args args;
	unsigned long flags, a0;
	long ret = 0;
	int nr;

	if (READ_ONCE(pv_ipi_v2_refused))
		goto fallback;

	a0 = vector == NMI_VECTOR ? KVM_SEND_IPI_V2_MODE_NMI : vector;
	local_irq_save(flags);
	nr = kvm_pv_set_build(mask, skip_cpu, KVM_SEND_IPI_V2_SPARSE, &args);
	if (nr == 1 && !yield && x2apic_mode) {
		local_irq_restore(flags);
		goto fallback;
	}
	if (nr > 0)
		ret = kvm_hypercall4(KVM_HC_SEND_IPI_V2, a0 | yield | args.sparse,
				     args.a1, args.a2, args.a3);
	local_irq_restore(flags);
	if (likely(nr >= 0 && ret >= 0))
		return;

	if (ret < 0) {
		/* Turned off on the host, or a VM with no in-kernel APIC. */
		if (ret == -KVM_ENOSYS || ret == -KVM_EOPNOTSUPP)
			WRITE_ONCE(pv_ipi_v2_refused, true);
		pr_warn_once("KVM_HC_SEND_IPI_V2 failed (%ld); sending IPIs natively\n", ret);
	}
fallback:
	kvm_pv_ipi_v2_fallback(mask, vector, skip_cpu);
}

static void kvm_pv_ipi_v2_send_one(int cpu, int vector)
{
	kvm_pv_ipi_v2_send(cpumask_of(cpu), vector, -1, 0);
}

static void kvm_pv_ipi_v2_send_mask(const struct cpumask *mask, int vector)
{
	kvm_pv_ipi_v2_send(mask, vector, -1, 0);
}

static void kvm_pv_ipi_v2_send_mask_allbutself(const struct cpumask *mask, int vector)
{
	kvm_pv_ipi_v2_send(mask, vector, smp_processor_id(), 0);
}

static void kvm_pv_ipi_v2_send_call_func_ipi(const struct cpumask *mask)
{
	kvm_pv_ipi_v2_send(mask, CALL_FUNCTION_VECTOR, -1, pv_ipi_v2_yield);
}

void __init kvm_pv_ipi_v2_setup(void)
{
	pv_ipi_v2_native_send_IPI = apic->send_IPI;
	/* Reschedule and single call-function IPIs, among others. */
	if (!x2apic_mode)
		apic_update_callback(send_IPI, kvm_pv_ipi_v2_send_one);
	apic_update_callback(send_IPI_mask, kvm_pv_ipi_v2_send_mask);
	apic_update_callback(send_IPI_mask_allbutself, kvm_pv_ipi_v2_send_mask_allbutself);
	pr_info("KVM setup PV IPIs v2\n");
}

/* Yielding to a target only helps where vCPUs share physical CPUs. */
void __init kvm_pv_ipi_v2_setup_call_func(void)
{
	if (!kvm_para_has_hint(KVM_HINTS_REALTIME))
		pv_ipi_v2_yield = KVM_SEND_IPI_V2_YIELD;
	smp_ops.send_call_func_ipi = kvm_pv_ipi_v2_send_call_func_ipi;
	pr_info("KVM setup PV IPIs v2 for call-function IPIs%s\n",
		pv_ipi_v2_yield ? ", with directed yield" : "");
}
