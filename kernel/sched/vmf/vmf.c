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

static inline int vmf_level_of(struct task_struct *p)
{
	return p->prio == VMF_PRIO_VM ? VMF_LEVEL_VM : VMF_LEVEL_VMM;
}

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

static struct task_struct *vmf_level_first(struct vmf_level *lv)
{
	struct rb_node *node = rb_first_cached(&lv->queue);

	if (!node)
		return NULL;
	return vmf_task_of(rb_entry(node, struct sched_vmf_entity, run_node));
}

/* min_vruntime only moves forward: it anchors the placement of wakers. */
static void vmf_update_min_vruntime(struct vmf_rq *vrq, struct vmf_level *lv)
{
	struct task_struct *first = vmf_level_first(lv);
	struct task_struct *curr = vrq->curr;
	u64 v = lv->min_vruntime;
	bool have = false;

	if (curr && curr->vmf.on_rq && &vrq->level[curr->vmf.level] == lv) {
		v = curr->vmf.vruntime;
		have = true;
	}
	if (first && (!have || vruntime_before(first->vmf.vruntime, v))) {
		v = first->vmf.vruntime;
		have = true;
	}
	if (have && vruntime_before(lv->min_vruntime, v))
		lv->min_vruntime = v;
}

static void vmf_charge(struct rq *rq, struct task_struct *p, s64 delta_exec)
{
	unsigned long weight = scale_load_down(p->se.load.weight);
	struct vmf_rq *vrq = &rq->vmf;

	if (!weight)
		weight = 1;
	p->vmf.vruntime += div_u64((u64)delta_exec * scale_load_down(NICE_0_LOAD), weight);
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

/* schedstats: wait_* is run delay, as in /proc/PID/sched for other classes. */
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
		__update_stats_wait_end(rq, p, &p->stats);
	if (!(flags & DEQUEUE_SLEEP))
		return;
	state = READ_ONCE(p->__state);
	if (state & TASK_INTERRUPTIBLE)
		__schedstat_set(p->stats.sleep_start, rq_clock(rq));
	if (state & TASK_UNINTERRUPTIBLE)
		__schedstat_set(p->stats.block_start, rq_clock(rq));
}

static void enqueue_task_vmf(struct rq *rq, struct task_struct *p, int flags)
{
	struct sched_vmf_entity *se = vmf_se(p);
	struct vmf_rq *vrq = &rq->vmf;
	struct vmf_level *lv = vmf_level(rq, p);
	u64 credit = vmf_wakeup_credit();

	/*
	 * A task that slept keeps its debt but gets at most half a slice of
	 * credit. One that arrives from elsewhere (fork, migration, class or
	 * level change) has a vruntime from another timeline: bound it on
	 * both sides.
	 */
	if (flags & ENQUEUE_INITIAL) {
		se->vruntime = lv->min_vruntime;
	} else if (vruntime_before(se->vruntime, lv->min_vruntime - credit)) {
		se->vruntime = lv->min_vruntime - credit;
	} else if ((!(flags & ENQUEUE_WAKEUP) || (flags & ENQUEUE_MIGRATED)) &&
		   vruntime_before(lv->min_vruntime + vmf_slice(p), se->vruntime)) {
		se->vruntime = lv->min_vruntime + vmf_slice(p);
	}

	if (lv == &vrq->level[VMF_LEVEL_VMM] && !lv->nr_running)
		vrq->vmm_since = rq_clock(rq);

	se->level = vmf_level_of(p);
	if (p != vrq->curr)
		rb_add_cached(&se->run_node, &lv->queue, vmf_se_less);
	se->on_rq = 1;
	lv->nr_running++;
	vrq->nr_running++;
	add_nr_running(rq, 1);
	vmf_stats_enqueue(rq, p, flags);
}

static bool dequeue_task_vmf(struct rq *rq, struct task_struct *p, int flags)
{
	struct sched_vmf_entity *se = vmf_se(p);
	struct vmf_rq *vrq = &rq->vmf;
	struct vmf_level *lv = &vrq->level[se->level];

	update_curr_vmf(rq);
	vmf_stats_dequeue(rq, p, flags);
	if (p != vrq->curr)
		rb_erase_cached(&se->run_node, &lv->queue);
	se->on_rq = 0;
	lv->nr_running--;
	vrq->nr_running--;
	sub_nr_running(rq, 1);
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
 * becomes the leftmost task of its level so it runs next.
 */
static bool yield_to_task_vmf(struct rq *rq, struct task_struct *p)
{
	struct sched_vmf_entity *se = vmf_se(p);
	struct rq *p_rq = task_rq(p);	/* locked by yield_to() */
	struct task_struct *first, *p_curr = p_rq->vmf.curr;
	struct vmf_level *lv;
	u64 v;

	if (!se->on_rq || p == p_curr)
		return false;

	lv = &p_rq->vmf.level[se->level];
	rb_erase_cached(&se->run_node, &lv->queue);
	v = se->vruntime;
	first = vmf_level_first(lv);
	if (first && vruntime_before(first->vmf.vruntime, v))
		v = first->vmf.vruntime;
	if (p_curr && p_curr->vmf.on_rq && p_curr->vmf.level == se->level &&
	    vruntime_before(p_curr->vmf.vruntime, v))
		v = p_curr->vmf.vruntime;
	/* Strictly first: pick_task_vmf() keeps curr on a tie. */
	se->vruntime = v - 1;
	rb_add_cached(&se->run_node, &lv->queue, vmf_se_less);

	if (rq->curr->sched_class == &vmf_sched_class)
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
	if (vmf_should_preempt(rq, curr, p))
		resched_curr(rq);
}

static struct task_struct *pick_task_vmf(struct rq *rq)
{
	struct vmf_rq *vrq = &rq->vmf;
	struct task_struct *p, *curr = vrq->curr;
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
	p = vmf_level_first(&vrq->level[level]);
	if (curr && curr->vmf.on_rq && curr->vmf.level == level &&
	    (!p || !vruntime_before(p->vmf.vruntime, curr->vmf.vruntime)))
		p = curr;
	return p;
}

static void set_next_task_vmf(struct rq *rq, struct task_struct *p, bool first)
{
	struct sched_vmf_entity *se = vmf_se(p);
	struct vmf_rq *vrq = &rq->vmf;

	if (vrq->curr != p) {
		rb_erase_cached(&se->run_node, &vrq->level[se->level].queue);
		vrq->curr = p;
		se->slice_start = p->se.sum_exec_runtime;
		if (schedstat_enabled())
			__update_stats_wait_end(rq, p, &p->stats);
	}
	p->se.exec_start = rq_clock_task(rq);
	if (se->level == VMF_LEVEL_VMM)
		vrq->vmm_since = rq_clock(rq);
}

static void put_prev_task_vmf(struct rq *rq, struct task_struct *p, struct task_struct *next)
{
	struct sched_vmf_entity *se = vmf_se(p);
	struct vmf_rq *vrq = &rq->vmf;

	update_curr_vmf(rq);
	if (se->level == VMF_LEVEL_VMM)
		vrq->vmm_since = rq_clock(rq);
	vrq->curr = NULL;
	if (se->on_rq) {
		rb_add_cached(&se->run_node, &vrq->level[se->level].queue, vmf_se_less);
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

	vmf_vmm_update_boost(rq);
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

	if (p->se.sum_exec_runtime - se->slice_start < vmf_slice(p))
		return;
	next = vmf_level_first(&vrq->level[se->level]);
	if (next && vruntime_before(next->vmf.vruntime, se->vruntime))
		resched_curr(rq);
	else
		se->slice_start = p->se.sum_exec_runtime;
}

static void switched_to_vmf(struct rq *rq, struct task_struct *p)
{
	if (task_on_rq_queued(p) && rq->curr != p)
		wakeup_preempt(rq, p, 0);
}

static void prio_changed_vmf(struct rq *rq, struct task_struct *p, int oldprio)
{
	if (!task_on_rq_queued(p) || oldprio == p->prio)
		return;
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
/*
 * Minimal placement, enough for correctness: stay on the previous CPU
 * unless it is busy with VMF work and an allowed CPU is idle.
 */
static int select_task_rq_vmf(struct task_struct *p, int cpu, int flags)
{
	struct task_struct *curr;
	int i;

	if (p->nr_cpus_allowed == 1)
		return cpu;

	guard(rcu)();
	curr = READ_ONCE(cpu_rq(cpu)->curr);
	if (!curr || curr->sched_class != &vmf_sched_class)
		return cpu;

	for_each_cpu_and(i, p->cpus_ptr, cpu_active_mask) {
		if (available_idle_cpu(i))
			return i;
	}
	return cpu;
}

static int balance_vmf(struct rq *rq, struct task_struct *prev, struct rq_flags *rf)
{
	return rq->vmf.nr_running > 0;
}
#endif

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
	.set_cpus_allowed	= set_cpus_allowed_common,
#endif
	.task_tick		= task_tick_vmf,
	.switched_to		= switched_to_vmf,
	.prio_changed		= prio_changed_vmf,
	.get_rr_interval	= get_rr_interval_vmf,
	.update_curr		= update_curr_vmf,
};

void init_vmf_entity(struct task_struct *p)
{
	RB_CLEAR_NODE(&p->vmf.run_node);
	p->vmf.on_rq = 0;
	p->vmf.vruntime = 0;
}

void init_vmf_rq(struct vmf_rq *vrq)
{
	int i;

	for (i = 0; i < VMF_NR_LEVELS; i++) {
		vrq->level[i].queue = RB_ROOT_CACHED;
		vrq->level[i].min_vruntime = 0;
		vrq->level[i].nr_running = 0;
	}
	vrq->nr_running = 0;
	vrq->curr = NULL;
	vrq->vmm_boosted = false;
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
