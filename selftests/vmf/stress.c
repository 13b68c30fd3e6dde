// SPDX-License-Identifier: GPL-2.0
/*
 * A fork/exec/exit storm of about 20 s in which every task's policy and
 * affinity keep changing. Four workers each loop: now and then they give
 * themselves a random policy and affinity, then fork a child of a random
 * kind and wait for it:
 *
 *  - self:     the child sets a random policy, checks it with
 *              sched_getattr(), spins up to 2 ms (yielding now and then)
 *              and may fork a grandchild that checks what it inherited;
 *  - exec:     the child execs this program, which does the same;
 *  - threads:  the child starts two threads that do the same;
 *  - external: the child spins and sleeps for a few ms while the worker
 *              sets its policy and affinity from outside;
 *  - quick:    the child exits at once while the worker sets its policy
 *              and affinity, racing with the exit.
 *
 * Random policies: SCHED_VMF vm and vmm (random nice and slice),
 * SCHED_OTHER, SCHED_BATCH, SCHED_IDLE, SCHED_FIFO 1-20, each maybe with
 * SCHED_RESET_ON_FORK. Affinities: random non-empty sets of online CPUs.
 * Meanwhile the main thread (SCHED_FIFO) rewrites the slice and the host
 * and vmm runtime sysctls every 100 ms, with valid values, and restores
 * them at the end.
 *
 * Passes if no call failed unexpectedly (ESRCH from a task that already
 * exited is expected), every sched_getattr() matched what its task had
 * just set or inherited, every child exited normally, and the storm made
 * progress. The runner checks dmesg for splats itself.
 */
#include <sys/mman.h>

#include "kselftest.h"
#include "vmf_util.h"

#define DURATION_NS	(20 * VMF_NSEC_PER_SEC)
#define SYSCTL_EVERY_NS	(100 * VMF_NSEC_PER_MSEC)
#define WORKERS		4
#define MIN_CHILDREN	40
#define MAX_SPIN_NS	(2 * VMF_NSEC_PER_MSEC)
#define MAX_MESSAGES	20

/* Exit codes of the children. */
#define CHILD_OK	0
#define CHILD_FAILED	1	/* a call failed; it said which */
#define CHILD_MISMATCH	2	/* sched_getattr() did not report what was set */

enum kind { SELF, EXEC, THREADS, EXTERNAL, QUICK, NR_KINDS };

struct stats {
	int stop;
	int children;
	int execs;
	int outside_sets;	/* sched_setattr() of another task that worked */
	int affinities;
	int esrch;
	int unexpected;
	int mismatches;
	int bad_exits;
	int sysctl_writes;
	int messages;
};

static struct stats *st;
static int quiet;		/* an exec'd child told not to add to the noise */

static unsigned int rnd(unsigned int *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static unsigned int new_seed(void)
{
	return (getpid() * 2654435761U) ^ (unsigned int)vmf_now_ns() ^ 1;
}

/* Only the first few reports are printed; st is NULL in an exec'd child. */
static __printf(1, 2) void report(const char *fmt, ...)
{
	va_list ap;

	if (quiet ||
	    (st && __atomic_fetch_add(&st->messages, 1, __ATOMIC_RELAXED) >= MAX_MESSAGES))
		return;
	va_start(ap, fmt);
	printf("# [%d] ", getpid());
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

static void count(int *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

/* A failed call that was not a task having exited meanwhile. */
static void unexpected(const char *what, int err)
{
	count(&st->unexpected);
	report("%s: %s\n", what, strerror(err));
}

static struct vmf_attr random_attr(unsigned int *s)
{
	__u64 flags = rnd(s) % 4 ? 0 : SCHED_FLAG_RESET_ON_FORK;
	__u64 slice = rnd(s) % 2 ? 0 : VMF_SLICE_MIN_NS + rnd(s) % (10 * VMF_NSEC_PER_MSEC);
	int nice = (int)(rnd(s) % 40) - 20;

	switch (rnd(s) % 6) {
	case 0:
		return vmf_mkattr(SCHED_VMF, VMF_CLASS_VM, nice, slice, flags);
	case 1:
		return vmf_mkattr(SCHED_VMF, VMF_CLASS_VMM, nice, slice, flags);
	case 2:
		return vmf_mkattr(SCHED_OTHER, 0, nice, 0, flags);
	case 3:
		return vmf_mkattr(SCHED_BATCH, 0, nice, 0, flags);
	case 4:
		return vmf_mkattr(SCHED_IDLE, 0, 0, 0, flags);
	default:
		return vmf_mkattr(SCHED_FIFO, 1 + rnd(s) % 20, 0, 0, flags);
	}
}

/* What sched_getattr() must report after want was set (or inherited). */
static int attr_matches(const struct vmf_attr *want, const struct vmf_attr *got)
{
	if (got->sched_policy != want->sched_policy ||
	    (got->sched_flags & SCHED_FLAG_RESET_ON_FORK) !=
	    (want->sched_flags & SCHED_FLAG_RESET_ON_FORK))
		return 0;
	switch (want->sched_policy) {
	case SCHED_VMF:
		return got->sched_priority == want->sched_priority &&
		       got->sched_nice == want->sched_nice &&
		       (!want->sched_runtime || got->sched_runtime == want->sched_runtime);
	case SCHED_FIFO:
		return got->sched_priority == want->sched_priority;
	case SCHED_OTHER:
	case SCHED_BATCH:
		return got->sched_nice == want->sched_nice;
	default:
		return 1;
	}
}

/* Set a random policy on the calling thread and read it back. */
static int set_self(unsigned int *s, struct vmf_attr *attr)
{
	struct vmf_attr got;
	char w[128], g[128];
	int ret;

	*attr = random_attr(s);
	ret = vmf_setattr(0, attr);
	if (ret) {
		report("sched_setattr(%s): %s\n", vmf_attr_str(attr, w, sizeof(w)), strerror(-ret));
		return CHILD_FAILED;
	}
	ret = vmf_getattr(0, &got);
	if (ret) {
		report("sched_getattr: %s\n", strerror(-ret));
		return CHILD_FAILED;
	}
	if (attr_matches(attr, &got))
		return CHILD_OK;
	report("set %s, got %s\n", vmf_attr_str(attr, w, sizeof(w)),
	       vmf_attr_str(&got, g, sizeof(g)));
	return CHILD_MISMATCH;
}

static int random_affinity(pid_t pid, unsigned int *s)
{
	int ncpus = vmf_nr_cpus(), i;
	unsigned int mask;
	cpu_set_t set;

	if (ncpus > 16)
		ncpus = 16;
	mask = 1 + rnd(s) % ((1U << ncpus) - 1);
	CPU_ZERO(&set);
	for (i = 0; i < ncpus; i++)
		if (mask & (1U << i))
			CPU_SET(i, &set);
	return sched_setaffinity(pid, sizeof(set), &set) ? -errno : 0;
}

/* Spin for up to max_ns of wall time, yielding now and then. */
static void spin(unsigned int *s, __u64 max_ns)
{
	__u64 end = vmf_now_ns() + rnd(s) % max_ns;

	while (vmf_now_ns() < end)
		if (rnd(s) % 64 == 0)
			sched_yield();
}

/*
 * What a child of a task with attributes parent must have: the same, or
 * with SCHED_RESET_ON_FORK SCHED_OTHER instead of SCHED_VMF and SCHED_FIFO
 * (nice not checked then) and the flag cleared.
 */
static int check_inherited(const struct vmf_attr *parent)
{
	struct vmf_attr want = *parent, got;
	char w[128], g[128];

	if (vmf_getattr(0, &got)) {
		report("sched_getattr: %s\n", strerror(errno));
		return CHILD_FAILED;
	}
	if (want.sched_flags & SCHED_FLAG_RESET_ON_FORK) {
		want.sched_flags = 0;
		if (want.sched_policy == SCHED_VMF || want.sched_policy == SCHED_FIFO)
			want = vmf_mkattr(SCHED_OTHER, 0, got.sched_nice, 0, 0);
		else if (want.sched_nice < 0)
			want.sched_nice = 0;
	}
	if (attr_matches(&want, &got))
		return CHILD_OK;
	report("child of %s has %s\n", vmf_attr_str(parent, w, sizeof(w)),
	       vmf_attr_str(&got, g, sizeof(g)));
	return CHILD_MISMATCH;
}

/* The body of a "self" child, also run after exec. */
static int self_child(unsigned int seed)
{
	struct vmf_attr attr;
	int ret, status;
	pid_t pid;

	ret = set_self(&seed, &attr);
	if (ret)
		return ret;
	spin(&seed, MAX_SPIN_NS);
	if (rnd(&seed) % 4)
		return CHILD_OK;
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		report("fork: %s\n", strerror(errno));
		return errno == EAGAIN ? CHILD_OK : CHILD_FAILED;
	}
	if (!pid)
		_exit(check_inherited(&attr));
	if (waitpid(pid, &status, 0) != pid) {
		report("waitpid: %s\n", strerror(errno));
		return CHILD_FAILED;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : CHILD_FAILED;
}

static void *thread_fn(void *arg)
{
	unsigned int seed = (unsigned int)(unsigned long)arg;
	struct vmf_attr attr;
	long ret;

	ret = set_self(&seed, &attr);
	spin(&seed, MAX_SPIN_NS);
	return (void *)ret;
}

static int threads_child(unsigned int *s)
{
	pthread_t threads[2];
	int i, ret = CHILD_OK;
	void *res;

	for (i = 0; i < 2; i++) {
		if (pthread_create(&threads[i], NULL, thread_fn,
				   (void *)(unsigned long)(rnd(s) | 1))) {
			report("pthread_create failed\n");
			return CHILD_FAILED;
		}
	}
	for (i = 0; i < 2; i++) {
		pthread_join(threads[i], &res);
		if ((long)res > ret)
			ret = (long)res;
	}
	return ret;
}

static void external_child(unsigned int *s)
{
	int i;

	for (i = 0; i < 4; i++) {
		spin(s, 1000 * VMF_NSEC_PER_USEC);
		vmf_sleep_ns(rnd(s) % (1000 * VMF_NSEC_PER_USEC));
	}
}

/* In the worker: the result of a call on a child that may have exited. */
static void on_child(const char *what, int ret, int *counter)
{
	if (!ret)
		count(counter);
	else if (ret == -ESRCH)
		count(&st->esrch);
	else
		unexpected(what, -ret);
}

static void run_child(enum kind kind, unsigned int seed)
{
	char arg[16];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	switch (kind) {
	case SELF:
		_exit(self_child(seed));
	case EXEC:
		snprintf(arg, sizeof(arg), "%u", seed);
		execl("/proc/self/exe", "stress", "--child", arg,
		      __atomic_load_n(&st->messages, __ATOMIC_RELAXED) < MAX_MESSAGES ?
		      "verbose" : "quiet", (char *)NULL);
		report("exec: %s\n", strerror(errno));
		_exit(CHILD_FAILED);
	case THREADS:
		_exit(threads_child(&seed));
	case EXTERNAL:
		external_child(&seed);
		_exit(CHILD_OK);
	default:
		_exit(CHILD_OK);
	}
}

static void worker(void)
{
	unsigned int seed = new_seed(), child_seed;
	struct vmf_attr attr;
	enum kind kind;
	int ret, status, i;
	pid_t pid;

	while (!__atomic_load_n(&st->stop, __ATOMIC_RELAXED)) {
		if (rnd(&seed) % 16 == 0) {
			ret = set_self(&seed, &attr);
			if (ret == CHILD_MISMATCH)
				count(&st->mismatches);
			else if (ret)
				count(&st->unexpected);
			ret = random_affinity(0, &seed);
			if (ret)
				unexpected("sched_setaffinity(0)", -ret);
		}

		kind = rnd(&seed) % NR_KINDS;
		child_seed = rnd(&seed) | 1;
		fflush(stdout);
		pid = fork();
		if (pid < 0) {
			if (errno != EAGAIN)
				unexpected("fork", errno);
			usleep(1000);
			continue;
		}
		if (!pid)
			run_child(kind, child_seed);

		for (i = 0; i < 3; i++) {
			if (kind == EXTERNAL || kind == QUICK) {
				attr = random_attr(&seed);
				on_child("sched_setattr of a child", vmf_setattr(pid, &attr),
					 &st->outside_sets);
			}
			on_child("sched_setaffinity of a child", random_affinity(pid, &seed),
				 &st->affinities);
			if (rnd(&seed) % 2)
				usleep(rnd(&seed) % 1000);
		}

		if (waitpid(pid, &status, 0) != pid) {
			unexpected("waitpid", errno);
			continue;
		}
		count(&st->children);
		if (kind == EXEC)
			count(&st->execs);
		if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_MISMATCH) {
			count(&st->mismatches);
		} else if (!WIFEXITED(status) || WEXITSTATUS(status) != CHILD_OK) {
			count(&st->bad_exits);
			report("child (kind %d) ended with status %#x\n", kind, status);
		}
	}
	_exit(0);
}

static const char * const sysctls[] = {
	"sched_vmf_slice_us", "sched_vmf_host_runtime_us", "sched_vmf_vmm_runtime_us",
};

/* Write a random valid value to one of the sysctls. */
static void churn_sysctls(unsigned int *s)
{
	static const long slices[] = { 100, 500, 3000, 20000, 100000 };
	static const long runtimes[] = { 500, 1000, 2000 };
	unsigned int i = rnd(s) % ARRAY_SIZE(sysctls);
	long val;
	int ret;

	if (i == 0)
		val = slices[rnd(s) % ARRAY_SIZE(slices)];
	else
		val = runtimes[rnd(s) % ARRAY_SIZE(runtimes)];
	ret = vmf_sysctl_set(sysctls[i], val);
	if (ret)
		unexpected(sysctls[i], -ret);
	else
		count(&st->sysctl_writes);
}

int main(int argc, char **argv)
{
	long before[ARRAY_SIZE(sysctls)];
	unsigned int seed, i;
	int status, ret, restored = 1;
	pid_t workers[WORKERS];
	__u64 end;

	if (argc == 4 && !strcmp(argv[1], "--child")) {
		setvbuf(stdout, NULL, _IOLBF, 0);
		quiet = !strcmp(argv[3], "quiet");
		return self_child(strtoul(argv[2], NULL, 10));
	}

	ksft_print_header();
	vmf_require();
	vmf_require_cpus(2);
	ksft_set_plan(5);

	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED)
		ksft_exit_fail_perror("mmap");
	memset(st, 0, sizeof(*st));
	for (i = 0; i < ARRAY_SIZE(sysctls); i++) {
		before[i] = vmf_sysctl_get(sysctls[i]);
		vmf_sysctl_save(sysctls[i]);
	}

	for (i = 0; i < WORKERS; i++) {
		fflush(stdout);
		workers[i] = fork();
		if (workers[i] < 0)
			ksft_exit_fail_perror("fork");
		if (!workers[i]) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			worker();
		}
	}

	/* Above everything the storm can create, so the storm ends on time. */
	ret = vmf_set(0, SCHED_FIFO, 50, 0, 0);
	if (ret)
		ksft_exit_fail_msg("making this thread SCHED_FIFO: %s\n", strerror(-ret));
	seed = new_seed();
	end = vmf_now_ns() + DURATION_NS;
	while (vmf_now_ns() < end) {
		vmf_sleep_ns(SYSCTL_EVERY_NS);
		churn_sysctls(&seed);
	}
	__atomic_store_n(&st->stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < WORKERS; i++) {
		if (waitpid(workers[i], &status, 0) != workers[i])
			ksft_exit_fail_perror("waitpid");
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			count(&st->bad_exits);
			ksft_print_msg("worker %d ended with status %#x\n", workers[i], status);
		}
	}

	vmf_sysctl_restore_all();
	for (i = 0; i < ARRAY_SIZE(sysctls); i++) {
		if (vmf_sysctl_get(sysctls[i]) != before[i]) {
			ksft_print_msg("%s not restored to %ld\n", sysctls[i], before[i]);
			restored = 0;
		}
	}

	ksft_print_msg("%d children, %d of them exec'd\n", st->children, st->execs);
	ksft_print_msg("on children: %d sched_setattr, %d sched_setaffinity, %d ESRCH\n",
		       st->outside_sets, st->affinities, st->esrch);
	ksft_test_result(st->unexpected == 0, "no unexpected failure (%d)\n", st->unexpected);
	ksft_test_result(st->mismatches == 0,
			 "sched_getattr() always reported what was set or inherited (%d mismatches)\n",
			 st->mismatches);
	ksft_test_result(st->bad_exits == 0,
			 "every child and worker exited normally (%d did not)\n", st->bad_exits);
	ksft_test_result(st->children >= MIN_CHILDREN && st->execs > 0,
			 "the storm made progress: %d children, at least %d\n", st->children,
			 MIN_CHILDREN);
	ksft_test_result(restored && st->sysctl_writes > 0,
			 "%d sysctl writes, values restored\n", st->sysctl_writes);
	ksft_finished();
}
