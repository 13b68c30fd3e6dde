// SPDX-License-Identifier: GPL-2.0
/*
 * More vCPUs than CPUs: four vm hogs of equal weight on 2 CPUs, started
 * on CPU 0 and then allowed both. Whatever the start, they must end up two
 * per CPU and get the same CPU time: the least served hog gets at least
 * 80% of the most served one's over 3 s. A CPU running one vm hog next to
 * one running three gives that hog three times the time of the others
 * (0.33), which is what VMF did before it pushed to the less loaded CPU.
 */
#include "kselftest.h"
#include "vmf_util.h"

#define NR_HOGS		4
#define SETTLE_NS	(500 * VMF_NSEC_PER_MSEC)
#define MEASURE_NS	(3 * VMF_NSEC_PER_SEC)

int main(void)
{
	struct vmf_hog hogs[NR_HOGS] = { };
	__u64 before[NR_HOGS], got[NR_HOGS], min = ~0ULL, max = 0;
	int i;

	ksft_print_header();
	vmf_require();
	vmf_require_cpus(2);
	ksft_set_plan(1);

	/* Watch from SCHED_FIFO, or the hogs may keep the reader off a CPU. */
	if (vmf_set(0, SCHED_FIFO, 50, 0, 0))
		ksft_exit_fail_perror("SCHED_FIFO for the watching thread");
	for (i = 0; i < NR_HOGS; i++) {
		hogs[i].cpu = 0;
		hogs[i].policy = SCHED_VMF;
		hogs[i].prio = VMF_CLASS_VM;
		if (vmf_hog_start(&hogs[i]))
			ksft_exit_fail_perror("vm hog");
	}
	for (i = 0; i < NR_HOGS; i++)
		if (vmf_pin(hogs[i].tid, -1))
			ksft_exit_fail_perror("allowing both CPUs");

	vmf_sleep_ns(SETTLE_NS);
	for (i = 0; i < NR_HOGS; i++)
		before[i] = vmf_clock_ns(hogs[i].clock);
	vmf_sleep_ns(MEASURE_NS);
	for (i = 0; i < NR_HOGS; i++) {
		got[i] = vmf_clock_ns(hogs[i].clock) - before[i];
		min = got[i] < min ? got[i] : min;
		max = got[i] > max ? got[i] : max;
		ksft_print_msg("vm hog %d: %llu ms\n", i, (unsigned long long)got[i] / 1000000);
	}
	vmf_hogs_stop(hogs, NR_HOGS);

	ksft_print_msg("least/most served: %.2f\n", max ? (double)min / max : 0.0);
	ksft_test_result(max && min * 5 >= max * 4,
			 "4 vm hogs on 2 CPUs share them evenly (least/most >= 0.80)\n");
	ksft_finished();
}
