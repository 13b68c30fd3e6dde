// SPDX-License-Identifier: GPL-2.0
/*
 * Slices end on time. Two SCHED_VMF vm hogs share CPU 0 with a 2 ms
 * slice (sched_vmf_slice_us). Ended by the tick alone, at HZ=250 a slice
 * lasted until the first tick after 2 ms: 4 ms, and so did the other
 * hog's wait, which is a vCPU's run delay under overcommit. The class ends
 * a slice with the hrtick when another task of its level waits, so each
 * turn on the CPU must last at most 1.5 slices at the median.
 *
 * The turns are measured from sched_switch: from the switch onto a hog to
 * the switch off it.
 */
#include "kselftest.h"
#include "vmf_trace.h"

#define SLICE_US	2000
#define RUN_NS		(2 * VMF_NSEC_PER_SEC)
#define MAX_TURNS	4096
#define MIN_TURNS	100
#define COMM		"vmf-slice"	/* the hogs' name, for the trace filter */

struct turns {
	pid_t tids[2];
	double start[2];
	__u64 len[MAX_TURNS];
	size_t n;
};

static int hog_index(const struct turns *t, pid_t tid)
{
	return tid == t->tids[0] ? 0 : tid == t->tids[1] ? 1 : -1;
}

static int pair_turns(const struct vmf_event *ev, const char *line, void *arg)
{
	struct turns *t = arg;
	int prev, next;

	if (strcmp(ev->name, "sched_switch"))
		return 0;
	prev = hog_index(t, vmf_event_num(ev->payload, "prev_pid", 0));
	next = hog_index(t, vmf_event_num(ev->payload, "next_pid", 0));
	if (prev >= 0 && t->start[prev] > 0 && t->n < MAX_TURNS)
		t->len[t->n++] = (ev->ts - t->start[prev]) * VMF_NSEC_PER_SEC;
	if (prev >= 0)
		t->start[prev] = 0;
	if (next >= 0)
		t->start[next] = ev->ts;
	return 0;
}

int main(void)
{
	struct vmf_hog hogs[2] = {
		{ .cpu = 0, .policy = SCHED_VMF, .prio = VMF_CLASS_VM },
		{ .cpu = 0, .policy = SCHED_VMF, .prio = VMF_CLASS_VM },
	};
	static const char * const events[] = { "sched_switch", NULL };
	static struct turns t;
	struct vmf_trace tr;
	__u64 p50, p90;
	unsigned int i;
	int ret;

	ksft_print_header();
	vmf_require();
	vmf_require_cpus(2);
	ksft_set_plan(2);

	vmf_sysctl_save("sched_vmf_slice_us");
	if (vmf_sysctl_set("sched_vmf_slice_us", SLICE_US))
		ksft_exit_fail_msg("cannot set sched_vmf_slice_us\n");
	ret = vmf_trace_open(&tr, "vmf_slice", events, 4096);
	if (!ret)
		ret = vmf_trace_filter(&tr, "sched_switch",
				       "prev_comm == \"" COMM "\" || next_comm == \"" COMM "\"");
	if (ret)
		ksft_exit_fail_msg("cannot set up the trace instance: %s\n", strerror(-ret));
	ret = vmf_pin(0, 1);
	if (ret)
		ksft_exit_fail_msg("pinning to CPU 1: %s\n", strerror(-ret));

	for (i = 0; i < ARRAY_SIZE(hogs); i++) {
		ret = vmf_hog_start(&hogs[i]);
		if (!ret)
			ret = -pthread_setname_np(hogs[i].thread, COMM);
		if (ret)
			ksft_exit_fail_msg("vm hog on CPU 0: %s\n", strerror(-ret));
		t.tids[i] = hogs[i].tid;
	}
	if (vmf_trace_on(&tr, 1))
		ksft_exit_fail_msg("cannot start tracing\n");
	vmf_sleep_ns(RUN_NS);
	vmf_trace_on(&tr, 0);
	vmf_hogs_stop(hogs, ARRAY_SIZE(hogs));

	ret = vmf_trace_for_each(&tr, pair_turns, &t);
	vmf_trace_close(&tr);
	if (ret)
		ksft_exit_fail_msg("reading the trace: %s\n", strerror(-ret));
	vmf_sysctl_restore_all();

	vmf_sort_u64(t.len, t.n);
	p50 = vmf_percentile(t.len, t.n, 50);
	p90 = vmf_percentile(t.len, t.n, 90);
	ksft_print_msg(
		       "%zu turns of the two vm hogs on CPU 0, slice %d us: p50 %llu us, p90 %llu us\n",
		       t.n, SLICE_US, p50 / VMF_NSEC_PER_USEC, p90 / VMF_NSEC_PER_USEC);
	ksft_test_result(t.n >= MIN_TURNS, "at least %d turns traced\n", MIN_TURNS);
	ksft_test_result(t.n && p50 * 2 <= 3 * SLICE_US * VMF_NSEC_PER_USEC,
			 "median turn %llu us <= 1.5 slices (%d us)\n", p50 / VMF_NSEC_PER_USEC,
			 3 * SLICE_US / 2);
	ksft_finished();
}
