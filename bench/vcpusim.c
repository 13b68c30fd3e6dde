// SPDX-License-Identifier: GPL-2.0
/*
 * vcpusim: threads that load a CPU the way vCPUs do, and measure how late
 * they get it. Used by bench/scenario.py on the test VM (synthetic vCPUs),
 * and inside the L2 guest as its timer-latency probe.
 *
 *   vcpusim [--threads N] [--groups G] [--period-us P] [--run-us R]
 *           [--lock-every K] [--hold-us H] [--hog] [--membarrier] [--pin]
 *           [--fifo PRIO] [--ctl DEVICE]
 *
 * Periodic mode (the default): each thread sleeps until its next period
 * (clock_nanosleep, absolute, like cyclictest), records how late it woke,
 * runs R us, and every K-th period takes its group's spinlock and holds it
 * H us: a guest's timer interrupt, its handler, and a contended lock.
 * --hog: no sleeping, the threads run lock rounds back to back (an
 * overcommitted guest). The threads of one group are one "VM": they share
 * a ticket spinlock, and a waiter spins while the holder is preempted,
 * which is the spin-wait cost of lock-holder preemption.
 *
 * --membarrier (implies --hog; inside a guest): each round ends with a
 * private expedited membarrier() instead of the lock: an IPI to every
 * other vCPU running the process, and a wait for all of them. Its
 * duration is recorded in place of the lateness. A guest with PV sched
 * yield, whose IPI targets a vCPU that the host preempted, yields to that
 * vCPU (KVM_HC_SCHED_YIELD), so this measures the directed yield.
 *
 * Threads are named "CPU N/KVM" like QEMU's vCPU threads, so the tracing
 * in bench/rundelay.bt treats both the same.
 *
 * Windows are driven over a line protocol on stdin/stdout, or on --ctl (a
 * serial port of the L2 guest):
 *   out: {"hello":..., "tids":[...]}     once, when the threads run
 *   in:  "w N"                           start window N
 *   in:  "e N"                           end it; out: one JSON line
 *   in:  "q" or end of file              exit
 * Counters are cumulative and only ever written by their thread; a window
 * is the difference of two snapshots, so no thread has to be reached (a
 * starved one may not run for seconds) to start or end a window.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "vmf_util.h"

/*
 * Latency buckets in microseconds, two significant digits: 1 us steps
 * below 100 us, 10 us steps below 1 ms, and so on up to 1 s.
 * bench/rundelay.bt computes the same buckets.
 */
#define BUCKETS_PER_DECADE	90
#define NR_BUCKETS		(100 + 4 * BUCKETS_PER_DECADE)

static unsigned int bucket_index(__u64 us)
{
	__u64 decade = 100, step = 10;
	unsigned int base = 100;

	if (us < 100)
		return us;
	while (base < NR_BUCKETS - BUCKETS_PER_DECADE && us >= decade * 10) {
		decade *= 10;
		step *= 10;
		base += BUCKETS_PER_DECADE;
	}
	if (us >= decade * 10)
		return NR_BUCKETS - 1;
	return base + (us - decade) / step;
}

static __u64 bucket_floor_us(unsigned int i)
{
	__u64 decade = 100, step = 10;

	if (i < 100)
		return i;
	i -= 100;
	while (i >= BUCKETS_PER_DECADE) {
		i -= BUCKETS_PER_DECADE;
		decade *= 10;
		step *= 10;
	}
	return decade + i * step;
}

struct ticket_lock {
	unsigned int next;
	unsigned int owner;
};

struct counters {
	__u64 hist[NR_BUCKETS];
	__u64 wakeups;
	__u64 late_ns;
	__u64 locks;
	__u64 spin_ns;
	__u64 rounds;
};

struct vcpu {
	int index;
	pid_t tid;
	pthread_t thread;
	struct ticket_lock *lock;
	/* Written by the thread only; read racily by the control thread. */
	struct counters c;
	/* The largest lateness of window max_window. */
	__u64 max_ns;
	int max_window;
};

static struct {
	int threads, groups, lock_every, fifo, pin, hog, membarrier;
	__u64 period_ns, run_ns, hold_ns;
} opt = {
	.threads = 2, .groups = 1, .lock_every = 10,
	.period_ns = 1000000, .run_ns = 100000, .hold_ns = 20000,
};

static struct vcpu *vcpus;
static struct ticket_lock *locks;
static int window = -1;
static int started;
static int stop;

#define LOAD(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* Only the owning thread writes a counter; a relaxed store keeps it whole. */
static void add(__u64 *v, __u64 n)
{
	__atomic_store_n(v, *v + n, __ATOMIC_RELAXED);
}

/*
 * Spins between two updates of spin_ns: a waiter whose ticket never comes
 * up (its holder starved) still shows its cost in the window.
 */
#define SPINS_PER_UPDATE	4096

static void lock_round(struct vcpu *v)
{
	unsigned int me = __atomic_fetch_add(&v->lock->next, 1, __ATOMIC_RELAXED);
	/* CPU time, not wall time: the cost is the CPU the spinning burns. */
	__u64 last = vmf_clock_ns(CLOCK_THREAD_CPUTIME_ID), now;
	unsigned int spins = 0;

	while (__atomic_load_n(&v->lock->owner, __ATOMIC_ACQUIRE) != me) {
		__builtin_ia32_pause();
		if (++spins % SPINS_PER_UPDATE == 0) {
			now = vmf_clock_ns(CLOCK_THREAD_CPUTIME_ID);
			add(&v->c.spin_ns, now - last);
			last = now;
		}
	}
	add(&v->c.spin_ns, vmf_clock_ns(CLOCK_THREAD_CPUTIME_ID) - last);
	vmf_burn_ns(opt.hold_ns);
	__atomic_store_n(&v->lock->owner, me + 1, __ATOMIC_RELEASE);
	add(&v->c.locks, 1);
}

static void record_lateness(struct vcpu *v, __u64 late_ns)
{
	int w = LOAD(window);

	add(&v->c.hist[bucket_index(late_ns / 1000)], 1);
	add(&v->c.wakeups, 1);
	add(&v->c.late_ns, late_ns);
	if (LOAD(v->max_window) != w) {
		STORE(v->max_ns, 0);
		STORE(v->max_window, w);
	}
	if (late_ns > LOAD(v->max_ns))
		STORE(v->max_ns, late_ns);
}

static void membarrier_round(struct vcpu *v)
{
	__u64 t0 = vmf_now_ns();

	if (syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0))
		ksft_exit_fail_perror("membarrier");
	record_lateness(v, vmf_now_ns() - t0);
}

static void *vcpu_fn(void *arg)
{
	struct vcpu *v = arg;
	char name[16];
	__u64 next;

	snprintf(name, sizeof(name), "CPU %d/KVM", v->index);
	prctl(PR_SET_NAME, name);
	v->tid = gettid();
	if (opt.pin && vmf_pin(0, v->index % vmf_nr_cpus()))
		ksft_exit_fail_perror("pinning a vCPU thread");
	if (opt.fifo && vmf_set(0, SCHED_FIFO, opt.fifo, 0, 0))
		ksft_exit_fail_perror("SCHED_FIFO for a vCPU thread");
	__atomic_fetch_add(&started, 1, __ATOMIC_RELEASE);

	next = vmf_now_ns() + opt.period_ns;
	while (!LOAD(stop)) {
		if (!opt.hog) {
			__u64 now;

			vmf_sleep_until(next);
			now = vmf_now_ns();
			record_lateness(v, now - next);
			next += opt.period_ns;
			/* Missed periods are skipped, as a guest's tick would be. */
			if (next < now)
				next = now - (now - next) % opt.period_ns + opt.period_ns;
		}
		vmf_burn_ns(opt.run_ns);
		add(&v->c.rounds, 1);
		if (opt.membarrier)
			membarrier_round(v);
		else if (opt.hog || (opt.lock_every && v->c.rounds % opt.lock_every == 0))
			lock_round(v);
	}
	return NULL;
}

/* CPU time a thread has run, from schedstat: its first field. */
static __u64 thread_runtime_ns(pid_t tid)
{
	char path[64], buf[128];

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", tid);
	if (vmf_read_file(path, buf, sizeof(buf)))
		return 0;
	return strtoull(buf, NULL, 10);
}

/* The steal and total ticks of all CPUs, from /proc/stat. */
static void cpu_ticks(__u64 *steal, __u64 *total)
{
	unsigned long long f[10] = { 0 };
	FILE *fp = fopen("/proc/stat", "r");
	int i;

	*steal = *total = 0;
	if (!fp)
		return;
	if (fscanf(fp, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
		   &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7],
		   &f[8], &f[9]) >= 8) {
		*steal = f[7];
		/* guest and guest_nice are already in user and nice. */
		for (i = 0; i < 8; i++)
			*total += f[i];
	}
	fclose(fp);
}

static struct counters *begin;
static __u64 *begin_runtime;
static __u64 begin_steal, begin_total, begin_ns;

static void snapshot(struct counters *c, __u64 *runtime)
{
	int i;

	for (i = 0; i < opt.threads; i++) {
		c[i] = vcpus[i].c;
		runtime[i] = thread_runtime_ns(vcpus[i].tid);
	}
}

static void window_begin(int w)
{
	STORE(window, w);
	snapshot(begin, begin_runtime);
	cpu_ticks(&begin_steal, &begin_total);
	begin_ns = vmf_now_ns();
}

static void json_u64(FILE *out, const char *name, __u64 v)
{
	fprintf(out, "\"%s\":%llu,", name, (unsigned long long)v);
}

static void window_end(FILE *out, int w)
{
	struct counters *end = calloc(opt.threads, sizeof(*end));
	__u64 *runtime = calloc(opt.threads, sizeof(*runtime));
	__u64 steal, total;
	int i, b, first;

	if (!end || !runtime)
		ksft_exit_fail_msg("out of memory\n");
	snapshot(end, runtime);
	cpu_ticks(&steal, &total);
	fprintf(out, "{\"window\":%d,", w);
	json_u64(out, "elapsed_ns", vmf_now_ns() - begin_ns);
	json_u64(out, "steal_ticks", steal - begin_steal);
	json_u64(out, "total_ticks", total - begin_total);
	fprintf(out, "\"threads\":[");
	for (i = 0; i < opt.threads; i++) {
		struct counters *e = &end[i], *s = &begin[i];
		__u64 max = LOAD(vcpus[i].max_window) == w ? LOAD(vcpus[i].max_ns) : 0;

		fprintf(out, "%s{\"tid\":%d,\"group\":%d,", i ? "," : "", vcpus[i].tid,
			i % opt.groups);
		json_u64(out, "wakeups", e->wakeups - s->wakeups);
		json_u64(out, "late_ns", e->late_ns - s->late_ns);
		json_u64(out, "max_ns", max);
		json_u64(out, "locks", e->locks - s->locks);
		json_u64(out, "spin_ns", e->spin_ns - s->spin_ns);
		json_u64(out, "run_ns", runtime[i] - begin_runtime[i]);
		fprintf(out, "\"hist_us\":{");
		for (b = 0, first = 1; b < NR_BUCKETS; b++) {
			if (e->hist[b] == s->hist[b])
				continue;
			fprintf(out, "%s\"%llu\":%llu", first ? "" : ",",
				(unsigned long long)bucket_floor_us(b),
				(unsigned long long)(e->hist[b] - s->hist[b]));
			first = 0;
		}
		fprintf(out, "}}");
	}
	fprintf(out, "]}\n");
	fflush(out);
	free(end);
	free(runtime);
}

/*
 * A serial port as a plain byte pipe: no echo, no line editing, and no
 * modem control (CLOCAL), or a carrier drop hangs the port up and reads
 * return end of file.
 */
static int open_ctl(const char *dev, FILE **in, FILE **out)
{
	struct termios t;
	int fd = open(dev, O_RDWR | O_NOCTTY);

	if (fd < 0)
		return -errno;
	if (isatty(fd) && !tcgetattr(fd, &t)) {
		cfmakeraw(&t);
		t.c_cflag |= CLOCAL;
		tcsetattr(fd, TCSANOW, &t);
	}
	*in = fdopen(fd, "r");
	*out = fdopen(dup(fd), "w");
	return *in && *out ? 0 : -errno;
}

static void print_usage(void)
{
	fprintf(stderr, "usage: vcpusim [--threads N] [--groups G] [--period-us P] [--run-us R]\n"
		"               [--lock-every K] [--hold-us H] [--hog] [--membarrier] [--pin]\n"
		"               [--fifo PRIO] [--ctl DEVICE]\n");
	exit(2);
}

static __u64 parse_us(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (*end || end == s)
		print_usage();
	return v * 1000;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "groups", required_argument, NULL, 'g' },
		{ "period-us", required_argument, NULL, 'p' },
		{ "run-us", required_argument, NULL, 'r' },
		{ "lock-every", required_argument, NULL, 'k' },
		{ "hold-us", required_argument, NULL, 'h' },
		{ "hog", no_argument, NULL, 'H' },
		{ "membarrier", no_argument, NULL, 'M' },
		{ "pin", no_argument, NULL, 'P' },
		{ "fifo", required_argument, NULL, 'f' },
		{ "ctl", required_argument, NULL, 'c' },
		{ }
	};
	FILE *in = stdin, *out = stdout;
	char line[64] = "";
	int c, i, w;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			opt.threads = atoi(optarg);
			break;
		case 'g':
			opt.groups = atoi(optarg);
			break;
		case 'p':
			opt.period_ns = parse_us(optarg);
			break;
		case 'r':
			opt.run_ns = parse_us(optarg);
			break;
		case 'k':
			opt.lock_every = atoi(optarg);
			break;
		case 'h':
			opt.hold_ns = parse_us(optarg);
			break;
		case 'H':
			opt.hog = 1;
			break;
		case 'M':
			opt.membarrier = 1;
			opt.hog = 1;
			break;
		case 'P':
			opt.pin = 1;
			break;
		case 'f':
			opt.fifo = atoi(optarg);
			break;
		case 'c':
			if (open_ctl(optarg, &in, &out))
				ksft_exit_fail_perror(optarg);
			break;
		default:
			print_usage();
		}
	}
	if (optind != argc || opt.threads < 1 || opt.groups < 1 ||
	    opt.groups > opt.threads || !opt.period_ns || opt.lock_every < 0)
		print_usage();

	vcpus = calloc(opt.threads, sizeof(*vcpus));
	locks = calloc(opt.groups, sizeof(*locks));
	begin = calloc(opt.threads, sizeof(*begin));
	begin_runtime = calloc(opt.threads, sizeof(*begin_runtime));
	if (!vcpus || !locks || !begin || !begin_runtime)
		ksft_exit_fail_msg("out of memory\n");
	if (opt.membarrier &&
	    syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0))
		ksft_exit_fail_perror("membarrier registration");
	for (i = 0; i < opt.threads; i++) {
		vcpus[i].index = i;
		vcpus[i].lock = &locks[i % opt.groups];
		vcpus[i].max_window = -1;
		if (pthread_create(&vcpus[i].thread, NULL, vcpu_fn, &vcpus[i]))
			ksft_exit_fail_msg("pthread_create failed\n");
	}
	while (__atomic_load_n(&started, __ATOMIC_ACQUIRE) < opt.threads)
		vmf_sleep_ns(1000000);
	/*
	 * The control thread must get through a window's end under FIFO
	 * vCPUs; set only now, as threads inherit their creator's policy.
	 */
	if (vmf_set(0, SCHED_FIFO, 99, 0, 0))
		ksft_exit_fail_perror("SCHED_FIFO 99 for the control thread");

	fprintf(out, "{\"hello\":\"vcpusim\",\"threads\":%d,\"groups\":%d,\"tids\":[",
		opt.threads, opt.groups);
	for (i = 0; i < opt.threads; i++)
		fprintf(out, "%s%d", i ? "," : "", vcpus[i].tid);
	fprintf(out, "]}\n");
	fflush(out);

	while (fgets(line, sizeof(line), in)) {
		if (sscanf(line, "w %d", &w) == 1)
			window_begin(w);
		else if (sscanf(line, "e %d", &w) == 1)
			window_end(out, w);
		else if (line[0] == 'q')
			break;
	}
	if (line[0] != 'q')
		fprintf(stderr, "vcpusim: control channel closed: %s\n",
			ferror(in) ? strerror(errno) : "end of file");
	STORE(stop, 1);
	for (i = 0; i < opt.threads; i++)
		pthread_join(vcpus[i].thread, NULL);
	return 0;
}
