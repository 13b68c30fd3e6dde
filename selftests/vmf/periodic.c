// SPDX-License-Identifier: GPL-2.0
/*
 * Two periodic vm tasks on 2 CPUs, each beside a host hog, wake at the
 * same instants (1 ms period, absolute deadlines from one start) and run
 * 100 us: vCPUs taking their timer interrupts. Each has a CPU to itself
 * apart from host work, so once placed they should stay put.
 *
 * A pull that takes a task which has just woken to preempt the host task
 * on its own CPU (the resched IPI not yet taken) moves it for nothing and
 * puts both vm tasks on one CPU for their next wakeup, which moves one of
 * them again: before the fix, 13-15% of wakeups migrated. The bound is
 * 1% of wakeups, counted in se.nr_migrations over 4 s.
 */
#include "kselftest.h"
#include "vmf_util.h"

#define PERIOD_NS	VMF_NSEC_PER_MSEC
#define RUN_NS		(100 * VMF_NSEC_PER_USEC)
#define SETTLE_NS	(500 * VMF_NSEC_PER_MSEC)
#define MEASURE_NS	(4 * VMF_NSEC_PER_SEC)

struct periodic {
	pthread_t thread;
	pid_t tid;
	__u64 start, end;
	long wakeups;
	int ready;
};

static void *periodic_fn(void *arg)
{
	struct periodic *p = arg;
	__u64 next;

	p->tid = syscall(SYS_gettid);
	__atomic_store_n(&p->ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&p->start, __ATOMIC_ACQUIRE))
		usleep(1000);
	for (next = p->start; next < p->end; next += PERIOD_NS) {
		vmf_sleep_until(next);
		if (next >= p->start + SETTLE_NS && next < p->start + SETTLE_NS + MEASURE_NS)
			p->wakeups++;
		vmf_burn_ns(RUN_NS);
	}
	return NULL;
}

static long task_migrations(pid_t tid)
{
	char path[64], buf[8192], *s;

	/* /proc/TID/sched: task/TID has no sched file. */
	snprintf(path, sizeof(path), "/proc/%d/sched", tid);
	if (vmf_read_file(path, buf, sizeof(buf)))
		ksft_exit_fail_perror(path);
	s = strstr(buf, "se.nr_migrations");
	if (s)
		s = strchr(s, ':');
	if (!s)
		ksft_exit_fail_msg("no migration count in %s\n", path);
	return strtol(s + 1, NULL, 10);
}

int main(void)
{
	struct vmf_hog hogs[2] = { };
	struct periodic vm[2] = { };
	long before[2], moved = 0, wakeups = 0;
	__u64 start;
	int i;

	ksft_print_header();
	vmf_require();
	vmf_require_cpus(2);
	ksft_set_plan(1);

	for (i = 0; i < 2; i++) {
		hogs[i].cpu = i;
		hogs[i].policy = SCHED_OTHER;
		if (vmf_hog_start(&hogs[i]))
			ksft_exit_fail_perror("host hog");
	}
	for (i = 0; i < 2; i++) {
		if (vmf_thread_create(&vm[i].thread, -1, periodic_fn, &vm[i]))
			ksft_exit_fail_msg("pthread_create failed\n");
		while (!__atomic_load_n(&vm[i].ready, __ATOMIC_ACQUIRE))
			usleep(1000);
		if (vmf_set(vm[i].tid, SCHED_VMF, VMF_CLASS_VM, 0, 0))
			ksft_exit_fail_perror("SCHED_VMF vm");
	}

	start = vmf_now_ns() + 10 * VMF_NSEC_PER_MSEC;
	for (i = 0; i < 2; i++) {
		/* Alive for a while after the last count is read. */
		vm[i].end = start + SETTLE_NS + MEASURE_NS + 100 * VMF_NSEC_PER_MSEC;
		__atomic_store_n(&vm[i].start, start, __ATOMIC_RELEASE);
	}
	vmf_sleep_until(start + SETTLE_NS);
	for (i = 0; i < 2; i++)
		before[i] = task_migrations(vm[i].tid);
	vmf_sleep_until(start + SETTLE_NS + MEASURE_NS);
	for (i = 0; i < 2; i++)
		moved += task_migrations(vm[i].tid) - before[i];
	for (i = 0; i < 2; i++) {
		pthread_join(vm[i].thread, NULL);
		wakeups += vm[i].wakeups;
	}
	vmf_hogs_stop(hogs, 2);

	ksft_print_msg("%ld migrations in %ld wakeups (%.2f%%)\n", moved, wakeups,
		       wakeups ? 100.0 * moved / wakeups : 0.0);
	ksft_test_result(wakeups > 0 && moved * 100 <= wakeups,
			 "periodic vm tasks beside host hogs stay put: at most 1%% of wakeups migrate\n");
	ksft_finished();
}
