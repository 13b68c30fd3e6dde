// SPDX-License-Identifier: GPL-2.0
/*
 * vCPUs spread out. On an N-CPU VM, N SCHED_OTHER hogs are pinned one per
 * CPU (host noise everywhere) and N vm hogs are started on CPU 0 and then
 * allowed every CPU, so that they spread by push. Over a 10 s window,
 * with shares the median of its ten slices (vmf_measure_median()):
 *
 *  - every vm hog gets all of a CPU but what the host hogs got (the
 *    largest of their shares), less 3%: vm hogs lose no time to each
 *    other or to idle CPUs. The
 *    host's share is measured, not taken from the sysctls: the deadline
 *    class enforces the fair server's runtime at the tick, and on this
 *    VM (4 vCPUs on 2 host cores) ticks come late, so the 1 ms per 20 ms
 *    reservation measured 15% here (9.4% on the 2-CPU VM, see
 *    vmf/host_share.c, which checks the reservation itself);
 *  - from sched_switch and sched_vmf_run_delay, the time a vm hog waited
 *    on a CPU while another vm hog ran there is under 1% of the vm hogs'
 *    time (N hogs on N CPUs: then some allowed CPU had no vm hog);
 *  - the tracepoints carry sane fields: every sched_vmf_run_delay of a
 *    hog says class=vm and the CPU it was recorded on, and every
 *    sched_vmf_migrate of a hog says wakeup, push or pull between two
 *    CPUs of this VM (vmf/balance.c checks sched_vmf_preempt);
 *  - once spread, the vm hogs migrate less than once per second in all:
 *    there is nothing to gain.
 */
#include "kselftest.h"
#include "vmf_util.h"
#include "vmf_trace.h"

#define MAX_CPUS	8
#define WARMUP_NS	(2 * VMF_NSEC_PER_SEC)
#define WINDOW_NS	(10 * VMF_NSEC_PER_SEC)
#define SLACK		0.03
#define MAX_SHARED	0.01
#define MAX_MIGR_PER_S	1.0
#define MAX_EVENTS	400000
#define MARK_START	"vmf_spread window start"
#define MARK_END	"vmf_spread window end"

static struct vmf_hog host[MAX_CPUS], vm[MAX_CPUS];
static int nr;

/* What the trace says, kept for a pass once the window is known. */
struct rec {
	double ts;
	int cpu;
	int pid;	/* sched_switch: next_pid */
	double delay;	/* run delay, s */
};

static struct rec *sws, *waits, *migrs;
static int nr_sws, nr_waits, nr_migrs, bad_events;
static double t0, t1;

static int hog_index(const struct vmf_hog *h, int pid)
{
	for (int i = 0; i < nr; i++)
		if (h[i].tid == pid)
			return i;
	return -1;
}

static void keep(struct rec *r, int *n, struct rec v)
{
	if (*n < MAX_EVENTS)
		r[(*n)++] = v;
}

static void bad_event(const char *line)
{
	if (bad_events++ < 5)
		ksft_print_msg("bad event: %s", line);
}

static void parse_vmf_event(const struct vmf_event *ev, const char *line)
{
	int pid = vmf_event_num(ev->payload, "pid", 0);
	char cls[16], reason[16];

	if (hog_index(vm, pid) < 0)
		return;
	if (!vmf_event_field(ev->payload, "class", 0, cls, sizeof(cls)) || strcmp(cls, "vm")) {
		bad_event(line);
		return;
	}
	if (!strcmp(ev->name, "sched_vmf_run_delay")) {
		long long delay = vmf_event_num(ev->payload, "delay", 0);

		if (vmf_event_num(ev->payload, "cpu", 0) != ev->cpu || delay < 0 ||
		    delay > 2 * (long long)WINDOW_NS)
			bad_event(line);
		else
			keep(waits, &nr_waits, (struct rec){ ev->ts, ev->cpu, pid, delay / 1e9 });
	} else if (!strcmp(ev->name, "sched_vmf_migrate")) {
		long long from = vmf_event_num(ev->payload, "orig_cpu", 0);
		long long to = vmf_event_num(ev->payload, "dest_cpu", 0);

		vmf_event_field(ev->payload, "reason", 0, reason, sizeof(reason));
		if (from == to || from < 0 || to < 0 || from >= nr || to >= nr ||
		    (strcmp(reason, "wakeup") && strcmp(reason, "push") && strcmp(reason, "pull")))
			bad_event(line);
		else
			keep(migrs, &nr_migrs, (struct rec){ ev->ts, (int)to, pid, 0 });
	}
}

static int read_event(const struct vmf_event *ev, const char *line, void *arg)
{
	if (!strcmp(ev->name, "tracing_mark_write")) {
		if (strstr(ev->payload, MARK_START))
			t0 = ev->ts;
		else if (strstr(ev->payload, MARK_END))
			t1 = ev->ts;
	} else if (!strcmp(ev->name, "sched_switch")) {
		int next = vmf_event_num(ev->payload, "next_pid", 0);

		keep(sws, &nr_sws, (struct rec){ ev->ts, ev->cpu, next, 0 });
	} else {
		parse_vmf_event(ev, line);
	}
	return 0;
}

/* Time in [from, to] during which a vm hog other than @pid ran on @cpu. */
static double other_vm_running(int cpu, int pid, double from, double to)
{
	double sum = 0, since = 0;
	int other = 0;

	for (int i = 0; i < nr_sws && sws[i].ts < to; i++) {
		if (sws[i].cpu != cpu)
			continue;
		if (other && sws[i].ts > from)
			sum += sws[i].ts - (since > from ? since : from);
		other = sws[i].pid != pid && hog_index(vm, sws[i].pid) >= 0;
		since = sws[i].ts;
	}
	if (other)
		sum += to - (since > from ? since : from);
	return sum;
}

int main(void)
{
	static const char * const events[] = {
		"sched_switch", "vmf/sched_vmf_run_delay", "vmf/sched_vmf_migrate", NULL,
	};
	__u64 cpu_ns[2 * MAX_CPUS], wall_ns;
	clockid_t clocks[2 * MAX_CPUS];
	double shared = 0, migr_rate, max_host = 0;
	struct vmf_trace tr;
	int i, ret, low = 0, migrations = 0;

	vmf_require();
	vmf_require_cpus(4);
	nr = vmf_nr_cpus() < MAX_CPUS ? vmf_nr_cpus() : MAX_CPUS;
	ksft_print_header();
	ksft_set_plan(4);

	sws = calloc(MAX_EVENTS, sizeof(*sws));
	waits = calloc(MAX_EVENTS, sizeof(*waits));
	migrs = calloc(MAX_EVENTS, sizeof(*migrs));
	if (!sws || !waits || !migrs)
		ksft_exit_fail_perror("calloc");
	ret = vmf_trace_open(&tr, "vmf_spread", events, 16384);
	if (ret)
		ksft_exit_fail_msg("cannot set up the trace instance: %s\n", strerror(-ret));

	/* The main thread sleeps on CPU 0: the vm hogs start from there. */
	if (vmf_pin(0, 0))
		ksft_exit_fail_perror("pinning ourselves to CPU 0");
	for (i = 0; i < nr; i++) {
		host[i] = (struct vmf_hog){ .cpu = i, .policy = SCHED_OTHER };
		if (vmf_hog_start(&host[i]))
			ksft_exit_fail_msg("host hog %d: %s\n", i, strerror(-host[i].err));
		clocks[nr + i] = host[i].clock;
	}
	if (vmf_trace_on(&tr, 1))
		ksft_exit_fail_perror("tracing_on");
	for (i = 0; i < nr; i++) {
		vm[i] = (struct vmf_hog){ .cpu = -1, .policy = SCHED_VMF, .prio = VMF_CLASS_VM };
		if (vmf_hog_start(&vm[i]))
			ksft_exit_fail_msg("vm hog %d: %s\n", i, strerror(-vm[i].err));
		if (vmf_set_cpus(vm[i].tid, (1UL << nr) - 1))
			ksft_exit_fail_perror("sched_setaffinity");
		clocks[i] = vm[i].clock;
	}
	vmf_sleep_ns(WARMUP_NS);
	vmf_trace_mark(&tr, MARK_START);
	vmf_measure_median(clocks, 2 * nr, WINDOW_NS, cpu_ns, &wall_ns);
	vmf_trace_mark(&tr, MARK_END);
	vmf_trace_on(&tr, 0);
	vmf_hogs_stop(vm, nr);
	vmf_hogs_stop(host, nr);

	for (i = 0; i < nr; i++) {
		double host_share = (double)cpu_ns[nr + i] / wall_ns;

		ksft_print_msg("vm hog %d: %.1f%% of a CPU; host hog on CPU %d: %.1f%%\n",
			       i, 100.0 * cpu_ns[i] / wall_ns, i, 100 * host_share);
		if (host_share > max_host)
			max_host = host_share;
	}
	for (i = 0; i < nr; i++)
		low += (double)cpu_ns[i] / wall_ns < 1 - max_host - SLACK;
	ksft_test_result(!low, "every vm hog got its CPU but the host's share, -%.0f%%\n",
			 100 * SLACK);

	if (vmf_trace_overrun(&tr))
		ksft_exit_fail_msg("the trace buffer overran: its counts would be wrong\n");
	ret = vmf_trace_for_each(&tr, read_event, NULL);
	vmf_trace_close(&tr);
	if (ret)
		ksft_exit_fail_msg("reading the trace: %s\n", strerror(-ret));
	if (!t0 || t1 <= t0)
		ksft_exit_fail_msg("the trace has no window markers\n");

	ksft_print_msg("%d run-delay and %d migrate events of the hogs\n", nr_waits, nr_migrs);
	ksft_test_result(!bad_events && nr_waits && nr_migrs,
			 "tracepoint fields are sane (%d bad events)\n", bad_events);

	for (i = 0; i < nr_waits; i++) {
		double from = waits[i].ts - waits[i].delay, to = waits[i].ts;

		if (to <= t0 || from >= t1)
			continue;
		shared += other_vm_running(waits[i].cpu, waits[i].pid,
					   from > t0 ? from : t0, to < t1 ? to : t1);
	}
	shared /= nr * (t1 - t0);
	ksft_test_result(shared < MAX_SHARED,
			 "a vm hog waited behind another vm hog %.3f%% of the time (< %.0f%%)\n",
			 100 * shared, 100 * MAX_SHARED);

	for (i = 0; i < nr_migrs; i++)
		migrations += migrs[i].ts >= t0 && migrs[i].ts <= t1;
	migr_rate = migrations / (t1 - t0);
	ksft_test_result(migr_rate < MAX_MIGR_PER_S,
			 "%.2f vm hog migrations per second once spread (< %.0f)\n",
			 migr_rate, MAX_MIGR_PER_S);
	ksft_finished();
}
