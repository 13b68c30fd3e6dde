/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The trace events of vmf_tp.c: one per bare SCHED_VMF tracepoint, with
 * the same arguments.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM vmf

#if !defined(_VMF_TP_EVENTS_H) || defined(TRACE_HEADER_MULTI_READ)
#define _VMF_TP_EVENTS_H

#include <linux/sched.h>
#include <linux/tracepoint.h>

#define show_vmf_class(c)						\
	__print_symbolic(c, { 0, "vm" }, { 1, "vmm" }, { 2, "host" },	\
			 { 3, "batch" })

/*
 * Tracepoint for the run delay of a SCHED_VMF task: the time from its
 * wakeup or preemption to its getting the CPU.
 */
TRACE_EVENT(sched_vmf_run_delay,

	TP_PROTO(struct task_struct *p, int class, u64 delay),

	TP_ARGS(p, class, delay),

	TP_STRUCT__entry(
		__array(char, comm, TASK_COMM_LEN)
		__field(pid_t, pid)
		__field(int, class)
		__field(int, cpu)
		__field(u64, delay)
	),

	TP_fast_assign(
		memcpy(__entry->comm, p->comm, TASK_COMM_LEN);
		__entry->pid	= p->pid;
		__entry->class	= class;
		__entry->cpu	= task_cpu(p);
		__entry->delay	= delay;
	),

	TP_printk("comm=%s pid=%d class=%s cpu=%d delay=%llu [ns]",
		  __entry->comm, __entry->pid, show_vmf_class(__entry->class),
		  __entry->cpu, (unsigned long long)__entry->delay)
);

/*
 * Tracepoint for a SCHED_VMF task that becomes runnable on a CPU running
 * a task of a lower class, which it preempts.
 */
TRACE_EVENT(sched_vmf_preempt,

	TP_PROTO(struct task_struct *p, int class,
		 struct task_struct *curr, int curr_class),

	TP_ARGS(p, class, curr, curr_class),

	TP_STRUCT__entry(
		__array(char, comm, TASK_COMM_LEN)
		__field(pid_t, pid)
		__field(int, class)
		__array(char, curr_comm, TASK_COMM_LEN)
		__field(pid_t, curr_pid)
		__field(int, curr_class)
		__field(int, cpu)
	),

	TP_fast_assign(
		memcpy(__entry->comm, p->comm, TASK_COMM_LEN);
		__entry->pid		= p->pid;
		__entry->class		= class;
		memcpy(__entry->curr_comm, curr->comm, TASK_COMM_LEN);
		__entry->curr_pid	= curr->pid;
		__entry->curr_class	= curr_class;
		__entry->cpu		= task_cpu(p);
	),

	TP_printk("comm=%s pid=%d class=%s preempts comm=%s pid=%d class=%s cpu=%d",
		  __entry->comm, __entry->pid, show_vmf_class(__entry->class),
		  __entry->curr_comm, __entry->curr_pid,
		  show_vmf_class(__entry->curr_class), __entry->cpu)
);

/*
 * Tracepoint for a SCHED_VMF task placed on another CPU: at wakeup, or
 * pushed or pulled while it waits.
 */
TRACE_EVENT(sched_vmf_migrate,

	TP_PROTO(struct task_struct *p, int class, int orig_cpu, int dest_cpu,
		 int reason),

	TP_ARGS(p, class, orig_cpu, dest_cpu, reason),

	TP_STRUCT__entry(
		__array(char, comm, TASK_COMM_LEN)
		__field(pid_t, pid)
		__field(int, class)
		__field(int, orig_cpu)
		__field(int, dest_cpu)
		__field(int, reason)
	),

	TP_fast_assign(
		memcpy(__entry->comm, p->comm, TASK_COMM_LEN);
		__entry->pid		= p->pid;
		__entry->class		= class;
		__entry->orig_cpu	= orig_cpu;
		__entry->dest_cpu	= dest_cpu;
		__entry->reason		= reason;
	),

	TP_printk("comm=%s pid=%d class=%s orig_cpu=%d dest_cpu=%d reason=%s",
		  __entry->comm, __entry->pid, show_vmf_class(__entry->class),
		  __entry->orig_cpu, __entry->dest_cpu,
		  __print_symbolic(__entry->reason, { 0, "wakeup" },
				   { 1, "push" }, { 2, "pull" }))
);
#endif /* _VMF_TP_EVENTS_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE vmf_tp_events
#include <trace/define_trace.h>
