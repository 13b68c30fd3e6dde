// SPDX-License-Identifier: GPL-2.0
/*
 * PV TLB shootdown v2 for KVM guests: one KVM_HC_FLUSH_TLB_V2 per remote
 * flush, and no IPI, whatever the targets and whether they run.
 *
 * Upstream's PV flush (kvm_flush_tlb_multi()) only spares the targets that
 * steal time says are preempted, and flushes all of their TLB when they run
 * again. Every running target still takes an IPI, and the sender waits for
 * all of them. Here the host queues the flush on every target and makes each
 * one drain its queue before it next enters the guest. The sender waits only
 * for the targets that are in guest mode to be kicked out of it, which takes
 * microseconds, never for one to be scheduled. Ranges are kept: the host
 * flushes a range of up to 64 pages as a range (see the host side,
 * arch/x86/kvm/pv/tlb.c, for when it flushes everything instead).
 *
 * Which CPUs are flushed follows native_flush_tlb_multi(): lazy CPUs are
 * left out unless page tables were freed. This CPU flushes itself with
 * flush_tlb_func(), which keeps its tlb_gen bookkeeping. The others' is
 * not kept, as for upstream's preempted targets and for Hyper-V guests:
 * their next flush of that mm, or their switch back to it, is a full one,
 * which can only add flushes.
 *
 * Page tables: lockless walkers (GUP-fast) keep tables alive by disabling
 * interrupts, which holds off the IPI that native sends before it frees a
 * table. No IPI comes here, so tables must be freed after an RCU grace
 * period instead: tlb_remove_table(), as upstream's PV flush does. A walker
 * with interrupts off is an RCU reader, even when its vCPU is preempted.
 *
 * If the host refuses the hypercall (it can turn it off at run time), the
 * flush, and every later one, goes upstream's way: the fallback that
 * kvm_guest_init() chose, kvm_flush_tlb_multi() or native_flush_tlb_multi().
 */

#define pr_fmt(fmt) "kvm-guest: " fmt

#include <linux/cpumask.h>
#include <linux/init.h>
#include <linux/irqflags.h>
#include <linux/kvm_para.h>
#include <linux/lockdep.h>
#include <linux/math.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/printk.h>
#include <linux/smp.h>
#include <linux/topology.h>
#include <linux/vmstat.h>
#include <asm/cpufeature.h>
#include <asm/kvm_pv_v2.h>
#include <asm/paravirt.h>
#include <asm/tlb.h>
#include <asm/tlbflush.h>
#include <trace/events/tlb.h>

static bool pv_tlb_v2_off __initdata;
/* Set once every CPU has a target mask; cleared for good if the host refuses. */
static bool pv_tlb_v2_active __read_mostly;
static bool pv_tlb_v2_set_up __initdata;
static void (*pv_tlb_v2_fallback)(const struct cpumask *cpumask,
				  const struct flush_tlb_info *info) __ro_after_init;
/*
 * The CPUs a flush goes to, a snapshot: mm_cpumask() and cpu_online_mask
 * change under us, and kvm_pv_set_build() reads its mask twice. Both users
 * run in task context with preemption off, as on_each_cpu() requires of
 * the paths they replace, and neither calls the other, so one per CPU is
 * enough.
 */
static DEFINE_PER_CPU(cpumask_var_t, pv_tlb_v2_targets);

static int __init parse_no_kvm_pv_tlb_v2(char *arg)
{
	pv_tlb_v2_off = true;
	return 0;
}
early_param("no-kvm-pv-tlb-v2", parse_no_kvm_pv_tlb_v2);

/*
 * Upstream's conditions for its PV flush (pv_tlb_flush_supported()), less
 * steal time, which v2 does not use. Where the host says vCPUs have CPUs of
 * their own (KVM_HINTS_REALTIME), or the guest idles in MWAIT, targets are
 * nearly always in guest mode: each then costs a kick, an exit, where a
 * posted-interrupt IPI costs none.
 */
bool __init kvm_pv_tlb_v2_supported(void)
{
	return kvm_para_has_feature(KVM_FEATURE_PV_TLB_FLUSH_V2) && !pv_tlb_v2_off &&
	       !kvm_para_has_hint(KVM_HINTS_REALTIME) &&
	       !boot_cpu_has(X86_FEATURE_MWAIT) && num_possible_cpus() > 1;
}

/*
 * Describe a flush of the pages from @start to @end, 1 << @stride_shift
 * apart, as flush_tlb_func() would flush them one by one, into @a0. What the
 * host cannot take as a range, more than 64 pages or a stride other than
 * 4K, 2M or 1G, becomes a flush of everything. Returns false if there is no
 * page to flush.
 */
static bool kvm_pv_tlb_v2_range(unsigned long start, unsigned long end,
				unsigned int stride_shift, unsigned long *a0)
{
	unsigned long nr;

	if (end == TLB_FLUSH_ALL)
		goto all;

	switch (stride_shift) {
	case 12:
		*a0 |= KVM_FLUSH_TLB_V2_STRIDE_4K;
		break;
	case 21:
		*a0 |= KVM_FLUSH_TLB_V2_STRIDE_2M;
		break;
	case 30:
		*a0 |= KVM_FLUSH_TLB_V2_STRIDE_1G;
		break;
	default:
		goto all;
	}

	if (end <= start)
		return false;
	nr = DIV_ROUND_UP(end - start, 1UL << stride_shift);
	if (nr > KVM_FLUSH_TLB_V2_NR + 1)
		goto all;

	*a0 |= (start & PAGE_MASK) | (nr - 1);
	return true;

all:
	*a0 &= ~KVM_FLUSH_TLB_V2_STRIDE;
	*a0 |= KVM_FLUSH_TLB_V2_ALL;
	return true;
}

/*
 * One KVM_HC_FLUSH_TLB_V2 of @a0 to @targets, with interrupts off: the set
 * may be in this CPU's buffer, which PV IPI v2 also uses from interrupts.
 * 0 if it flushed them all, else why not: -E2BIG or -EBUSY from
 * kvm_pv_set_build(), or the host's -KVM_E* code.
 */
static long kvm_pv_tlb_v2_hypercall(const struct cpumask *targets, unsigned long a0)
{
	struct kvm_pv_set_args args;
	long ret;
	int nr;

	lockdep_assert_irqs_disabled();

	nr = kvm_pv_set_build(targets, -1, KVM_FLUSH_TLB_V2_SPARSE, &args);
	if (nr <= 0)
		return nr;

	ret = kvm_hypercall4(KVM_HC_FLUSH_TLB_V2, a0 | args.sparse,
			     args.a1, args.a2, args.a3);
	return ret < 0 ? ret : 0;
}

static void kvm_pv_tlb_v2_failed(long ret)
{
	/*
	 * Turned off on the host, or a VM without an in-kernel APIC: that
	 * will not change, so stop trying. Anything else is a bug on one
	 * side; this flush goes the other way, and the next tries again.
	 */
	if (ret == -KVM_ENOSYS || ret == -KVM_EOPNOTSUPP)
		WRITE_ONCE(pv_tlb_v2_active, false);
	pr_warn_once("PV TLB flush v2 failed (%ld); flushing with %ps\n",
		     ret, pv_tlb_v2_fallback);
}

/* pv_ops.mmu.flush_tlb_multi(); preemption is off (flush_tlb_mm_range()). */
static void kvm_pv_tlb_v2_flush_multi(const struct cpumask *cpumask,
				      const struct flush_tlb_info *info)
{
	int cpu, self = smp_processor_id();
	struct cpumask *targets;
	unsigned long flags, a0;
	bool ranged;
	long ret;

	if (!READ_ONCE(pv_tlb_v2_active)) {
		pv_tlb_v2_fallback(cpumask, info);
		return;
	}

	/* Count and trace as native does, so shootdowns compare across modes. */
	count_vm_tlb_event(NR_TLB_REMOTE_FLUSH);
	trace_tlb_flush(TLB_REMOTE_SEND_IPI, info->end == TLB_FLUSH_ALL ? TLB_FLUSH_ALL :
			(info->end - info->start) >> PAGE_SHIFT);

	targets = this_cpu_cpumask_var_ptr(pv_tlb_v2_targets);
	cpumask_clear(targets);
	for_each_cpu(cpu, cpumask) {
		/*
		 * Native's rule (on_each_cpu_cond_mask() only calls online
		 * CPUs): a lazy CPU flushes when it next switches mm, unless
		 * page tables were freed, which it could be walking
		 * speculatively right now.
		 */
		if (cpu != self && cpu_online(cpu) &&
		    (info->freed_tables || should_flush_tlb(cpu, (void *)info)))
			__cpumask_set_cpu(cpu, targets);
	}

	a0 = info->freed_tables ? KVM_FLUSH_TLB_V2_FREED_TABLES : 0;
	ranged = kvm_pv_tlb_v2_range(info->start, info->end, info->stride_shift, &a0);

	local_irq_save(flags);
	/* flush_tlb_func() wants interrupts off; the hypercall needs them off. */
	if (cpumask_test_cpu(self, cpumask))
		flush_tlb_func((void *)info);
	ret = ranged ? kvm_pv_tlb_v2_hypercall(targets, a0) : 0;
	local_irq_restore(flags);
	if (likely(!ret))
		return;

	kvm_pv_tlb_v2_failed(ret);
	/* This CPU is done; the others get what upstream would send them. */
	pv_tlb_v2_fallback(targets, info);
}

/*
 * Kernel ranges: yes, through v2. flush_tlb_kernel_range() and
 * flush_tlb_all() IPI every online CPU with on_each_cpu(): each halted vCPU
 * is woken for it (a wakeup and two exits), and the caller waits for every
 * preempted one to be scheduled. The main caller is the lazy vmap purge,
 * which flushes a range on all CPUs while most of them may be idle. Here
 * halted and preempted vCPUs cost nothing until they run again.
 *
 * GLOBAL tells the host that global and every PCID's mappings must go (PTI
 * maps the kernel under the user PCID too). The range is passed on all
 * the same, as a host may make use of it; KVM flushes everything for now.
 */
static bool kvm_pv_tlb_v2_flush_kernel(const struct flush_tlb_info *info)
{
	unsigned long flags, a0 = KVM_FLUSH_TLB_V2_GLOBAL;
	struct cpumask *targets;
	long ret;

	if (!READ_ONCE(pv_tlb_v2_active))
		return false;

	/* do_kernel_range_flush() steps a page at a time; info's stride is 0. */
	if (info && !kvm_pv_tlb_v2_range(info->start, info->end, PAGE_SHIFT, &a0))
		return true;
	if (!info)
		a0 |= KVM_FLUSH_TLB_V2_ALL;

	/* Hotplug: a CPU that comes online later flushes as it does natively. */
	targets = this_cpu_cpumask_var_ptr(pv_tlb_v2_targets);
	cpumask_copy(targets, cpu_online_mask);
	__cpumask_clear_cpu(smp_processor_id(), targets);

	local_irq_save(flags);
	ret = kvm_pv_tlb_v2_hypercall(targets, a0);
	local_irq_restore(flags);
	if (likely(!ret))
		return true;

	kvm_pv_tlb_v2_failed(ret);
	return false;
}

/**
 * kvm_pv_tlb_v2_setup - flush remote TLBs with KVM_HC_FLUSH_TLB_V2
 * @fallback: upstream's flush_tlb_multi(), for when the host refuses
 *
 * Called from kvm_guest_init(), before pv_ops calls are patched at boot:
 * a refusal at run time cannot restore the pv_ops, so it goes through
 * @fallback.
 */
void __init kvm_pv_tlb_v2_setup(void (*fallback)(const struct cpumask *cpumask,
						  const struct flush_tlb_info *info))
{
	pv_tlb_v2_fallback = fallback;
	pv_ops.mmu.flush_tlb_multi = kvm_pv_tlb_v2_flush_multi;
	pv_ops.mmu.tlb_remove_table = tlb_remove_table;
	pv_tlb_v2_set_up = true;
	pr_info("KVM setup PV TLB flush v2\n");
}

/*
 * Early, so before smp_init(): no other CPU can be flushed until then, and
 * until this runs, flushes take the fallback.
 */
static int __init kvm_pv_tlb_v2_init(void)
{
	int cpu;

	if (!pv_tlb_v2_set_up)
		return 0;

	for_each_possible_cpu(cpu) {
		if (!zalloc_cpumask_var_node(per_cpu_ptr(&pv_tlb_v2_targets, cpu),
					     GFP_KERNEL, cpu_to_node(cpu)))
			goto nomem;
	}

	WRITE_ONCE(pv_tlb_v2_active, true);
	flush_tlb_kernel_set_pv(kvm_pv_tlb_v2_flush_kernel);
	return 0;

nomem:
	for_each_possible_cpu(cpu)
		free_cpumask_var(per_cpu(pv_tlb_v2_targets, cpu));
	pr_warn("no memory for PV TLB flush v2; flushing with %ps\n", pv_tlb_v2_fallback);
	return 0;
}
early_initcall(kvm_pv_tlb_v2_init);
