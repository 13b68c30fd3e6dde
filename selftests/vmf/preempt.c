// SPDX-License-Identifier: GPL-2.0
/*
 * Wakeup latency of a vm task against host hogs. A periodic thread pinned
 * to CPU 0 sleeps until an absolute time every millisecond and then runs
 * for 100 us, while two SCHED_OTHER hogs keep CPU 0 busy. It runs as
 * SCHED_OTHER, SCHED_FIFO 50 and SCHED_VMF vm, in the same run and
 * interleaved in chunks of 100 ms, so that a slow patch of the emulator
 * hits all three alike. Two figures per wakeup:
 *
 *  - lateness, actual wakeup - intended wakeup, as the task sees it;
 *  - run delay, sched_wakeup to the sched_switch onto the CPU, from the
 *    tracepoints: the scheduler's share of the lateness.
 *
 * A vm task must wake as a FIFO one does: its p50 and p95 lateness and its
 * p95 run delay within 10% of FIFO's, plus 10 us at the p50 and 20 us at
 * the p95 for TCG's coarse timing. With chunks of 500 ms the p95s of the
 * two policies, with the same wakeup path, differed by up to 30% either way
 * from run to run: a slow patch of the emulator fell into a few chunks of
 * one policy. With 100 ms, in 8 runs, the p95 lateness stayed within 10%
 * and the p95 run delays within 11 us. Without the timer slack fix, VMF's
 * p50 and p95 lateness were 50-52 and 46 us over FIFO's (2 runs).
 *
 * Its p99 lateness has a looser bound, p99(VMF) <= 3 * p99(FIFO) +
 * sched_vmf_host_runtime_us: the p99s of both policies are late timer
 * interrupts (the run delay p99s stay near 100 us when the lateness p99s
 * reach milliseconds), and they came out 0.4x to 2.2x of each other, with
 * either policy ahead. A vm wakeup that lands in a window of the host's
 * reservation waits for it, which the host runtime term covers.
 *
 * And a vm wakeup must not wait for the hogs: p95 run delay of VMF <=
 * p95(OTHER) / 10. The hogs make over a tenth of the SCHED_OTHER wakeups
 * wait for them.
 *
 * RT throttling is off during the FIFO chunks. Each thread has the timer
 * slack its policy gets: SCHED_OTHER the default 50 us, SCHED_FIFO and
 * SCHED_VMF none. With the default slack a vm task woke 50 us later than
 * FIFO at the median, with the same wakeup path.
 */
#include "kselftest.h"
#include "vmf_trace.h"

#define PERIOD_NS	(1 * VMF_NSEC_PER_MSEC)
#define WORK_NS		(100 * VMF_NSEC_PER_USEC)
#define CHUNK_NS	(100 * VMF_NSEC_PER_MSEC)
#define ROUNDS		40		/* 40 chunks: 4 s per policy */
#define WARMUP		2		/* wakeups not counted at the start of a chunk */
#define MAX_SAMPLES	(ROUNDS * CHUNK_NS / PERIOD_NS)
#define MIN_SAMPLES	(MAX_SAMPLES / 4)
#define RT_RUNTIME	"sched_rt_runtime_us"
#define COMM		"vmf-periodic"	/* the traced thread's name */
#define P50_MARGIN_NS	(10 * VMF_NSEC_PER_USEC)	/* of the VMF-FIFO checks */
#define P95_MARGIN_NS	(20 * VMF_NSEC_PER_USEC)

struct phase {
	const char *name;
	int policy;
	int prio;
	int err;
	size_t n, nr_delays;
	unsigned int overruns;	/* periods skipped: the previous one ended late */
	unsigned int nr_tids;
	pid_t tids[ROUNDS];	/* one thread per chunk */
	__u64 lat[MAX_SAMPLES];
	__u64 delay[MAX_SAMPLES];
};

static void *periodic(void *arg)
{
	struct phase *ph = arg;
	__u64 next, end, now;
	int i = 0;

	if (ph->nr_tids < ROUNDS)
		ph->tids[ph->nr_tids++] = syscall(SYS_gettid);
	ph->err = vmf_pin(0, 0);
	if (!ph->err && prctl(PR_SET_NAME, COMM, 0, 0, 0))
		ph->err = -errno;
	if (!ph->err)
		ph->err = vmf_set(0, ph->policy, ph->prio, 0, 0);
	if (ph->err)
		return NULL;

	now = vmf_now_ns();
	next = now + PERIOD_NS;
	end = now + CHUNK_NS;
	while (next < end) {
		vmf_sleep_until(next);
		now = vmf_now_ns();
		if (i++ >= WARMUP && ph->n < MAX_SAMPLES)
			ph->lat[ph->n++] = now - next;
		vmf_burn_ns(WORK_NS);
		/* Each sample is a real sleep: skip periods that are already gone. */
		now = vmf_now_ns();
		next += PERIOD_NS;
		while (next <= now) {
			next += PERIOD_NS;
			ph->overruns++;
		}
	}
	return NULL;
}

static struct phase phases[] = {
	{ .name = "SCHED_OTHER", .policy = SCHED_OTHER, .prio = 0 },
	{ .name = "SCHED_FIFO 50", .policy = SCHED_FIFO, .prio = 50 },
	{ .name = "SCHED_VMF vm", .policy = SCHED_VMF, .prio = VMF_CLASS_VM },
};

static struct phase *phase_of(pid_t tid)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(phases); i++)
		for (unsigned int r = 0; r < phases[i].nr_tids; r++)
			if (phases[i].tids[r] == tid)
				return &phases[i];
	return NULL;
}

/* The periodic thread last woken, while its switch in is still to come. */
struct wakeup {
	pid_t tid;
	double ts;
};

/*
 * Pair each sched_wakeup of a periodic thread with the next sched_switch
 * onto it. Only one periodic thread lives at a time, so one pending
 * wakeup is enough. Switches with no wakeup before them end a preemption,
 * not a sleep, and are not run delays.
 */
static int pair_delay(const struct vmf_event *ev, const char *line, void *arg)
{
	struct wakeup *woken = arg;
	struct phase *ph;
	pid_t tid;

	if (!strcmp(ev->name, "sched_wakeup")) {
		woken->tid = vmf_event_num(ev->payload, "pid", 0);
		woken->ts = ev->ts;
	} else if (!strcmp(ev->name, "sched_switch")) {
		tid = vmf_event_num(ev->payload, "next_pid", 0);
		ph = phase_of(tid);
		if (!ph || tid != woken->tid)
			return 0;
		if (ph->nr_delays < MAX_SAMPLES)
			ph->delay[ph->nr_delays++] = (ev->ts - woken->ts) * VMF_NSEC_PER_SEC;
		woken->tid = 0;
	}
	return 0;
}

static void print_percentiles(const struct phase *ph, const char *what, const __u64 *sorted,
			      size_t n)
{
	ksft_print_msg("%-13s %-9s %4zu wakeups, us: p50 %llu p95 %llu p99 %llu max %llu\n",
		       ph->name, what, n, vmf_percentile(sorted, n, 50) / VMF_NSEC_PER_USEC,
		       vmf_percentile(sorted, n, 95) / VMF_NSEC_PER_USEC,
		       vmf_percentile(sorted, n, 99) / VMF_NSEC_PER_USEC,
		       vmf_percentile(sorted, n, 100) / VMF_NSEC_PER_USEC);
}

/* What the checks compare: lateness p50, p95 and p99, run delay p95. */
struct tails {
	__u64 lat50, lat95, lat, delay;
};

/* Print the phase's numbers, check it has enough of them; its tails. */
static struct tails report(struct phase *ph)
{
	struct tails tail;

	vmf_sort_u64(ph->lat, ph->n);
	vmf_sort_u64(ph->delay, ph->nr_delays);
	tail.lat50 = vmf_percentile(ph->lat, ph->n, 50);
	tail.lat95 = vmf_percentile(ph->lat, ph->n, 95);
	tail.lat = vmf_percentile(ph->lat, ph->n, 99);
	tail.delay = vmf_percentile(ph->delay, ph->nr_delays, 95);
	if (ph->err) {
		ksft_print_msg("%s: cannot set up the periodic thread: %s\n", ph->name,
			       strerror(-ph->err));
	} else {
		print_percentiles(ph, "lateness", ph->lat, ph->n);
		print_percentiles(ph, "run delay", ph->delay, ph->nr_delays);
		ksft_print_msg("%-13s %u periods skipped: the one before ended late\n",
			       ph->name, ph->overruns);
	}
	ksft_test_result(!ph->err && ph->n >= MIN_SAMPLES && ph->nr_delays >= MIN_SAMPLES,
			 "%s: at least %llu wakeups measured and traced\n",
			 ph->name, (unsigned long long)MIN_SAMPLES);
	return tail;
}

/* A vm task's figure must be FIFO's, within 10% and @margin. */
static void as_fifo(int measured, const char *what, __u64 vmf, __u64 fifo, __u64 margin)
{
	ksft_test_result(measured && vmf * 10 <= fifo * 11 + 10 * margin,
			 "%s: SCHED_VMF vm %llu us <= SCHED_FIFO 50 %llu us + 10%% + %llu us\n",
			 what, vmf / VMF_NSEC_PER_USEC, fifo / VMF_NSEC_PER_USEC,
			 margin / VMF_NSEC_PER_USEC);
}

int main(void)
{
	struct vmf_hog hogs[2] = {
		{ .cpu = 0, .policy = SCHED_OTHER },
		{ .cpu = 0, .policy = SCHED_OTHER },
	};
	static const char * const events[] = { "sched_wakeup", "sched_switch", NULL };
	struct tails tail[ARRAY_SIZE(phases)];
	struct phase *ph, *other, *fifo, *vmf;
	struct vmf_trace tr;
	char rt_runtime[64];
	long host_runtime_us;
	unsigned int i, r;
	pthread_t thread;
	int ret;

	ksft_print_header();
	vmf_require();
	vmf_require_cpus(2);
	ksft_set_plan(ARRAY_SIZE(phases) + 5);

	if (vmf_sysctl_read(RT_RUNTIME, rt_runtime, sizeof(rt_runtime)))
		ksft_exit_fail_perror("reading " RT_RUNTIME);
	vmf_sysctl_save(RT_RUNTIME);
	host_runtime_us = vmf_sysctl_get("sched_vmf_host_runtime_us");

	/* About 12000 events of each kind, all on CPU 0. */
	ret = vmf_trace_open(&tr, "vmf_preempt", events, 4096);
	if (!ret)
		ret = vmf_trace_filter(&tr, "sched_wakeup", "comm == \"" COMM "\"");
	if (!ret)
		ret = vmf_trace_filter(&tr, "sched_switch", "next_comm == \"" COMM "\"");
	if (ret)
		ksft_exit_fail_msg("cannot set up the trace instance: %s\n", strerror(-ret));

	ret = vmf_pin(0, 1);
	if (ret)
		ksft_exit_fail_msg("pinning to CPU 1: %s\n", strerror(-ret));
	for (i = 0; i < ARRAY_SIZE(hogs); i++) {
		ret = vmf_hog_start(&hogs[i]);
		if (ret)
			ksft_exit_fail_msg("SCHED_OTHER hog on CPU 0: %s\n", strerror(-ret));
	}

	if (vmf_trace_on(&tr, 1))
		ksft_exit_fail_msg("cannot start tracing\n");
	for (r = 0; r < ROUNDS; r++) {
		for (i = 0; i < ARRAY_SIZE(phases); i++) {
			ph = &phases[i];
			if (ph->policy == SCHED_FIFO) {
				ret = vmf_sysctl_write(RT_RUNTIME, "-1");
				if (ret)
					ksft_exit_fail_msg("writing -1 to %s: %s\n", RT_RUNTIME,
							   strerror(-ret));
			}
			ret = pthread_create(&thread, NULL, periodic, ph);
			if (ret)
				ksft_exit_fail_msg("pthread_create: %s\n", strerror(ret));
			pthread_join(thread, NULL);
			if (ph->policy == SCHED_FIFO) {
				ret = vmf_sysctl_write(RT_RUNTIME, rt_runtime);
				if (ret)
					ksft_exit_fail_msg("restoring %s: %s\n", RT_RUNTIME,
							   strerror(-ret));
			}
		}
	}
	vmf_trace_on(&tr, 0);
	for (i = 0; i < ARRAY_SIZE(hogs); i++)
		vmf_hog_stop(&hogs[i]);

	if (vmf_trace_overrun(&tr))
		ksft_exit_fail_msg("the trace buffer overran: run delays would be missing\n");
	ret = vmf_trace_for_each(&tr, pair_delay, &(struct wakeup){ 0 });
	vmf_trace_close(&tr);
	if (ret)
		ksft_exit_fail_msg("reading the trace: %s\n", strerror(-ret));
	for (i = 0; i < ARRAY_SIZE(phases); i++)
		tail[i] = report(&phases[i]);

	other = &phases[0];
	fifo = &phases[1];
	vmf = &phases[2];
	as_fifo(vmf->n && fifo->n, "p50 lateness", tail[2].lat50, tail[1].lat50,
		P50_MARGIN_NS);
	as_fifo(vmf->n && fifo->n, "p95 lateness", tail[2].lat95, tail[1].lat95,
		P95_MARGIN_NS);
	as_fifo(vmf->nr_delays && fifo->nr_delays, "p95 run delay", tail[2].delay,
		tail[1].delay, P95_MARGIN_NS);
	ksft_test_result(vmf->n && fifo->n &&
			 tail[2].lat <= 3 * tail[1].lat + host_runtime_us * VMF_NSEC_PER_USEC,
			 "p99 lateness: %s %llu us <= 3 * %s %llu us + host runtime %ld us\n",
			 vmf->name, tail[2].lat / VMF_NSEC_PER_USEC,
			 fifo->name, tail[1].lat / VMF_NSEC_PER_USEC, host_runtime_us);
	ksft_test_result(vmf->nr_delays && other->nr_delays && tail[2].delay * 10 <= tail[0].delay,
			 "p95 run delay: %s %llu us <= %s %llu us / 10\n", vmf->name,
			 tail[2].delay / VMF_NSEC_PER_USEC, other->name,
			 tail[0].delay / VMF_NSEC_PER_USEC);
	ksft_finished();
}
