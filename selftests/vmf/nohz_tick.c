// SPDX-License-Identifier: GPL-2.0
/*
 * A lone SCHED_VMF task on a nohz_full CPU runs without the tick. Run in
 * the "nohz" VM shape (nohz_full=1). Local timer interrupts on CPU 1 are
 * counted (LOC in /proc/interrupts) over 3 s:
 *
 *  - with one vm hog on CPU 1, nothing else runnable there: the tick
 *    stops (sched_can_stop_tick());
 *  - with two vm hogs on CPU 1, which share it in slices: the tick runs.
 *
 * Counts, not times: the one-hog rate must be under a tenth of the
 * two-hog rate, both measured in the same run.
 */
#include "kselftest.h"
#include "vmf_util.h"

#define CPU		1
#define SETTLE_NS	(500 * VMF_NSEC_PER_MSEC)
#define WINDOW_NS	(3 * VMF_NSEC_PER_SEC)

/* Local timer interrupts of @cpu so far, or -1. */
static long long loc_count(int cpu)
{
	static char buf[1 << 16];
	long long v = -1;
	char *line, *p;
	int i;

	if (vmf_read_file("/proc/interrupts", buf, sizeof(buf)) < 0)
		return -1;
	line = strstr(buf, "LOC:");
	if (!line)
		return -1;
	p = line + 4;
	for (i = 0; i <= cpu; i++)
		v = strtoll(p, &p, 10);
	return v;
}

static double tick_rate(int nr_hogs)
{
	struct vmf_hog h[2];
	long long before, after;
	__u64 start;
	double rate;
	int i;

	for (i = 0; i < nr_hogs; i++) {
		h[i] = (struct vmf_hog){ .cpu = CPU, .policy = SCHED_VMF, .prio = VMF_CLASS_VM };
		if (vmf_hog_start(&h[i]))
			ksft_exit_fail_msg("vm hog %d: %s\n", i, strerror(-h[i].err));
	}
	vmf_sleep_ns(SETTLE_NS);
	before = loc_count(CPU);
	start = vmf_now_ns();
	vmf_sleep_ns(WINDOW_NS);
	after = loc_count(CPU);
	rate = (after - before) / ((vmf_now_ns() - start) / 1e9);
	vmf_hogs_stop(h, nr_hogs);
	if (before < 0 || after < 0)
		ksft_exit_fail_msg("cannot read LOC of CPU %d in /proc/interrupts\n", CPU);
	ksft_print_msg("%d vm hog%s on CPU %d: %.0f local timer interrupts/s\n",
		       nr_hogs, nr_hogs > 1 ? "s" : "", CPU, rate);
	return rate;
}

int main(void)
{
	char cmdline[4096];
	double one, two;

	vmf_require();
	vmf_require_cpus(2);
	if (vmf_read_file("/proc/cmdline", cmdline, sizeof(cmdline)) < 0 ||
	    !strstr(cmdline, "nohz_full=1"))
		ksft_exit_skip("needs nohz_full=1 (the nohz VM shape)\n");
	ksft_print_header();
	ksft_set_plan(1);
	if (vmf_pin(0, 0))
		ksft_exit_fail_perror("pinning ourselves to CPU 0");

	two = tick_rate(2);
	one = tick_rate(1);
	ksft_test_result(two > 0 && one < two / 10,
			 "one vm hog: %.0f ticks/s, under a tenth of two hogs' %.0f/s\n",
			 one, two);
	ksft_finished();
}
