// SPDX-License-Identifier: GPL-2.0
/*
 * Host work drifts away from busy vCPUs. On a 4-CPU VM, 2 vm hogs are
 * pinned to CPU 0 and 4 SCHED_OTHER hogs may run anywhere. The time the
 * vm hogs take shows as VMF utilisation (PELT) on CPU 0 and comes off the
 * capacity the fair load balancer sees there, so the host hogs leave CPU
 * 0 to the vCPUs, where they would get only the host reservation.
 *
 * After 3 s to settle, where the host hogs run is sampled every 50 ms for
 * 5 s: in at most 10% of the samples may any host hog be on CPU 0.
 * Without the capacity accounting, one of the four stays there, as fair
 * balances one hog per CPU (100% of the samples). The sched_debug util_avg
 * of CPU 0's vmf_rq is printed for the record.
 */
#include "kselftest.h"
#include "vmf_util.h"

#define NR_VM		2
#define NR_HOST		4
#define SETTLE_NS	(3 * VMF_NSEC_PER_SEC)
#define SAMPLE_NS	(50 * VMF_NSEC_PER_MSEC)
#define SAMPLES		100
#define MAX_ON_CPU0	0.10

static void print_vmf_util(void)
{
	static char buf[1 << 20];
	const char *p, *u;

	if (vmf_read_file("/sys/kernel/debug/sched/debug", buf, sizeof(buf)) < 0)
		return;
	p = strstr(buf, "vmf_rq[0]:");
	u = p ? strstr(p, ".util_avg") : NULL;
	if (u)
		ksft_print_msg("CPU 0 vmf_rq util_avg: %ld\n", atol(strchr(u, ':') + 1));
}

int main(void)
{
	struct vmf_hog vm[NR_VM], host[NR_HOST];
	int i, s, on_cpu0 = 0;

	vmf_require();
	vmf_require_cpus(4);
	ksft_print_header();
	ksft_set_plan(1);

	/* The main thread stays off CPU 0, which belongs to the vm hogs. */
	if (vmf_set_cpus(0, (1UL << vmf_nr_cpus()) - 2))
		ksft_exit_fail_perror("sched_setaffinity");

	for (i = 0; i < NR_VM; i++) {
		vm[i] = (struct vmf_hog){ .cpu = 0, .policy = SCHED_VMF, .prio = VMF_CLASS_VM };
		if (vmf_hog_start(&vm[i]))
			ksft_exit_fail_msg("vm hog %d: %s\n", i, strerror(-vm[i].err));
	}
	for (i = 0; i < NR_HOST; i++) {
		/* Started on CPU 0, then free: fair must move them itself. */
		host[i] = (struct vmf_hog){ .cpu = 0, .policy = SCHED_OTHER };
		if (vmf_hog_start(&host[i]))
			ksft_exit_fail_msg("host hog %d: %s\n", i, strerror(-host[i].err));
		if (vmf_set_cpus(host[i].tid, (1UL << vmf_nr_cpus()) - 1))
			ksft_exit_fail_perror("sched_setaffinity");
	}

	vmf_sleep_ns(SETTLE_NS);
	print_vmf_util();
	for (s = 0; s < SAMPLES; s++) {
		int any = 0;

		for (i = 0; i < NR_HOST; i++)
			any |= vmf_task_cpu(getpid(), host[i].tid) == 0;
		on_cpu0 += any;
		vmf_sleep_ns(SAMPLE_NS);
	}

	vmf_hogs_stop(vm, NR_VM);
	vmf_hogs_stop(host, NR_HOST);

	ksft_test_result((double)on_cpu0 / SAMPLES <= MAX_ON_CPU0,
			 "a host hog was on CPU 0 in %d of %d samples (at most %.0f%%)\n",
			 on_cpu0, SAMPLES, 100 * MAX_ON_CPU0);
	ksft_finished();
}
