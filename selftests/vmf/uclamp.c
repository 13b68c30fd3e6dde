// SPDX-License-Identifier: GPL-2.0
/*
 * SCHED_VMF tasks take part in utilisation clamping as RT and fair tasks
 * do. A CPU's clamps are the max-aggregate of the clamps of the tasks
 * enqueued on it, of every class with uclamp_enabled; schedutil asks for
 * no more than the CPU's uclamp.max. They are read from sched_debug
 * (cpu#1's .uclamp.min and .uclamp.max), SAMPLES times, SAMPLE_NS apart:
 *
 *  - a SCHED_OTHER hog with uclamp.max FAIR_MAX alone on CPU 1: the CPU's
 *    uclamp.max is FAIR_MAX in most samples (the reading works);
 *  - a vm hog (default clamps) joins it: the CPU's uclamp.max is 1024 in
 *    every sample. Without uclamp_enabled in the class the vm hog did not
 *    count, and the fair hog's FAIR_MAX capped the CPU while the vCPU ran;
 *  - the vm hog asks uclamp.min VM_MIN and uclamp.max VM_MAX: accepted,
 *    in its /proc/PID/sched, and the CPU's clamps are VM_MIN and VM_MAX in
 *    most samples (a kworker passing through may raise them for a sample);
 *  - a request with uclamp.min above uclamp.max gets -EINVAL and leaves
 *    the vm hog's clamps as they were.
 */
#include "kselftest.h"
#include "vmf_util.h"

#define SAMPLES		20
#define SAMPLE_NS	(50 * VMF_NSEC_PER_MSEC)
#define SETTLE_NS	(200 * VMF_NSEC_PER_MSEC)
#define MOST		(SAMPLES * 9 / 10)
#define UCLAMP_SCALE	1024
#define FAIR_MAX	128
#define VM_MIN		200
#define VM_MAX		256

/* CPU 1's clamps from sched_debug; 0, or -ENOENT without the fields. */
static int cpu1_clamps(long *min, long *max)
{
	static char buf[1 << 20];
	const char *cpu, *next, *lo, *hi;

	if (vmf_read_file("/sys/kernel/debug/sched/debug", buf, sizeof(buf)) < 0)
		return -errno;
	cpu = strstr(buf, "\ncpu#1");
	next = cpu ? strstr(cpu + 1, "\ncpu#") : NULL;
	lo = cpu ? strstr(cpu, ".uclamp.min") : NULL;
	hi = cpu ? strstr(cpu, ".uclamp.max") : NULL;
	if (!lo || !hi || (next && (lo > next || hi > next)))
		return -ENOENT;
	*min = atol(strchr(lo, ':') + 1);
	*max = atol(strchr(hi, ':') + 1);
	return 0;
}

/* How many of SAMPLES readings match min and max (-1: either). */
static int count_clamps(long want_min, long want_max)
{
	long min = -1, max = -1;
	int i, n = 0;

	for (i = 0; i < SAMPLES; i++) {
		vmf_sleep_ns(SAMPLE_NS);
		if (cpu1_clamps(&min, &max))
			ksft_exit_fail_msg("cpu#1's clamps are no longer in sched_debug\n");
		n += (want_min < 0 || min == want_min) && (want_max < 0 || max == want_max);
	}
	ksft_print_msg("last sample: cpu#1 uclamp.min %ld, uclamp.max %ld\n", min, max);
	return n;
}

static int set_clamps(pid_t tid, __u32 min, __u32 max, __u64 flags)
{
	struct vmf_attr attr = vmf_mkattr(0, 0, 0, 0, VMF_FLAG_KEEP_ALL | flags);

	attr.sched_util_min = min;
	attr.sched_util_max = max;
	return vmf_setattr(tid, &attr);
}

static void check_task_clamps(struct vmf_hog *h, long min, long max, const char *when)
{
	long long got_min = -1, got_max = -1;

	vmf_sched_field(getpid(), h->tid, "uclamp.min", &got_min);
	vmf_sched_field(getpid(), h->tid, "uclamp.max", &got_max);
	ksft_test_result(got_min == min && got_max == max,
			 "%s: the vm hog's /proc/PID/sched says uclamp.min %lld, uclamp.max %lld (want %ld, %ld)\n",
			 when, got_min, got_max, min, max);
}

int main(void)
{
	struct vmf_hog fair = { .cpu = 1, .policy = SCHED_OTHER };
	struct vmf_hog vm = { .cpu = 1, .policy = SCHED_VMF, .prio = VMF_CLASS_VM };
	long min, max;
	int n, ret;

	ksft_print_header();
	vmf_require();
	vmf_require_cpus(2);
	if (cpu1_clamps(&min, &max))
		ksft_exit_skip(
			       "no .uclamp.min/max of cpu#1 in sched_debug (CONFIG_UCLAMP_TASK off?)\n");
	ksft_set_plan(6);

	/* The sampler stays off CPU 1. */
	if (vmf_set_cpus(0, 1UL << 0))
		ksft_exit_fail_perror("sched_setaffinity");

	if (vmf_hog_start(&fair))
		ksft_exit_fail_msg("fair hog on CPU 1: %s\n", strerror(-fair.err));
	ret = set_clamps(fair.tid, 0, FAIR_MAX, SCHED_FLAG_UTIL_CLAMP_MAX);
	if (ret)
		ksft_exit_fail_msg("uclamp.max %d on the fair hog: %s\n", FAIR_MAX, strerror(-ret));
	vmf_sleep_ns(SETTLE_NS);
	n = count_clamps(-1, FAIR_MAX);
	ksft_test_result(n >= MOST, "fair hog alone: cpu#1 uclamp.max %d in %d of %d samples\n",
			 FAIR_MAX, n, SAMPLES);

	if (vmf_hog_start(&vm))
		ksft_exit_fail_msg("vm hog on CPU 1: %s\n", strerror(-vm.err));
	vmf_sleep_ns(SETTLE_NS);
	n = count_clamps(-1, UCLAMP_SCALE);
	ksft_test_result(n == SAMPLES,
			 "a vm hog joins: cpu#1 uclamp.max %d (the vm hog's) in %d of %d samples\n",
			 UCLAMP_SCALE, n, SAMPLES);

	ret = set_clamps(vm.tid, VM_MIN, VM_MAX,
			 SCHED_FLAG_UTIL_CLAMP_MIN | SCHED_FLAG_UTIL_CLAMP_MAX);
	if (ret)
		ksft_print_msg("uclamp %d-%d on the vm hog: %s\n", VM_MIN, VM_MAX, strerror(-ret));
	check_task_clamps(&vm, VM_MIN, VM_MAX, "after sched_setattr()");
	vmf_sleep_ns(SETTLE_NS);
	n = count_clamps(VM_MIN, VM_MAX);
	ksft_test_result(n >= MOST,
			 "vm hog clamped to %d-%d: cpu#1 uclamp.min %d, uclamp.max %d in %d of %d samples\n",
			 VM_MIN, VM_MAX, VM_MIN, VM_MAX, n, SAMPLES);

	ret = set_clamps(vm.tid, VM_MAX + 1, VM_MAX,
			 SCHED_FLAG_UTIL_CLAMP_MIN | SCHED_FLAG_UTIL_CLAMP_MAX);
	ksft_test_result(ret == -EINVAL, "uclamp.min %d above uclamp.max %d: %s (want EINVAL)\n",
			 VM_MAX + 1, VM_MAX, ret ? strerror(-ret) : "accepted");
	check_task_clamps(&vm, VM_MIN, VM_MAX, "after the refused request");

	vmf_hog_stop(&vm);
	vmf_hog_stop(&fair);
	ksft_finished();
}
