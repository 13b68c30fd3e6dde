// SPDX-License-Identifier: GPL-2.0
/*
 * SCHED_VMF: the cpu.vmf file of the cgroup v2 cpu controller.
 *
 * cpu.vmf classifies the tasks of a group as "vm", "vmm", "host" or
 * "batch", so management stacks need no per-thread calls: with libvirt's
 * layout, machine.slice/<vm>/libvirt/vcpuN is "vm" and .../emulator "vmm".
 *
 * A cgroup move is something a delegate may do to tasks it could not touch
 * with sched_setattr(), and the root is where everything that is not
 * managed lives, so a class only ever comes from an explicit write. Rules,
 * see Documentation/scheduler/sched-vmf.rst:
 *  - a group starts as "none": nobody wrote its class, and attaching to it
 *    changes nothing. The root has no cpu.vmf and is always "none"; on
 *    cgroup v1 nobody can write a class, so nothing ever happens there;
 *  - a write needs CAP_SYS_NICE in the opener's credentials, so a delegated
 *    subtree cannot lift itself above the host;
 *  - a class is never above the lowest class written on its way to the
 *    root: such a write fails with -EINVAL, and lowering a group lowers
 *    the descendants that were above it. "none" can always be written;
 *  - writing a class applies it to the tasks of the group's own cgroup
 *    (and of the lowered descendants). A task moved or cloned
 *    (CLONE_INTO_CGROUP) into the group takes its class, if the mover may
 *    make that change to it with sched_setattr(), the class itself aside:
 *    the writer allowed that. Tasks that reach the group's cpu domain
 *    through a child cgroup without the cpu controller are left alone, so
 *    toggling the controller in subtree_control changes no policy;
 *  - a plain fork inherits the parent's policy, which got the class when
 *    the parent was moved. A later sched_setattr() on a thread wins until
 *    the next write or move;
 *  - RT and DL tasks are never changed, nor are kernel threads.
 */
#include <linux/capability.h>
#include <linux/cgroup.h>

static const char * const vmf_class_names[] = {
	[VMF_GROUP_NONE]	= "none",
	[VMF_GROUP_BATCH]	= "batch",
	[VMF_GROUP_HOST]	= "host",
	[VMF_GROUP_VMM]		= "vmm",
	[VMF_GROUP_VM]		= "vm",
};

/* Serialises writers, so a group and its ancestors stay ordered. */
static DEFINE_MUTEX(vmf_cgroup_mutex);

/*
 * The attributes that put @p into @class, keeping its nice value and
 * reset-on-fork flag. False if the class leaves @p as it is.
 */
static bool vmf_class_attr(struct task_struct *p, int class, struct sched_attr *attr)
{
	*attr = (struct sched_attr) {
		.size		= sizeof(*attr),
		.sched_nice	= task_nice(p),
		.sched_flags	= p->sched_reset_on_fork ? SCHED_FLAG_RESET_ON_FORK : 0,
	};

	if ((p->flags & PF_KTHREAD) || rt_or_dl_task_policy(p))
		return false;

	switch (class) {
	case VMF_GROUP_VM:
	case VMF_GROUP_VMM:
		attr->sched_policy = SCHED_VMF;
		attr->sched_priority = class == VMF_GROUP_VM ? SCHED_VMF_VM : SCHED_VMF_VMM;
		if (task_has_vmf_policy(p) && p->vmf.custom_slice)
			attr->sched_runtime = p->vmf.slice;
		return true;
	case VMF_GROUP_HOST:
		if (!task_has_vmf_policy(p) && !task_has_idle_policy(p))
			return false;
		attr->sched_policy = SCHED_NORMAL;
		return true;
	case VMF_GROUP_BATCH:
		attr->sched_policy = SCHED_IDLE;
		return true;
	default:
		return false;
	}
}

static void vmf_apply_class(struct task_struct *p, int class)
{
	struct sched_attr attr;

	if (!vmf_class_attr(p, class, &attr))
		return;
	/*
	 * The only failure left after the checks above is a task that is
	 * exiting or a SCHED_EXT task refused by the BPF scheduler; neither
	 * needs the class.
	 */
	sched_setattr_nocheck(p, &attr);
}

/* Whether @p is in the cgroup that owns @tg, not in a child without cpu. */
static bool vmf_task_in_own_cgroup(struct task_struct *p, struct task_group *tg)
{
	guard(rcu)();
	return task_dfl_cgroup(p) == tg->css.cgroup;
}

static void vmf_apply_group(struct task_group *tg)
{
	int class = READ_ONCE(tg->vmf_class);
	struct css_task_iter it;
	struct task_struct *p;

	css_task_iter_start(&tg->css, 0, &it);
	while ((p = css_task_iter_next(&it)))
		if (vmf_task_in_own_cgroup(p, tg))
			vmf_apply_class(p, class);
	css_task_iter_end(&it);
}

/* The highest class @tg may have: the lowest one written above it. */
static int vmf_ceiling(struct task_group *tg)
{
	int ceiling = VMF_GROUP_VM;

	for (; tg; tg = tg->parent) {
		int class = READ_ONCE(tg->vmf_class);

		if (class != VMF_GROUP_NONE)
			ceiling = min(ceiling, class);
	}
	return ceiling;
}

/*
 * Called for a task that current moves (or clones) into @tg: the class of
 * @tg, or VMF_GROUP_NONE if the move must leave @p's policy alone.
 */
static int vmf_move_class(struct task_struct *p, struct task_group *tg,
			  struct cgroup *dst, struct sched_attr *attr)
{
	int class = READ_ONCE(tg->vmf_class);

	if (class == VMF_GROUP_NONE || dst != tg->css.cgroup ||
	    !cgroup_subsys_on_dfl(cpu_cgrp_subsys))
		return VMF_GROUP_NONE;
	if (!vmf_class_attr(p, class, attr) ||
	    !vmf_may_apply_class(p, attr->sched_policy))
		return VMF_GROUP_NONE;
	return class;
}

void vmf_cgroup_attach(struct task_struct *p, struct task_group *tg)
{
	struct sched_attr attr;
	struct cgroup *dst;

	scoped_guard (rcu)
		dst = task_dfl_cgroup(p);
	if (vmf_move_class(p, tg, dst, &attr) != VMF_GROUP_NONE)
		sched_setattr_nocheck(p, &attr);
}

/*
 * clone3(CLONE_INTO_CGROUP): before the child is visible and outside
 * p->pi_lock (the permission checks may sleep), find the class it is to
 * start in. vmf_cgroup_fork_apply() then sets it as sched_fork() would.
 */
bool vmf_cgroup_fork_class(struct task_struct *p, struct kernel_clone_args *kargs,
			   struct sched_attr *attr)
{
	struct task_group *tg;

	if (!kargs->cgrp)
		return false;
	tg = container_of(kargs->cset->subsys[cpu_cgrp_id], struct task_group, css);
	return vmf_move_class(p, tg, kargs->cgrp, attr) != VMF_GROUP_NONE;
}

int vmf_cgroup_show(struct seq_file *sf, void *v)
{
	struct task_group *tg = css_tg(seq_css(sf));

	seq_printf(sf, "%s\n", vmf_class_names[READ_ONCE(tg->vmf_class)]);
	return 0;
}

ssize_t vmf_cgroup_write(struct kernfs_open_file *of, char *buf,
			 size_t nbytes, loff_t off)
{
	struct task_group *tg = css_tg(of_css(of));
	struct cgroup_subsys_state *pos;
	int class;

	class = sysfs_match_string(vmf_class_names, strstrip(buf));
	if (class < 0)
		return -EINVAL;
	if (!file_ns_capable(of->file, &init_user_ns, CAP_SYS_NICE))
		return -EPERM;

	guard(mutex)(&vmf_cgroup_mutex);
	if (class > vmf_ceiling(tg->parent))
		return -EINVAL;
	/* Tasks cloned into the group later get the class without a call. */
	if (class >= VMF_GROUP_VMM)
		vmf_host_reserve_enable();

	WRITE_ONCE(tg->vmf_class, class);
	if (class == VMF_GROUP_NONE)
		return nbytes;
	vmf_apply_group(tg);

	/*
	 * Descendants above the new class come down with it. A group created
	 * meanwhile starts as "none", so it cannot be above it either.
	 */
	rcu_read_lock();
	css_for_each_descendant_pre(pos, &tg->css) {
		struct task_group *child = css_tg(pos);

		if (pos == &tg->css || child->vmf_class <= class)
			continue;
		WRITE_ONCE(child->vmf_class, class);
		if (!css_tryget_online(pos))
			continue;
		rcu_read_unlock();
		vmf_apply_group(child);
		rcu_read_lock();
		css_put(pos);
	}
	rcu_read_unlock();

	return nbytes;
}
