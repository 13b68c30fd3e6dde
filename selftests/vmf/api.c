// SPDX-License-Identifier: GPL-2.0
/*
 * The SCHED_VMF user ABI: the priority range, sched_setattr() and
 * sched_getattr() with every parameter and every error (a refused call
 * must change nothing), sched_setscheduler() and sched_getscheduler(),
 * the SCHED_FLAG_KEEP_* flags, what fork() and pthread_create() pass on
 * with and without SCHED_RESET_ON_FORK, the timer slack (none, as for RT
 * tasks), the permission rules for tasks without CAP_SYS_NICE, and the
 * sysctls with their invalid writes.
 */
#include "kselftest.h"
#include "vmf_util.h"

/* sched_getattr() of a SCHED_OTHER task reports the fair slice: not ours. */
#define ANY_SLICE	(~0ULL)
#define MSEC		VMF_NSEC_PER_MSEC

static __u64 def_slice;		/* default slice in ns, from the sysctl */
static pid_t target;		/* a sleeping child whose attributes we set */

/* Whether the task's attributes are these; prints what differs. */
static int attr_is(pid_t pid, int policy, int prio, int nice, __u64 slice, __u64 flags)
{
	struct vmf_attr want = vmf_mkattr(policy, prio, nice, slice, flags), got;
	char w[128], g[128];
	int ret;

	ret = vmf_getattr(pid, &got);
	if (ret) {
		ksft_print_msg("sched_getattr(%d): %s\n", pid, strerror(-ret));
		return 0;
	}
	if (slice == ANY_SLICE)
		want.sched_runtime = got.sched_runtime;
	if (vmf_attr_equal(&want, &got))
		return 1;
	ksft_print_msg("pid %d: expected %s, got %s\n", pid,
		       vmf_attr_str(&want, w, sizeof(w)), vmf_attr_str(&got, g, sizeof(g)));
	return 0;
}

/* Set a starting state as root; the test cannot go on without it. */
static void set_or_die(pid_t pid, int policy, int prio, int nice, __u64 slice)
{
	int ret = vmf_set(pid, policy, prio, nice, slice);

	if (ret)
		ksft_exit_fail_msg("sched_setattr(%d, %s prio %d nice %d slice %llu): %s\n",
				   pid, vmf_policy_name(policy), prio, nice,
				   (unsigned long long)slice, strerror(-ret));
}

/* Set and read back; the slice read back is def_slice if slice is 0. */
static int set_and_check(pid_t pid, int policy, int prio, int nice, __u64 slice)
{
	int ret = vmf_set(pid, policy, prio, nice, slice);

	if (ret) {
		ksft_print_msg("sched_setattr(%s prio %d nice %d slice %llu): %s\n",
			       vmf_policy_name(policy), prio, nice,
			       (unsigned long long)slice, strerror(-ret));
		return 0;
	}
	return attr_is(pid, policy, prio, nice, slice ? slice : def_slice, 0);
}

static int getscheduler_is(pid_t pid, int want)
{
	int got = sched_getscheduler(pid);

	if (got == want)
		return 1;
	ksft_print_msg("sched_getscheduler(%d) = %#x, expected %#x\n", pid, got, want);
	return 0;
}

/* The priority range. */
#define N_RANGE		2

static void test_range(void)
{
	int min = sched_get_priority_min(SCHED_VMF);
	int max = sched_get_priority_max(SCHED_VMF);

	ksft_test_result(min == VMF_CLASS_VMM, "sched_get_priority_min(SCHED_VMF) = %d\n", min);
	ksft_test_result(max == VMF_CLASS_VM, "sched_get_priority_max(SCHED_VMF) = %d\n", max);
}

/* sched_setattr() and sched_getattr(). */
#define N_SETATTR	5

static void test_setattr(void)
{
	static const int nices[] = { -20, 19 };
	static const __u64 slices[] = { VMF_SLICE_MIN_NS, VMF_SLICE_MAX_NS };
	unsigned int i, j;
	int ok;

	ksft_test_result(set_and_check(target, SCHED_VMF, VMF_CLASS_VM, 0, 0),
			 "vm class, nice 0, default slice (%llu ns) read back\n",
			 (unsigned long long)def_slice);
	ksft_test_result(set_and_check(target, SCHED_VMF, VMF_CLASS_VMM, 5, 5 * MSEC),
			 "vmm class, nice 5, slice 5 ms read back\n");

	ok = 1;
	for (i = 0; i < ARRAY_SIZE(nices); i++)
		for (j = 0; j < ARRAY_SIZE(slices); j++)
			ok &= set_and_check(target, SCHED_VMF, VMF_CLASS_VM, nices[i], slices[j]);
	ksft_test_result(ok, "nice -20 and 19, slice 100 us and 100 ms accepted and read back\n");

	set_or_die(target, SCHED_VMF, VMF_CLASS_VM, 0, 0);
	ok = vmf_set(target, SCHED_OTHER, 0, 3, 0) == 0 &&
	     attr_is(target, SCHED_OTHER, 0, 3, ANY_SLICE, 0);
	ksft_test_result(ok, "SCHED_VMF back to SCHED_OTHER nice 3\n");

	/* A task that asks for the default slice gets the sysctl's current value. */
	ok = vmf_sysctl_set("sched_vmf_slice_us", 4000) == 0 &&
	     vmf_set(target, SCHED_VMF, VMF_CLASS_VM, 0, 0) == 0 &&
	     attr_is(target, SCHED_VMF, VMF_CLASS_VM, 0, 4000 * VMF_NSEC_PER_USEC, 0);
	if (vmf_sysctl_set("sched_vmf_slice_us", def_slice / VMF_NSEC_PER_USEC))
		ksft_exit_fail_msg("cannot restore sched_vmf_slice_us\n");
	ksft_test_result(ok, "default slice follows sched_vmf_slice_us (4000 -> 4000000 ns)\n");
}

/* sched_setscheduler(), sched_setparam() and their getters. */
#define N_SETSCHEDULER	4

static int setscheduler(pid_t pid, int policy, int prio)
{
	struct sched_param sp = { .sched_priority = prio };

	return sched_setscheduler(pid, policy, &sp) ? -errno : 0;
}

static void test_setscheduler(void)
{
	struct vmf_attr before, after;
	struct sched_param sp;
	int ok, r0, r3;

	set_or_die(target, SCHED_OTHER, 0, 4, 0);
	ok = setscheduler(target, SCHED_VMF, VMF_CLASS_VMM) == 0 &&
	     attr_is(target, SCHED_VMF, VMF_CLASS_VMM, 4, ANY_SLICE, 0) &&
	     getscheduler_is(target, SCHED_VMF);
	ksft_test_result(ok, "sched_setscheduler(SCHED_VMF, 1) from nice 4: vmm, nice kept\n");

	ok = setscheduler(target, SCHED_VMF | SCHED_RESET_ON_FORK, VMF_CLASS_VM) == 0 &&
	     attr_is(target, SCHED_VMF, VMF_CLASS_VM, 4, ANY_SLICE, SCHED_FLAG_RESET_ON_FORK) &&
	     getscheduler_is(target, SCHED_VMF | SCHED_RESET_ON_FORK) &&
	     setscheduler(target, SCHED_VMF, VMF_CLASS_VM) == 0 &&
	     getscheduler_is(target, SCHED_VMF);
	ksft_test_result(ok, "SCHED_VMF | SCHED_RESET_ON_FORK set, reported and cleared\n");

	set_or_die(target, SCHED_VMF, VMF_CLASS_VM, 2, 3 * MSEC);
	vmf_getattr(target, &before);
	r0 = setscheduler(target, SCHED_VMF, 0);
	r3 = setscheduler(target, SCHED_VMF, 3);
	vmf_getattr(target, &after);
	ok = r0 == -EINVAL && r3 == -EINVAL && vmf_attr_equal(&before, &after);
	ksft_test_result(ok, "sched_setscheduler(SCHED_VMF, 0 or 3): EINVAL, unchanged (%s, %s)\n",
			 strerror(-r0), strerror(-r3));

	/* sched_setparam() changes the class and nothing else; 0 is refused. */
	set_or_die(target, SCHED_VMF, VMF_CLASS_VM, 3, 5 * MSEC);
	sp.sched_priority = VMF_CLASS_VMM;
	ok = !sched_setparam(target, &sp) &&
	     attr_is(target, SCHED_VMF, VMF_CLASS_VMM, 3, 5 * MSEC, 0);
	sp.sched_priority = -1;
	ok &= !sched_getparam(target, &sp) && sp.sched_priority == VMF_CLASS_VMM;
	vmf_getattr(target, &before);
	sp.sched_priority = 0;
	r0 = sched_setparam(target, &sp) ? -errno : 0;
	vmf_getattr(target, &after);
	ok &= r0 == -EINVAL && vmf_attr_equal(&before, &after);
	ksft_test_result(ok, "sched_setparam(1): vm to vmm, sched_getparam() 1; 0: EINVAL\n");
}

/* SCHED_FLAG_KEEP_POLICY and SCHED_FLAG_KEEP_PARAMS behave as for fair tasks. */
#define N_KEEP		3

static void test_keep(void)
{
	struct vmf_attr attr;
	int ret;

	set_or_die(target, SCHED_VMF, VMF_CLASS_VM, 4, 6 * MSEC);
	attr = vmf_mkattr(SCHED_OTHER, 0, 0, 0, VMF_FLAG_KEEP_ALL);
	ret = vmf_setattr(target, &attr);
	ksft_test_result(!ret && attr_is(target, SCHED_VMF, VMF_CLASS_VM, 4, 6 * MSEC, 0),
			 "SCHED_FLAG_KEEP_ALL changes nothing (%s)\n", strerror(-ret));

	attr = vmf_mkattr(SCHED_OTHER, VMF_CLASS_VMM, 7, 2 * MSEC,
			  SCHED_FLAG_KEEP_POLICY);
	ret = vmf_setattr(target, &attr);
	ksft_test_result(!ret && attr_is(target, SCHED_VMF, VMF_CLASS_VMM, 7, 2 * MSEC, 0),
			 "SCHED_FLAG_KEEP_POLICY keeps SCHED_VMF, sets class, nice, slice (%s)\n",
			 strerror(-ret));

	set_or_die(target, SCHED_VMF, VMF_CLASS_VM, 4, 6 * MSEC);
	attr = vmf_mkattr(SCHED_VMF, 0, 0, 0, SCHED_FLAG_KEEP_PARAMS);
	ret = vmf_setattr(target, &attr);
	ksft_test_result(!ret && attr_is(target, SCHED_VMF, VMF_CLASS_VM, 4, 6 * MSEC, 0),
			 "SCHED_FLAG_KEEP_PARAMS keeps class, nice and slice (%s)\n",
			 strerror(-ret));
}

/* Invalid sched_setattr() calls: EINVAL, and the task is unchanged. */
static const struct bad_attr {
	const char *what;
	int prio;
	int nice;
	__u64 runtime;
	__u64 deadline;
	__u64 period;
	__u64 flags;
} bad_attrs[] = {
	{ "class 0",			0, 0, 0, 0, 0, 0 },
	{ "class 3",			3, 0, 0, 0, 0, 0 },
	{ "class 99",			99, 0, 0, 0, 0, 0 },
	{ "nice -21",			VMF_CLASS_VM, -21, 0, 0, 0, 0 },
	{ "nice 20",			VMF_CLASS_VM, 20, 0, 0, 0, 0 },
	{ "slice 99999 ns",		VMF_CLASS_VM, 0, VMF_SLICE_MIN_NS - 1, 0, 0, 0 },
	{ "slice 100000001 ns",		VMF_CLASS_VM, 0, VMF_SLICE_MAX_NS + 1, 0, 0, 0 },
	{ "slice 2^64-1 ns",		VMF_CLASS_VM, 0, ~0ULL, 0, 0, 0 },
	{ "sched_deadline 1 ms",	VMF_CLASS_VM, 0, 0, MSEC, 0, 0 },
	{ "sched_period 1 ms",		VMF_CLASS_VM, 0, 0, 0, MSEC, 0 },
	{ "deadline-style 1/10/10 ms",	VMF_CLASS_VM, 0, MSEC,
					10 * MSEC, 10 * MSEC, 0 },
	{ "SCHED_FLAG_RECLAIM",		VMF_CLASS_VM, 0, 0, 0, 0, SCHED_FLAG_RECLAIM },
	{ "SCHED_FLAG_DL_OVERRUN",	VMF_CLASS_VM, 0, 0, 0, 0, SCHED_FLAG_DL_OVERRUN },
	{ "unknown flag 0x80",		VMF_CLASS_VM, 0, 0, 0, 0, 0x80 },
};

#define N_BAD		(2 * ARRAY_SIZE(bad_attrs))

static void test_bad_attrs(const char *from)
{
	struct vmf_attr attr, before, after;
	char b[128], a[128];
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(bad_attrs); i++) {
		const struct bad_attr *bad = &bad_attrs[i];

		attr = vmf_mkattr(SCHED_VMF, bad->prio, bad->nice, bad->runtime, bad->flags);
		attr.sched_deadline = bad->deadline;
		attr.sched_period = bad->period;
		vmf_getattr(target, &before);
		ret = vmf_setattr(target, &attr);
		vmf_getattr(target, &after);
		if (!vmf_attr_equal(&before, &after))
			ksft_print_msg("changed from %s to %s\n",
				       vmf_attr_str(&before, b, sizeof(b)),
				       vmf_attr_str(&after, a, sizeof(a)));
		ksft_test_result(ret == -EINVAL && vmf_attr_equal(&before, &after),
				 "from %s: SCHED_VMF with %s: EINVAL, unchanged (%s)\n",
				 from, bad->what, ret ? strerror(-ret) : "accepted");
	}
}

/* What children inherit. */
#define N_FORK		5

struct fork_case {
	int prio;
	int nice;
	__u64 slice;
	__u64 flags;
	int use_thread;
};

static void *thread_getattr(void *arg)
{
	struct vmf_attr *attr = arg;

	vmf_getattr(0, attr);
	return NULL;
}

/* In a child: become SCHED_VMF as given, then check a new process or thread. */
static int fork_child(void *arg)
{
	const struct fork_case *fc = arg;
	__u64 slice = fc->slice ? fc->slice : def_slice;
	struct vmf_attr want, got;
	char w[128], g[128];
	pthread_t thread;
	int status;
	pid_t pid;

	want = vmf_mkattr(SCHED_VMF, fc->prio, fc->nice, fc->slice, fc->flags);
	if (vmf_setattr(0, &want)) {
		ksft_perror("sched_setattr");
		return 1;
	}
	want.sched_runtime = slice;
	if (fc->use_thread) {
		if (pthread_create(&thread, NULL, thread_getattr, &got) ||
		    pthread_join(thread, NULL)) {
			ksft_print_msg("pthread_create failed\n");
			return 1;
		}
		if (vmf_attr_equal(&want, &got))
			return 0;
		ksft_print_msg("thread has %s, creator %s\n",
			       vmf_attr_str(&got, g, sizeof(g)), vmf_attr_str(&want, w, sizeof(w)));
		return 1;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		ksft_perror("fork");
		return 1;
	}
	if (!pid)
		_exit(!attr_is(0, SCHED_VMF, fc->prio, fc->nice, slice, 0));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return 1;
	return 0;
}

/* In a child: SCHED_VMF vm with nice and SCHED_FLAG_RESET_ON_FORK, then fork. */
static int reset_child(void *arg)
{
	int nice = *(int *)arg, status, ok;
	struct vmf_attr attr;
	char buf[128];
	pid_t pid;

	attr = vmf_mkattr(SCHED_VMF, VMF_CLASS_VM, nice, 0, SCHED_FLAG_RESET_ON_FORK);
	if (vmf_setattr(0, &attr)) {
		ksft_perror("sched_setattr");
		return 1;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		ksft_perror("fork");
		return 1;
	}
	if (!pid) {
		if (vmf_getattr(0, &attr))
			_exit(1);
		/* Nice is reset if it was negative, kept otherwise. */
		ok = attr.sched_policy == SCHED_OTHER && attr.sched_priority == 0 &&
		     attr.sched_nice == (nice < 0 ? 0 : nice) &&
		     !(attr.sched_flags & SCHED_FLAG_RESET_ON_FORK) &&
		     getscheduler_is(0, SCHED_OTHER);
		if (!ok)
			ksft_print_msg("child: %s, expected SCHED_OTHER prio 0 nice %d no flags\n",
				       vmf_attr_str(&attr, buf, sizeof(buf)), nice < 0 ? 0 : nice);
		_exit(!ok);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return 1;
	/* The parent keeps its policy and flag. */
	return !getscheduler_is(0, SCHED_VMF | SCHED_RESET_ON_FORK);
}

static void test_fork(void)
{
	struct fork_case vm = { VMF_CLASS_VM, 6, 8 * MSEC, 0, 0 };
	struct fork_case vmm = { VMF_CLASS_VMM, -3, 0, 0, 0 };
	struct fork_case thread = { VMF_CLASS_VM, 2, 4 * MSEC, 0, 1 };
	int negative = -5, positive = 5;

	ksft_test_result(vmf_run_child(fork_child, &vm) == 0,
			 "fork() child of vm nice 6 slice 8 ms inherits all of it\n");
	ksft_test_result(vmf_run_child(fork_child, &vmm) == 0,
			 "fork() child of vmm nice -3 default slice inherits all of it\n");
	ksft_test_result(vmf_run_child(fork_child, &thread) == 0,
			 "new thread of vm nice 2 slice 4 ms inherits all of it\n");
	ksft_test_result(vmf_run_child(reset_child, &negative) == 0,
			 "SCHED_RESET_ON_FORK, nice -5: child SCHED_OTHER nice 0, flag cleared\n");
	ksft_test_result(vmf_run_child(reset_child, &positive) == 0,
			 "SCHED_RESET_ON_FORK, nice 5: child SCHED_OTHER nice 5, flag cleared\n");
}

/*
 * Timer slack: none for SCHED_VMF tasks, as for RT and DL ones, whichever
 * way it is asked for; a task that leaves the class gets its default back.
 */
#define N_SLACK		4

/* The timer slack of @pid in ns, from /proc/PID/timerslack_ns; -1 on error. */
static long long slack_of(pid_t pid)
{
	char path[64], buf[32];

	snprintf(path, sizeof(path), "/proc/%d/timerslack_ns", pid);
	if (vmf_read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	return strtoll(buf, NULL, 10);
}

static int prctl_slack_child(void *arg)
{
	if (vmf_set(0, SCHED_VMF, VMF_CLASS_VM, 0, 0))
		return 1;
	if (prctl(PR_SET_TIMERSLACK, 12345, 0, 0, 0))
		return 2;
	return prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) == 0 ? 0 : 3;
}

static void test_timer_slack(void)
{
	char path[64];
	long long def, vm, vmm, written;
	int ret;

	set_or_die(target, SCHED_OTHER, 0, 0, 0);
	def = slack_of(target);
	set_or_die(target, SCHED_VMF, VMF_CLASS_VM, 0, 0);
	vm = slack_of(target);
	set_or_die(target, SCHED_VMF, VMF_CLASS_VMM, 0, 0);
	vmm = slack_of(target);
	ksft_print_msg("timer slack: SCHED_OTHER %lld ns, vm %lld ns, vmm %lld ns\n", def, vm, vmm);
	ksft_test_result(def > 0 && !vm && !vmm,
			 "SCHED_OTHER has a timer slack, vm and vmm tasks have none\n");

	snprintf(path, sizeof(path), "/proc/%d/timerslack_ns", target);
	ret = vmf_write_file(path, "12345");
	written = slack_of(target);
	ksft_test_result(!ret && !written,
			 "a write of /proc/PID/timerslack_ns leaves a vmm task's slack at 0 (got %lld)\n",
			 written);
	ksft_test_result(vmf_run_child(prctl_slack_child, NULL) == 0,
			 "PR_SET_TIMERSLACK leaves a vm task's slack at 0\n");

	set_or_die(target, SCHED_OTHER, 0, 0, 0);
	ksft_test_result(slack_of(target) == def,
			 "back to SCHED_OTHER, the task has its default slack again\n");
}

/* Tasks without CAP_SYS_NICE: RLIMIT_RTPRIO is the highest class they may take. */
#define N_UNPRIV	4

/* Start as policy/prio (as root), then drop every privilege. */
static int unpriv_setup(int rtprio, int policy, int prio)
{
	int ret = vmf_set(0, policy, prio, 0, 0);

	if (!ret)
		ret = vmf_become_nobody(rtprio);
	if (ret)
		ksft_print_msg("setup for RLIMIT_RTPRIO %d: %s\n", rtprio, strerror(-ret));
	return ret;
}

/* The change is refused with EPERM and changes nothing; 0 if so. */
static int expect_eperm(int policy, int prio, int use_setscheduler)
{
	struct vmf_attr before, after;
	int ret;

	vmf_getattr(0, &before);
	if (use_setscheduler)
		ret = setscheduler(0, policy, prio);
	else
		ret = vmf_set(0, policy, prio, before.sched_nice, 0);
	vmf_getattr(0, &after);
	if (ret == -EPERM && vmf_attr_equal(&before, &after))
		return 0;
	ksft_print_msg("%s to %s prio %d: %s%s\n",
		       use_setscheduler ? "sched_setscheduler" : "sched_setattr",
		       vmf_policy_name(policy), prio, ret ? strerror(-ret) : "accepted",
		       vmf_attr_equal(&before, &after) ? "" : ", attributes changed");
	return 1;
}

/* The change is allowed and done; 0 if so. */
static int expect_ok(int policy, int prio)
{
	int ret = vmf_set(0, policy, prio, 0, 0);

	if (ret) {
		ksft_print_msg("sched_setattr to %s prio %d: %s\n", vmf_policy_name(policy),
			       prio, strerror(-ret));
		return 1;
	}
	return !attr_is(0, policy, prio, 0, policy == SCHED_VMF ? def_slice : ANY_SLICE, 0);
}

static int unpriv_rtprio0(void *arg)
{
	if (unpriv_setup(0, SCHED_OTHER, 0))
		return 1;
	return expect_eperm(SCHED_VMF, VMF_CLASS_VMM, 0) |
	       expect_eperm(SCHED_VMF, VMF_CLASS_VM, 0) |
	       expect_eperm(SCHED_VMF, VMF_CLASS_VMM, 1);
}

static int unpriv_rtprio1(void *arg)
{
	if (unpriv_setup(1, SCHED_OTHER, 0))
		return 1;
	return expect_eperm(SCHED_VMF, VMF_CLASS_VM, 0) ||
	       expect_ok(SCHED_VMF, VMF_CLASS_VMM) ||
	       expect_eperm(SCHED_VMF, VMF_CLASS_VM, 0) ||
	       expect_eperm(SCHED_VMF, VMF_CLASS_VM, 1);
}

static int unpriv_rtprio2(void *arg)
{
	if (unpriv_setup(2, SCHED_OTHER, 0))
		return 1;
	return expect_ok(SCHED_VMF, VMF_CLASS_VM) ||
	       expect_ok(SCHED_VMF, VMF_CLASS_VMM) ||
	       expect_ok(SCHED_VMF, VMF_CLASS_VM);
}

static int unpriv_lower(void *arg)
{
	if (unpriv_setup(0, SCHED_VMF, VMF_CLASS_VM))
		return 1;
	return expect_ok(SCHED_VMF, VMF_CLASS_VMM) ||
	       expect_eperm(SCHED_VMF, VMF_CLASS_VM, 0) ||
	       expect_ok(SCHED_OTHER, 0) ||
	       expect_eperm(SCHED_VMF, VMF_CLASS_VMM, 0);
}

static void test_unprivileged(void)
{
	ksft_test_result(vmf_run_child(unpriv_rtprio0, NULL) == 0,
			 "unprivileged, RLIMIT_RTPRIO 0: cannot become vmm or vm (EPERM)\n");
	ksft_test_result(vmf_run_child(unpriv_rtprio1, NULL) == 0,
			 "unprivileged, RLIMIT_RTPRIO 1: may become vmm, not vm (EPERM)\n");
	ksft_test_result(vmf_run_child(unpriv_rtprio2, NULL) == 0,
			 "unprivileged, RLIMIT_RTPRIO 2: may become vm, then vmm, then vm\n");
	ksft_test_result(vmf_run_child(unpriv_lower, NULL) == 0,
			 "unprivileged, RLIMIT_RTPRIO 0: may lower vm -> vmm -> SCHED_OTHER only\n");
}

/* Sysctls. */
static const struct vmf_sysctl {
	const char *name;
	long def;
	const char *partner;	/* the period of a runtime, the runtime of a period */
	int is_period;
} sysctls[] = {
	{ "sched_vmf_slice_us", 3000, NULL, 0 },
	{ "sched_vmf_host_runtime_us", 1000, "sched_vmf_host_period_us", 0 },
	{ "sched_vmf_host_period_us", 20000, "sched_vmf_host_runtime_us", 1 },
	{ "sched_vmf_vmm_runtime_us", 1000, "sched_vmf_vmm_period_us", 0 },
	{ "sched_vmf_vmm_period_us", 20000, "sched_vmf_vmm_runtime_us", 1 },
};

#define N_SYSCTL	(2 * ARRAY_SIZE(sysctls) + 3)

/* Write val; 1 if it reads back, 0 otherwise. The old value is put back. */
static int good_write(const char *name, long val)
{
	long old = vmf_sysctl_get(name), now;
	int ret;

	ret = vmf_sysctl_set(name, val);
	now = vmf_sysctl_get(name);
	if (vmf_sysctl_set(name, old))
		ksft_exit_fail_msg("cannot restore %s to %ld\n", name, old);
	if (!ret && now == val)
		return 1;
	ksft_print_msg("%s: writing %ld: %s, reads %ld\n", name, val,
		       ret ? strerror(-ret) : "ok", now);
	return 0;
}

/* Write s; 1 if that fails with EINVAL and the value stays. */
static int bad_write(const char *name, const char *s)
{
	long old = vmf_sysctl_get(name), now;
	int ret;

	ret = vmf_sysctl_write(name, s);
	now = vmf_sysctl_get(name);
	if (ret == -EINVAL && now == old)
		return 1;
	ksft_print_msg("%s: writing \"%s\": %s, value %ld -> %ld\n", name, s,
		       ret ? strerror(-ret) : "accepted", old, now);
	if (now != old && vmf_sysctl_set(name, old))
		ksft_exit_fail_msg("cannot restore %s to %ld\n", name, old);
	return 0;
}

static void test_sysctls(void)
{
	static const char * const slice_bad[] = {
		"99", "100001", "0", "-1", "abc", "1x", "99999999999999999999",
	};
	static const char * const share_bad[] = { "0", "-1", "abc", "1x", "99999999999999999999" };
	unsigned int i, j;
	char buf[32];
	long val;
	int ok;

	for (i = 0; i < ARRAY_SIZE(sysctls); i++) {
		val = vmf_sysctl_get(sysctls[i].name);
		ksft_test_result(val == sysctls[i].def, "%s defaults to %ld (%ld)\n",
				 sysctls[i].name, sysctls[i].def, val);
	}

	ksft_test_result(good_write("sched_vmf_slice_us", 100) &&
			 good_write("sched_vmf_slice_us", 100000),
			 "sched_vmf_slice_us accepts 100 and 100000\n");
	ksft_test_result(good_write("sched_vmf_host_runtime_us", 2000) &&
			 good_write("sched_vmf_host_period_us", 40000),
			 "host runtime 2000 and period 40000 accepted\n");
	ksft_test_result(good_write("sched_vmf_vmm_runtime_us", 2000) &&
			 good_write("sched_vmf_vmm_period_us", 40000),
			 "vmm runtime 2000 and period 40000 accepted\n");

	for (i = 0; i < ARRAY_SIZE(sysctls); i++) {
		const struct vmf_sysctl *s = &sysctls[i];

		ok = 1;
		if (!s->partner) {
			for (j = 0; j < ARRAY_SIZE(slice_bad); j++)
				ok &= bad_write(s->name, slice_bad[j]);
		} else {
			for (j = 0; j < ARRAY_SIZE(share_bad); j++)
				ok &= bad_write(s->name, share_bad[j]);
			/* A runtime above its period, a period below its runtime. */
			val = vmf_sysctl_get(s->partner);
			snprintf(buf, sizeof(buf), "%ld", s->is_period ? val - 1 : val + 1);
			ok &= bad_write(s->name, buf);
		}
		ksft_test_result(ok, "%s refuses invalid values with EINVAL, unchanged\n", s->name);
	}
}

int main(void)
{
	unsigned int i;

	ksft_print_header();
	vmf_require();

	for (i = 0; i < ARRAY_SIZE(sysctls); i++)
		vmf_sysctl_save(sysctls[i].name);
	target = fork();
	if (target < 0)
		ksft_exit_fail_perror("fork");
	if (!target) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}

	ksft_set_plan(N_RANGE + N_SYSCTL + N_SETATTR + N_SETSCHEDULER + N_KEEP + N_BAD +
		      N_FORK + N_SLACK + N_UNPRIV);
	test_range();
	test_sysctls();
	def_slice = vmf_sysctl_get("sched_vmf_slice_us") * VMF_NSEC_PER_USEC;
	test_setattr();
	test_setscheduler();
	test_keep();
	set_or_die(target, SCHED_VMF, VMF_CLASS_VMM, 3, 7 * MSEC);
	test_bad_attrs("vmm nice 3 slice 7 ms");
	set_or_die(target, SCHED_OTHER, 0, 2, 0);
	test_bad_attrs("SCHED_OTHER nice 2");
	test_fork();
	test_timer_slack();
	test_unprivileged();

	vmf_kill_wait(target);
	ksft_finished();
}
