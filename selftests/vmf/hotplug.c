// SPDX-License-Identifier: GPL-2.0
/*
 * CPU hotplug under SCHED_VMF tasks. Four hogs run on CPU 1: a vm and a
 * vmm hog allowed on CPUs 0-1, a vm hog of nice 3 and a vmm hog of nice -2
 * with a 500 us slice allowed on CPU 1 only. CPU 1 is taken offline, and
 *
 *  - every hog keeps its attributes: sched_getattr() reads what it did
 *    before (SCHED_VMF, class, nice, slice);
 *  - every hog runs on CPU 0 (field 39 of /proc/PID/task/TID/stat);
 *  - every hog gets CPU time in the next 500 ms (the vmm ones through the
 *    vmm reservation, next to the vm ones).
 *
 * CPU 1 comes back online, and each hog is pinned to CPU 1 again and then
 * given back the CPUs it had (SCHED_VMF does no load balancing, so a hog
 * allowed on both CPUs would not move back by itself); then every hog runs
 * on CPU 1, keeps its attributes and gets CPU time there.
 *
 * Then five more rounds of the same, one result for the offline and one
 * for the online half of each, while a SCHED_FIFO thread gives two churn
 * threads (burn 200 us, sleep 300 us) random policies (vm or vmm with a
 * random nice and slice, SCHED_OTHER, SCHED_BATCH) and random affinities
 * within CPUs 0-1, every 0-2 ms. Every sched_setattr() must succeed and
 * read back, and every sched_setaffinity() must succeed, except that one
 * to CPU 1 alone may fail with EINVAL (CPU 1 may be offline). The hogs
 * keep their attributes, so that the checks on them stay exact.
 *
 * The main thread is SCHED_FIFO on CPU 0. CPU 1 is brought back online
 * however the test ends: at exit, on SIGTERM and SIGINT, and, should the
 * test be killed, by a helper process that waits for it to go away.
 */
#include "kselftest.h"
#include "vmf_util.h"

#define MSEC		VMF_NSEC_PER_MSEC
#define USEC		VMF_NSEC_PER_USEC
#define CPU		1
#define ONLINE_FILE	"/sys/devices/system/cpu/cpu1/online"
#define PROGRESS_NS	(500 * MSEC)
#define ROUNDS		5
#define NR_CHURN	2
#define CHURN_RUN_NS	(200 * USEC)
#define CHURN_SLEEP_NS	(300 * USEC)
#define MAX_REPORTS	10

struct hog_spec {
	const char *name;
	int prio;
	int nice;
	__u64 slice;
	unsigned long cpus;
};

static const struct hog_spec specs[] = {
	{ "vm hog, CPUs 0-1", VMF_CLASS_VM, 0, 0, 0x3 },
	{ "vmm hog, CPUs 0-1", VMF_CLASS_VMM, 0, 0, 0x3 },
	{ "vm hog nice 3, CPU 1", VMF_CLASS_VM, 3, 0, 0x2 },
	{ "vmm hog nice -2 slice 500 us, CPU 1", VMF_CLASS_VMM, -2, 500 * USEC, 0x2 },
};

#define NR_HOGS		ARRAY_SIZE(specs)

static struct vmf_hog hogs[NR_HOGS];
static struct vmf_attr hog_attr[NR_HOGS];	/* what each hog must keep */
static pid_t self;
static pid_t guardian;
static int guardian_fd = -1;	/* the end of its pipe that only we hold */

struct churn {
	pthread_t thread;
	pid_t tid;
	int ready;
};

static struct churn churns[NR_CHURN];
static int stop_churn, stop_random;

/* What the random thread did. */
static struct {
	unsigned long sets;
	unsigned long affinities;
	unsigned long refused;		/* CPU 1 alone, EINVAL */
	int unexpected;
	int mismatches;
	int reports;
} rs;

/* Bringing CPU 1 back online, whatever happens. */

static void online_at_exit(void)
{
	if (getpid() != self)
		return;
	vmf_cpu_set_online(CPU, 1);
	/* Let the guardian see the end of its pipe, and reap it. */
	close(guardian_fd);
	waitpid(guardian, NULL, 0);
}

/* open, write and close only. */
static void online_on_signal(int sig)
{
	vmf_write_file(ONLINE_FILE, "1\n");
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * A child that brings CPU 1 online when this process is gone, even by
 * SIGKILL: it waits for the end of a pipe that only we hold open. It
 * leaves our process group, which the runner's timeout kills whole.
 */
static void start_guardian(void)
{
	int fds[2];
	char c;

	if (pipe2(fds, O_CLOEXEC))
		ksft_exit_fail_perror("pipe2");
	fflush(stdout);
	guardian = fork();
	if (guardian < 0)
		ksft_exit_fail_perror("fork");
	if (!guardian) {
		close(fds[1]);
		setpgid(0, 0);
		signal(SIGTERM, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		while (read(fds[0], &c, 1) < 0 && errno == EINTR)
			;
		if (vmf_cpu_online(CPU) == 0)
			vmf_cpu_set_online(CPU, 1);
		_exit(0);
	}
	close(fds[0]);
	guardian_fd = fds[1];
}

static void protect_cpu(void)
{
	start_guardian();
	atexit(online_at_exit);
	signal(SIGTERM, online_on_signal);
	signal(SIGINT, online_on_signal);
}

/* The hogs. */

static void start_hogs(void)
{
	const struct hog_spec *s;
	unsigned int i;
	int ret;

	for (i = 0; i < NR_HOGS; i++) {
		s = &specs[i];
		hogs[i].cpu = CPU;
		hogs[i].policy = SCHED_VMF;
		hogs[i].prio = s->prio;
		hogs[i].nice = s->nice;
		ret = vmf_hog_start(&hogs[i]);
		if (!ret)
			ret = vmf_set(hogs[i].tid, SCHED_VMF, s->prio, s->nice, s->slice);
		if (!ret)
			ret = vmf_set_cpus(hogs[i].tid, s->cpus);
		if (!ret)
			ret = vmf_getattr(hogs[i].tid, &hog_attr[i]);
		if (ret)
			ksft_exit_fail_msg("starting the %s: %s\n", s->name, strerror(-ret));
	}
}

static void stop_hogs(void)
{
	vmf_hogs_stop(hogs, NR_HOGS);
}

/* Every hog still has the attributes it was given; prints those that do not. */
static int hogs_keep_attrs(const char *when)
{
	char want[128], got[128];
	struct vmf_attr attr;
	unsigned int i;
	int ret, ok = 1;

	for (i = 0; i < NR_HOGS; i++) {
		ret = vmf_getattr(hogs[i].tid, &attr);
		if (!ret && vmf_attr_equal(&hog_attr[i], &attr))
			continue;
		ok = 0;
		if (ret)
			ksft_print_msg("%s: %s: sched_getattr: %s\n", when, specs[i].name,
				       strerror(-ret));
		else
			ksft_print_msg("%s: %s: had %s, has %s\n", when, specs[i].name,
				       vmf_attr_str(&hog_attr[i], want, sizeof(want)),
				       vmf_attr_str(&attr, got, sizeof(got)));
	}
	return ok;
}

/* Every hog runs on cpu; prints those that do not. */
static int hogs_on(int cpu, const char *when)
{
	unsigned int i;
	int on, ok = 1;

	for (i = 0; i < NR_HOGS; i++) {
		on = vmf_task_cpu(self, hogs[i].tid);
		if (on == cpu)
			continue;
		ok = 0;
		if (on < 0)
			ksft_print_msg("%s: %s: reading its CPU: %s\n", when, specs[i].name,
				       strerror(-on));
		else
			ksft_print_msg("%s: %s runs on CPU %d, not %d\n", when, specs[i].name,
				       on, cpu);
	}
	return ok;
}

/* Every hog gets CPU time in the next PROGRESS_NS; prints what they got. */
static int hogs_progress(const char *when)
{
	clockid_t clocks[NR_HOGS];
	__u64 cpu[NR_HOGS], wall;
	char buf[128];
	unsigned int i;
	int len = 0, ok = 1;

	for (i = 0; i < NR_HOGS; i++)
		clocks[i] = hogs[i].clock;
	vmf_measure(clocks, NR_HOGS, PROGRESS_NS, cpu, &wall);
	for (i = 0; i < NR_HOGS; i++) {
		ok &= cpu[i] > 0;
		len += snprintf(buf + len, sizeof(buf) - len, " %.1f",
				(double)cpu[i] / VMF_NSEC_PER_MSEC);
	}
	ksft_print_msg("%s: the hogs' CPU time in %.0f ms:%s ms\n", when,
		       (double)wall / VMF_NSEC_PER_MSEC, buf);
	return ok;
}

/* sched_setaffinity() to CPU 1, retried while CPU 1 is not yet usable. */
static int pin_to_cpu1(pid_t tid)
{
	__u64 end = vmf_now_ns() + 2 * VMF_NSEC_PER_SEC;
	int ret;

	while ((ret = vmf_set_cpus(tid, 1UL << CPU)) == -EINVAL && vmf_now_ns() < end)
		vmf_sleep_ns(10 * MSEC);
	return ret;
}

/* Pin every hog to CPU 1, where it started, then give it its CPUs back. */
static int hogs_back(const char *when)
{
	unsigned int i;
	int ret, ok = 1;

	for (i = 0; i < NR_HOGS; i++) {
		ret = pin_to_cpu1(hogs[i].tid);
		if (!ret)
			ret = vmf_set_cpus(hogs[i].tid, specs[i].cpus);
		if (!ret)
			continue;
		ok = 0;
		ksft_print_msg("%s: setting the affinity of the %s: %s\n", when, specs[i].name,
			       strerror(-ret));
	}
	return ok;
}

/* One half of a round: CPU 1 goes away or comes back, then the checks. */
struct checks {
	int done;	/* CPU 1 is in the state asked for */
	int attrs;
	int placed;
	int progress;
};

static int set_cpu1(int online, const char *when)
{
	int ret = vmf_cpu_set_online(CPU, online), state = vmf_cpu_online(CPU);

	if (!ret && state == online)
		return 1;
	ksft_print_msg("%s: writing %d to " ONLINE_FILE ": %s, it reads %d\n", when, online,
		       ret ? strerror(-ret) : "done", state);
	return 0;
}

static struct checks go_offline(const char *when)
{
	struct checks c;

	c.done = set_cpu1(0, when);
	c.attrs = hogs_keep_attrs(when);
	c.placed = hogs_on(0, when);
	c.progress = hogs_progress(when);
	return c;
}

static struct checks go_online(const char *when)
{
	struct checks c;

	c.done = set_cpu1(1, when);
	c.placed = hogs_back(when);
	c.placed &= hogs_on(CPU, when);
	c.attrs = hogs_keep_attrs(when);
	c.progress = hogs_progress(when);
	return c;
}

static int all_ok(const struct checks *c)
{
	return c->done && c->attrs && c->placed && c->progress;
}

/* The churn threads and the thread that changes them at random. */

static void *churn_fn(void *arg)
{
	struct churn *c = arg;

	c->tid = syscall(SYS_gettid);
	__atomic_store_n(&c->ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&stop_churn, __ATOMIC_RELAXED)) {
		vmf_burn_ns(CHURN_RUN_NS);
		vmf_sleep_ns(CHURN_SLEEP_NS);
	}
	return NULL;
}

static unsigned int rnd(unsigned int *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static __printf(1, 2) void unexpected(const char *fmt, ...)
{
	va_list ap;

	rs.unexpected++;
	if (rs.reports++ >= MAX_REPORTS)
		return;
	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

static struct vmf_attr random_attr(unsigned int *s)
{
	__u64 slice = rnd(s) % 2 ? 0 : VMF_SLICE_MIN_NS + rnd(s) % (5 * MSEC);
	int nice = (int)(rnd(s) % 11) - 5;

	switch (rnd(s) % 4) {
	case 0:
		return vmf_mkattr(SCHED_VMF, VMF_CLASS_VM, nice, slice, 0);
	case 1:
		return vmf_mkattr(SCHED_VMF, VMF_CLASS_VMM, nice, slice, 0);
	case 2:
		return vmf_mkattr(SCHED_OTHER, 0, nice, 0, 0);
	default:
		return vmf_mkattr(SCHED_BATCH, 0, nice, 0, 0);
	}
}

/* What sched_getattr() must report after want was set. */
static int attr_matches(const struct vmf_attr *want, const struct vmf_attr *got)
{
	if (got->sched_policy != want->sched_policy || got->sched_nice != want->sched_nice)
		return 0;
	if (want->sched_policy != SCHED_VMF)
		return 1;
	return got->sched_priority == want->sched_priority &&
	       (!want->sched_runtime || got->sched_runtime == want->sched_runtime);
}

static void random_setattr(pid_t tid, unsigned int *s)
{
	struct vmf_attr want = random_attr(s), got;
	char w[128], g[128];
	int ret;

	ret = vmf_setattr(tid, &want);
	if (!ret)
		ret = vmf_getattr(tid, &got);
	if (ret) {
		unexpected("sched_setattr(%s) of a churn thread: %s\n",
			   vmf_attr_str(&want, w, sizeof(w)), strerror(-ret));
		return;
	}
	rs.sets++;
	if (attr_matches(&want, &got))
		return;
	rs.mismatches++;
	if (rs.reports++ < MAX_REPORTS)
		ksft_print_msg("churn thread set to %s reads %s\n",
			       vmf_attr_str(&want, w, sizeof(w)), vmf_attr_str(&got, g, sizeof(g)));
}

static void random_affinity(pid_t tid, unsigned int *s)
{
	unsigned long mask = 1 + rnd(s) % 3;
	int ret = vmf_set_cpus(tid, mask);

	if (!ret)
		rs.affinities++;
	else if (ret == -EINVAL && mask == 1UL << CPU)
		rs.refused++;
	else
		unexpected("sched_setaffinity(%#lx) of a churn thread: %s\n", mask, strerror(-ret));
}

static void *random_fn(void *arg)
{
	unsigned int seed = (unsigned int)vmf_now_ns() | 1;
	int ret;

	ret = vmf_set(0, SCHED_FIFO, 20, 0, 0);
	if (ret) {
		unexpected("making the random thread SCHED_FIFO: %s\n", strerror(-ret));
		return NULL;
	}
	while (!__atomic_load_n(&stop_random, __ATOMIC_RELAXED)) {
		pid_t tid = churns[rnd(&seed) % NR_CHURN].tid;

		if (rnd(&seed) % 2)
			random_setattr(tid, &seed);
		else
			random_affinity(tid, &seed);
		vmf_sleep_ns(rnd(&seed) % (2 * MSEC));
	}
	return NULL;
}

static pthread_t start_churn(void)
{
	pthread_t random_thread;
	unsigned int i;
	int ret;

	for (i = 0; i < NR_CHURN; i++) {
		ret = vmf_thread_create(&churns[i].thread, -1, churn_fn, &churns[i]);
		if (ret)
			ksft_exit_fail_msg("starting a churn thread: %s\n", strerror(-ret));
		while (!__atomic_load_n(&churns[i].ready, __ATOMIC_ACQUIRE))
			vmf_sleep_ns(MSEC);
		/* Not stuck on CPU 0 with this thread: let it go anywhere. */
		ret = vmf_set_cpus(churns[i].tid, 0x3);
		if (ret)
			ksft_exit_fail_msg("affinity of a churn thread: %s\n", strerror(-ret));
	}
	ret = vmf_thread_create(&random_thread, -1, random_fn, NULL);
	if (ret)
		ksft_exit_fail_msg("starting the random thread: %s\n", strerror(-ret));
	return random_thread;
}

static void require_hotplug(void)
{
	int state = vmf_cpu_online(CPU), ret;

	if (state == 0) {
		ksft_print_msg("CPU 1 is offline at the start: bringing it online\n");
		ret = vmf_cpu_set_online(CPU, 1);
		if (ret)
			ksft_exit_fail_msg("bringing CPU 1 online: %s\n", strerror(-ret));
	}
	vmf_require_cpus(2);
	if (state < 0)
		ksft_exit_skip("CPU 1 cannot go offline (" ONLINE_FILE ": %s)\n", strerror(-state));
}

int main(void)
{
	pthread_t random_thread;
	struct checks c;
	char when[32];
	unsigned int i;
	int ret, r, ok;

	ksft_print_header();
	vmf_require();
	require_hotplug();
	ksft_set_plan(8 + 2 * ROUNDS + 2);

	self = getpid();
	protect_cpu();
	ret = vmf_set_cpus(0, 0x1);
	if (!ret)
		ret = vmf_set(0, SCHED_FIFO, 30, 0, 0);
	if (ret)
		ksft_exit_fail_msg("making this thread SCHED_FIFO on CPU 0: %s\n", strerror(-ret));
	start_hogs();

	c = go_offline("offline");
	ksft_test_result(c.done, "CPU 1 goes offline under VMF hogs\n");
	ksft_test_result(c.attrs, "offline: every hog keeps its policy, class, nice and slice\n");
	ksft_test_result(c.placed, "offline: every hog runs on CPU 0\n");
	ksft_test_result(c.progress, "offline: every hog gets CPU time\n");
	c = go_online("online");
	ksft_test_result(c.done, "CPU 1 comes back online\n");
	ksft_test_result(c.placed, "online: with its affinity set back, every hog runs on CPU 1\n");
	ksft_test_result(c.attrs, "online: every hog keeps its policy, class, nice and slice\n");
	ksft_test_result(c.progress, "online: every hog gets CPU time\n");

	random_thread = start_churn();
	for (r = 1; r <= ROUNDS; r++) {
		snprintf(when, sizeof(when), "round %d offline", r);
		c = go_offline(when);
		ksft_test_result(all_ok(&c),
				 "%s: hogs keep their attributes, run on CPU 0, get CPU time\n",
				 when);
		snprintf(when, sizeof(when), "round %d online", r);
		c = go_online(when);
		ksft_test_result(all_ok(&c),
				 "%s: hogs keep their attributes, run on CPU 1 again, get CPU time\n",
				 when);
	}

	__atomic_store_n(&stop_random, 1, __ATOMIC_RELAXED);
	pthread_join(random_thread, NULL);
	__atomic_store_n(&stop_churn, 1, __ATOMIC_RELAXED);
	stop_hogs();
	for (i = 0; i < NR_CHURN; i++)
		pthread_join(churns[i].thread, NULL);

	ksft_print_msg("churn threads: %lu sched_setattr, %lu sched_setaffinity, %lu EINVAL\n",
		       rs.sets, rs.affinities, rs.refused);
	ksft_test_result(!rs.unexpected && !rs.mismatches && rs.sets && rs.affinities,
			 "random policies and affinities: %d unexpected errors, %d mismatches\n",
			 rs.unexpected, rs.mismatches);
	ret = vmf_cpu_set_online(CPU, 1);
	ok = !ret && vmf_cpu_online(CPU) == 1;
	ksft_test_result(ok, "CPU 1 online at the end\n");
	ksft_finished();
}
