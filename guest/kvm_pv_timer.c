// SPDX-License-Identifier: GPL-2.0
/*
 * PV timer for KVM guests: move the TSC deadline later without an exit.
 *
 * Each CPU shares a cache line with the host (struct kvm_pv_timer,
 * registered with MSR_KVM_PV_TIMER). To program deadline d, we store it in
 * the line, fence, and load the deadline the host's timer is armed for. If
 * that is no later than d and not yet past, the host will read our deadline
 * when its timer fires, re-arm for it, and deliver nothing early: no WRMSR,
 * no exit. Otherwise we write MSR_IA32_TSC_DEADLINE as before, and the host
 * takes that as our new deadline.
 *
 * The fence is smp_mb(), a locked instruction, because this is store
 * buffering: we store deadline and load armed, while the host stores armed
 * and loads deadline, each after a fence. weak_wrmsr_fence() would not do:
 * it is empty on AMD and Hygon. The host's side and the argument are in
 * arch/x86/kvm/pv/timer.c and Documentation/virt/kvm/x86/pv-v2.rst.
 *
 * A cancel (a 0 deadline, from lapic_timer_shutdown()) never exits: the
 * host finds 0 when its timer fires and delivers nothing.
 *
 * The line also holds our tick period, in TSC cycles. A host that reads it
 * (KVM_PV_TIMER_F_PERIOD) arms for our next tick when it delivers a
 * deadline, so the handler's re-arm of the tick is later than armed and
 * does not exit either. Without it, every tick would cost that exit.
 *
 * Each CPU registers its line when it comes online (kvm_guest_cpu_init())
 * and unregisters it first thing when it goes offline, on reboot, kexec,
 * crash and suspend (kvm_guest_cpu_offline()). The host then makes the
 * deadline in the line the MSR's, so a deadline set without an exit still
 * fires. Until a CPU has registered, and after it has unregistered, its
 * deadlines go to the MSR.
 */

#define pr_fmt(fmt) "kvm-guest: " fmt

#include <linux/cache.h>
#include <linux/debugfs.h>
#include <linux/init.h>
#include <linux/irqflags.h>
#include <linux/jiffies.h>
#include <linux/kvm_para.h>
#include <linux/math64.h>
#include <linux/percpu.h>
#include <linux/printk.h>
#include <linux/seq_file.h>
#include <asm/apic.h>
#include <asm/cpufeature.h>
#include <asm/kvm_pv_v2.h>
#include <asm/mem_encrypt.h>
#include <asm/msr.h>
#include <asm/set_memory.h>
#include <asm/tsc.h>

static DEFINE_PER_CPU_DECRYPTED(struct kvm_pv_timer, kvm_pv_timer_area) __aligned(64);
static DEFINE_PER_CPU(bool, kvm_pv_timer_on);

struct kvm_pv_timer_stats {
	unsigned long programs;	/* deadlines programmed while registered */
	unsigned long exits;	/* of which went to the MSR */
};

static DEFINE_PER_CPU(struct kvm_pv_timer_stats, kvm_pv_timer_stats);

static bool pv_timer_off __initdata;
static bool pv_timer_set_up __ro_after_init;

static int __init parse_no_kvm_pv_timer(char *arg)
{
	pv_timer_off = true;
	return 0;
}
early_param("no-kvm-pv-timer", parse_no_kvm_pv_timer);

/*
 * The lapic clockevent uses TSC deadlines only with this CPUID bit, and the
 * host reads our deadline with one 8-byte load: 64-bit kernels only.
 */
bool __init kvm_pv_timer_supported(void)
{
	return IS_ENABLED(CONFIG_X86_64) &&
	       kvm_para_has_feature(KVM_FEATURE_PV_TIMER) && !pv_timer_off &&
	       boot_cpu_has(X86_FEATURE_TSC_DEADLINE_TIMER);
}

/*
 * lapic_deadline_set_pv()'s callback: interrupts are off, and this is the
 * CPU whose timer @deadline is for (clockevents_program_event(), or
 * lapic_timer_shutdown() with 0). No NMI programs the clockevent, so the
 * line has one writer.
 */
static bool kvm_pv_timer_program(u64 deadline, u64 now)
{
	struct kvm_pv_timer *t;
	u64 armed;

	if (!this_cpu_read(kvm_pv_timer_on))
		return false;

	t = this_cpu_ptr(&kvm_pv_timer_area);
	WRITE_ONCE(t->deadline, deadline);
	/*
	 * G1: the store above before the load below. Pairs with the host's
	 * fence between its store of armed and its load of deadline.
	 */
	smp_mb();
	armed = READ_ONCE(t->armed);

	if (!deadline)
		return true;		/* a cancel never needs the MSR */

	this_cpu_inc(kvm_pv_timer_stats.programs);
	/*
	 * The host reads our deadline at armed at the latest: enough if that
	 * is no later than ours. An armed deadline already past (G2) may be
	 * one the host cannot see being replaced (a deferred update, or an
	 * area the host forgot across a migration): take the MSR then.
	 */
	if (armed && deadline >= armed && armed > now)
		return true;

	this_cpu_inc(kvm_pv_timer_stats.exits);
	return false;
}

/* The host writes the line: SEV guests share it unencrypted. */
void __init kvm_pv_timer_map_decrypted(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
		early_set_memory_decrypted((unsigned long)&per_cpu(kvm_pv_timer_area, cpu),
					   sizeof(struct kvm_pv_timer));
}

/**
 * kvm_pv_timer_cpu_init - register this CPU's line, if set up
 *
 * From kvm_guest_cpu_init(), with interrupts off. The host fills the line
 * with the deadline the MSR has armed now, so nothing programmed before is
 * lost.
 */
void kvm_pv_timer_cpu_init(void)
{
	struct kvm_pv_timer *t = this_cpu_ptr(&kvm_pv_timer_area);
	u64 pa;

	if (!pv_timer_set_up || this_cpu_read(kvm_pv_timer_on))
		return;

	pa = slow_virt_to_phys(t);
	if (wrmsrl_safe(MSR_KVM_PV_TIMER, pa | KVM_MSR_ENABLED)) {
		pr_warn_once("cannot register the PV timer area; deadlines go to the MSR\n");
		return;
	}
	if (READ_ONCE(t->version) != KVM_PV_TIMER_VERSION) {
		wrmsrl(MSR_KVM_PV_TIMER, 0);
		pr_warn_once("PV timer area version %u, not %u; deadlines go to the MSR\n",
			     READ_ONCE(t->version), KVM_PV_TIMER_VERSION);
		return;
	}
	/* The tick is what comes after each deadline more than anything. */
	if (READ_ONCE(t->flags) & KVM_PV_TIMER_F_PERIOD)
		WRITE_ONCE(t->period, mul_u64_u32_div(TICK_NSEC, tsc_khz, USEC_PER_SEC));
	this_cpu_write(kvm_pv_timer_on, true);
}

/**
 * kvm_pv_timer_cpu_offline - unregister this CPU's line
 *
 * From kvm_guest_cpu_offline(), first thing, with interrupts off: CPU
 * offline, suspend, reboot and kexec (the SYS_RESTART notifier), crash.
 * From here, deadlines go to the MSR; the host has made ours the MSR's.
 */
void kvm_pv_timer_cpu_offline(void)
{
	if (!this_cpu_read(kvm_pv_timer_on))
		return;

	this_cpu_write(kvm_pv_timer_on, false);
	wrmsrl(MSR_KVM_PV_TIMER, 0);
}

/**
 * kvm_pv_timer_setup - program TSC deadlines through the PV timer area
 *
 * From kvm_guest_init(), before the local APIC timers are set up and
 * before the boot CPU registers its line (kvm_smp_prepare_boot_cpu()).
 */
void __init kvm_pv_timer_setup(void)
{
	lapic_deadline_set_pv(kvm_pv_timer_program);
	pv_timer_set_up = true;
	pr_info("KVM setup PV timer\n");
}

#ifdef CONFIG_DEBUG_FS
/* Totals for the L2 tests and the bench: programs, and exits among them. */
static int kvm_pv_timer_stats_show(struct seq_file *m, void *v)
{
	unsigned long programs = 0, exits = 0;
	int cpu;

	for_each_possible_cpu(cpu) {
		programs += per_cpu(kvm_pv_timer_stats.programs, cpu);
		exits += per_cpu(kvm_pv_timer_stats.exits, cpu);
	}
	seq_printf(m, "programs %lu\nexits %lu\n", programs, exits);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kvm_pv_timer_stats);

static int __init kvm_pv_timer_debugfs_init(void)
{
	if (pv_timer_set_up)
		debugfs_create_file("kvm_pv_timer", 0444, NULL, NULL,
				    &kvm_pv_timer_stats_fops);
	return 0;
}
late_initcall(kvm_pv_timer_debugfs_init);
#endif
