// SPDX-License-Identifier: GPL-2.0
/*
 * SCHED_VMF: the VM-first scheduling class.
 *
 * VMF sits between the RT and fair classes and serves two levels of tasks:
 * "vm" (vCPU threads) and, below it, "vmm" (VMM helpers: emulator, I/O and
 * vhost threads). Everything else stays in the fair class. A runnable vm
 * task therefore preempts host work at once, and only stop, deadline and
 * RT tasks, interrupts and the fair server's bounded reservation can
 * delay it.
 *
 * Within a level, tasks share the CPU by weight (nice) with weighted fair
 * queueing on a per-level virtual runtime: the task with the smallest
 * vruntime runs, for at most one slice while others wait. A waking task
 * is credited at most half a slice of lag, so a vCPU that sleeps often
 * runs as soon as it wakes without being able to bank unbounded credit.
 *
 * The vmm level would starve under vm hogs, and the fair server does not
 * serve it, so VMF reserves vmm_runtime per vmm_period for it: once vmm
 * tasks have waited (vmm_period - vmm_runtime), they run ahead of vm tasks
 * until they used vmm_runtime or went to sleep (a deferred reservation,
 * like the fair server's).
 *
 * On SMP, a waking task goes to a CPU where nothing of its level or above
 * runs: its previous CPU, an idle one, or one running only host work,
 * which it preempts. A CPU where a VMF task waits while it could run
 * elsewhere is marked overloaded in its root domain; it pushes the waiter
 * to such a CPU, and CPUs that run out of VMF work pull it, as RT does.
 * The time VMF tasks run is tracked with PELT and taken off the capacity
 * the fair class sees, so that host work moves away from busy vCPUs.
 *
 * See Documentation/scheduler/sched-vmf.rst.
 */
#include <linux/sched/vmf.h>
#include <linux/sysctl.h>

/* Tunables, in microseconds for the sysctl interface. */
unsigned int sysctl_sched_vmf_slice_us = 3000;
unsigned int sysctl_sched_vmf_vmm_runtime_us = 1000;
unsigned int sysctl_sched_vmf_vmm_period_us = 20000;

#define VMF_SLICE_MIN_US	100
#define VMF_SLICE_MAX_US	100000

static inline struct sched_vmf_entity *vmf_se(struct task_struct *p)
{
	return &p->vmf;
}

static inline struct task_struct *vmf_task_of(struct sched_vmf_entity *se)
{
	return container_of(se, struct task_struct, vmf);
}

static inline int vmf_level_of(const struct task_struct *p)
{
	return p->prio == VMF_PRIO_VM ? VMF_LEVEL_VM : VMF_LEVEL_VMM;
}

/* The task classes as the sched_vmf_* tracepoints number them. */
enum vmf_trace_class {
	VMF_TRACE_VM,
	VMF_TRACE_VMM,
	VMF_TRACE_HOST,
	VMF_TRACE_BATCH,
};

static int vmf_trace_class(struct task_struct *p)
{
	if (vmf_task(p))
		return vmf_level_of(p) == VMF_LEVEL_VM ? VMF_TRACE_VM : VMF_TRACE_VMM;
	return task_has_idle_policy(p) ? VMF_TRACE_BATCH : VMF_TRACE_HOST;
}

enum vmf_migrate_reason {
	VMF_MIGRATE_WAKEUP,
	VMF_MIGRATE_PUSH,
	VMF_MIGRATE_PULL,
};

static inline struct vmf_level *vmf_level(struct rq *rq, struct task_struct *p)
{
	return &rq->vmf.level[vmf_level_of(p)];
}

static inline u64 vmf_slice(struct task_struct *p)
{
	if (p->vmf.custom_slice)
		return p->vmf.slice;
	return (u64)READ_ONCE(sysctl_sched_vmf_slice_us) * NSEC_PER_USEC;
}

/* Half a slice of lag credit for wakers; a quarter slice to preempt. */
static inline u64 vmf_wakeup_credit(void)
{
	return (u64)READ_ONCE(sysctl_sched_vmf_slice_us) * NSEC_PER_USEC / 2;
}

static inline u64 vmf_wakeup_gran(void)
{
	return (u64)READ_ONCE(sysctl_sched_vmf_slice_us) * NSEC_PER_USEC / 4;
}

static inline bool vruntime_before(u64 a, u64 b)
{
	return (s64)(a - b) < 0;
}

static bool vmf_se_less(struct rb_node *a, const struct rb_node *b)
{
	struct sched_vmf_entity *ea = rb_entry(a, struct sched_vmf_entity, run_node);
	struct sched_vmf_entity *eb = rb_entry(b, struct sched_vmf_entity, run_node);

	return vruntime_before(ea->vruntime, eb->vruntime);
}

static inline unsigned long vmf_weight(struct task_struct *p)
{
	return max(scale_load_down(p->se.load.weight), 1UL);
}

/*
 * Keys stay within a slice of a nice-19 task (under 2^33 ns) of
 * min_vruntime and weights are under 2^17, so the sums of vmf_eligible()
 * fit in s64 for up to 2^13 tasks per level and CPU.
 */
static inline s64 vmf_key(struct vmf_level *lv, struct sched_vmf_entity *se)
{
	return (s64)(se->vruntime - lv->min_vruntime);
}

/* Queue a waiting task; the sums of vmf_eligible() follow the tree. */
static void vmf_queue_add(struct vmf_level *lv, struct sched_vmf_entity *se)
{
	unsigned long weight = vmf_weight(vmf_task_of(se));

	lv->avg_vruntime += vmf_key(lv, se) * weight;
	lv->avg_load += weight;
	rb_add_cached(&se->run_node, &lv->queue, vmf_se_less);
}

static void vmf_queue_del(struct vmf_level *lv, struct sched_vmf_entity *se)
{
	unsigned long weight = vmf_weight(vmf_task_of(se));

	lv->avg_vruntime -= vmf_key(lv, se) * weight;
	lv->avg_load -= weight;
	rb_erase_cached(&se->run_node, &lv->queue);
	RB_CLEAR_NODE(&se->run_node);
}

static struct task_struct *vmf_level_first(struct vmf_level *lv)
{
	struct rb_node *node = rb_first_cached(&lv->queue);

	if (!node)
		return NULL;
	return vmf_task_of(rb_entry(node, struct sched_vmf_entity, run_node));
}

/* The running task, if it is queued on @lv: it is kept out of the tree. */
static struct task_struct *vmf_level_curr(struct vmf_rq *vrq, struct vmf_level *lv)
{
	struct task_struct *curr = vrq->curr;

	if (curr && curr->vmf.on_rq && &vrq->level[curr->vmf.level] == lv)
		return curr;
	return NULL;
}

/* min_vruntime only moves forward: it anchors the placement of wakers. */
static void vmf_update_min_vruntime(struct vmf_rq *vrq, struct vmf_level *lv)
{
	struct task_struct *first = vmf_level_first(lv);
	struct task_struct *curr = vmf_level_curr(vrq, lv);
	u64 v = lv->min_vruntime;
	bool have = false;

	if (curr) {
		v = curr->vmf.vruntime;
		have = true;
	}
	if (first && (!have || vruntime_before(first->vmf.vruntime, v))) {
		v = first->vmf.vruntime;
		have = true;
	}
	if (have && vruntime_before(lv->min_vruntime, v)) {
		/* The keys are relative to min_vruntime. */
		lv->avg_vruntime -= (s64)lv->avg_load * (s64)(v - lv->min_vruntime);
		lv->min_vruntime = v;
	}
}

/*
 * As in EEVDF: a task is eligible while it has not received more than its
 * share, i.e. its vruntime is not past the weighted average of its level,
 * the running task included.
 */
static bool vmf_eligible(struct vmf_rq *vrq, struct vmf_level *lv,
			 struct sched_vmf_entity *se)
{
	struct task_struct *curr = vmf_level_curr(vrq, lv);
	s64 avg = lv->avg_vruntime;
	s64 load = lv->avg_load;

	if (curr) {
		unsigned long weight = vmf_weight(curr);

		avg += vmf_key(lv, &curr->vmf) * weight;
		load += weight;
	}
	return avg >= vmf_key(lv, se) * load;
}

static void vmf_charge(struct rq *rq, struct task_struct *p, s64 delta_exec)
{
	struct vmf_rq *vrq = &rq->vmf;

	p->vmf.vruntime += div_u64((u64)delta_exec * scale_load_down(NICE_0_LOAD),
				   vmf_weight(p));
	if (p->vmf.level == VMF_LEVEL_VMM && vrq->vmm_boosted)
		vrq->vmm_boost_used += delta_exec;
	vmf_update_min_vruntime(vrq, &vrq->level[p->vmf.level]);
}

static void update_curr_vmf(struct rq *rq)
{
	struct task_struct *curr = rq->curr;
	s64 delta_exec;

	if (curr->sched_class != &vmf_sched_class)
		return;

	delta_exec = update_curr_common(rq);
	if (unlikely(delta_exec <= 0))
		return;
	vmf_charge(rq, curr, delta_exec);
}

/*
 * The vmm reservation. vmm_since is when the vmm level last ran or became
 * runnable; after (period - runtime) without service it is boosted above
 * the vm level for up to runtime.
 */
static bool vmf_vmm_starved(struct rq *rq)
{
	struct vmf_rq *vrq = &rq->vmf;
	u64 period = (u64)READ_ONCE(sysctl_sched_vmf_vmm_period_us) * NSEC_PER_USEC;
	u64 runtime = (u64)READ_ONCE(sysctl_sched_vmf_vmm_runtime_us) * NSEC_PER_USEC;

	if (!vrq->level[VMF_LEVEL_VMM].nr_running || !vrq->level[VMF_LEVEL_VM].nr_running)
		return false;
	return rq_clock(rq) - vrq->vmm_since >= period - runtime;
}

static void vmf_vmm_update_boost(struct rq *rq)
{
	struct vmf_rq *vrq = &rq->vmf;
	u64 runtime = (u64)READ_ONCE(sysctl_sched_vmf_vmm_runtime_us) * NSEC_PER_USEC;

	if (vrq->vmm_boosted) {
		if (vrq->vmm_boost_used >= runtime || !vrq->level[VMF_LEVEL_VMM].nr_running) {
			vrq->vmm_boosted = false;
			vrq->vmm_since = rq_clock(rq);
		}
	} else if (vmf_vmm_starved(rq)) {
		vrq->vmm_boosted = true;
		vrq->vmm_boost_used = 0;
	}
}

#ifdef CONFIG_SMP
static void vmf_set_overload(struct rq *rq, bool overloaded)
{
	if (overloaded) {
		cpumask_set_cpu(rq->cpu, rq->rd->vmfo_mask);
		/* Pullers read the count first, then the mask. */
		smp_wmb();
		atomic_inc(&rq->rd->vmfo_count);
	} else {
		atomic_dec(&rq->rd->vmfo_count);
		cpumask_clear_cpu(rq->cpu, rq->rd->vmfo_mask);
	}
}

static void vmf_update_overload(struct rq *rq)
{
	struct vmf_rq *vrq = &rq->vmf;
	bool overloaded = vrq->nr_pushable > 0;

	if (overloaded == vrq->overloaded)
		return;
	vrq->overloaded = overloaded;
	/* rq_online_vmf() and rq_offline_vmf() handle the others. */
	if (rq->online)
		vmf_set_overload(rq, overloaded);
}

/* A task enters or leaves its level's queue, where it waits. */
static void vmf_pushable_add(struct rq *rq, struct task_struct *p)
{
	if (p->nr_cpus_allowed < 2 || is_migration_disabled(p))
		return;
	p->vmf.pushable = 1;
	rq->vmf.nr_pushable++;
	vmf_update_overload(rq);
}

static void vmf_pushable_del(struct rq *rq, struct task_struct *p)
{
	if (!p->vmf.pushable)
		return;
	p->vmf.pushable = 0;
	rq->vmf.nr_pushable--;
	vmf_update_overload(rq);
}
#else
static inline void vmf_pushable_add(struct rq *rq, struct task_struct *p) { }
static inline void vmf_pushable_del(struct rq *rq, struct task_struct *p) { }
#endif

#ifdef CONFIG_SCHED_HRTICK
/*
 * Slices end at the tick, which stretched a 3 ms slice to 4-8 ms at HZ=250:
 * under overcommit, a vCPU waited that long for each one before it. When
 * another task of its level waits, end the running task's slice on time
 * with the hrtick. The flag says the hrtick is ours, so that it is
 * cancelled when the task leaves the CPU, before it could fire on another
 * class's task, and left alone by vmf_server_hrtick().
 */
static DEFINE_PER_CPU(bool, vmf_slice_hrtick);

static void vmf_hrtick_start(struct rq *rq, struct task_struct *p)
{
	struct sched_vmf_entity *se = vmf_se(p);
	s64 used = p->se.sum_exec_runtime - se->slice_start;

	if (rq->vmf.level[se->level].nr_running < 2 || !hrtick_enabled(rq))
		return;
	hrtick_start(rq, max_t(s64, (s64)vmf_slice(p) - used, 0));
	per_cpu(vmf_slice_hrtick, cpu_of(rq)) = true;
}

static void vmf_hrtick_cancel(struct rq *rq)
{
	if (!per_cpu(vmf_slice_hrtick, cpu_of(rq)))
		return;
	per_cpu(vmf_slice_hrtick, cpu_of(rq)) = false;
	hrtimer_try_to_cancel(&rq->hrtick_timer);
}

static inline bool vmf_hrtick_armed(struct rq *rq)
{
	return per_cpu(vmf_slice_hrtick, cpu_of(rq));
}
#else
static inline void vmf_hrtick_start(struct rq *rq, struct task_struct *p) { }
static inline void vmf_hrtick_cancel(struct rq *rq) { }
static inline bool vmf_hrtick_armed(struct rq *rq) { return false; }
#endif

/* Run delay: from wakeup or preemption to the CPU, for the tracepoint. */
static void vmf_wait_start(struct rq *rq, struct task_struct *p)
{
	if (!p->vmf.wait_start)
		p->vmf.wait_start = rq_clock(rq);
}

static void vmf_wait_end(struct rq *rq, struct task_struct *p)
{
	/* A migrated waiter compares two CPUs' clocks: never negative. */
	s64 delay = rq_clock(rq) - p->vmf.wait_start;

	if (!p->vmf.wait_start)
		return;
	p->vmf.wait_start = 0;
	trace_sched_vmf_run_delay_tp(p, vmf_trace_class(p), max_t(s64, delay, 0));
}

/*
 * schedstats: wait_* is run delay, as in /proc/PID/sched for other classes.
 * Only a wait that started ends: a running task whose policy, nice or
 * affinity changes is dequeued and set next again without having waited,
 * and schedstats may have been off when a wait began. As fair does.
 */
static void vmf_stats_wait_end(struct rq *rq, struct task_struct *p)
{
	if (schedstat_val(p->stats.wait_start))
		__update_stats_wait_end(rq, p, &p->stats);
}

static void vmf_stats_enqueue(struct rq *rq, struct task_struct *p, int flags)
{
	if (!schedstat_enabled())
		return;
	if (flags & ENQUEUE_WAKEUP)
		__update_stats_enqueue_sleeper(rq, p, &p->stats);
	if (p != rq->curr)
		__update_stats_wait_start(rq, p, &p->stats);
}

static void vmf_stats_dequeue(struct rq *rq, struct task_struct *p, int flags)
{
	unsigned int state;

	if (!schedstat_enabled())
		return;
	if (p != rq->curr)
		vmf_stats_wait_end(rq, p);
	if (!(flags & DEQUEUE_SLEEP))
		return;
	state = READ_ONCE(p->__state);
	if (state & TASK_INTERRUPTIBLE)
		__schedstat_set(p->stats.sleep_start, rq_clock(rq));
	if (state & TASK_UNINTERRUPTIBLE)
		__schedstat_set(p->stats.block_start, rq_clock(rq));
}

/*
 * A task that slept keeps its debt but gets at most half a slice of
 * credit. One that arrives from elsewhere while runnable (fork, migration,
 * class or level change) has a vruntime from another timeline: bound it on
 * both sides.
 */
static void vmf_place(struct vmf_level *lv, struct task_struct *p, int flags)
{
	struct sched_vmf_entity *se = vmf_se(p);
	u64 credit = vmf_wakeup_credit();

	if (flags & ENQUEUE_INITIAL) {
		se->vruntime = lv->min_vruntime;
	} else if (vruntime_before(se->vruntime, lv->min_vruntime - credit)) {
		se->vruntime = lv->min_vruntime - credit;
	} else if ((!(flags & ENQUEUE_WAKEUP) || (flags & ENQUEUE_MIGRATED)) &&
		   vruntime_before(lv->min_vruntime + vmf_slice(p), se->vruntime)) {
		se->vruntime = lv->min_vruntime + vmf_slice(p);
	}
}

static void enqueue_task_vmf(struct rq *rq, struct task_struct *p, int flags)
{
	struct sched_vmf_entity *se = vmf_se(p);
	struct vmf_rq *vrq = &rq->vmf;
	struct vmf_level *lv = vmf_level(rq, p);
	/*
	 * Put back after a change of nice or affinity, on the same level and
	 * CPU: the same timeline, so it keeps its debt and its credit, or such
	 * changes would shed them.
	 */
	bool restore = (flags & ENQUEUE_RESTORE) && vrq->saved == p &&
		       se->level == vmf_level_of(p);

	vrq->saved = NULL;
	if (!restore)
		vmf_place(lv, p, flags);

	if (lv == &vrq->level[VMF_LEVEL_VMM] && !lv->nr_running)
		vrq->vmm_since = rq_clock(rq);

	SCHED_WARN_ON(se->on_rq || !RB_EMPTY_NODE(&se->run_node));
	SCHED_WARN_ON(task_cpu(p) != cpu_of(rq));
	se->level = vmf_level_of(p);
	if (p != vrq->curr) {
		vmf_queue_add(lv, se);
		vmf_pushable_add(rq, p);
	}
	se->on_rq = 1;
	lv->nr_running++;
	vrq->nr_running++;
	add_nr_running(rq, 1);
	vmf_stats_enqueue(rq, p, flags);
	/* The running task of this level now has company: end its slice on time. */
	if (vrq->curr && vrq->curr != p && vrq->curr->vmf.level == se->level &&
	    lv->nr_running == 2)
		vmf_hrtick_start(rq, vrq->curr);

	if (p == rq->curr || (flags & ENQUEUE_RESTORE))
		return;
	vmf_wait_start(rq, p);
#ifdef CONFIG_SMP
	if ((flags & ENQUEUE_WAKEUP) && (flags & ENQUEUE_MIGRATED))
		vrq->nr_wakeup_migrations++;
#endif
	/* Fair (host or batch) tasks are preempted at once by the core. */
	if (sched_class_above(&vmf_sched_class, rq->curr->sched_class) &&
	    !is_idle_task(rq->curr))
		trace_sched_vmf_preempt_tp(p, vmf_trace_class(p), rq->curr,
					   vmf_trace_class(rq->curr));
}

static bool dequeue_task_vmf(struct rq *rq, struct task_struct *p, int flags)
{
	struct sched_vmf_entity *se = vmf_se(p);
	struct vmf_rq *vrq = &rq->vmf;
	struct vmf_level *lv = &vrq->level[se->level];

	SCHED_WARN_ON(!se->on_rq || task_cpu(p) != cpu_of(rq));
	update_curr_vmf(rq);
	vmf_stats_dequeue(rq, p, flags);
	if (p != vrq->curr) {
		vmf_queue_del(lv, se);
		vmf_pushable_del(rq, p);
	}
	if (lv->next == se)
		lv->next = NULL;
	/* A migration does not end the wait; a sleep does. */
	if (flags & DEQUEUE_SLEEP)
		se->wait_start = 0;
	se->on_rq = 0;
	lv->nr_running--;
	vrq->nr_running--;
	sub_nr_running(rq, 1);
	/* Back in a moment, under this lock: keep the timeline where it is. */
	if (flags & DEQUEUE_SAVE)
		vrq->saved = p;
	else
		vmf_update_min_vruntime(vrq, lv);
	return true;
}

static void yield_task_vmf(struct rq *rq)
{
	struct task_struct *curr = rq->curr;
	struct vmf_level *lv = &rq->vmf.level[curr->vmf.level];
	struct rb_node *last;

	/* sched_yield() and yield_to() come without a clock update. */
	update_rq_clock(rq);
	update_curr_vmf(rq);
	/* ...and schedule() follows at once: it need not update it again. */
	rq_clock_skip_update(rq);
	/* Go behind every other task of the level: sched_yield() semantics. */
	last = rb_last(&lv->queue.rb_root);
	if (last) {
		struct sched_vmf_entity *se = rb_entry(last, struct sched_vmf_entity, run_node);

		if (vruntime_before(curr->vmf.vruntime, se->vruntime + 1))
			curr->vmf.vruntime = se->vruntime + 1;
	}
}

/*
 * Directed yield, for KVM's pause-loop exits and KVM_HC_SCHED_YIELD: the
 * yielding vCPU goes to the back, and the target (a preempted lock holder)
 * becomes the level's buddy, which pick_task_vmf() runs next as long as it
 * is eligible. Its vruntime stays: a guest that yields back and forth
 * between its own vCPUs gets no more than their share (as in EEVDF, whose
 * next buddy is bound the same way).
 */
static bool yield_to_task_vmf(struct rq *rq, struct task_struct *p)
{
	struct sched_vmf_entity *se = vmf_se(p);
	struct rq *p_rq = task_rq(p);

	/* yield_to() holds both locks and checked that curr is ours too. */
	lockdep_assert_rq_held(p_rq);
	if (!se->on_rq || p == p_rq->vmf.curr)
		return false;

	p_rq->vmf.level[se->level].next = se;
	yield_task_vmf(rq);
	return true;
}

static bool vmf_should_preempt(struct rq *rq, struct task_struct *curr, struct task_struct *p)
{
	int lp = vmf_level_of(p), lc = vmf_level_of(curr);

	if (lp != lc)
		return lp == VMF_LEVEL_VM && !rq->vmf.vmm_boosted;
	return vruntime_before(p->vmf.vruntime + vmf_wakeup_gran(), curr->vmf.vruntime);
}

static void wakeup_preempt_vmf(struct rq *rq, struct task_struct *p, int flags)
{
	struct task_struct *curr = rq->curr;

	if (curr->sched_class != &vmf_sched_class || p == curr)
		return;
	update_curr_vmf(rq);
	if (!vmf_should_preempt(rq, curr, p))
		return;
	resched_curr(rq);
	if (vmf_level_of(p) != vmf_level_of(curr))
		trace_sched_vmf_preempt_tp(p, vmf_trace_class(p), curr, vmf_trace_class(curr));
}

static struct task_struct *pick_task_vmf(struct rq *rq)
{
	struct vmf_rq *vrq = &rq->vmf;
	struct task_struct *p, *curr = vrq->curr;
	struct vmf_level *lv;
	int level;

	if (!vrq->nr_running)
		return NULL;

	update_curr_vmf(rq);
	vmf_vmm_update_boost(rq);
	if (vrq->vmm_boosted || !vrq->level[VMF_LEVEL_VM].nr_running)
		level = VMF_LEVEL_VMM;
	else
		level = VMF_LEVEL_VM;

	/* curr is not in the tree while it runs; it competes on vruntime. */
	lv = &vrq->level[level];
	p = vmf_level_first(lv);
	if (curr && curr->vmf.on_rq && curr->vmf.level == level &&
	    (!p || !vruntime_before(p->vmf.vruntime, curr->vmf.vruntime)))
		p = curr;
	if (lv->next && vmf_eligible(vrq, lv, lv->next))
		p = vmf_task_of(lv->next);
	return p;
}

#ifdef CONFIG_SMP
static void vmf_queue_push(struct rq *rq);
static void vmf_queue_pull(struct rq *rq);
#else
static inline void vmf_queue_push(struct rq *rq) { }
static inline void vmf_queue_pull(struct rq *rq) { }
#endif

static void set_next_task_vmf(struct rq *rq, struct task_struct *p, bool first)
{
	struct sched_vmf_entity *se = vmf_se(p);
	struct vmf_rq *vrq = &rq->vmf;

	if (vrq->curr != p) {
		/*
		 * Not queued: a task that blocks in schedule() stays current
		 * while ->balance() (a pull, fair's newidle balance) drops the
		 * rq lock, and a class or prio change can come in then.
		 */
		if (se->on_rq) {
			vmf_queue_del(&vrq->level[se->level], se);
			vmf_pushable_del(rq, p);
		}
		vrq->curr = p;
		se->slice_start = p->se.sum_exec_runtime;
		if (schedstat_enabled())
			vmf_stats_wait_end(rq, p);
	}
	/* The yield it got is used up. */
	if (vrq->level[se->level].next == se)
		vrq->level[se->level].next = NULL;
	vmf_wait_end(rq, p);
	p->se.exec_start = rq_clock_task(rq);
	if (se->level == VMF_LEVEL_VMM)
		vrq->vmm_since = rq_clock(rq);

	/* If prev was VMF, put_prev_task_vmf() has updated the signal. */
	if (rq->curr->sched_class != &vmf_sched_class)
		update_vmf_rq_load_avg(rq_clock_pelt(rq), rq, 0);
	cpufreq_update_util(rq, 0);

	vmf_hrtick_start(rq, p);
	if (first)
		vmf_queue_push(rq);
}

static void put_prev_task_vmf(struct rq *rq, struct task_struct *p, struct task_struct *next)
{
	struct sched_vmf_entity *se = vmf_se(p);
	struct vmf_rq *vrq = &rq->vmf;

	update_curr_vmf(rq);
	update_vmf_rq_load_avg(rq_clock_pelt(rq), rq, 1);
	vmf_hrtick_cancel(rq);
	if (se->level == VMF_LEVEL_VMM)
		vrq->vmm_since = rq_clock(rq);
	vrq->curr = NULL;
	if (se->on_rq) {
		vmf_queue_add(&vrq->level[se->level], se);
		vmf_pushable_add(rq, p);
		vmf_wait_start(rq, p);
		if (schedstat_enabled())
			__update_stats_wait_start(rq, p, &p->stats);
	}
}

static void task_tick_vmf(struct rq *rq, struct task_struct *p, int queued)
{
	struct sched_vmf_entity *se = vmf_se(p);
	struct vmf_rq *vrq = &rq->vmf;
	struct task_struct *next;

	update_curr_vmf(rq);
	update_vmf_rq_load_avg(rq_clock_pelt(rq), rq, 1);
	cpufreq_update_util(rq, 0);

	vmf_vmm_update_boost(rq);
#ifdef CONFIG_SCHED_CORE
	/*
	 * A sibling forced idle by this task's cookie waits for a core-wide
	 * pick: give it one once this task ran half a slice, as fair's
	 * task_tick_core() does. vmf_prio_less() then lets the longer-waiting
	 * task win.
	 */
	if (sched_core_enabled(rq) && rq->core->core_forceidle_count &&
	    vrq->nr_running == 1 &&
	    (p->se.sum_exec_runtime - se->slice_start) * 2 > vmf_slice(p)) {
		resched_curr(rq);
		return;
	}
#endif
	/* The reservation starts or ends: switch to the level it picks. */
	if (vrq->vmm_boosted && se->level == VMF_LEVEL_VM) {
		resched_curr(rq);
		return;
	}
	if (!vrq->vmm_boosted && se->level == VMF_LEVEL_VMM &&
	    vrq->level[VMF_LEVEL_VM].nr_running) {
		resched_curr(rq);
		return;
	}

	if (p->se.sum_exec_runtime - se->slice_start < vmf_slice(p)) {
		/* The hrtick fired a little early: arm it for the rest. */
		if (queued)
			vmf_hrtick_start(rq, p);
		return;
	}
	next = vmf_level_first(&vrq->level[se->level]);
	if (next && vruntime_before(next->vmf.vruntime, se->vruntime)) {
		resched_curr(rq);
	} else {
		se->slice_start = p->se.sum_exec_runtime;
		vmf_hrtick_start(rq, p);
	}
}

#ifdef CONFIG_SCHED_CORE
/*
 * Core scheduling compares the tasks of SMT siblings. Within a VMF level it
 * does as fair: each vruntime is taken relative to its CPU's min_vruntime,
 * frozen in min_vruntime_fi while a sibling is forced idle, so that the
 * time the forced-idle task waits counts against the task that runs.
 */
static void vmf_fi_update(struct rq *rq, bool in_fi)
{
	struct vmf_rq *vrq = &rq->vmf;
	unsigned int seq = rq->core->core_forceidle_seq;
	int i;

	if (in_fi) {
		if (vrq->forceidle_seq == seq)
			return;
		vrq->forceidle_seq = seq;
	}
	for (i = 0; i < VMF_NR_LEVELS; i++)
		vrq->level[i].min_vruntime_fi = vrq->level[i].min_vruntime;
}

void vmf_task_vruntime_update(struct rq *rq, struct task_struct *p, bool in_fi)
{
	if (p->sched_class == &vmf_sched_class)
		vmf_fi_update(rq, in_fi);
}

/* Whether @a runs after @b; both have the same VMF prio. */
bool vmf_prio_less(const struct task_struct *a, const struct task_struct *b, bool in_fi)
{
	struct rq *rqa = task_rq(a), *rqb = task_rq(b);
	int level = vmf_level_of(a);
	s64 delta;

	vmf_fi_update(rqa, in_fi);
	vmf_fi_update(rqb, in_fi);
	delta = (s64)(a->vmf.vruntime - b->vmf.vruntime) +
		(s64)(rqb->vmf.level[level].min_vruntime_fi -
		      rqa->vmf.level[level].min_vruntime_fi);
	return delta > 0;
}
#endif

/*
 * A task that joins the class, or changes level, while it sleeps has a
 * vruntime from another timeline, and its wakeup bounds only its credit:
 * far ahead, it would wait until the others caught up. Start it at its
 * new level's min_vruntime here, on the CPU it last ran on; if it wakes
 * on another, the migration bounds it again.
 */
static void vmf_rejoin(struct rq *rq, struct task_struct *p)
{
	p->vmf.level = vmf_level_of(p);
	p->vmf.vruntime = rq->vmf.level[p->vmf.level].min_vruntime;
}

static void switched_to_vmf(struct rq *rq, struct task_struct *p)
{
	if (!task_on_rq_queued(p)) {
		vmf_rejoin(rq, p);
		return;
	}
	if (rq->curr == p)
		return;
	wakeup_preempt(rq, p, 0);
	if (!test_tsk_need_resched(rq->curr))
		vmf_queue_push(rq);
}

static void prio_changed_vmf(struct rq *rq, struct task_struct *p, int oldprio)
{
	if (oldprio == p->prio)
		return;
	if (!task_on_rq_queued(p)) {
		vmf_rejoin(rq, p);
		return;
	}
	if (rq->curr == p) {
		/* Dropped to vmm while vm tasks wait: let them run. */
		if (vmf_level_of(p) == VMF_LEVEL_VMM && rq->vmf.level[VMF_LEVEL_VM].nr_running)
			resched_curr(rq);
	} else {
		wakeup_preempt(rq, p, 0);
	}
}

static unsigned int get_rr_interval_vmf(struct rq *rq, struct task_struct *p)
{
	return nsecs_to_jiffies(vmf_slice(p));
}

#ifdef CONFIG_SMP
/* VMF tasks of @level or above on @cpu: what a task of @level waits for. */
static unsigned int vmf_cpu_load(int cpu, int level)
{
	struct rq *rq = cpu_rq(cpu);
	unsigned int nr = READ_ONCE(rq->vmf.level[VMF_LEVEL_VM].nr_running);

	if (level == VMF_LEVEL_VMM)
		nr += READ_ONCE(rq->vmf.level[VMF_LEVEL_VMM].nr_running);
	return nr;
}

/*
 * Would a task of @level placed on @cpu wait? A CPU running an RT task
 * counts as busy too. Read without the rq lock: placement is a hint, and
 * push and pull correct it under the locks.
 */
static bool vmf_cpu_busy(int cpu, int level)
{
	return vmf_cpu_load(cpu, level) || READ_ONCE(cpu_rq(cpu)->rt.rt_nr_running);
}

/* An active CPU of the root domain @span, other than @skip. */
static bool vmf_cpu_usable(const struct cpumask *span, int cpu, int skip)
{
	return cpu != skip && cpu_active(cpu) && cpumask_test_cpu(cpu, span);
}

/*
 * A CPU for @p where nothing of its level or above runs: an idle one,
 * sharing a cache with @near if there is one, else one that runs only
 * host work. -1 if every one of them has VMF work.
 */
static int vmf_find_free_cpu(struct task_struct *p, const struct cpumask *span,
			     int near, int skip)
{
	struct sched_domain *sd = rcu_dereference(per_cpu(sd_llc, near));
	int level = vmf_level_of(p), cpu, host_cpu = -1;

	if (sd) {
		for_each_cpu_and(cpu, sched_domain_span(sd), p->cpus_ptr) {
			if (vmf_cpu_usable(span, cpu, skip) &&
			    available_idle_cpu(cpu) && !vmf_cpu_busy(cpu, level))
				return cpu;
		}
	}
	for_each_cpu_and(cpu, p->cpus_ptr, span) {
		if (!vmf_cpu_usable(span, cpu, skip) || vmf_cpu_busy(cpu, level))
			continue;
		if (available_idle_cpu(cpu))
			return cpu;
		if (host_cpu < 0)
			host_cpu = cpu;
	}
	return host_cpu;
}

/*
 * Wakeup placement: the previous CPU if nothing of the task's level or
 * above runs there; else an idle CPU, sharing cache where possible; else
 * a CPU running only host work; only then the allowed CPU with the least
 * VMF work, the previous one on a tie. Only CPUs of the previous CPU's
 * root domain count: isolated CPUs are in none but their own.
 */
static int select_task_rq_vmf(struct task_struct *p, int prev_cpu, int wake_flags)
{
	int level = vmf_level_of(p), cpu, best;
	const struct cpumask *span;
	unsigned int best_load;

	if (p->nr_cpus_allowed == 1)
		return prev_cpu;

	guard(rcu)();
	if (!vmf_cpu_busy(prev_cpu, level) && cpu_active(prev_cpu))
		return prev_cpu;

	span = cpu_rq(prev_cpu)->rd->span;
	best = vmf_find_free_cpu(p, span, prev_cpu, -1);
	if (best < 0) {
		best = prev_cpu;
		best_load = vmf_cpu_load(prev_cpu, level);
		for_each_cpu_and(cpu, p->cpus_ptr, span) {
			unsigned int load = vmf_cpu_load(cpu, level);

			if (vmf_cpu_usable(span, cpu, -1) && load < best_load) {
				best = cpu;
				best_load = load;
			}
		}
	}
	if (best != prev_cpu)
		trace_sched_vmf_migrate_tp(p, vmf_trace_class(p), prev_cpu, best,
					   VMF_MIGRATE_WAKEUP);
	return best;
}

/*
 * @p waits on @rq and may go elsewhere now. As in RT's push, do not trust
 * the pushable mark alone after rq->lock was dropped: the task may be on
 * its way off a CPU, or pinned by migrate_disable().
 */
static bool vmf_movable(struct rq *rq, struct task_struct *p)
{
	return p->vmf.pushable && task_rq(p) == rq && task_on_rq_queued(p) &&
	       !task_on_cpu(rq, p) && !is_migration_disabled(p);
}

/* The first waiting task, vm level first, that may run on @cpu. */
static struct task_struct *vmf_pushable_task(struct rq *rq, int cpu, int max_level)
{
	struct rb_node *node;
	int level;

	for (level = VMF_LEVEL_VM; level <= max_level; level++) {
		for (node = rb_first_cached(&rq->vmf.level[level].queue); node;
		     node = rb_next(node)) {
			struct task_struct *p =
				vmf_task_of(rb_entry(node, struct sched_vmf_entity, run_node));

			if (vmf_movable(rq, p) &&
			    (cpu < 0 || cpumask_test_cpu(cpu, p->cpus_ptr)))
				return p;
		}
	}
	return NULL;
}

/* Both rqs locked; @p waits on @src. */
static void vmf_move_task(struct rq *src, struct rq *dst, struct task_struct *p,
			  enum vmf_migrate_reason reason)
{
	trace_sched_vmf_migrate_tp(p, vmf_trace_class(p), cpu_of(src), cpu_of(dst), reason);
	deactivate_task(src, p, 0);
	set_task_cpu(p, cpu_of(dst));
	activate_task(dst, p, 0);
	wakeup_preempt(dst, p, 0);
	if (reason == VMF_MIGRATE_PUSH)
		src->vmf.nr_pushed++;
	else
		dst->vmf.nr_pulled++;
}

/*
 * With more vCPUs than CPUs no CPU is free, and tasks of one level share
 * a CPU by weight: a CPU with two tasks fewer than @src's gives a task
 * of @src more time, and moving one cannot make the two swap roles, so
 * tasks do not bounce. A CPU running an RT task gives it no time at all.
 */
static bool vmf_cpu_lighter(int cpu, int src, int level)
{
	return !READ_ONCE(cpu_rq(cpu)->rt.rt_nr_running) &&
	       vmf_cpu_load(cpu, level) + 2 <= vmf_cpu_load(src, level);
}

/* The least loaded CPU that vmf_cpu_lighter() allows, or -1. */
static int vmf_find_lighter_cpu(struct task_struct *p, const struct cpumask *span, int src)
{
	int level = vmf_level_of(p), cpu, best = -1;
	unsigned int load, best_load = UINT_MAX;

	for_each_cpu_and(cpu, p->cpus_ptr, span) {
		if (!vmf_cpu_usable(span, cpu, src) || !vmf_cpu_lighter(cpu, src, level))
			continue;
		load = vmf_cpu_load(cpu, level);
		if (load < best_load) {
			best = cpu;
			best_load = load;
		}
	}
	return best;
}

/*
 * Push one waiting task of @rq to a CPU where nothing of its level or
 * above runs, or failing that to one with two tasks of its level fewer.
 * double_lock_balance() may drop rq->lock: every fact is checked again
 * once both locks are held.
 */
static bool push_vmf_task(struct rq *rq)
{
	struct task_struct *p;
	struct rq *dst;
	bool moved = false, free = true;
	int cpu, level;

	p = vmf_pushable_task(rq, -1, VMF_LEVEL_VMM);
	if (!p)
		return false;
	level = vmf_level_of(p);

	rcu_read_lock();
	cpu = vmf_find_free_cpu(p, rq->rd->span, cpu_of(rq), cpu_of(rq));
	if (cpu < 0) {
		cpu = vmf_find_lighter_cpu(p, rq->rd->span, cpu_of(rq));
		free = false;
	}
	rcu_read_unlock();
	if (cpu < 0)
		return false;

	dst = cpu_rq(cpu);
	get_task_struct(p);
	double_lock_balance(rq, dst);
	if (vmf_movable(rq, p) &&
	    cpumask_test_cpu(cpu, p->cpus_ptr) && cpu_active(cpu) &&
	    (free ? !vmf_cpu_busy(cpu, level) : vmf_cpu_lighter(cpu, cpu_of(rq), level))) {
		vmf_move_task(rq, dst, p, VMF_MIGRATE_PUSH);
		moved = true;
	}
	double_unlock_balance(rq, dst);
	put_task_struct(p);
	return moved;
}

static void push_vmf_tasks(struct rq *rq)
{
	unsigned int tries = rq->vmf.nr_pushable;

	/* A task that cannot move stays pushable: bound the loop. */
	while (tries-- && push_vmf_task(rq))
		;
}

/*
 * @this_rq has no VMF work of some level: pull the first waiting task of
 * that level from an overloaded CPU of the root domain.
 */
static void pull_vmf_task(struct rq *this_rq)
{
	int this_cpu = cpu_of(this_rq), cpu, max_level;

	if (this_rq->vmf.level[VMF_LEVEL_VM].nr_running || !cpu_active(this_cpu))
		return;
	max_level = this_rq->vmf.nr_running ? VMF_LEVEL_VM : VMF_LEVEL_VMM;
	if (!atomic_read(&this_rq->rd->vmfo_count))
		return;
	/* Pairs with the smp_wmb() in vmf_set_overload(). */
	smp_rmb();

	for_each_cpu(cpu, this_rq->rd->vmfo_mask) {
		struct rq *src = cpu_rq(cpu);
		struct task_struct *p;
		bool moved = false;

		if (cpu == this_cpu || !READ_ONCE(src->vmf.nr_pushable))
			continue;

		double_lock_balance(this_rq, src);
		/* The lock may have been dropped: check our own state too. */
		if (!this_rq->vmf.level[VMF_LEVEL_VM].nr_running &&
		    (max_level == VMF_LEVEL_VM || !this_rq->vmf.nr_running)) {
			p = vmf_pushable_task(src, this_cpu, max_level);
			/*
			 * As in RT's pull: a task that outranks what its CPU
			 * runs has just woken and preempts it in a moment.
			 * Taking it would only move it, and would bring two
			 * periodic vCPUs onto one CPU for their next wakeup.
			 * Not so if the fair server runs that host task: then
			 * the task waits out the reservation.
			 */
			if (p && p->prio < src->curr->prio && !src->curr->dl_server)
				p = NULL;
			if (p) {
				vmf_move_task(src, this_rq, p, VMF_MIGRATE_PULL);
				moved = true;
			}
		}
		double_unlock_balance(this_rq, src);
		if (moved)
			return;
	}
}

static DEFINE_PER_CPU(struct balance_callback, vmf_push_head);
static DEFINE_PER_CPU(struct balance_callback, vmf_pull_head);

static void vmf_queue_push(struct rq *rq)
{
	if (rq->vmf.nr_pushable)
		queue_balance_callback(rq, &per_cpu(vmf_push_head, cpu_of(rq)),
				       push_vmf_tasks);
}

static void vmf_queue_pull(struct rq *rq)
{
	queue_balance_callback(rq, &per_cpu(vmf_pull_head, cpu_of(rq)), pull_vmf_task);
}

/* Called when @rq is about to run its idle task. */
void vmf_queue_idle_pull(struct rq *rq)
{
	if (atomic_read(&rq->rd->vmfo_count))
		vmf_queue_pull(rq);
}

/* A VMF task leaves the CPU: pull if no VMF work of its level is left. */
static int balance_vmf(struct rq *rq, struct task_struct *prev, struct rq_flags *rf)
{
	if (!prev->vmf.on_rq && prev->sched_class == &vmf_sched_class &&
	    !rq->vmf.level[VMF_LEVEL_VM].nr_running) {
		/*
		 * prev is on_cpu, so nobody migrates it; interrupts are off
		 * and the pick has not started: as balance_rt().
		 */
		rq_unpin_lock(rq, rf);
		pull_vmf_task(rq);
		rq_repin_lock(rq, rf);
	}
	return rq->vmf.nr_running > 0;
}

/*
 * A task that wakes on a CPU busy with VMF work and does not preempt it
 * waits: push it (or another waiter) away at once.
 */
static void task_woken_vmf(struct rq *rq, struct task_struct *p)
{
	if (!task_on_cpu(rq, p) && !test_tsk_need_resched(rq->curr) && p->vmf.pushable)
		push_vmf_tasks(rq);
}

static void set_cpus_allowed_vmf(struct task_struct *p, struct affinity_context *ctx)
{
	struct rq *rq = task_rq(p);
	bool queued = p->vmf.on_rq && p != rq->vmf.curr;

	if (queued)
		vmf_pushable_del(rq, p);
	set_cpus_allowed_common(p, ctx);
	if (queued)
		vmf_pushable_add(rq, p);
}

static void rq_online_vmf(struct rq *rq)
{
	if (rq->vmf.overloaded)
		vmf_set_overload(rq, true);
}

static void rq_offline_vmf(struct rq *rq)
{
	if (rq->vmf.overloaded)
		vmf_set_overload(rq, false);
}

#endif /* CONFIG_SMP */

static void switched_from_vmf(struct rq *rq, struct task_struct *p)
{
	/* A wait that began in VMF and ends in another class is not VMF's. */
	p->vmf.wait_start = 0;
	/* Its next enqueue here comes from another class. */
	if (rq->vmf.saved == p)
		rq->vmf.saved = NULL;
	if (task_on_rq_queued(p) && !rq->vmf.nr_running)
		vmf_queue_pull(rq);
}

DEFINE_SCHED_CLASS(vmf) = {
	.enqueue_task		= enqueue_task_vmf,
	.dequeue_task		= dequeue_task_vmf,
	.yield_task		= yield_task_vmf,
	.yield_to_task		= yield_to_task_vmf,
	.wakeup_preempt		= wakeup_preempt_vmf,
	.pick_task		= pick_task_vmf,
	.put_prev_task		= put_prev_task_vmf,
	.set_next_task		= set_next_task_vmf,
#ifdef CONFIG_SMP
	.balance		= balance_vmf,
	.select_task_rq		= select_task_rq_vmf,
	.set_cpus_allowed	= set_cpus_allowed_vmf,
	.rq_online		= rq_online_vmf,
	.rq_offline		= rq_offline_vmf,
	.task_woken		= task_woken_vmf,
#endif
	.switched_from		= switched_from_vmf,
	.task_tick		= task_tick_vmf,
	.switched_to		= switched_to_vmf,
	.prio_changed		= prio_changed_vmf,
	.get_rr_interval	= get_rr_interval_vmf,
	.update_curr		= update_curr_vmf,
#ifdef CONFIG_UCLAMP_TASK
	.uclamp_enabled		= 1,
#endif
};

void init_vmf_entity(struct task_struct *p)
{
	RB_CLEAR_NODE(&p->vmf.run_node);
	p->vmf.on_rq = 0;
	p->vmf.pushable = 0;
	p->vmf.vruntime = 0;
	p->vmf.wait_start = 0;
}

void init_vmf_rq(struct vmf_rq *vrq)
{
	int i;

	for (i = 0; i < VMF_NR_LEVELS; i++) {
		vrq->level[i].queue = RB_ROOT_CACHED;
		vrq->level[i].min_vruntime = 0;
		vrq->level[i].avg_vruntime = 0;
		vrq->level[i].avg_load = 0;
		vrq->level[i].nr_running = 0;
		vrq->level[i].next = NULL;
	}
	vrq->nr_running = 0;
	vrq->curr = NULL;
	vrq->saved = NULL;
	vrq->vmm_boosted = false;
#ifdef CONFIG_SMP
	vrq->nr_pushable = 0;
	vrq->overloaded = false;
#endif
}

bool vmf_can_stop_tick(struct rq *rq)
{
	return rq->vmf.nr_running <= 1;
}

/* sched_setattr() support: validate and apply the SCHED_VMF parameters. */
int vmf_check_attr(const struct sched_attr *attr)
{
	if (attr->sched_priority != SCHED_VMF_VMM && attr->sched_priority != SCHED_VMF_VM)
		return -EINVAL;
	/* Deadline-only flags mean nothing here: refuse rather than ignore. */
	if (attr->sched_flags & (SCHED_FLAG_RECLAIM | SCHED_FLAG_DL_OVERRUN))
		return -EINVAL;
	if (attr->sched_deadline || attr->sched_period)
		return -EINVAL;
	if (attr->sched_runtime &&
	    (attr->sched_runtime < VMF_SLICE_MIN_US * NSEC_PER_USEC ||
	     attr->sched_runtime > VMF_SLICE_MAX_US * NSEC_PER_USEC))
		return -EINVAL;
	return 0;
}

void vmf_set_params(struct task_struct *p, const struct sched_attr *attr)
{
	p->vmf.custom_slice = !!attr->sched_runtime;
	p->vmf.slice = attr->sched_runtime;
}

u64 vmf_task_slice(struct task_struct *p)
{
	return vmf_slice(p);
}

/*
 * An out-of-range value is invalid input like any other: -EINVAL. Also
 * used by host.c, which build_policy.c includes after this file.
 */
static int vmf_proc_douintvec_minmax(const struct ctl_table *table, int write,
				     void *buffer, size_t *lenp, loff_t *ppos)
{
	int ret = proc_douintvec_minmax(table, write, buffer, lenp, ppos);

	return ret == -ERANGE ? -EINVAL : ret;
}

static int vmf_vmm_reserve_handler(const struct ctl_table *table, int write,
				   void *buffer, size_t *lenp, loff_t *ppos)
{
	static DEFINE_MUTEX(mutex);
	unsigned int old_rt, old_period;
	int ret;

	guard(mutex)(&mutex);
	old_rt = sysctl_sched_vmf_vmm_runtime_us;
	old_period = sysctl_sched_vmf_vmm_period_us;
	ret = vmf_proc_douintvec_minmax(table, write, buffer, lenp, ppos);
	if (ret || !write)
		return ret;
	if (sysctl_sched_vmf_vmm_runtime_us >= sysctl_sched_vmf_vmm_period_us) {
		sysctl_sched_vmf_vmm_runtime_us = old_rt;
		sysctl_sched_vmf_vmm_period_us = old_period;
		return -EINVAL;
	}
	return 0;
}

static unsigned int vmf_slice_min = VMF_SLICE_MIN_US;
static unsigned int vmf_slice_max = VMF_SLICE_MAX_US;
static unsigned int vmf_period_max = USEC_PER_SEC;

static struct ctl_table vmf_sysctls[] = {
	{
		.procname	= "sched_vmf_slice_us",
		.data		= &sysctl_sched_vmf_slice_us,
		.maxlen		= sizeof(unsigned int),
		.mode		= 0644,
		.proc_handler	= vmf_proc_douintvec_minmax,
		.extra1		= &vmf_slice_min,
		.extra2		= &vmf_slice_max,
	},
	{
		.procname	= "sched_vmf_vmm_runtime_us",
		.data		= &sysctl_sched_vmf_vmm_runtime_us,
		.maxlen		= sizeof(unsigned int),
		.mode		= 0644,
		.proc_handler	= vmf_vmm_reserve_handler,
		.extra1		= &vmf_slice_min,
		.extra2		= &vmf_period_max,
	},
	{
		.procname	= "sched_vmf_vmm_period_us",
		.data		= &sysctl_sched_vmf_vmm_period_us,
		.maxlen		= sizeof(unsigned int),
		.mode		= 0644,
		.proc_handler	= vmf_vmm_reserve_handler,
		.extra1		= &vmf_slice_min,
		.extra2		= &vmf_period_max,
	},
};

static int __init vmf_sysctl_init(void)
{
	register_sysctl_init("kernel", vmf_sysctls);
	return 0;
}
late_initcall(vmf_sysctl_init);
