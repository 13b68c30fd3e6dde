// SPDX-License-Identifier: GPL-2.0
/*
 * cpu.vmf, the VMF class of a cgroup v2 group: none, vm, vmm, host or
 * batch. Checked here:
 *
 *  - every non-root group with the cpu controller has it, others do not;
 *  - a new group is "none", whatever its parent; moving a task into such a
 *    group, or into the root, changes nothing (a SCHED_OTHER task does not
 *    become vm, a SCHED_IDLE one stays idle), and neither does toggling
 *    the cpu controller in subtree_control above a task;
 *  - values read back; an unknown word and a class above the lowest one
 *    written on the way to the root are refused with EINVAL and change
 *    nothing; lowering a group lowers the descendants that were above
 *    it, raising it raises none;
 *  - writing needs CAP_SYS_NICE in the credentials of the file's opener:
 *    a writer without it gets EPERM, a descriptor opened with it still
 *    works after the capability is dropped;
 *  - the tasks of the group follow: vm/vmm make them SCHED_VMF of that
 *    class, host makes SCHED_VMF and SCHED_IDLE tasks SCHED_OTHER, batch
 *    makes them SCHED_IDLE, and nice values are kept; a task moved into a
 *    group takes its class; a per-thread sched_setattr() holds until the
 *    next write to the group; SCHED_FIFO and SCHED_DEADLINE tasks are
 *    never changed;
 *  - a move never does what sched_setattr() would refuse the mover: an
 *    unprivileged delegate moving its own SCHED_IDLE task into a host
 *    group leaves it idle unless the task's RLIMIT_NICE allows nice 0,
 *    while the class root wrote (vm) applies to the delegate's tasks;
 *  - a child cloned into a vm group with clone3(CLONE_INTO_CGROUP) starts
 *    as vm, one cloned into an unclassed group keeps its parent's policy,
 *    and a plain fork of a task moved into a vm group is vm.
 *
 * Class changes are polled for up to a second, so an implementation that
 * applies them a little later still passes; a change that must not
 * happen is checked after the same second.
 */
#include "kselftest.h"
#include "vmf_util.h"

#define SETTLE_MS	1000
#define MAX_THREADS	4

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP	0x200000000ULL
#endif

/* struct clone_args up to .cgroup (CLONE_ARGS_SIZE_VER2). */
struct vmf_clone_args {
	__u64 flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size,
	      tls, set_tid, set_tid_size, cgroup;
};

static char top[64];		/* every group of the test is below this one */

/* "top/sub" in a static buffer: up to 4 of them alive at a time. */
static const char *grp(const char *sub)
{
	static char bufs[4][128];
	static int next;
	char *buf = bufs[next++ % 4];

	if (*sub)
		snprintf(buf, sizeof(bufs[0]), "%s/%s", top, sub);
	else
		snprintf(buf, sizeof(bufs[0]), "%s", top);
	return buf;
}

static void mkgrp(const char *sub)
{
	int ret = vmf_cg_mkdir(grp(sub));

	if (ret)
		ksft_exit_fail_msg("mkdir %s: %s\n", grp(sub), strerror(-ret));
}

static int set_vmf(const char *sub, const char *val)
{
	return vmf_cg_write(grp(sub), "cpu.vmf", val);
}

/* Set a value the test relies on; it cannot go on otherwise. */
static void must_set_vmf(const char *sub, const char *val)
{
	int ret = set_vmf(sub, val);

	if (ret)
		ksft_exit_fail_msg("writing %s to %s/cpu.vmf: %s\n", val, grp(sub),
				   strerror(-ret));
}

/* Whether the group's cpu.vmf reads want; prints what it reads otherwise. */
static int vmf_is(const char *sub, const char *want)
{
	char buf[64];
	int ret;

	ret = vmf_cg_read(grp(sub), "cpu.vmf", buf, sizeof(buf));
	if (ret) {
		ksft_print_msg("reading %s/cpu.vmf: %s\n", grp(sub), strerror(-ret));
		return 0;
	}
	if (!strcmp(buf, want))
		return 1;
	ksft_print_msg("%s/cpu.vmf reads \"%s\", expected \"%s\"\n", grp(sub), buf, want);
	return 0;
}

/* Writing val is refused with err and the value stays. */
static int refused(const char *sub, const char *val, int err)
{
	char before[64] = "", after[64] = "";
	int ret;

	vmf_cg_read(grp(sub), "cpu.vmf", before, sizeof(before));
	ret = set_vmf(sub, val);
	vmf_cg_read(grp(sub), "cpu.vmf", after, sizeof(after));
	if (ret == -err && !strcmp(before, after))
		return 1;
	ksft_print_msg("writing \"%s\" to %s/cpu.vmf: %s, \"%s\" -> \"%s\"\n", val, grp(sub),
		       ret ? strerror(-ret) : "accepted", before, after);
	return 0;
}

/* A process of nthreads threads that sleep until killed. */
struct proc {
	pid_t pid;
	int n;
	pid_t tids[MAX_THREADS];
};

static void *sleep_forever(void *arg)
{
	int fd = *(int *)arg;
	pid_t tid = syscall(SYS_gettid);

	if (write(fd, &tid, sizeof(tid)) != sizeof(tid))
		_exit(1);
	for (;;)
		pause();
	return NULL;
}

/* nthreads sleeping threads; as user uid unless that is -1 (needs 1 thread). */
static void spawn_as(struct proc *p, int nthreads, uid_t uid)
{
	pthread_t thread;
	int fds[2], i;

	if (pipe(fds))
		ksft_exit_fail_perror("pipe");
	fflush(stdout);
	p->n = nthreads;
	p->pid = fork();
	if (p->pid < 0)
		ksft_exit_fail_perror("fork");
	if (!p->pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (uid != (uid_t)-1 && setresuid(uid, uid, uid))
			_exit(1);
		for (i = 1; i < nthreads; i++)
			if (pthread_create(&thread, NULL, sleep_forever, &fds[1]))
				_exit(1);
		sleep_forever(&fds[1]);
	}
	close(fds[1]);
	for (i = 0; i < nthreads; i++)
		if (read(fds[0], &p->tids[i], sizeof(pid_t)) != sizeof(pid_t))
			ksft_exit_fail_msg("the sleeping process did not start\n");
	close(fds[0]);
}

static void spawn(struct proc *p, int nthreads)
{
	spawn_as(p, nthreads, -1);
}

static void attach(const char *sub, struct proc *p)
{
	int ret = vmf_cg_attach(grp(sub), p->pid);

	if (ret)
		ksft_exit_fail_msg("moving %d to %s: %s\n", p->pid, grp(sub), strerror(-ret));
}

static int policy_now(pid_t tid, int policy, int prio)
{
	struct vmf_attr attr;

	return !vmf_getattr(tid, &attr) && (int)attr.sched_policy == policy &&
	       (int)attr.sched_priority == prio;
}

/* Whether the thread reaches policy/prio within SETTLE_MS; prints it otherwise. */
static int policy_is(pid_t tid, int policy, int prio)
{
	struct vmf_attr attr;
	char buf[128];
	int i;

	for (i = 0; i < SETTLE_MS / 10; i++) {
		if (policy_now(tid, policy, prio))
			return 1;
		usleep(10000);
	}
	vmf_getattr(tid, &attr);
	ksft_print_msg("thread %d: %s, expected %s prio %d\n", tid,
		       vmf_attr_str(&attr, buf, sizeof(buf)), vmf_policy_name(policy), prio);
	return 0;
}

/* Whether the thread still has policy/prio after SETTLE_MS. */
static int policy_stays(pid_t tid, int policy, int prio)
{
	usleep(SETTLE_MS * 1000);
	return policy_is(tid, policy, prio);
}

static int all_policy_is(struct proc *p, int policy, int prio)
{
	int i, ok = 1;

	for (i = 0; i < p->n; i++)
		ok &= policy_is(p->tids[i], policy, prio);
	return ok;
}

static const char * const groups[] = {
	"p/c1", "p/c2", "p/nocpu", "p", "a", "b", "vm", "vmm", "host", "batch", "none",
	"t/c", "t", "d/from", "d/host", "d/vm", "d", "",
};

static struct proc procs[6];
static pid_t owner;
static int cpu_enabled;		/* we enabled the cpu controller */

static void cleanup(void)
{
	unsigned int i;

	if (getpid() != owner)
		return;
	for (i = 0; i < ARRAY_SIZE(procs); i++)
		vmf_kill_wait(procs[i].pid);
	for (i = 0; i < ARRAY_SIZE(groups); i++)
		vmf_cg_rmdir(grp(groups[i]));
	if (cpu_enabled)
		vmf_cg_write("", "cgroup.subtree_control", "-cpu");
}

static void test_files(void)
{
	int ok;

	ksft_test_result(vmf_is("", "none"), "a new group below the root starts as none\n");

	mkgrp("p");
	mkgrp("p/nocpu");
	ok = !vmf_cg_has(grp("p/nocpu"), "cpu.vmf");
	if (!ok)
		ksft_print_msg("%s has cpu.vmf without the cpu controller\n", grp("p/nocpu"));
	if (vmf_cg_write(grp("p"), "cgroup.subtree_control", "+cpu"))
		ksft_exit_fail_perror("enabling the cpu controller");
	ok &= vmf_cg_has(grp("p/nocpu"), "cpu.vmf");
	ksft_test_result(ok, "cpu.vmf exists only where the cpu controller is enabled\n");
}

static void test_values(void)
{
	static const char * const values[] = { "vm", "vmm", "batch", "none", "host", "vmm", "vm" };
	static const char * const bad[] = { "foo", "vmmm", "v", "hos", "vm vmm", "2", "" };
	unsigned int i;
	int ok = 1, ret;

	for (i = 0; i < ARRAY_SIZE(values); i++) {
		ret = set_vmf("", values[i]);
		if (ret) {
			ksft_print_msg("writing %s: %s\n", values[i], strerror(-ret));
			ok = 0;
		}
		ok &= vmf_is("", values[i]);
	}
	ksft_test_result(ok, "vm, vmm, batch, none, host written and read back\n");

	ok = 1;
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		ok &= refused("", bad[i], EINVAL);
	ksft_test_result(ok, "unknown words refused with EINVAL, value unchanged\n");
}

static void test_hierarchy(void)
{
	int ok;

	/* top is vm */
	mkgrp("a");
	ok = vmf_is("a", "none");
	must_set_vmf("", "batch");
	mkgrp("b");
	ksft_test_result(ok && vmf_is("b", "none"),
			 "a new group is none, below vm and below batch alike\n");

	must_set_vmf("", "vmm");
	must_set_vmf("a", "host");
	ok = refused("a", "vm", EINVAL);
	ok &= !set_vmf("a", "vmm") && vmf_is("a", "vmm");
	must_set_vmf("", "host");
	ok &= refused("a", "vmm", EINVAL) && refused("a", "vm", EINVAL);
	must_set_vmf("", "batch");
	ok &= refused("a", "host", EINVAL);
	ok &= !set_vmf("a", "none") && vmf_is("a", "none");
	ksft_test_result(ok, "a class above the parent's is refused (EINVAL), none is not\n");

	/* top batch > p none > c1: the ceiling is top's */
	mkgrp("p/c1");
	mkgrp("p/c2");
	ok = vmf_is("p", "none") && refused("p/c1", "host", EINVAL) &&
	     !set_vmf("p/c1", "batch") && vmf_is("p/c1", "batch");
	ksft_test_result(ok, "the ceiling is the lowest class written above, past none\n");

	/* top vm > p vm > c1 vmm, c2 batch; then top host: p host, c1 host, c2 batch */
	must_set_vmf("", "vm");
	must_set_vmf("p", "vm");
	must_set_vmf("p/c1", "vmm");
	must_set_vmf("p/c2", "batch");
	must_set_vmf("", "host");
	ok = vmf_is("", "host") && vmf_is("p", "host") && vmf_is("p/c1", "host") &&
	     vmf_is("p/c2", "batch");
	must_set_vmf("", "vm");
	ok &= vmf_is("p", "host") && vmf_is("p/c1", "host") && vmf_is("p/c2", "batch");
	ksft_test_result(ok, "lowering a group lowers descendants above it, raising raises none\n");
}

/*
 * In a child without CAP_SYS_NICE: a write through a new fd must fail with
 * EPERM (bit 0 of the result otherwise), one through the fd opened before
 * must work (bit 1 otherwise).
 */
#define WRITER_SETUP_FAILED	4

static int unprivileged_writer(void *arg)
{
	int preopened = *(int *)arg, result = 0, fd, ret;
	char path[256];

	ret = vmf_drop_cap(CAP_SYS_NICE);
	if (ret) {
		ksft_print_msg("dropping CAP_SYS_NICE: %s\n", strerror(-ret));
		return WRITER_SETUP_FAILED;
	}
	vmf_cg_path(path, sizeof(path), grp("a"), "cpu.vmf");
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		ksft_print_msg("open without CAP_SYS_NICE: %s\n", strerror(-ret));
	} else {
		ret = vmf_write_fd(fd, "vmm\n");
		close(fd);
		ksft_print_msg("write without CAP_SYS_NICE: %s\n",
			       ret ? strerror(-ret) : "accepted");
	}
	if (ret != -EPERM || !vmf_is("a", "host"))
		result |= 1;

	ret = vmf_write_fd(preopened, "vm\n");
	if (ret)
		ksft_print_msg("write through the fd opened with CAP_SYS_NICE: %s\n",
			       strerror(-ret));
	if (ret || !vmf_is("a", "vm"))
		result |= 2;
	return result;
}

static void test_permission(void)
{
	char path[256];
	int fd, ret;

	must_set_vmf("", "vm");
	must_set_vmf("a", "host");
	vmf_cg_path(path, sizeof(path), grp("a"), "cpu.vmf");
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		ksft_exit_fail_perror("opening cpu.vmf");
	ret = vmf_run_child(unprivileged_writer, &fd);
	close(fd);
	ksft_test_result(!(ret & ~2),
			 "a writer without CAP_SYS_NICE gets EPERM, value unchanged\n");
	ksft_test_result(!(ret & ~1),
			 "an fd opened with CAP_SYS_NICE still writes after dropping it\n");
}

static int all_nice_is(struct proc *p, int nice)
{
	struct vmf_attr attr;
	int i, ok = 1;

	for (i = 0; i < p->n; i++) {
		if (!vmf_getattr(p->tids[i], &attr) && attr.sched_nice == nice)
			continue;
		ksft_print_msg("thread %d: nice %d, expected %d\n", p->tids[i],
			       attr.sched_nice, nice);
		ok = 0;
	}
	return ok;
}

static void test_group_writes(void)
{
	struct proc *p = &procs[0];
	int ok, i;

	must_set_vmf("", "vm");
	must_set_vmf("a", "host");
	spawn(p, 2);
	for (i = 0; i < p->n; i++)
		if (vmf_set(p->tids[i], SCHED_OTHER, 0, 3, 0))
			ksft_exit_fail_perror("setting nice 3");
	attach("a", p);

	ok = !set_vmf("a", "vm") && all_policy_is(p, SCHED_VMF, VMF_CLASS_VM);
	ksft_test_result(ok, "writing vm: the group's threads become SCHED_VMF vm\n");
	ksft_test_result(all_nice_is(p, 3), "their nice value (3) is kept\n");
	ok = !set_vmf("a", "vmm") && all_policy_is(p, SCHED_VMF, VMF_CLASS_VMM);
	ksft_test_result(ok, "writing vmm: they become SCHED_VMF vmm\n");
	ok = !set_vmf("a", "host") && all_policy_is(p, SCHED_OTHER, 0);
	ksft_test_result(ok, "writing host: they become SCHED_OTHER\n");
	ok = !set_vmf("a", "batch") && all_policy_is(p, SCHED_IDLE, 0);
	ksft_test_result(ok, "writing batch: they become SCHED_IDLE\n");
	ok = !set_vmf("a", "vm") && all_policy_is(p, SCHED_VMF, VMF_CLASS_VM);
	ksft_test_result(ok, "writing vm: SCHED_IDLE threads become SCHED_VMF vm\n");

	ok = !vmf_set(p->tids[1], SCHED_OTHER, 0, 0, 0) &&
	     policy_stays(p->tids[1], SCHED_OTHER, 0) &&
	     policy_is(p->tids[0], SCHED_VMF, VMF_CLASS_VM);
	ksft_test_result(ok, "sched_setattr() of one thread in a vm group holds\n");
	ok = !set_vmf("a", "vm") && policy_is(p->tids[1], SCHED_VMF, VMF_CLASS_VM);
	ksft_test_result(ok, "until the next write to the group\n");

	ok = !set_vmf("a", "batch") && all_policy_is(p, SCHED_IDLE, 0) &&
	     !set_vmf("a", "host") && all_policy_is(p, SCHED_OTHER, 0);
	ksft_test_result(ok, "writing host: SCHED_IDLE threads become SCHED_OTHER\n");
}

static void test_moves(void)
{
	struct proc *p = &procs[1];

	must_set_vmf("", "vm");
	mkgrp("vm");
	mkgrp("vmm");
	mkgrp("host");
	mkgrp("batch");
	must_set_vmf("vm", "vm");
	must_set_vmf("vmm", "vmm");
	must_set_vmf("host", "host");
	must_set_vmf("batch", "batch");
	spawn(p, 2);

	attach("vm", p);
	ksft_test_result(all_policy_is(p, SCHED_VMF, VMF_CLASS_VM),
			 "moved into a vm group: SCHED_VMF vm\n");
	attach("vmm", p);
	ksft_test_result(all_policy_is(p, SCHED_VMF, VMF_CLASS_VMM),
			 "moved into a vmm group: SCHED_VMF vmm\n");
	attach("host", p);
	ksft_test_result(all_policy_is(p, SCHED_OTHER, 0),
			 "moved into a host group: SCHED_OTHER\n");
	attach("batch", p);
	ksft_test_result(all_policy_is(p, SCHED_IDLE, 0),
			 "moved into a batch group: SCHED_IDLE\n");
	attach("vm", p);
	ksft_test_result(all_policy_is(p, SCHED_VMF, VMF_CLASS_VM),
			 "moved from batch into a vm group: SCHED_VMF vm\n");
}

/* Thread 0 follows the group; thread 1 (FIFO 10) and thread 2 (DEADLINE) never do. */
static int rt_dl_is(struct proc *p, int policy, int prio)
{
	int ok = policy_is(p->tids[0], policy, prio);

	ok &= policy_stays(p->tids[1], SCHED_FIFO, 10);
	ok &= policy_is(p->tids[2], SCHED_DEADLINE, 0);
	return ok;
}

static void test_rt_dl(void)
{
	struct proc *p = &procs[2];
	struct vmf_attr dl;
	int ret;

	must_set_vmf("", "vm");
	must_set_vmf("host", "host");
	must_set_vmf("vm", "vm");
	spawn(p, 3);
	ret = vmf_set(p->tids[1], SCHED_FIFO, 10, 0, 0);
	if (ret)
		ksft_exit_fail_msg("making a thread SCHED_FIFO: %s\n", strerror(-ret));
	dl = vmf_mkattr(SCHED_DEADLINE, 0, 0, VMF_NSEC_PER_MSEC, 0);
	dl.sched_deadline = 100 * VMF_NSEC_PER_MSEC;
	dl.sched_period = 100 * VMF_NSEC_PER_MSEC;
	ret = vmf_setattr(p->tids[2], &dl);
	if (ret)
		ksft_exit_fail_msg("making a thread SCHED_DEADLINE: %s\n", strerror(-ret));
	attach("host", p);

	ksft_test_result(!set_vmf("host", "vm") && rt_dl_is(p, SCHED_VMF, VMF_CLASS_VM),
			 "writing vm: SCHED_FIFO and SCHED_DEADLINE threads unchanged\n");
	ksft_test_result(!set_vmf("host", "batch") && rt_dl_is(p, SCHED_IDLE, 0),
			 "writing batch: SCHED_FIFO and SCHED_DEADLINE threads unchanged\n");
	attach("vm", p);
	ksft_test_result(rt_dl_is(p, SCHED_VMF, VMF_CLASS_VM),
			 "moved into a vm group: SCHED_FIFO and SCHED_DEADLINE threads unchanged\n");
	ksft_test_result(!set_vmf("vm", "host") && rt_dl_is(p, SCHED_OTHER, 0),
			 "writing host: SCHED_FIFO and SCHED_DEADLINE threads unchanged\n");
}

/* Thread 0 of p SCHED_OTHER (nice 2), thread 1 SCHED_IDLE. */
static void other_and_idle(struct proc *p)
{
	if (vmf_set(p->tids[0], SCHED_OTHER, 0, 2, 0) || vmf_set(p->tids[1], SCHED_IDLE, 0, 0, 0))
		ksft_exit_fail_perror("setting SCHED_OTHER and SCHED_IDLE");
}

static int other_and_idle_stay(struct proc *p)
{
	return policy_stays(p->tids[0], SCHED_OTHER, 0) && policy_is(p->tids[1], SCHED_IDLE, 0);
}

static void test_unclassed(void)
{
	struct proc *p = &procs[3];
	int ret, ok;

	must_set_vmf("", "vm");
	mkgrp("none");
	spawn(p, 2);
	other_and_idle(p);

	attach("none", p);
	ksft_test_result(other_and_idle_stay(p),
			 "moved into an unclassed group: SCHED_OTHER and SCHED_IDLE stay\n");

	ret = vmf_cg_attach("", p->pid);
	if (ret)
		ksft_exit_fail_msg("moving %d to the root: %s\n", p->pid, strerror(-ret));
	ksft_test_result(other_and_idle_stay(p),
			 "moved to the root: SCHED_OTHER and SCHED_IDLE stay\n");

	must_set_vmf("vm", "vm");
	attach("vm", p);
	ok = all_policy_is(p, SCHED_VMF, VMF_CLASS_VM);
	ret = vmf_cg_attach("", p->pid);
	if (ret)
		ksft_exit_fail_msg("moving %d to the root: %s\n", p->pid, strerror(-ret));
	ok &= policy_stays(p->tids[0], SCHED_VMF, VMF_CLASS_VM);
	ksft_test_result(ok, "a vm task moved to the root stays vm: the root applies nothing\n");
}

/*
 * t (vm) holds c; the tasks are in c. Without the cpu controller in t's
 * subtree_control they are in t's cpu group, with it in c's; neither
 * switch is a move into t, and none changes a policy.
 */
static void test_toggle(void)
{
	struct proc *p = &procs[4];
	int ok, ret;

	must_set_vmf("", "vm");
	mkgrp("t");
	must_set_vmf("t", "vm");
	mkgrp("t/c");
	spawn(p, 2);
	other_and_idle(p);
	attach("t/c", p);
	ok = other_and_idle_stay(p);

	ret = vmf_cg_write(grp("t"), "cgroup.subtree_control", "+cpu");
	if (ret)
		ksft_exit_fail_msg("+cpu in t: %s\n", strerror(-ret));
	ok &= vmf_is("t/c", "none") && other_and_idle_stay(p);
	ret = vmf_cg_write(grp("t"), "cgroup.subtree_control", "-cpu");
	if (ret)
		ksft_exit_fail_msg("-cpu in t: %s\n", strerror(-ret));
	ok &= other_and_idle_stay(p);
	ksft_test_result(ok, "toggling +cpu above a vm group's tasks changes no policy\n");
}

/* The delegate: nobody, moving a task from d/from into group arg. */
static int delegate_move(void *arg)
{
	int ret = vmf_become_nobody(0);

	if (ret)
		return 1;
	ret = vmf_cg_attach(grp(arg), procs[5].pid);
	if (ret) {
		ksft_print_msg("the delegate moving %d to %s: %s\n", procs[5].pid,
			       grp(arg), strerror(-ret));
		return 1;
	}
	return 0;
}

static void delegate_to_nobody(const char *sub)
{
	char path[512];

	vmf_cg_path(path, sizeof(path), grp(sub), NULL);
	if (chown(path, VMF_NOBODY, VMF_NOBODY))
		ksft_exit_fail_perror("chown of a delegated group");
	vmf_cg_path(path, sizeof(path), grp(sub), "cgroup.procs");
	if (chown(path, VMF_NOBODY, VMF_NOBODY))
		ksft_exit_fail_perror("chown of a delegated cgroup.procs");
}

static void test_delegate(void)
{
	struct rlimit nice20 = { .rlim_cur = 20, .rlim_max = 20 };
	struct proc *p = &procs[5];
	int ret, ok;

	must_set_vmf("", "vm");
	mkgrp("d");
	if (vmf_cg_write(grp("d"), "cgroup.subtree_control", "+cpu"))
		ksft_exit_fail_perror("+cpu in d");
	mkgrp("d/from");
	mkgrp("d/host");
	mkgrp("d/vm");
	must_set_vmf("d/host", "host");
	must_set_vmf("d/vm", "vm");
	delegate_to_nobody("d");
	delegate_to_nobody("d/from");
	delegate_to_nobody("d/host");
	delegate_to_nobody("d/vm");

	spawn_as(p, 1, VMF_NOBODY);
	if (vmf_set(p->tids[0], SCHED_IDLE, 0, 0, 0))
		ksft_exit_fail_perror("making the delegate's task SCHED_IDLE");
	attach("d/from", p);

	ret = vmf_run_child(delegate_move, "d/host");
	ok = !ret && policy_stays(p->tids[0], SCHED_IDLE, 0);
	ksft_test_result(ok, "a delegate's move into a host group leaves its idle task idle\n");

	attach("d/from", p);
	if (prlimit(p->pid, RLIMIT_NICE, &nice20, NULL))
		ksft_exit_fail_perror("RLIMIT_NICE 20 for the delegate's task");
	ret = vmf_run_child(delegate_move, "d/host");
	ok = !ret && policy_is(p->tids[0], SCHED_OTHER, 0);
	ksft_test_result(ok, "... and makes it SCHED_OTHER once its RLIMIT_NICE allows nice 0\n");

	ret = vmf_run_child(delegate_move, "d/vm");
	ok = !ret && policy_is(p->tids[0], SCHED_VMF, VMF_CLASS_VM);
	ksft_test_result(ok, "a delegate's move into a group root classed vm makes its task vm\n");
}

/* The policy and prio a new child of this process starts with, through a pipe. */
struct child_sched {
	__u32 policy, prio;
};

static int report_sched(int fd)
{
	struct vmf_attr attr;
	struct child_sched cs = { .policy = -1 };

	if (!vmf_getattr(0, &attr)) {
		cs.policy = attr.sched_policy;
		cs.prio = attr.sched_priority;
	}
	return write(fd, &cs, sizeof(cs)) == sizeof(cs) ? 0 : 1;
}

/* clone3() a child into group sub (plain fork if sub is NULL): how it starts. */
static struct child_sched child_start(const char *sub)
{
	struct vmf_clone_args args = { .exit_signal = SIGCHLD };
	struct child_sched cs = { .policy = -1 };
	char path[512];
	int fds[2], cgfd = -1, status;
	pid_t pid;

	if (pipe(fds))
		ksft_exit_fail_perror("pipe");
	if (sub) {
		vmf_cg_path(path, sizeof(path), grp(sub), NULL);
		cgfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cgfd < 0)
			ksft_exit_fail_perror("opening the cgroup");
		args.flags = CLONE_INTO_CGROUP;
		args.cgroup = cgfd;
	}
	fflush(stdout);
	pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0)
		ksft_exit_fail_perror("clone3");
	if (!pid)
		_exit(report_sched(fds[1]));
	if (read(fds[0], &cs, sizeof(cs)) != sizeof(cs))
		ksft_print_msg("the child did not report its policy\n");
	waitpid(pid, &status, 0);
	close(fds[0]);
	close(fds[1]);
	if (cgfd >= 0)
		close(cgfd);
	return cs;
}

static int started_as(struct child_sched cs, int policy, int prio, const char *how)
{
	if ((int)cs.policy == policy && (int)cs.prio == prio)
		return 1;
	ksft_print_msg("%s: a child started as policy %d prio %d, expected %s prio %d\n", how,
		       (int)cs.policy, (int)cs.prio, vmf_policy_name(policy), prio);
	return 0;
}

/* In a child: move into vm, then fork; 0 if the grandchild is vm. */
static int fork_after_move(void *arg)
{
	if (vmf_cg_attach(grp("vm"), getpid()))
		return 2;
	return !started_as(child_start(NULL), SCHED_VMF, VMF_CLASS_VM, "fork after a move");
}

static void test_clone(void)
{
	must_set_vmf("", "vm");
	must_set_vmf("vm", "vm");
	ksft_test_result(started_as(child_start("vm"), SCHED_VMF, VMF_CLASS_VM,
				    "CLONE_INTO_CGROUP"),
			 "clone3(CLONE_INTO_CGROUP) into a vm group starts the child as vm\n");
	ksft_test_result(started_as(child_start("none"), SCHED_OTHER, 0,
				    "CLONE_INTO_CGROUP, unclassed"),
			 "clone3(CLONE_INTO_CGROUP) into an unclassed group keeps SCHED_OTHER\n");
	ksft_test_result(!vmf_run_child(fork_after_move, NULL),
			 "a plain fork of a task moved into a vm group is vm\n");
}

int main(void)
{
	int ret;

	ksft_print_header();
	vmf_require();
	cpu_enabled = vmf_cg_require_cpu();

	snprintf(top, sizeof(top), "vmf-cgroup-%d", getpid());
	owner = getpid();
	atexit(cleanup);
	ret = vmf_cg_mkdir(top);
	if (ret)
		ksft_exit_fail_msg("mkdir %s: %s\n", top, strerror(-ret));
	ret = vmf_cg_write(top, "cgroup.subtree_control", "+cpu");
	if (ret)
		ksft_exit_fail_msg("enabling the cpu controller in %s: %s\n", top, strerror(-ret));

	ksft_set_plan(2 + 2 + 4 + 2 + 9 + 5 + 4 + 3 + 1 + 3 + 3);
	test_files();
	test_values();
	test_hierarchy();
	test_permission();
	test_group_writes();
	test_moves();
	test_rt_dl();
	test_unclassed();
	test_toggle();
	test_delegate();
	test_clone();
	ksft_finished();
}
