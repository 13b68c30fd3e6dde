// SPDX-License-Identifier: GPL-2.0
/*
 * Placement, push and pull on 2 CPUs, each seen through the
 * sched_vmf_migrate tracepoint and in where the tasks run:
 *
 *  1. wakeup: a vm task that last ran on CPU 0, where a vm hog runs, wakes
 *     up 20 times while CPU 1 runs only a host hog: it runs on CPU 1 every
 *     time, its first move is traced as reason=wakeup 0 -> 1, and
 *     sched_vmf_preempt shows it preempting the host hog (class host) on
 *     CPU 1.
 *  2. push: two vm hogs pinned to CPU 0, one running and one waiting; the
 *     waiter is allowed CPU 1 too, where only a host hog runs: a vm hog is
 *     pushed (reason=push, 0 -> 1) and the two run on different CPUs.
 *  3. pull when a vm task leaves: as 2, but a vm hog pinned to CPU 1
 *     keeps it busy; it stops, and a vm hog is pulled (reason=pull, 0 -> 1).
 *     CPU 0 may push first, as the main thread there wakes up to see the
 *     CPU 1 hog end: then the step runs again, up to 3 times in all, so
 *     that a pull must be seen (once in 9 runs on 2026-12-05).
 *  4. CPU 1 freed by RT: as 3, but the CPU 1 task is SCHED_FIFO; nothing
 *     moves while it runs; it stops, and a vm hog moves to CPU 1, pulled
 *     by CPU 1 as it goes idle or pushed by CPU 0 as it sees CPU 1 free,
 *     whichever comes first (reason=pull or push, 0 -> 1).
 *
 * Every step must happen within 2 s (it takes a few ms). The main thread
 * is SCHED_FIFO on CPU 0 so that it can watch while hogs fill the CPUs.
 * RT throttling is off for the test: a throttled FIFO hog would leave CPU
 * 1 idle, and rightly, a vm hog would be pulled there before step 4 ends
 * the FIFO hog.
 */
#include <linux/futex.h>

#include "kselftest.h"
#include "vmf_util.h"
#include "vmf_trace.h"

#define WAIT_NS		(2 * VMF_NSEC_PER_SEC)
#define WAKEUPS		20

static struct vmf_trace tr;

/* Restart the trace instance: each step reads only its own events. */
static void trace_restart(void)
{
	vmf_trace_on(&tr, 0);
	vmf_trace_write(&tr, "trace", "");
	vmf_trace_on(&tr, 1);
}

/* Is @r one of the '|'-separated @reasons? */
static int reason_in(const char *r, const char *reasons)
{
	size_t len = strlen(r);
	const char *s;

	for (s = reasons; s; s = strchr(s, '|') ? strchr(s, '|') + 1 : NULL)
		if (!strncmp(s, r, len) && (s[len] == '|' || !s[len]))
			return 1;
	return 0;
}

struct move {
	const pid_t *tids;
	int n, from, to;
	const char *reason;
};

static int is_move(const struct vmf_event *ev, const char *line, void *arg)
{
	const struct move *m = arg;
	long long pid;
	char r[16];

	if (strcmp(ev->name, "sched_vmf_migrate"))
		return 0;
	/* All of them until one matches: a failure shows what moved. */
	ksft_print_msg("seen: %s", line);
	pid = vmf_event_num(ev->payload, "pid", 0);
	for (int i = 0; i < m->n; i++) {
		if (pid == m->tids[i] &&
		    vmf_event_field(ev->payload, "reason", 0, r, sizeof(r)) &&
		    reason_in(r, m->reason) &&
		    vmf_event_num(ev->payload, "orig_cpu", 0) == m->from &&
		    vmf_event_num(ev->payload, "dest_cpu", 0) == m->to) {
			ksft_print_msg("traced: %s", line);
			return 1;
		}
	}
	return 0;
}

/* Is there a sched_vmf_migrate of one of @tids for one of @reason from -> to? */
static int traced_move(const pid_t *tids, int n, const char *reason, int from, int to)
{
	struct move m = { .tids = tids, .n = n, .from = from, .to = to, .reason = reason };

	return vmf_trace_for_each(&tr, is_move, &m) > 0;
}

struct preempt {
	pid_t pid, victim;
	int cpu;
};

static int is_preempt(const struct vmf_event *ev, const char *line, void *arg)
{
	const struct preempt *p = arg;
	char c1[16], c2[16];

	if (strcmp(ev->name, "sched_vmf_preempt") ||
	    vmf_event_num(ev->payload, "pid", 0) != p->pid ||
	    vmf_event_num(ev->payload, "pid", 1) != p->victim ||
	    vmf_event_num(ev->payload, "cpu", 0) != p->cpu ||
	    !vmf_event_field(ev->payload, "class", 0, c1, sizeof(c1)) ||
	    !vmf_event_field(ev->payload, "class", 1, c2, sizeof(c2)) ||
	    strcmp(c1, "vm") || strcmp(c2, "host"))
		return 0;
	ksft_print_msg("traced: %s", line);
	return 1;
}

/* Is there a sched_vmf_preempt of @pid (class vm) over @victim (host)? */
static int traced_preempt(pid_t pid, pid_t victim, int cpu)
{
	struct preempt p = { .pid = pid, .victim = victim, .cpu = cpu };

	return vmf_trace_for_each(&tr, is_preempt, &p) > 0;
}

/* Wait until the two tasks run on different CPUs. */
static int wait_apart(pid_t a, pid_t b)
{
	__u64 end = vmf_now_ns() + WAIT_NS;

	while (vmf_now_ns() < end) {
		int ca = vmf_task_cpu(getpid(), a), cb = vmf_task_cpu(getpid(), b);

		if (ca >= 0 && cb >= 0 && ca != cb)
			return 1;
		vmf_sleep_ns(VMF_NSEC_PER_MSEC);
	}
	return 0;
}

/* Step 1: a vm task that sleeps and is woken by us. */
static struct {
	pthread_t thread;
	pid_t tid;
	int ready;
	int go;
	int done;
	int cpu[WAKEUPS];
} sleeper;

static void *sleeper_fn(void *arg)
{
	sleeper.tid = syscall(SYS_gettid);
	__atomic_store_n(&sleeper.ready, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < WAKEUPS; i++) {
		while (__atomic_load_n(&sleeper.go, __ATOMIC_ACQUIRE) <= i)
			syscall(SYS_futex, &sleeper.go, FUTEX_WAIT, i, NULL, NULL, 0);
		vmf_burn_ns(500 * VMF_NSEC_PER_USEC);
		sleeper.cpu[i] = sched_getcpu();
		__atomic_store_n(&sleeper.done, i + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void step_wakeup(void)
{
	struct vmf_hog vmhog = { .cpu = 0, .policy = SCHED_VMF, .prio = VMF_CLASS_VM };
	struct vmf_hog hosthog = { .cpu = 1, .policy = SCHED_OTHER };
	int i, on1 = 0, ok;

	if (vmf_hog_start(&vmhog) || vmf_hog_start(&hosthog))
		ksft_exit_fail_msg("starting the hogs\n");
	if (vmf_thread_create(&sleeper.thread, 0, sleeper_fn, NULL))
		ksft_exit_fail_msg("starting the sleeper\n");
	while (!__atomic_load_n(&sleeper.ready, __ATOMIC_ACQUIRE))
		usleep(1000);
	if (vmf_set(sleeper.tid, SCHED_VMF, VMF_CLASS_VM, 0, 0))
		ksft_exit_fail_perror("making the sleeper vm");
	/* It sleeps, last ran on CPU 0: now let it go anywhere. */
	vmf_sleep_ns(10 * VMF_NSEC_PER_MSEC);
	if (vmf_set_cpus(sleeper.tid, 0x3) || vmf_set_cpus(vmhog.tid, 0x1))
		ksft_exit_fail_perror("sched_setaffinity");
	trace_restart();
	for (i = 0; i < WAKEUPS; i++) {
		__u64 end = vmf_now_ns() + WAIT_NS;

		__atomic_store_n(&sleeper.go, i + 1, __ATOMIC_RELEASE);
		syscall(SYS_futex, &sleeper.go, FUTEX_WAKE, 1, NULL, NULL, 0);
		while (__atomic_load_n(&sleeper.done, __ATOMIC_ACQUIRE) <= i && vmf_now_ns() < end)
			vmf_sleep_ns(VMF_NSEC_PER_MSEC);
		if (__atomic_load_n(&sleeper.done, __ATOMIC_ACQUIRE) <= i)
			break;
		on1 += sleeper.cpu[i] == 1;
		vmf_sleep_ns(2 * VMF_NSEC_PER_MSEC);
	}
	ok = i == WAKEUPS && on1 == WAKEUPS;
	ksft_print_msg("%d of %d wakeups ran on CPU 1\n", on1, i);
	ok = ok && traced_preempt(sleeper.tid, hosthog.tid, 1);
	ksft_test_result(ok && traced_move(&sleeper.tid, 1, "wakeup", 0, 1),
			 "wakeup: a vm task avoids the CPU of another vm task\n");
	if (i < WAKEUPS) {
		/* Let it finish its loop, whatever happened. */
		__atomic_store_n(&sleeper.go, WAKEUPS, __ATOMIC_RELEASE);
		syscall(SYS_futex, &sleeper.go, FUTEX_WAKE, 1, NULL, NULL, 0);
	}
	pthread_join(sleeper.thread, NULL);
	vmf_hog_stop(&vmhog);
	vmf_hog_stop(&hosthog);
}

/*
 * Steps 2-4: two vm hogs pinned to CPU 0, then allowed CPU 1 while
 * @cpu1 (a host, vm or FIFO hog) runs there; for 3 and 4, @cpu1 stops
 * once they are allowed, and one of them must come over. Returns 1, and
 * reports nothing, if the hog was pushed where @reason is a pull and
 * this is not the @last try.
 */
static int step_move(const char *name, int policy, int prio, int stop_cpu1,
		     const char *reason, int last)
{
	struct vmf_hog a = { .cpu = 0, .policy = SCHED_VMF, .prio = VMF_CLASS_VM };
	struct vmf_hog b = a;
	struct vmf_hog c1 = { .cpu = 1, .policy = policy, .prio = prio };
	pid_t tids[2];
	int apart, traced, early, again = 0;

	if (vmf_hog_start(&c1) || vmf_hog_start(&a) || vmf_hog_start(&b))
		ksft_exit_fail_msg("%s: starting the hogs\n", name);
	tids[0] = a.tid;
	tids[1] = b.tid;
	vmf_sleep_ns(20 * VMF_NSEC_PER_MSEC);
	trace_restart();
	if (vmf_set_cpus(a.tid, 0x3) || vmf_set_cpus(b.tid, 0x3))
		ksft_exit_fail_perror("sched_setaffinity");
	if (stop_cpu1) {
		/* Nothing may move while CPU 1 is busy with vm or RT work. */
		vmf_sleep_ns(200 * VMF_NSEC_PER_MSEC);
		early = vmf_task_cpu(getpid(), a.tid) != 0 || vmf_task_cpu(getpid(), b.tid) != 0;
		vmf_hog_stop(&c1);
	} else {
		early = 0;
	}
	apart = wait_apart(a.tid, b.tid);
	traced = traced_move(tids, 2, reason, 0, 1);
	if (!traced && !last && !early && apart && !strcmp(reason, "pull") &&
	    traced_move(tids, 2, "push", 0, 1)) {
		ksft_print_msg("%s: CPU 0 pushed before CPU 1 pulled; again\n", name);
		again = 1;
	} else {
		ksft_test_result(!early && apart && traced,
				 "%s: a waiting vm hog moves to CPU 1 (%s%s%s)\n", name,
				 early ? "moved while CPU 1 was busy, " : "",
				 apart ? "apart" : "still together",
				 traced ? ", traced" : ", not traced");
	}
	__atomic_store_n(&a.stop, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&b.stop, 1, __ATOMIC_RELAXED);
	vmf_hog_stop(&a);
	vmf_hog_stop(&b);
	if (!stop_cpu1)
		vmf_hog_stop(&c1);
	return again;
}

int main(void)
{
	static const char * const events[] = {
		"vmf/sched_vmf_migrate", "vmf/sched_vmf_preempt", NULL,
	};
	struct sched_param sp = { .sched_priority = 10 };
	int ret, try;

	vmf_require();
	vmf_require_cpus(2);
	ksft_print_header();
	ksft_set_plan(4);
	ret = vmf_trace_open(&tr, "vmf_balance", events, 1024);
	if (ret)
		ksft_exit_fail_msg("cannot set up the trace instance: %s\n", strerror(-ret));
	if (vmf_pin(0, 0) || sched_setscheduler(0, SCHED_FIFO, &sp))
		ksft_exit_fail_perror("becoming SCHED_FIFO on CPU 0");
	vmf_sysctl_save("sched_rt_runtime_us");
	if (vmf_sysctl_set("sched_rt_runtime_us", -1))
		ksft_exit_fail_msg("cannot turn RT throttling off\n");

	step_wakeup();
	step_move("push", SCHED_OTHER, 0, 0, "push", 1);
	for (try = 1; try <= 3; try++)
		if (!step_move("pull as a vm task leaves", SCHED_VMF, VMF_CLASS_VM, 1, "pull",
			       try == 3))
			break;
	step_move("CPU 1 freed by RT", SCHED_FIFO, 1, 1, "pull|push", 1);
	vmf_trace_close(&tr);
	ksft_finished();
}
