/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_SCHED_VMF_H
#define _LINUX_SCHED_VMF_H

#include <linux/sched.h>
#include <linux/sched/prio.h>

/*
 * SCHED_VMF, the VM-first scheduling class, owns the prio band
 * [MAX_RT_PRIO, MAX_VMF_PRIO): one prio per VMF level, vm first.
 */
#define VMF_PRIO_VM		MAX_RT_PRIO
#define VMF_PRIO_VMM		(MAX_RT_PRIO + 1)

static inline bool vmf_prio(int prio)
{
	return IS_ENABLED(CONFIG_SCHED_CLASS_VMF) &&
	       prio >= MAX_RT_PRIO && prio < MAX_VMF_PRIO;
}

static inline bool vmf_task(struct task_struct *p)
{
	return vmf_prio(p->prio);
}

/* SCHED_VMF by policy: unlike vmf_task(), false for a PI-boosted task. */
static inline bool vmf_task_policy(struct task_struct *p)
{
	return IS_ENABLED(CONFIG_SCHED_CLASS_VMF) && p->policy == SCHED_VMF;
}

/*
 * DL, RT or VMF: every prio that ranks above the fair class. unlikely() as
 * in rt_or_dl_prio(), which this replaces: without SCHED_VMF the two are
 * the same test and must compile to the same code.
 */
static inline bool prio_above_fair(int prio)
{
	return unlikely(prio < MAX_VMF_PRIO);
}

#endif /* _LINUX_SCHED_VMF_H */
