// SPDX-License-Identifier: GPL-2.0
/*
 * SCHED_VMF: the cpu.vmf file of the cgroup v2 cpu controller.
 *
 * cpu.vmf classifies the tasks of a group as "vm", "vmm", "host" or
 * "batch", so management stacks need no per-thread calls: with libvirt's
 * layout, machine.slice/<vm>/libvirt/vcpuN is "vm" and .../emulator "vmm".
 *
 * Rules, see Documentation/scheduler/sched-vmf.rst:
 *  - a write needs CAP_SYS_NICE in the opener's credentials, so a delegated
 *    subtree cannot lift itself above the host;
 *  - a group is never above its parent: such a write fails with -EINVAL,
 *    and lowering a group lowers the descendants that were above it. The
 *    root counts as "vm" here; its own tasks are not touched;
 *  - a write applies the class to every task of the group (and of the
 *    lowered descendants), and a task moved into a group takes its class.
 *    A later sched_setattr() on a thread wins until the next write or move;
 *  - RT and DL tasks are never changed, nor are kernel threads.
 */
#include <linux/capability.h>
#include <linux/cgroup.h>

static const char * const vmf_class_names[] = {
	[VMF_GROUP_BATCH]	= "batch",
	[VMF_GROUP_HOST]	= "host",
	[VMF_GROUP_VMM]		= "vmm",
	[VMF_GROUP_VM]		= "vm",
};

/* Serialises writers, so a parent and its children stay ordered. */
static DEFINE_MUTEX(vmf_cgroup_mutex);

void vmf_cgroup_init(struct task_group *tg, struct task_group *parent)
{
	tg->vmf_class = min_t(int, READ_ONCE(parent->vmf_class), VMF_GROUP_HOST);
}

static void vmf_apply_class(struct task_struct *p, int class)
{
	struct sched_attr attr = {
		.size		= sizeof(attr),
		.sched_nice	= task_nice(p),
		.sched_flags	= p->sched_reset_on_fork ? SCHED_FLAG_RESET_ON_FORK : 0,
	};

	if ((p->flags & PF_KTHREAD) || rt_or_dl_task_policy(p))
		return;

	switch (class) {
	case VMF_GROUP_VM:
	case VMF_GROUP_VMM:
		attr.sched_policy = SCHED_VMF;
		attr.sched_priority = class == VMF_GROUP_VM ? SCHED_VMF_VM : SCHED_VMF_VMM;
		if (task_has_vmf_policy(p) && p->vmf.custom_slice)
			attr.sched_runtime = p->vmf.slice;
		break;
	case VMF_GROUP_HOST:
		if (!task_has_vmf_policy(p) && !task_has_idle_policy(p))
			return;
		attr.sched_policy = SCHED_NORMAL;
		break;
	default:
		attr.sched_policy = SCHED_IDLE;
		break;
	}
	/*
	 * The only failure left after the checks above is a task that is
	 * exiting or a SCHED_EXT task refused by the BPF scheduler; neither
	 * needs the class.
	 */
	sched_setattr_nocheck(p, &attr);
}

static void vmf_apply_group(struct task_group *tg)
{
	struct css_task_iter it;
	struct task_struct *p;

	css_task_iter_start(&tg->css, 0, &it);
	while ((p = css_task_iter_next(&it)))
		vmf_apply_class(p, tg->vmf_class);
	css_task_iter_end(&it);
}

void vmf_cgroup_attach(struct task_struct *p, struct task_group *tg)
{
	vmf_apply_class(p, READ_ONCE(tg->vmf_class));
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
	struct task_group *parent = css_tg(of_css(of)->parent);
	struct cgroup_subsys_state *pos;
	int class;

	class = sysfs_match_string(vmf_class_names, strstrip(buf));
	if (class < 0)
		return -EINVAL;
	if (!file_ns_capable(of->file, &init_user_ns, CAP_SYS_NICE))
		return -EPERM;

	guard(mutex)(&vmf_cgroup_mutex);
	if (class > parent->vmf_class)
		return -EINVAL;

	WRITE_ONCE(tg->vmf_class, class);
	vmf_apply_group(tg);

	/* Descendants above the new class come down with it. */
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
