// SPDX-License-Identifier: GPL-2.0
/*
 * vm tasks sharing a CPU split it by weight. On CPU 1 (the main thread
 * stays on CPU 0), measured by each thread's CPU-time clock (the median
 * share of the window's ten slices, vmf_measure_median()):
 *
 *  - two vm hogs of nice 0 for 10 s: each gets 50% +- 5% of their sum;
 *  - nice 0 against nice 5 for 10 s: the CPU-time ratio is between 2.5
 *    and 3.6 (the weights 1024/335 give 3.06);
 *  - a sleeper that burns 1 ms of CPU and sleeps 2 ms, against a vm hog
 *    for 10 s: it gets at least 90% of its demand. Its demand is the CPU
 *    share it gets alone on the CPU, measured first (3 s) in the same run,
 *    so the cost of its own sleeps and wakeups does not count against the
 *    scheduler. A sleeper that waited for the hog's slice at each wakeup
 *    would get about 1/(3 + 1.5) of the CPU instead of 1/3, and fail;
 *  - two VMs: the 8 vCPU threads of one and the 1 of another, all nice 0,
 *    for 10 s: the 8-vCPU VM gets between 7 and 9 times the CPU time of
 *    the 1-vCPU VM (weights per thread, no group level: 8).
 *
 * 10 s is a few thousand 3 ms slices, so one slice more or less moves a
 * share by far less than the tolerance; the whole test takes about 50 s.
 */
#include "kselftest.h"
#include "vmf_util.h"

#define CPU		1
#define WARMUP_NS	(500 * VMF_NSEC_PER_MSEC)
#define WINDOW_NS	(10 * VMF_NSEC_PER_SEC)
#define ALONE_NS	(3 * VMF_NSEC_PER_SEC)

static struct vmf_hog vm_hog(int nice)
{
	struct vmf_hog h = {
		.cpu = CPU,
		.policy = SCHED_VMF,
		.prio = VMF_CLASS_VM,
		.nice = nice,
	};

	return h;
}

static struct vmf_hog vm_sleeper(void)
{
	struct vmf_hog h = vm_hog(0);

	h.run_ns = 1 * VMF_NSEC_PER_MSEC;
	h.sleep_ns = 2 * VMF_NSEC_PER_MSEC;
	return h;
}

static double ms(__u64 ns)
{
	return (double)ns / VMF_NSEC_PER_MSEC;
}

static void test_equal(void)
{
	struct vmf_hog h[2] = { vm_hog(0), vm_hog(0) };
	__u64 cpu[2], wall;
	double share;

	if (vmf_hogs_run(h, 2, WARMUP_NS, WINDOW_NS, cpu, &wall)) {
		ksft_test_result_fail("two vm hogs, nice 0: could not start them\n");
		return;
	}
	share = (double)cpu[0] / (cpu[0] + cpu[1]);
	ksft_print_msg("nice 0 / nice 0: %.0f ms / %.0f ms of CPU in %.0f ms\n",
		       ms(cpu[0]), ms(cpu[1]), ms(wall));
	ksft_test_result(share >= 0.45 && share <= 0.55,
			 "two vm hogs, nice 0: shares %.1f%% / %.1f%%, each 50%% +- 5%%\n",
			 100 * share, 100 * (1 - share));
}

static void test_nice(void)
{
	struct vmf_hog h[2] = { vm_hog(0), vm_hog(5) };
	__u64 cpu[2], wall;
	double ratio;

	if (vmf_hogs_run(h, 2, WARMUP_NS, WINDOW_NS, cpu, &wall)) {
		ksft_test_result_fail("vm hogs nice 0 and nice 5: could not start them\n");
		return;
	}
	ksft_print_msg("nice 0 / nice 5: %.0f ms / %.0f ms of CPU in %.0f ms\n",
		       ms(cpu[0]), ms(cpu[1]), ms(wall));
	ratio = cpu[1] ? (double)cpu[0] / cpu[1] : 1e9;
	ksft_test_result(ratio >= 2.5 && ratio <= 3.6,
			 "vm hogs nice 0 and nice 5: CPU ratio %.2f in [2.5, 3.6] (weights: 3.06)\n",
			 ratio);
}

static void test_sleeper(void)
{
	struct vmf_hog alone = vm_sleeper();
	struct vmf_hog h[2] = { vm_sleeper(), vm_hog(0) };
	__u64 cpu_alone, wall_alone, cpu[2], wall;
	double demand, got;

	if (vmf_hogs_run(&alone, 1, WARMUP_NS, ALONE_NS, &cpu_alone, &wall_alone) ||
	    vmf_hogs_run(h, 2, WARMUP_NS, WINDOW_NS, cpu, &wall)) {
		ksft_test_result_fail("vm sleeper against a vm hog: could not start them\n");
		return;
	}
	demand = (double)cpu_alone / wall_alone;
	got = (double)cpu[0] / wall;
	ksft_print_msg("sleeper alone: %.1f%% of the CPU; with a vm hog: %.1f%%, the hog %.1f%%\n",
		       100 * demand, 100 * got, 100.0 * cpu[1] / wall);
	/* Alone it must come near the 1/3 it asks for, or the ratio means nothing. */
	ksft_test_result(demand >= 0.25 && got >= 0.9 * demand,
			 "vm sleeper (run 1 ms, sleep 2 ms) with a vm hog: %.0f%% of its demand, >= 90%%\n",
			 100 * got / demand);
}

static void test_vms(void)
{
	struct vmf_hog h[9];
	__u64 cpu[9], wall, big = 0;
	double ratio;
	int i;

	for (i = 0; i < 9; i++)
		h[i] = vm_hog(0);
	if (vmf_hogs_run(h, 9, WARMUP_NS, WINDOW_NS, cpu, &wall)) {
		ksft_test_result_fail("8-vCPU VM against 1-vCPU VM: could not start the hogs\n");
		return;
	}
	for (i = 0; i < 8; i++)
		big += cpu[i];
	ratio = cpu[8] ? (double)big / cpu[8] : 1e9;
	ksft_print_msg("8-vCPU VM: %.0f ms, 1-vCPU VM: %.0f ms of CPU in %.0f ms\n",
		       ms(big), ms(cpu[8]), ms(wall));
	ksft_test_result(ratio >= 7 && ratio <= 9,
			 "8-vCPU VM against 1-vCPU VM on one CPU: ratio %.2f in [7, 9]\n", ratio);
}

int main(void)
{
	ksft_print_header();
	vmf_require();
	vmf_require_cpus(2);
	ksft_set_plan(4);

	if (vmf_pin(0, 0))
		ksft_exit_fail_perror("pinning to CPU 0");
	test_equal();
	test_nice();
	test_sleeper();
	test_vms();
	ksft_finished();
}
