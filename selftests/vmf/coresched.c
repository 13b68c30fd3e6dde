// SPDX-License-Identifier: GPL-2.0
/*
 * Core scheduling ranks SCHED_VMF above the fair class. On a core with two
 * SMT siblings (CPUs 0 and 1), a hog pinned to each CPU, each given a core
 * scheduling cookie of its own with prctl(PR_SCHED_CORE), so that they
 * never run at the same time. Shares are CPU time over wall time, the
 * median of the ten slices of a 5 s window (vmf_measure_median()):
 *
 *  - a vm hog on CPU 0 and a SCHED_OTHER hog on CPU 1: the core picks
 *    the vm hog and force-idles CPU 1 but while CPU 1's fair server runs
 *    the host hog (then CPU 0 is forced idle), so the vm hog gets >= 1 -
 *    (host runtime + one tick)/host period - 3%, as in vmf/host_share.c,
 *    and the host hog <= 20%. Were VMF tasks squashed into the fair band
 *    in the core-wide comparison, the two would alternate and split the
 *    time about evenly;
 *  - the control, in the same run: both hogs SCHED_OTHER. Neither ranks
 *    above the other, so the core alternates between them: each gets
 *    between 30% and 70%, and force idling is what the first part sees;
 *  - two vm hogs, as two VMs' vCPUs with different cookies: the core
 *    alternates between them as between two fair tasks, each getting
 *    within 10% of half of what the two get together. With no order
 *    between two VMF tasks in the core-wide pick, and nothing re-picking
 *    while a sibling is forced idle, the first one picked kept the core
 *    and the other got almost nothing;
 *  - an RT task on the forced-idle sibling still runs: this SCHED_FIFO
 *    thread, pinned to CPU 1 next to the vm hog on CPU 0 and the
 *    SCHED_OTHER hog on CPU 1, completes at least 80% as many 10 ms
 *    sleeps in 2 s with the hogs' cookies as without them. The fair
 *    server's pick for CPU 1 must rank as deadline in the core-wide
 *    pick; ranked as fair, it lost to the vm hog, CPU 1 was forced idle
 *    with the server never running out of runtime, and each wakeup of
 *    this thread came seconds late.
 *
 * Skips unless CPUs 0 and 1 are SMT siblings and PR_SCHED_CORE works. The
 * main thread is SCHED_FIFO, so that it takes its samples on time.
 */
#include "kselftest.h"
#include "vmf_util.h"

#define WARMUP_NS	(500 * VMF_NSEC_PER_MSEC)
#define WINDOW_NS	(5 * VMF_NSEC_PER_SEC)
#define SLEEPER_NS	(2 * VMF_NSEC_PER_SEC)
#define SLEEP_NS	(10 * VMF_NSEC_PER_MSEC)
#define SIBLINGS	"/sys/devices/system/cpu/cpu0/topology/thread_siblings_list"

/* Give a thread a core scheduling cookie of its own; 0 or -errno. */
static int cookie_create(pid_t tid)
{
	if (prctl(PR_SCHED_CORE, PR_SCHED_CORE_CREATE, (unsigned long)tid,
		  (unsigned long)PR_SCHED_CORE_SCOPE_THREAD, 0UL))
		return -errno;
	return 0;
}

static int probe_child(void *arg)
{
	return -cookie_create(0);
}

static void require_core_sched(void)
{
	char buf[64];
	int ret;

	ret = vmf_read_file(SIBLINGS, buf, sizeof(buf));
	if (ret)
		ksft_exit_skip("no %s: %s\n", SIBLINGS, strerror(-ret));
	if (strcmp(buf, "0-1") && strcmp(buf, "0,1"))
		ksft_exit_skip("CPU 0's SMT siblings are \"%s\", not 0-1\n", buf);
	ret = vmf_run_child(probe_child, NULL);
	if (ret)
		ksft_exit_skip("no core scheduling: PR_SCHED_CORE_CREATE: %s\n", strerror(ret));
}

/*
 * Start the two hogs of h[] and, if cookies is set, give each a cookie of
 * its own. 0 or the -errno of what failed, said in the log; *started is
 * the number of hogs to stop either way.
 */
static int start_pair(struct vmf_hog *h, int cookies, int *started)
{
	int i, ret;

	for (*started = 0; *started < 2; (*started)++) {
		ret = vmf_hog_start(&h[*started]);
		if (ret) {
			i = *started;
			ksft_print_msg("%s hog on CPU %d: %s\n", vmf_policy_name(h[i].policy),
				       h[i].cpu, strerror(-ret));
			return ret;
		}
	}
	for (i = 0; cookies && i < 2; i++) {
		ret = cookie_create(h[i].tid);
		if (ret) {
			ksft_print_msg("cookie for the hog on CPU %d: %s\n", h[i].cpu,
				       strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/*
 * A hog of policy/prio pinned to CPU 0 and one of policy1/prio1 pinned to
 * CPU 1, each with its own cookie: their shares of one window in share[].
 * 0, or -1 if the hogs could not be set up.
 */
static int core_round(int policy, int prio, int policy1, int prio1, double *share)
{
	struct vmf_hog h[2] = {
		{ .cpu = 0, .policy = policy, .prio = prio },
		{ .cpu = 1, .policy = policy1, .prio = prio1 },
	};
	clockid_t clocks[2];
	__u64 cpu[2], wall;
	int i, n, ret;

	ret = start_pair(h, 1, &n);
	if (ret)
		goto stop;
	for (i = 0; i < 2; i++)
		clocks[i] = h[i].clock;
	vmf_sleep_ns(WARMUP_NS);
	vmf_measure_median(clocks, 2, WINDOW_NS, cpu, &wall);
	for (i = 0; i < 2; i++)
		share[i] = (double)cpu[i] / wall;
	ksft_print_msg("%s hog on CPU 0 %.1f%%, %s hog on CPU 1 %.1f%% of %.0f ms\n",
		       vmf_policy_name(policy), 100 * share[0], vmf_policy_name(policy1),
		       100 * share[1], (double)wall / VMF_NSEC_PER_MSEC);
stop:
	/* Stop both before joining either: a force-idled hog must see its flag. */
	vmf_hogs_stop(h, n);
	return ret ? -1 : 0;
}

/*
 * The 10 ms sleeps that this thread, pinned to CPU 1, completes in
 * SLEEPER_NS next to a vm hog on CPU 0 and a SCHED_OTHER hog on CPU 1,
 * the hogs with a cookie each if cookies is set. -1 if they could not be
 * set up.
 */
static int sleeper_round(int cookies)
{
	struct vmf_hog h[2] = {
		{ .cpu = 0, .policy = SCHED_VMF, .prio = VMF_CLASS_VM },
		{ .cpu = 1, .policy = SCHED_OTHER },
	};
	int n, ret, sleeps = 0;
	__u64 end;

	ret = start_pair(h, cookies, &n);
	if (ret)
		goto stop;
	ret = vmf_pin(0, 1);
	if (ret) {
		ksft_print_msg("pinning this thread to CPU 1: %s\n", strerror(-ret));
		goto stop;
	}
	vmf_sleep_ns(WARMUP_NS);
	for (end = vmf_now_ns() + SLEEPER_NS; vmf_now_ns() < end; sleeps++)
		vmf_sleep_ns(SLEEP_NS);
	/* Back to both CPUs, as the other rounds expect. */
	ret = vmf_set_cpus(0, 3);
	if (ret)
		ksft_print_msg("unpinning this thread: %s\n", strerror(-ret));
stop:
	vmf_hogs_stop(h, n);
	return ret ? -1 : sleeps;
}

int main(void)
{
	double vm[2], ctl[2], vms[2], vm_min, half;
	int ret, with, without;

	ksft_print_header();
	vmf_require();
	vmf_require_cpus(2);
	require_core_sched();
	ksft_set_plan(5);

	ret = vmf_set(0, SCHED_FIFO, 10, 0, 0);
	if (ret)
		ksft_exit_fail_msg("making this thread SCHED_FIFO: %s\n", strerror(-ret));

	vm_min = 1 - (double)(vmf_sysctl_get("sched_vmf_host_runtime_us") + vmf_tick_us()) /
		 vmf_sysctl_get("sched_vmf_host_period_us") - 0.03;
	if (core_round(SCHED_VMF, VMF_CLASS_VM, SCHED_OTHER, 0, vm)) {
		ksft_test_result_fail("vm hog against a host hog: could not set them up\n");
		ksft_test_result_fail("vm hog against a host hog: could not set them up\n");
	} else {
		ksft_test_result(vm[0] >= vm_min, "vm hog (own cookie, CPU 0): %.1f%% >= %.1f%%\n",
				 100 * vm[0], 100 * vm_min);
		ksft_test_result(vm[1] <= 0.2,
				 "SCHED_OTHER hog (own cookie, CPU 1) force-idled: %.1f%% <= 20%%\n",
				 100 * vm[1]);
	}

	if (core_round(SCHED_OTHER, 0, SCHED_OTHER, 0, ctl))
		ksft_test_result_fail("control, two SCHED_OTHER hogs: could not set them up\n");
	else
		ksft_test_result(ctl[0] >= 0.3 && ctl[0] <= 0.7 && ctl[1] >= 0.3 && ctl[1] <= 0.7,
				 "control, two SCHED_OTHER hogs with their own cookies: %.1f%% and %.1f%%, each in [30%%, 70%%]\n",
				 100 * ctl[0], 100 * ctl[1]);

	if (core_round(SCHED_VMF, VMF_CLASS_VM, SCHED_VMF, VMF_CLASS_VM, vms)) {
		ksft_test_result_fail("two vm hogs with own cookies: could not set them up\n");
	} else {
		half = (vms[0] + vms[1]) / 2;
		ksft_test_result(vms[0] >= 0.9 * half && vms[0] <= 1.1 * half,
				 "two vm hogs with their own cookies: %.1f%% and %.1f%%, each within 10%% of %.1f%%\n",
				 100 * vms[0], 100 * vms[1], 100 * half);
	}

	without = sleeper_round(0);
	with = sleeper_round(1);
	ksft_print_msg("FIFO thread on CPU 1, 10 ms sleeps in 2 s: %d with cookies, %d without\n",
		       with, without);
	ksft_test_result(with >= 0 && without > 0 && with >= 0.8 * without,
			 "SCHED_FIFO thread on the forced-idle sibling: %d sleeps >= 80%% of %d\n",
			 with, without);
	ksft_finished();
}
