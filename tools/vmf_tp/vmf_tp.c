// SPDX-License-Identifier: GPL-2.0
/*
 * Trace events for the bare SCHED_VMF tracepoints.
 *
 * The scheduler declares its VMF tracepoints with DECLARE_TRACE, so they
 * are no tracefs ABI. This module, for tests and benchmarks, attaches to
 * them and turns each hit into a trace event of the "vmf" system, with
 * the fields and text that tracefs, perf and bpftrace readers expect:
 * events/vmf/sched_vmf_run_delay, sched_vmf_preempt and sched_vmf_migrate.
 * Unload it and nothing of it remains.
 */
#include <linux/module.h>
#include <linux/sched.h>
#include <trace/events/sched.h>

#define CREATE_TRACE_POINTS
#include "vmf_tp_events.h"

static void probe_run_delay(void *data, struct task_struct *p, int class, u64 delay)
{
	trace_sched_vmf_run_delay(p, class, delay);
}

static void probe_preempt(void *data, struct task_struct *p, int class,
			  struct task_struct *curr, int curr_class)
{
	trace_sched_vmf_preempt(p, class, curr, curr_class);
}

static void probe_migrate(void *data, struct task_struct *p, int class,
			  int orig_cpu, int dest_cpu, int reason)
{
	trace_sched_vmf_migrate(p, class, orig_cpu, dest_cpu, reason);
}

static int __init vmf_tp_init(void)
{
	int ret;

	ret = register_trace_sched_vmf_run_delay_tp(probe_run_delay, NULL);
	if (ret)
		return ret;
	ret = register_trace_sched_vmf_preempt_tp(probe_preempt, NULL);
	if (ret)
		goto out_run_delay;
	ret = register_trace_sched_vmf_migrate_tp(probe_migrate, NULL);
	if (ret)
		goto out_preempt;
	return 0;

out_preempt:
	unregister_trace_sched_vmf_preempt_tp(probe_preempt, NULL);
out_run_delay:
	unregister_trace_sched_vmf_run_delay_tp(probe_run_delay, NULL);
	tracepoint_synchronize_unregister();
	return ret;
}

static void __exit vmf_tp_exit(void)
{
	unregister_trace_sched_vmf_migrate_tp(probe_migrate, NULL);
	unregister_trace_sched_vmf_preempt_tp(probe_preempt, NULL);
	unregister_trace_sched_vmf_run_delay_tp(probe_run_delay, NULL);
	/* No probe may still run when the module's text goes away. */
	tracepoint_synchronize_unregister();
}

module_init(vmf_tp_init);
module_exit(vmf_tp_exit);
MODULE_DESCRIPTION("Trace events for the SCHED_VMF tracepoints");
MODULE_LICENSE("GPL");
