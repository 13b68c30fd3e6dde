// SPDX-License-Identifier: GPL-2.0
/*
 * wakecost: the wakeups whose cost bench/wakecost.py measures, in
 * instructions, under QEMU's insncount plugin (bench/plugin/insncount.c).
 *
 *   wakecost [--wakeups N] [--rounds R] [--hogs H] [--policies LIST]
 *
 * H SCHED_OTHER hogs spin on CPU 0 throughout. For each of R rounds and
 * each policy of LIST (other, fifo, vmf; default all three, in that order)
 * a thread pinned to CPU 0 with that policy sleeps until an absolute time
 * N times, one millisecond apart: each wakeup comes from its hrtimer,
 * preempts a hog (or waits for it, as SCHED_OTHER), and after 20 us of
 * work the thread sleeps and a hog runs again. That is the cycle of
 * selftests/vmf/preempt.c. The thread calls the marker,
 * sched_rr_get_interval() on itself, right before its first sleep and
 * right after its last wakeup, so the plugin's counts between those two
 * marks are N cycles and what the hogs and the idle CPU did meanwhile.
 *
 * Each measured window prints "window MARK POLICY WAKEUPS LATE_P50_NS",
 * MARK being the index of the mark that ends it (the plugin numbers its
 * marks from 0). The lateness is as the thread saw it, under the plugin:
 * a sanity check, not a result.
 */
#include <getopt.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "vmf_util.h"

#define PERIOD_NS	(1 * VMF_NSEC_PER_MSEC)
#define WORK_NS		(20 * VMF_NSEC_PER_USEC)
#define MAX_WAKEUPS	100000
#define MAX_HOGS	8

struct policy {
	const char *name;
	int policy;
	int prio;
};

static const struct policy policies[] = {
	{ "other", SCHED_OTHER, 0 },
	{ "fifo", SCHED_FIFO, 50 },
	{ "vmf", SCHED_VMF, VMF_CLASS_VM },
};

struct window {
	const struct policy *pol;
	unsigned int wakeups;
	__u64 *late;
	int err;
};

static unsigned int nr_marks;

static void mark(void)
{
	struct timespec ts;

	syscall(SYS_sched_rr_get_interval, 0, &ts);
	nr_marks++;
}

static void *periodic(void *arg)
{
	struct window *w = arg;
	__u64 next;
	unsigned int i;

	w->err = vmf_pin(0, 0);
	if (!w->err)
		w->err = vmf_set(0, w->pol->policy, w->pol->prio, 0, 0);
	if (!w->err && prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0))
		w->err = -errno;
	if (w->err)
		return NULL;

	next = vmf_now_ns() + PERIOD_NS;
	mark();
	for (i = 0; i < w->wakeups; i++) {
		vmf_sleep_until(next);
		w->late[i] = vmf_now_ns() - next;
		vmf_burn_ns(WORK_NS);
		next += PERIOD_NS;
		/* A period already gone is skipped: each wakeup is a real sleep. */
		while (next <= vmf_now_ns())
			next += PERIOD_NS;
	}
	mark();
	return NULL;
}

static const struct policy *policy_by_name(const char *name)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(policies); i++)
		if (!strcmp(policies[i].name, name))
			return &policies[i];
	return NULL;
}

static void die_usage(void)
{
	fprintf(stderr, "usage: wakecost [--wakeups N] [--rounds R] [--hogs H] [--policies other,fifo,vmf]\n");
	exit(2);
}

int main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "wakeups", required_argument, NULL, 'n' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "hogs", required_argument, NULL, 'H' },
		{ "policies", required_argument, NULL, 'p' },
		{}
	};
	const struct policy *list[ARRAY_SIZE(policies) * 2];
	unsigned int wakeups = 2000, rounds = 3, nr_hogs = 2, nr = 0, r, i;
	char *names = NULL, *tok, *save;
	char cmdline[4096];
	pid_t hogs[MAX_HOGS];
	struct utsname uts;
	struct window w;
	pthread_t t;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			wakeups = strtoul(optarg, NULL, 0);
			break;
		case 'r':
			rounds = strtoul(optarg, NULL, 0);
			break;
		case 'H':
			nr_hogs = strtoul(optarg, NULL, 0);
			break;
		case 'p':
			names = optarg;
			break;
		default:
			die_usage();
		}
	}
	if (!wakeups || wakeups > MAX_WAKEUPS || !rounds || nr_hogs > MAX_HOGS)
		die_usage();
	if (names) {
		for (tok = strtok_r(names, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (nr == ARRAY_SIZE(list))
				die_usage();
			list[nr] = policy_by_name(tok);
			if (!list[nr++])
				die_usage();
		}
	} else {
		for (i = 0; i < ARRAY_SIZE(policies); i++)
			list[nr++] = &policies[i];
	}

	for (i = 0; i < nr_hogs; i++) {
		hogs[i] = fork();
		if (!hogs[i]) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (vmf_pin(0, 0))
				_exit(1);
			for (;;)
				;
		}
		if (hogs[i] < 0) {
			perror("fork");
			return 1;
		}
	}

	if (!uname(&uts))
		printf("kernel %s\n", uts.release);
	if (!vmf_read_file("/proc/cmdline", cmdline, sizeof(cmdline)))
		printf("cmdline %s\n", cmdline);
	w.late = calloc(wakeups, sizeof(*w.late));
	if (!w.late)
		return 1;
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < nr; i++) {
			w = (struct window){ .pol = list[i], .wakeups = wakeups, .late = w.late };
			c = vmf_thread_create(&t, 0, periodic, &w);
			if (!c)
				c = pthread_join(t, NULL);
			if (c || w.err) {
				fprintf(stderr, "wakecost: %s thread: %s\n", list[i]->name,
					strerror(c ? c : -w.err));
				goto out;
			}
			vmf_sort_u64(w.late, wakeups);
			printf("window %u %s %u %llu\n", nr_marks - 1, list[i]->name, wakeups,
			       vmf_percentile(w.late, wakeups, 50));
			fflush(stdout);
		}
	}
	c = 0;
out:
	for (i = 0; i < nr_hogs; i++)
		vmf_kill_wait(hogs[i]);
	return c || w.err;
}
