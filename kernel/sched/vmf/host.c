// SPDX-License-Identifier: GPL-2.0
/*
 * SCHED_VMF: the host's guaranteed share.
 *
 * Host tasks stay in the fair class, and 6.12's fair server already lets
 * them run when a higher class would starve them. Its default, 50 ms every
 * second, is a 5% share handed out in one block: under vCPU hogs that is
 * a 50 ms hole in a vCPU's run time. VMF keeps the share but shortens the
 * block: the fair server defaults to host_runtime per host_period (1 ms
 * per 20 ms), and kernel.sched_vmf_host_{runtime,period}_us change it on
 * every CPU at once.
 */
#include <linux/sysctl.h>

static unsigned int sysctl_sched_vmf_host_runtime_us = 1000;
static unsigned int sysctl_sched_vmf_host_period_us = 20000;

/* The fair server's own limits, see kernel/sched/debug.c. */
#define HOST_PERIOD_MIN_US	100
#define HOST_PERIOD_MAX_US	4194304	/* about 4 s */

u64 vmf_host_runtime_ns(void)
{
	return (u64)READ_ONCE(sysctl_sched_vmf_host_runtime_us) * NSEC_PER_USEC;
}

u64 vmf_host_period_ns(void)
{
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

/*
 * Apply to every CPU whose fair server has started; the others take the
 * new defaults when they start it. Returns the first error, with the CPUs
 * before it changed.
 */
static int vmf_host_apply(u64 runtime, u64 period, struct cpumask *done)
{
	int cpu, ret = 0;

	for_each_online_cpu(cpu) {
		struct rq *rq = cpu_rq(cpu);

		scoped_guard (rq_lock_irqsave, rq) {
			if (!rq->fair_server.dl_server)
				continue;
			ret = vmf_fair_server_set(rq, runtime, period);
		}
		if (ret)
			return ret;
		cpumask_set_cpu(cpu, done);
	}
	return 0;
}

static int vmf_host_reserve_handler(const struct ctl_table *table, int write,
				    void *buffer, size_t *lenp, loff_t *ppos)
{
	static DEFINE_MUTEX(mutex);
	unsigned int old_runtime, old_period;
	cpumask_var_t done;
	int cpu, ret;

	guard(mutex)(&mutex);
	old_runtime = sysctl_sched_vmf_host_runtime_us;
	old_period = sysctl_sched_vmf_host_period_us;
	ret = vmf_proc_douintvec_minmax(table, write, buffer, lenp, ppos);
	if (ret || !write)
		return ret;

	if (sysctl_sched_vmf_host_runtime_us >= sysctl_sched_vmf_host_period_us) {
		ret = -EINVAL;
		goto restore;
	}
	if (!zalloc_cpumask_var(&done, GFP_KERNEL)) {
		ret = -ENOMEM;
		goto restore;
	}

	cpus_read_lock();
	ret = vmf_host_apply(vmf_host_runtime_ns(), vmf_host_period_ns(), done);
	if (ret) {
		/* Deadline admission control said no: undo what was done. */
		for_each_cpu(cpu, done) {
			struct rq *rq = cpu_rq(cpu);

			guard(rq_lock_irqsave)(rq);
			vmf_fair_server_set(rq, (u64)old_runtime * NSEC_PER_USEC,
					    (u64)old_period * NSEC_PER_USEC);
		}
	}
	cpus_read_unlock();
	free_cpumask_var(done);
	if (!ret)
		return 0;
restore:
	sysctl_sched_vmf_host_runtime_us = old_runtime;
	sysctl_sched_vmf_host_period_us = old_period;
	return ret;
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
};

static int __init vmf_host_sysctl_init(void)
{
	register_sysctl_init("kernel", vmf_host_sysctls);
	return 0;
}
late_initcall(vmf_host_sysctl_init);
