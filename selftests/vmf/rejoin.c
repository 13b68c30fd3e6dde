// SPDX-License-Identifier: GPL-2.0
/*
 * A task that joins SCHED_VMF, or changes level, while it sleeps must
 * start on its new level's timeline. Its vruntime is from another one,
 * and a wakeup on the same CPU bounds only a waker's credit: a vruntime
 * far ahead would leave it waiting until the tasks of its new level
 * caught up with it.
 *
 * On CPU 1, task A runs alone at one level until its vruntime is GAP_MS
 * past the other level's min_vruntime, and blocks. While it sleeps it is
 * moved to the other level, directly in one round and through
 * SCHED_OTHER in the other. A hog B starts at that level, A wakes and
 * spins beside it, and the two, of one level and one weight, should
 * share the CPU evenly: A must get at least a quarter of their time over
 * the next second. When the move left A's vruntime as it was, A got
 * nothing: it waited GAP_MS behind B.
 */
#include "kselftest.h"
#include "vmf_util.h"

#define GAP_MS		2000
#define SPIN_MAX_NS	(20 * VMF_NSEC_PER_SEC)
#define POLL_NS		(20 * VMF_NSEC_PER_MSEC)
#define WARMUP_NS	(100 * VMF_NSEC_PER_MSEC)
#define WINDOW_NS	(1 * VMF_NSEC_PER_SEC)

struct sleeper {
	pthread_t thread;
	clockid_t clock;
	pid_t tid;
	int pipe[2];
	int ready;
	int block;
	int stop;
};

/* Spin; block on the pipe once told to; spin again until stopped. */
static void *sleeper_fn(void *arg)
{
	struct sleeper *s = arg;
	char c;

	s->tid = syscall(SYS_gettid);
	if (pthread_getcpuclockid(pthread_self(), &s->clock))
		return NULL;
	__atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&s->block, __ATOMIC_ACQUIRE))
		;
	if (read(s->pipe[0], &c, 1) != 1)
		return NULL;
	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED))
		;
	return NULL;
}

/* CPU 1's min_vruntime of a level, in ms, from sched_debug. */
static double cpu1_min_vruntime_ms(int level)
{
	static char buf[1 << 20];
	const char *key = level == VMF_CLASS_VM ? ".vm.min_vruntime" : ".vmm.min_vruntime";
	const char *rq, *next, *at;
	int ret;

	ret = vmf_read_file("/sys/kernel/debug/sched/debug", buf, sizeof(buf));
	if (ret < 0)
		ksft_exit_fail_msg("reading sched_debug: %s\n", strerror(-ret));
	rq = strstr(buf, "\nvmf_rq[1]:");
	next = rq ? strstr(rq + 1, "\ncpu#") : NULL;
	at = rq ? strstr(rq, key) : NULL;
	if (!at || (next && at > next))
		ksft_exit_fail_msg("no %s for CPU 1 in sched_debug\n", key);
	return atof(strchr(at, ':') + 1);
}

static long long vruntime_ms(pid_t tid)
{
	long long v;

	if (vmf_sched_field(getpid(), tid, "vmf.vruntime", &v))
		ksft_exit_fail_msg("no vmf.vruntime in /proc/%d/sched\n", tid);
	return v;
}

static char thread_state(pid_t tid)
{
	char path[64], buf[512], *end;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	if (vmf_read_file(path, buf, sizeof(buf)) < 0)
		return '?';
	end = strrchr(buf, ')');
	return end && end[1] == ' ' ? end[2] : '?';
}

static void set_or_fail(pid_t tid, int policy, int prio, const char *what)
{
	int ret = vmf_set(tid, policy, prio, 0, 0);

	if (ret)
		ksft_exit_fail_msg("%s: %s\n", what, strerror(-ret));
}

/* A's share beside B after a move from level @from to @to while asleep. */
static double round_share(int from, int to, int via_other)
{
	struct vmf_hog b = { .cpu = 1, .policy = SCHED_VMF, .prio = to };
	struct sleeper a = { 0 };
	__u64 deadline, cpu[2], wall;
	clockid_t clocks[2];
	long long ahead;
	int ret;

	if (pipe(a.pipe))
		ksft_exit_fail_perror("pipe");
	ret = vmf_thread_create(&a.thread, 1, sleeper_fn, &a);
	if (ret)
		ksft_exit_fail_msg("starting A: %s\n", strerror(-ret));
	while (!__atomic_load_n(&a.ready, __ATOMIC_ACQUIRE))
		vmf_sleep_ns(VMF_NSEC_PER_MSEC);
	set_or_fail(a.tid, SCHED_VMF, from, "A to SCHED_VMF");

	deadline = vmf_now_ns() + SPIN_MAX_NS;
	for (;;) {
		ahead = vruntime_ms(a.tid) - (long long)cpu1_min_vruntime_ms(to);
		if (ahead >= GAP_MS)
			break;
		if (vmf_now_ns() > deadline)
			ksft_exit_fail_msg("A got only %lld ms ahead of the level\n", ahead);
		vmf_sleep_ns(POLL_NS);
	}
	__atomic_store_n(&a.block, 1, __ATOMIC_RELEASE);
	while (thread_state(a.tid) != 'S')
		vmf_sleep_ns(VMF_NSEC_PER_MSEC);

	if (via_other)
		set_or_fail(a.tid, SCHED_OTHER, 0, "sleeping A to SCHED_OTHER");
	set_or_fail(a.tid, SCHED_VMF, to, "sleeping A to its new level");
	ret = vmf_hog_start(&b);
	if (ret)
		ksft_exit_fail_msg("starting B: %s\n", strerror(-ret));
	set_or_fail(b.tid, SCHED_VMF, to, "B to SCHED_VMF");
	vmf_sleep_ns(WARMUP_NS);

	if (write(a.pipe[1], "", 1) != 1)
		ksft_exit_fail_perror("waking A");
	clocks[0] = a.clock;
	clocks[1] = b.clock;
	vmf_measure_median(clocks, 2, WINDOW_NS, cpu, &wall);
	__atomic_store_n(&a.stop, 1, __ATOMIC_RELAXED);
	pthread_join(a.thread, NULL);
	vmf_hog_stop(&b);
	close(a.pipe[0]);
	close(a.pipe[1]);

	ksft_print_msg("%s to %s%s while asleep, %lld ms ahead: A %.1f%%, B %.1f%% of %.0f ms\n",
		       from == VMF_CLASS_VM ? "vm" : "vmm", to == VMF_CLASS_VM ? "vm" : "vmm",
		       via_other ? " through SCHED_OTHER" : "", ahead, 100.0 * cpu[0] / wall,
		       100.0 * cpu[1] / wall, (double)wall / VMF_NSEC_PER_MSEC);
	return cpu[0] + cpu[1] ? (double)cpu[0] / (cpu[0] + cpu[1]) : 0;
}

int main(void)
{
	int from, to, via_other;
	double share;

	ksft_print_header();
	vmf_require();
	vmf_require_cpus(2);
	ksft_set_plan(2);

	vmf_sampler_fifo(0, 10);

	/* Away from the level that is further ahead: the gap is shortest. */
	if (cpu1_min_vruntime_ms(VMF_CLASS_VM) >= cpu1_min_vruntime_ms(VMF_CLASS_VMM)) {
		from = VMF_CLASS_VM;
		to = VMF_CLASS_VMM;
	} else {
		from = VMF_CLASS_VMM;
		to = VMF_CLASS_VM;
	}
	for (via_other = 0; via_other < 2; via_other++) {
		share = round_share(from, to, via_other);
		ksft_test_result(share >= 0.25,
				 "moved to another level%s while asleep, A gets %.0f%% >= 25%% of the CPU beside B\n",
				 via_other ? " through SCHED_OTHER" : "", 100 * share);
	}
	ksft_finished();
}
