// SPDX-License-Identifier: GPL-2.0
/*
 * Rules that RT and DL tasks follow and that SCHED_VMF tasks must follow
 * too, where they can be seen from user space:
 *
 *  - schedstats: changing the nice value, the level or the CPU mask of a
 *    running SCHED_VMF task is no wait. A vm hog alone on CPU 1 waits for
 *    next to nothing; forty such changes must add no more than WAIT_MAX_MS
 *    to the stats.wait_sum and stats.wait_max of its /proc/PID/sched.
 *    They used to add the whole time since boot, once each;
 *  - SysRq-N (normalize_rt_tasks()) makes SCHED_VMF tasks SCHED_OTHER with
 *    nice 0, as it does RT tasks: a vm hog of nice -5 and a vmm sleeper
 *    come back as SCHED_OTHER nice 0, and a SCHED_OTHER task of nice 3 is
 *    left as it is. SysRq-N demotes every RT and DEADLINE task of the
 *    machine too, so this check runs only with VMF_SELFTEST_SYSRQ=1.
 */
#include <stdlib.h>

#include "kselftest.h"
#include "vmf_util.h"

#define WAIT_MAX_MS	50
#define CHANGES		40
#define SYSRQ		"/proc/sysrq-trigger"

static int wait_stats(struct vmf_hog *h, long long *sum, long long *max)
{
	pid_t pid = getpid();
	int ret;

	ret = vmf_sched_field(pid, h->tid, "wait_sum", sum);
	if (!ret)
		ret = vmf_sched_field(pid, h->tid, "wait_max", max);
	if (ret)
		ksft_print_msg("reading wait_sum and wait_max of %d: %s\n", h->tid, strerror(-ret));
	return ret;
}

static void test_schedstats(void)
{
	struct vmf_hog h = { .cpu = 1, .policy = SCHED_VMF, .prio = VMF_CLASS_VM };
	long long sum0, max0, sum1, max1;
	int i, ret;

	if (vmf_sysctl_get("sched_schedstats") != 1) {
		ret = vmf_sysctl_write("sched_schedstats", "1");
		if (ret)
			ksft_exit_fail_msg("enabling schedstats: %s\n", strerror(-ret));
	}
	ret = vmf_hog_start(&h);
	if (ret)
		ksft_exit_fail_msg("vm hog on CPU 1: %s\n", strerror(-ret));
	vmf_sleep_ns(500 * VMF_NSEC_PER_MSEC);
	if (wait_stats(&h, &sum0, &max0))
		goto fail;

	for (i = 0; i < CHANGES && !ret; i++) {
		switch (i % 4) {
		case 0:
			ret = vmf_set(h.tid, SCHED_VMF, VMF_CLASS_VM, 1, 0);
			break;
		case 1:
			ret = vmf_set(h.tid, SCHED_VMF, VMF_CLASS_VMM, 1, 0);
			break;
		case 2:
			ret = vmf_set(h.tid, SCHED_VMF, VMF_CLASS_VM, 0, 0);
			break;
		default:
			/* Same CPU, other mask: the task stays where it runs. */
			ret = vmf_set_cpus(h.tid, i % 8 == 3 ? 3 : 2);
			break;
		}
		vmf_sleep_ns(10 * VMF_NSEC_PER_MSEC);
	}
	if (ret) {
		ksft_print_msg("changing the hog: %s\n", strerror(-ret));
		goto fail;
	}
	if (wait_stats(&h, &sum1, &max1))
		goto fail;
	vmf_hog_stop(&h);
	ksft_print_msg("wait_sum %lld -> %lld ms, wait_max %lld -> %lld ms after %d changes\n",
		       sum0, sum1, max0, max1, CHANGES);
	ksft_test_result(sum1 - sum0 <= WAIT_MAX_MS && max1 <= max0 + WAIT_MAX_MS,
			 "changing a running vm task adds no wait to its schedstats (<= %d ms)\n",
			 WAIT_MAX_MS);
	return;
fail:
	vmf_hog_stop(&h);
	ksft_test_result_fail("changing a running vm task adds no wait to its schedstats\n");
}

static int attr_is(pid_t tid, int policy, int prio, int nice)
{
	struct vmf_attr attr;
	char buf[128];

	if (!vmf_getattr(tid, &attr) && (int)attr.sched_policy == policy &&
	    (int)attr.sched_priority == prio && attr.sched_nice == nice)
		return 1;
	ksft_print_msg("thread %d: %s, expected %s prio %d nice %d\n", tid,
		       vmf_attr_str(&attr, buf, sizeof(buf)), vmf_policy_name(policy), prio, nice);
	return 0;
}

static void test_sysrq_n(void)
{
	struct vmf_hog h[3] = {
		{ .cpu = 1, .policy = SCHED_VMF, .prio = VMF_CLASS_VM, .nice = -5 },
		{ .cpu = 0, .policy = SCHED_VMF, .prio = VMF_CLASS_VMM,
		  .run_ns = VMF_NSEC_PER_USEC, .sleep_ns = 10 * VMF_NSEC_PER_MSEC },
		{ .cpu = 0, .policy = SCHED_OTHER, .nice = 3,
		  .run_ns = VMF_NSEC_PER_USEC, .sleep_ns = 10 * VMF_NSEC_PER_MSEC },
	};
	int i, ok, ret;

	if (!getenv("VMF_SELFTEST_SYSRQ")) {
		ksft_test_result_skip(
				      "SysRq-N: it demotes every RT and DEADLINE task of the machine; set VMF_SELFTEST_SYSRQ=1\n");
		return;
	}
	for (i = 0; i < 3; i++) {
		ret = vmf_hog_start(&h[i]);
		if (ret)
			ksft_exit_fail_msg("task %d: %s\n", i, strerror(-ret));
	}
	ret = vmf_write_file(SYSRQ, "n");
	if (ret)
		ksft_exit_fail_msg("writing n to %s: %s\n", SYSRQ, strerror(-ret));
	ok = attr_is(h[0].tid, SCHED_OTHER, 0, 0) && attr_is(h[1].tid, SCHED_OTHER, 0, 0) &&
	     attr_is(h[2].tid, SCHED_OTHER, 0, 3);
	vmf_hogs_stop(h, 3);
	ksft_test_result(ok, "SysRq-N makes vm and vmm tasks SCHED_OTHER nice 0\n");
}

int main(void)
{
	ksft_print_header();
	vmf_require();
	vmf_require_cpus(2);
	vmf_sysctl_save("sched_schedstats");
	ksft_set_plan(2);

	test_schedstats();
	test_sysrq_n();
	ksft_finished();
}
