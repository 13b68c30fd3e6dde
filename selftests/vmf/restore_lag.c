// SPDX-License-Identifier: GPL-2.0
/*
 * A change of nice or affinity dequeues a task and puts it back at once
 * (DEQUEUE_SAVE/ENQUEUE_RESTORE). That must not shed the task's debt the
 * way the bound on a newcomer's vruntime does.
 *
 * Two vm hogs share CPU 1: B of nice 0 and A of nice 19 (weight 15 against
 * 1024), so A's fair share is 1.4%. Every slice A runs puts it about 70
 * slices of B's into debt. In one round nothing touches A; in the other a
 * SCHED_FIFO thread switches A between nice 19 and nice 18 every 5 ms.
 * A's share may grow by the weight of nice 18 and no more: it must stay
 * under twice its share of the first round plus one point. When the
 * put-back task was bounded to a slice of debt like a newcomer, each
 * change let A run again after one slice of B's, and A got about a third
 * of the CPU.
 */
#include "kselftest.h"
#include "vmf_util.h"

#define WARMUP_NS	(300 * VMF_NSEC_PER_MSEC)
#define WINDOW_NS	(3 * VMF_NSEC_PER_SEC)
#define TOGGLE_NS	(5 * VMF_NSEC_PER_MSEC)

static int stop_toggler;

static void *toggler(void *arg)
{
	pid_t tid = *(pid_t *)arg;
	int nice = 19;

	while (!__atomic_load_n(&stop_toggler, __ATOMIC_RELAXED)) {
		nice = nice == 19 ? 18 : 19;
		if (vmf_set(tid, SCHED_VMF, VMF_CLASS_VM, nice, 0))
			ksft_exit_fail_perror("renicing the nice-19 hog");
		vmf_sleep_ns(TOGGLE_NS);
	}
	return NULL;
}

/* A's share of CPU 1 over one window, renicing it meanwhile if toggle. */
static double round_share(int toggle)
{
	struct vmf_hog h[2] = {
		{ .cpu = 1, .policy = SCHED_VMF, .prio = VMF_CLASS_VM, .nice = 19 },
		{ .cpu = 1, .policy = SCHED_VMF, .prio = VMF_CLASS_VM },
	};
	clockid_t clocks[2];
	__u64 cpu[2], wall;
	pthread_t thread;
	int i, ret;

	for (i = 0; i < 2; i++) {
		ret = vmf_hog_start(&h[i]);
		if (ret)
			ksft_exit_fail_msg("hog %d: %s\n", i, strerror(-ret));
		clocks[i] = h[i].clock;
	}
	stop_toggler = 0;
	if (toggle && pthread_create(&thread, NULL, toggler, &h[0].tid))
		ksft_exit_fail_msg("starting the renicing thread\n");
	vmf_sleep_ns(WARMUP_NS);
	vmf_measure_median(clocks, 2, WINDOW_NS, cpu, &wall);
	if (toggle) {
		__atomic_store_n(&stop_toggler, 1, __ATOMIC_RELAXED);
		pthread_join(thread, NULL);
	}
	vmf_hogs_stop(h, 2);
	ksft_print_msg("%s: nice-19 hog %.2f%%, nice-0 hog %.2f%% of %.0f ms\n",
		       toggle ? "reniced every 5 ms" : "left alone", 100.0 * cpu[0] / wall,
		       100.0 * cpu[1] / wall, (double)wall / VMF_NSEC_PER_MSEC);
	return (double)cpu[0] / (cpu[0] + cpu[1]);
}

int main(void)
{
	double alone, toggled;

	ksft_print_header();
	vmf_require();
	vmf_require_cpus(2);
	ksft_set_plan(1);

	vmf_sampler_fifo(0, 10);

	alone = round_share(0);
	toggled = round_share(1);
	ksft_test_result(toggled <= 2 * alone + 0.01,
			 "reniced every 5 ms, the nice-19 hog keeps its debt: %.2f%% <= 2 x %.2f%% + 1%%\n",
			 100 * toggled, 100 * alone);
	ksft_finished();
}
