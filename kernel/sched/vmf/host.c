// SPDX-License-Identifier: GPL-2.0
/*
 * SCHED_VMF: the host's guaranteed share.
 *
 * Host tasks stay in the fair class, and 6.12's fair server already lets
 * them run when a higher class would starve them. Its default, 50 ms every
 * second, is a 5% share handed out in one block: under vCPU hogs that is
 * a 50 ms hole in a vCPU's run time. VMF keeps the share but shortens the
 * block: the fair server runs host_runtime per host_period (1 ms per
 * 20 ms), and kernel.sched_vmf_host_{runtime,period}_us change it on every
 * CPU at once.
 *
 * A kernel built with SCHED_VMF but running no VMF task must not make
 * every RT user's fair server 50 times busier, so the short blocks are a
 * runtime choice, kernel.sched_vmf_host_reserve: 0 keeps the upstream
 * default, 1 uses the VMF reservation. The first SCHED_VMF task, and the
 * first cpu.vmf write of vm or vmm, turn it on; an administrator may turn
 * it off again.
 */
#include <linux/sysctl.h>
#include <linux/workqueue.h>

static unsigned int sysctl_sched_vmf_host_runtime_us = 1000;
static unsigned int sysctl_sched_vmf_host_period_us = 20000;
static unsigned int sysctl_sched_vmf_host_reserve;

/* The fair server's own limits, see kernel/sched/debug.c. */
#define HOST_PERIOD_MIN_US	100
#define HOST_PERIOD_MAX_US	4194304	/* about 4 s */

/* The fair server's upstream default, without the VMF reservation. */
#define FAIR_SERVER_RUNTIME	(50 * NSEC_PER_MSEC)
#define FAIR_SERVER_PERIOD	(1000 * NSEC_PER_MSEC)

/* Serialises every change of the three sysctls and of the servers. */
static DEFINE_MUTEX(vmf_host_mutex);

/*
 * Bumped by every change of the reservation. A CPU whose server has
 * another generation was offline meanwhile, and catches up when it comes
 * back (vmf_host_catch_up()). Servers changed through debugfs keep their
 * generation, so VMF leaves them as they are.
 */
static unsigned int vmf_host_gen = 1;

u64 vmf_host_runtime_ns(void)
{
	if (!READ_ONCE(sysctl_sched_vmf_host_reserve))
		return FAIR_SERVER_RUNTIME;
	return (u64)READ_ONCE(sysctl_sched_vmf_host_runtime_us) * NSEC_PER_USEC;
}

u64 vmf_host_period_ns(void)
{
	if (!READ_ONCE(sysctl_sched_vmf_host_reserve))
		return FAIR_SERVER_PERIOD;
	return (u64)READ_ONCE(sysctl_sched_vmf_host_period_us) * NSEC_PER_USEC;
}

/*
 * Change one CPU's fair server, with rq->lock held. Only an active server
 * may be stopped: stopping an idle one underflows the deadline class's
 * running bandwidth.
 */
static int vmf_fair_server_set(struct rq *rq, u64 runtime, u64 period)
{
	struct sched_dl_entity *server = &rq->fair_server;
	int ret;

	update_rq_clock(rq);
	if (dl_server_active(server))
		dl_server_stop(server);
	ret = dl_server_apply_params(server, runtime, period, 0);
	if (rq->cfs.h_nr_queued)
		dl_server_start(server);
	return ret;
}

/* Bring @rq's server to (@runtime, @period), rq->lock held. */
static int __vmf_host_apply(struct rq *rq, u64 runtime, u64 period)
{
	struct sched_dl_entity *server = &rq->fair_server;
	int ret = 0;

	if (server->dl_server &&
	    (server->dl_runtime != runtime || server->dl_period != period))
		ret = vmf_fair_server_set(rq, runtime, period);
	if (!ret)
		rq->vmf.host_gen = READ_ONCE(vmf_host_gen);
	return ret;
}

/* With vmf_host_mutex and the hotplug lock held. */
static int vmf_host_apply_cpu(int cpu, u64 runtime, u64 period)
{
	struct rq *rq = cpu_rq(cpu);

	guard(rq_lock_irqsave)(rq);
	return __vmf_host_apply(rq, runtime, period);
}

/*
 * sched_cpu_activate(), rq->lock held: a CPU that was offline while the
 * reservation changed catches up, now that it is back in its root domain
 * and admission control counts it.
 */
void vmf_host_catch_up(struct rq *rq)
{
	if (rq->vmf.host_gen != READ_ONCE(vmf_host_gen))
		__vmf_host_apply(rq, vmf_host_runtime_ns(), vmf_host_period_ns());
}

#ifdef CONFIG_SCHED_HRTICK
/*
 * The fair server runs host tasks ahead of waiting VMF tasks for its
 * runtime, and the deadline class charges it at the tick: a block of 1 ms
 * lasted up to a tick more, so a 5% share measured over 9% at HZ=1000, and
 * at HZ=250 no block is shorter than 4 ms. End each such block on time
 * with the hrtick. Called by __schedule() once it picked @next for @rq.
 */
void vmf_server_hrtick(struct rq *rq, struct task_struct *next)
{
	struct sched_dl_entity *server = next->dl_server;

	if (server && rq->vmf.nr_running && hrtick_enabled(rq)) {
		hrtick_start(rq, max_t(s64, server->runtime, 0));
		rq->vmf.server_hrtick = true;
	} else if (rq->vmf.server_hrtick) {
		rq->vmf.server_hrtick = false;
		/*
		 * With an HRTICK feature on, __schedule() cleared it already;
		 * a VMF task may have armed it for its own slice since.
		 */
		if (!sched_feat(HRTICK) && !sched_feat(HRTICK_DL) && !vmf_hrtick_armed(rq))
			hrtimer_try_to_cancel(&rq->hrtick_timer);
	}
}
#endif

struct vmf_host_params {
	unsigned int runtime_us, period_us, reserve;
};

static void vmf_host_params_save(struct vmf_host_params *p)
{
	p->runtime_us = sysctl_sched_vmf_host_runtime_us;
	p->period_us = sysctl_sched_vmf_host_period_us;
	p->reserve = sysctl_sched_vmf_host_reserve;
}

static void vmf_host_params_restore(const struct vmf_host_params *p)
{
	WRITE_ONCE(sysctl_sched_vmf_host_runtime_us, p->runtime_us);
	WRITE_ONCE(sysctl_sched_vmf_host_period_us, p->period_us);
	WRITE_ONCE(sysctl_sched_vmf_host_reserve, p->reserve);
}

/*
 * Bring every online CPU's server to vmf_host_*_ns(), which reflect the
 * sysctls as they are now. If deadline admission control refuses a CPU,
 * the sysctls go back to @old, and so do the CPUs done. With
 * vmf_host_mutex held.
 */
static int vmf_host_update(const struct vmf_host_params *old)
{
	u64 runtime = vmf_host_runtime_ns(), period = vmf_host_period_ns();
	cpumask_var_t done;
	int cpu, ret;

	if (!zalloc_cpumask_var(&done, GFP_KERNEL)) {
		vmf_host_params_restore(old);
		return -ENOMEM;
	}
	cpus_read_lock();
	WRITE_ONCE(vmf_host_gen, vmf_host_gen + 1);
	for_each_online_cpu(cpu) {
		ret = vmf_host_apply_cpu(cpu, runtime, period);
		if (ret)
			break;
		cpumask_set_cpu(cpu, done);
	}
	if (ret) {
		/* The offline CPUs catch up with the old values. */
		vmf_host_params_restore(old);
		WRITE_ONCE(vmf_host_gen, vmf_host_gen + 1);
		for_each_cpu(cpu, done)
			vmf_host_apply_cpu(cpu, vmf_host_runtime_ns(), vmf_host_period_ns());
	}
	cpus_read_unlock();
	free_cpumask_var(done);
	return ret;
}

static void vmf_host_reserve_work_fn(struct work_struct *work)
{
	struct vmf_host_params old;

	guard(mutex)(&vmf_host_mutex);
	if (READ_ONCE(sysctl_sched_vmf_host_reserve))
		return;
	vmf_host_params_save(&old);
	WRITE_ONCE(sysctl_sched_vmf_host_reserve, 1);
	if (vmf_host_update(&old))
		pr_warn("sched_vmf: deadline admission control refused the host reservation\n");
}

static DECLARE_WORK(vmf_host_reserve_work, vmf_host_reserve_work_fn);

/*
 * A task is about to become SCHED_VMF, or a group vm or vmm: turn the
 * reservation on, once. From process context without rq locks; the work
 * takes the locks that applying it needs.
 */
void vmf_host_reserve_enable(void)
{
	if (!READ_ONCE(sysctl_sched_vmf_host_reserve))
		schedule_work(&vmf_host_reserve_work);
}

static int vmf_host_reserve_handler(const struct ctl_table *table, int write,
				    void *buffer, size_t *lenp, loff_t *ppos)
{
	struct vmf_host_params old;
	int ret;

	guard(mutex)(&vmf_host_mutex);
	vmf_host_params_save(&old);
	ret = vmf_proc_douintvec_minmax(table, write, buffer, lenp, ppos);
	if (ret || !write)
		return ret;

	if (sysctl_sched_vmf_host_runtime_us >= sysctl_sched_vmf_host_period_us) {
		vmf_host_params_restore(&old);
		return -EINVAL;
	}
	return vmf_host_update(&old);
}

static unsigned int host_runtime_min = 1;
static unsigned int host_period_min = HOST_PERIOD_MIN_US;
static unsigned int host_period_max = HOST_PERIOD_MAX_US;

static struct ctl_table vmf_host_sysctls[] = {
	{
		.procname	= "sched_vmf_host_runtime_us",
		.data		= &sysctl_sched_vmf_host_runtime_us,
		.maxlen		= sizeof(unsigned int),
		.mode		= 0644,
		.proc_handler	= vmf_host_reserve_handler,
		.extra1		= &host_runtime_min,
		.extra2		= &host_period_max,
	},
	{
		.procname	= "sched_vmf_host_period_us",
		.data		= &sysctl_sched_vmf_host_period_us,
		.maxlen		= sizeof(unsigned int),
		.mode		= 0644,
		.proc_handler	= vmf_host_reserve_handler,
		.extra1		= &host_period_min,
		.extra2		= &host_period_max,
	},
	{
		.procname	= "sched_vmf_host_reserve",
		.data		= &sysctl_sched_vmf_host_reserve,
		.maxlen		= sizeof(unsigned int),
		.mode		= 0644,
		.proc_handler	= vmf_host_reserve_handler,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
};

static int __init vmf_host_sysctl_init(void)
{
	register_sysctl_init("kernel", vmf_host_sysctls);
	return 0;
}
late_initcall(vmf_host_sysctl_init);
