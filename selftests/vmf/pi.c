// SPDX-License-Identifier: GPL-2.0
/*
 * Priority inheritance through PI futexes across SCHED_VMF. A thread that
 * blocks on a PTHREAD_PRIO_INHERIT mutex blocks on an rt_mutex in the
 * kernel and lends its prio to the owner, which /proc/PID/task/TID/sched
 * shows as "prio" (100 vm, 101 vmm, 122 nice 0, 99 - rt_priority for RT):
 *
 *  - a SCHED_OTHER owner with a vm waiter runs at prio 100, with a vmm
 *    waiter at 101, its policy staying 0; after the unlock it is back at
 *    122, policy 0;
 *  - a vm owner with a SCHED_FIFO 10 waiter runs at prio 89, policy still
 *    8, and is back at 100 after the unlock;
 *  - a vmm owner with a vm waiter runs at 100 and is back at 101 after.
 *
 * The owner burns 100 us and sleeps 1 ms in a loop while it holds the
 * mutex, so it is boosted both asleep and running. The boost is polled for
 * up to 2 s after the waiter started, the return for up to 2 s after the
 * unlock (it is done within the unlock, so the first read should see it).
 *
 * Then the point of the boost: a SCHED_OTHER owner pinned to CPU 1 next to
 * a vm hog, which leaves it only the fair server's 5%, takes the mutex in
 * a loop for 100 us of work; a waiter on CPU 0 takes it in a loop for
 * 20 us of work. The owner can take the mutex only when it runs as a host
 * task, but once a vm waiter blocks on it, it runs at vm prio next to the
 * hog and lets go after its 100 us. A SCHED_OTHER waiter lends it nothing:
 * the owner keeps the mutex until the fair server runs it again, up to
 * 19 ms later, and the waiter spends most of the time blocked. The same
 * loop is run with a vm waiter and with a SCHED_OTHER one, interleaved
 * twice for 1.5 s each, in the same run: the vm waiter must get the mutex
 * at least twice as often (the model above gives a factor of 100 or more),
 * and the owner must have got it in both runs, or the baseline shows
 * nothing. The main thread is SCHED_FIFO on CPU 0, so that it samples on
 * time.
 */
#include "kselftest.h"
#include "vmf_util.h"

#define MSEC		VMF_NSEC_PER_MSEC
#define USEC		VMF_NSEC_PER_USEC
/* How long a prio may take to change. */
#define POLL_NS		(2 * VMF_NSEC_PER_SEC)
#define START_NS	(10 * VMF_NSEC_PER_SEC)	/* how long a thread may take to start */
#define HOLD_BURN_NS	(100 * USEC)
#define HOLD_SLEEP_NS	(1 * MSEC)

#define OWNER_WORK_NS	(100 * USEC)
#define WAITER_WORK_NS	(20 * USEC)
#define WARMUP_NS	(500 * MSEC)
#define WINDOW_NS	(1500 * MSEC)
#define ROUNDS		2
#define MIN_RATIO	2

static pid_t self;

/* Wait up to timeout_ns for *flag to reach at least val; whether it did. */
static int wait_flag(int *flag, int val, __u64 timeout_ns)
{
	__u64 end = vmf_now_ns() + timeout_ns;

	while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) < val) {
		if (vmf_now_ns() > end)
			return 0;
		vmf_sleep_ns(MSEC);
	}
	return 1;
}

static void set_flag(int *flag, int val)
{
	__atomic_store_n(flag, val, __ATOMIC_RELEASE);
}

static int init_pi_mutex(pthread_mutex_t *lock)
{
	pthread_mutexattr_t attr;
	int ret;

	ret = pthread_mutexattr_init(&attr);
	if (!ret)
		ret = pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT);
	if (!ret)
		ret = pthread_mutex_init(lock, &attr);
	pthread_mutexattr_destroy(&attr);
	return ret;
}

/* The prio and policy of a thread of ours; 0 or -errno. */
static int read_prio(pid_t tid, long long *prio, long long *policy)
{
	int ret = vmf_sched_field(self, tid, "prio", prio);

	if (!ret)
		ret = vmf_sched_field(self, tid, "policy", policy);
	if (ret)
		ksft_print_msg("reading prio and policy of thread %d: %s\n", tid, strerror(-ret));
	return ret;
}

/* Poll until the thread's prio is want or timeout_ns passed; the last values read. */
static int poll_prio(pid_t tid, int want, __u64 timeout_ns, long long *prio, long long *policy)
{
	__u64 end = vmf_now_ns() + timeout_ns;
	int ret;

	for (;;) {
		ret = read_prio(tid, prio, policy);
		if (ret || *prio == want || vmf_now_ns() > end)
			return ret;
		vmf_sleep_ns(MSEC);
	}
}

/* Boost and return: an owner, a waiter, what the owner's prio must be. */

struct pi_case {
	const char *name;
	int owner_policy;
	int owner_prio;
	int waiter_policy;
	int waiter_prio;
	int boosted;
};

static const struct pi_case cases[] = {
	{ "SCHED_OTHER owner, vm waiter", SCHED_OTHER, 0, SCHED_VMF, VMF_CLASS_VM,
	  VMF_KPRIO_VM },
	{ "SCHED_OTHER owner, vmm waiter", SCHED_OTHER, 0, SCHED_VMF, VMF_CLASS_VMM,
	  VMF_KPRIO_VMM },
	{ "vm owner, SCHED_FIFO 10 waiter", SCHED_VMF, VMF_CLASS_VM, SCHED_FIFO, 10, 99 - 10 },
	{ "vmm owner, vm waiter", SCHED_VMF, VMF_CLASS_VMM, SCHED_VMF, VMF_CLASS_VM,
	  VMF_KPRIO_VM },
};

/* Owner states. */
#define OWNER_FAILED	1
#define OWNER_LOCKED	2
#define OWNER_UNLOCKED	3

/* Waiter states. */
#define WAITER_FAILED	1
#define WAITER_BLOCKING	2
#define WAITER_GOT	3

struct pi_run {
	const struct pi_case *c;
	pthread_mutex_t lock;
	pid_t owner_tid;
	int owner_err;
	int waiter_err;
	int owner_state;
	int waiter_state;
	int release;		/* the owner may unlock */
	int done;		/* the owner may exit */
};

static void *owner_fn(void *arg)
{
	struct pi_run *r = arg;
	int ret;

	r->owner_tid = syscall(SYS_gettid);
	ret = vmf_set(0, r->c->owner_policy, r->c->owner_prio, 0, 0);
	if (!ret)
		ret = -pthread_mutex_lock(&r->lock);
	if (ret) {
		r->owner_err = ret;
		set_flag(&r->owner_state, OWNER_FAILED);
		return NULL;
	}
	set_flag(&r->owner_state, OWNER_LOCKED);
	while (!__atomic_load_n(&r->release, __ATOMIC_ACQUIRE)) {
		vmf_burn_ns(HOLD_BURN_NS);
		vmf_sleep_ns(HOLD_SLEEP_NS);
	}
	pthread_mutex_unlock(&r->lock);
	set_flag(&r->owner_state, OWNER_UNLOCKED);
	/* Stay alive: its prio is read after the unlock. */
	while (!__atomic_load_n(&r->done, __ATOMIC_ACQUIRE))
		vmf_sleep_ns(MSEC);
	return NULL;
}

static void *waiter_fn(void *arg)
{
	struct pi_run *r = arg;
	int ret;

	ret = vmf_set(0, r->c->waiter_policy, r->c->waiter_prio, 0, 0);
	if (ret) {
		r->waiter_err = ret;
		set_flag(&r->waiter_state, WAITER_FAILED);
		return NULL;
	}
	set_flag(&r->waiter_state, WAITER_BLOCKING);
	ret = pthread_mutex_lock(&r->lock);
	if (ret) {
		r->waiter_err = -ret;
		set_flag(&r->waiter_state, WAITER_FAILED);
		return NULL;
	}
	set_flag(&r->waiter_state, WAITER_GOT);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* Two results: the owner boosted while the waiter blocks, back after the unlock. */
static void test_boost(const struct pi_case *c)
{
	int normal = vmf_kprio(c->owner_policy, c->owner_prio, 0);
	long long before = -1, prio = -1, policy = -1, after = -1, after_policy = -1;
	struct pi_run r = { .c = c };
	pthread_t owner, waiter;
	int ret, ok, blocked;

	ret = init_pi_mutex(&r.lock);
	if (ret)
		ksft_exit_fail_msg("PI mutex: %s\n", strerror(ret));
	ret = vmf_thread_create(&owner, -1, owner_fn, &r);
	if (ret)
		ksft_exit_fail_msg("starting the owner: %s\n", strerror(-ret));
	if (!wait_flag(&r.owner_state, OWNER_FAILED, START_NS) ||
	    r.owner_state == OWNER_FAILED)
		ksft_exit_fail_msg("%s: the owner could not take the mutex: %s\n", c->name,
				   strerror(-r.owner_err));

	/* Unboosted first: the baseline of the check. */
	ok = !read_prio(r.owner_tid, &before, &policy) && before == normal &&
	     policy == c->owner_policy;
	if (!ok)
		ksft_print_msg("%s: unboosted owner has prio %lld policy %lld, not %d and %d\n",
			       c->name, before, policy, normal, c->owner_policy);

	ret = vmf_thread_create(&waiter, -1, waiter_fn, &r);
	if (ret)
		ksft_exit_fail_msg("starting the waiter: %s\n", strerror(-ret));
	if (!wait_flag(&r.waiter_state, WAITER_FAILED, START_NS) ||
	    r.waiter_state == WAITER_FAILED)
		ksft_exit_fail_msg("%s: the waiter could not set its policy: %s\n", c->name,
				   strerror(-r.waiter_err));
	ok &= !poll_prio(r.owner_tid, c->boosted, POLL_NS, &prio, &policy);
	blocked = __atomic_load_n(&r.waiter_state, __ATOMIC_ACQUIRE) == WAITER_BLOCKING;
	if (!blocked)
		ksft_print_msg("%s: the waiter got a mutex that is held\n", c->name);
	ksft_test_result(ok && blocked && prio == c->boosted && policy == c->owner_policy,
			 "%s: owner boosted from prio %d to %lld (want %d), policy %lld (want %d)\n",
			 c->name, normal, prio, c->boosted, policy, c->owner_policy);

	set_flag(&r.release, 1);
	if (!wait_flag(&r.owner_state, OWNER_UNLOCKED, START_NS))
		ksft_exit_fail_msg("%s: the owner does not unlock\n", c->name);
	ok = !poll_prio(r.owner_tid, normal, POLL_NS, &after, &after_policy);
	pthread_join(waiter, NULL);
	if (r.waiter_state != WAITER_GOT) {
		ksft_print_msg("%s: the waiter did not get the mutex: %s\n", c->name,
			       strerror(-r.waiter_err));
		ok = 0;
	}
	ksft_test_result(ok && after == normal && after_policy == c->owner_policy,
			 "%s: after the unlock the owner is back at prio %lld (want %d), policy %lld (want %d)\n",
			 c->name, after, normal, after_policy, c->owner_policy);

	set_flag(&r.done, 1);
	pthread_join(owner, NULL);
	pthread_mutex_destroy(&r.lock);
}

/* Progress: a host owner under a vm hog, a waiter that needs its mutex. */

struct prog_run {
	pthread_mutex_t lock;
	int waiter_policy;
	int waiter_prio;
	int err;
	int owner_ready;
	int waiter_ready;
	int stop;
	unsigned long sections;		/* owner */
	unsigned long acquired;		/* waiter */
};

static void *prog_owner_fn(void *arg)
{
	struct prog_run *r = arg;

	set_flag(&r->owner_ready, 1);
	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		pthread_mutex_lock(&r->lock);
		vmf_burn_ns(OWNER_WORK_NS);
		pthread_mutex_unlock(&r->lock);
		__atomic_fetch_add(&r->sections, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *prog_waiter_fn(void *arg)
{
	struct prog_run *r = arg;

	r->err = vmf_set(0, r->waiter_policy, r->waiter_prio, 0, 0);
	set_flag(&r->waiter_ready, 1);
	if (r->err)
		return NULL;
	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		pthread_mutex_lock(&r->lock);
		vmf_burn_ns(WAITER_WORK_NS);
		pthread_mutex_unlock(&r->lock);
		__atomic_fetch_add(&r->acquired, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* One window with the waiter as policy/prio: its acquisitions and the owner's. */
static void prog_round(int policy, int prio, unsigned long *acquired, unsigned long *sections)
{
	struct vmf_hog hog = { .cpu = 1, .policy = SCHED_VMF, .prio = VMF_CLASS_VM };
	struct prog_run r = { .waiter_policy = policy, .waiter_prio = prio };
	unsigned long a0, s0;
	pthread_t owner, waiter;
	int ret;

	ret = init_pi_mutex(&r.lock);
	if (ret)
		ksft_exit_fail_msg("PI mutex: %s\n", strerror(ret));
	ret = vmf_hog_start(&hog);
	if (ret)
		ksft_exit_fail_msg("vm hog on CPU 1: %s\n", strerror(-ret));
	ret = vmf_thread_create(&owner, 1, prog_owner_fn, &r);
	if (ret)
		ksft_exit_fail_msg("starting the owner: %s\n", strerror(-ret));
	if (!wait_flag(&r.owner_ready, 1, START_NS))
		ksft_exit_fail_msg("the owner does not start on CPU 1 next to a vm hog\n");
	ret = vmf_thread_create(&waiter, 0, prog_waiter_fn, &r);
	if (ret)
		ksft_exit_fail_msg("starting the waiter: %s\n", strerror(-ret));
	if (!wait_flag(&r.waiter_ready, 1, START_NS) || r.err)
		ksft_exit_fail_msg("the waiter could not become %s: %s\n", vmf_policy_name(policy),
				   strerror(-r.err));

	vmf_sleep_ns(WARMUP_NS);
	a0 = __atomic_load_n(&r.acquired, __ATOMIC_RELAXED);
	s0 = __atomic_load_n(&r.sections, __ATOMIC_RELAXED);
	vmf_sleep_ns(WINDOW_NS);
	*acquired += __atomic_load_n(&r.acquired, __ATOMIC_RELAXED) - a0;
	*sections += __atomic_load_n(&r.sections, __ATOMIC_RELAXED) - s0;

	/* The waiter first: the owner may need the hog gone to see the flag soon. */
	set_flag(&r.stop, 1);
	pthread_join(waiter, NULL);
	vmf_hog_stop(&hog);
	pthread_join(owner, NULL);
	pthread_mutex_destroy(&r.lock);
}

static void test_progress(void)
{
	unsigned long vm_acq = 0, vm_sec = 0, base_acq = 0, base_sec = 0;
	int i;

	for (i = 0; i < ROUNDS; i++) {
		prog_round(SCHED_OTHER, 0, &base_acq, &base_sec);
		prog_round(SCHED_VMF, VMF_CLASS_VM, &vm_acq, &vm_sec);
	}
	ksft_print_msg("SCHED_OTHER waiter: %lu acquisitions, owner %lu sections in %d x %llu ms\n",
		       base_acq, base_sec, ROUNDS, WINDOW_NS / MSEC);
	ksft_print_msg("vm waiter:          %lu acquisitions, owner %lu sections in %d x %llu ms\n",
		       vm_acq, vm_sec, ROUNDS, WINDOW_NS / MSEC);
	if (!base_sec || !vm_sec)
		ksft_print_msg("the owner never got the mutex: the fair server does not run it\n");
	ksft_test_result(base_sec && vm_sec && vm_acq && vm_acq >= MIN_RATIO * base_acq,
			 "host owner under a vm hog: a vm waiter gets the mutex %lu times, >= %d x %lu for a SCHED_OTHER waiter\n",
			 vm_acq, MIN_RATIO, base_acq);
}

int main(void)
{
	unsigned int i;
	int ret;

	ksft_print_header();
	vmf_require();
	vmf_require_cpus(2);
	ksft_set_plan(2 * ARRAY_SIZE(cases) + 1);

	self = getpid();
	ret = vmf_pin(0, 0);
	if (!ret)
		ret = vmf_set(0, SCHED_FIFO, 50, 0, 0);
	if (ret)
		ksft_exit_fail_msg("making this thread SCHED_FIFO on CPU 0: %s\n", strerror(-ret));

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		test_boost(&cases[i]);
	test_progress();
	ksft_finished();
}
