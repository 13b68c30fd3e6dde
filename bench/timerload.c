// SPDX-License-Identifier: GPL-2.0
/*
 * timerload: the timer patterns of the PV timer test
 * (selftests/vmf/l2_pv_timer.sh) and the pv-timer scenario of make bench
 * (bench/pvtimer.py). Runs inside an L2 guest under KVM, one measured
 * window per call.
 *
 *   timerload --pattern rr|sleep|idle --window N [--secs S] [--settle S]
 *             [--sleep-us U] [--cpus LIST]
 *
 * rr     loopback TCP request/response: a server process pinned to the
 *        second CPU of LIST answers each 1-byte request of the client,
 *        this process, pinned to the first. Operations: round trips. Each
 *        side blocks in read() between messages, so the CPUs go idle and
 *        wake, and the networking timers are re-armed on every message.
 * sleep  one thread per CPU of LIST loops clock_nanosleep(U us). Each
 *        deadline is programmed after the previous one fired: the pattern
 *        where the PV timer saves nothing. Operations: sleeps that ended.
 *        Every sleep must end (none lost) and none may end early: checked
 *        against CLOCK_MONOTONIC, the clock the sleep is on.
 * idle   nothing but one sleep of S seconds: nohz idle. Operations: the
 *        milliseconds slept.
 *
 * LIST defaults to every online CPU (rr: the first two). The loopback
 * interface is brought up here.
 *
 * The window is marked with hypercalls from user space (bench/l2load.h):
 * RCX of the end mark holds the operations. Around each mark the guest's
 * own counts are read twice, before and after it: its writes of
 * MSR_IA32_TSC_DEADLINE (the msr:write_msr tracepoint, in a tracefs
 * instance of our own, filtered on the MSR) and, with the PV timer, the
 * deadlines it programmed and the exits among them
 * (/sys/kernel/debug/kvm_pv_timer). What happened between the marks lies
 * between the two readings, which is what bench/pvtimer.py compares to the
 * host's trace. One JSON line on stdout; the exit status is 1 if a sleep
 * was lost or early.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "l2load.h"

#define MAX_CPUS	64
#define TRACEFS		"/sys/kernel/tracing"
#define INSTANCE	TRACEFS "/instances/timerload"
#define DEBUGFS		"/sys/kernel/debug"
#define PV_STATS	DEBUGFS "/kvm_pv_timer"
#define TSC_DEADLINE	0x6e0
/*
 * Per CPU: a 3 s rr window made about 10000 deadline writes here, 48
 * bytes each in the ring buffer. Entries that do not fit are counted as
 * overrun, so the count holds anyway.
 */
#define TRACE_BUFFER_KB	2048
/* How long a sleep may take to end after the window, in the guest's time. */
#define LOST_AFTER	10.0

static struct {
	const char *pattern;
	int window, ncpus, cpus[MAX_CPUS];
	double secs, settle;
	long sleep_us;
} opt = { .secs = 3, .settle = 0.5, .sleep_us = 500 };

/* The guest's counts at one point. */
struct counts {
	unsigned long long msr_writes;
	long long pv_programs, pv_exits;	/* -1: no PV timer */
};

/* One sleeping thread; it writes its counters, the main thread reads them. */
struct sleeper {
	int cpu;
	pthread_t handle;
	unsigned long sleeps, wakeups, early, errors;
	long long min_over_ns;
};

static struct sleeper sleepers[MAX_CPUS];
static int stop;

static void write_file(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_TRUNC);

	if (fd < 0 || write(fd, value, strlen(value)) < 0)
		die(path);
	close(fd);
}

static int read_int(const char *path)
{
	char buf[16] = "";
	int fd = open(path, O_RDONLY);

	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) < 0)
			buf[0] = 0;
		close(fd);
	}
	return atoi(buf);
}

/* Once per boot: a resize would drop what the buffer counted. */
static void trace_setup(void)
{
	char buf[32];

	if (access(TRACEFS "/instances", F_OK) &&
	    mount("tracefs", TRACEFS, "tracefs", 0, NULL))
		die("mount " TRACEFS);
	if (access(INSTANCE, F_OK) && mkdir(INSTANCE, 0755))
		die(INSTANCE);
	if (access(PV_STATS, F_OK) && access(DEBUGFS "/tracing", F_OK))
		mount("debugfs", DEBUGFS, "debugfs", 0, NULL);
	if (access(INSTANCE "/events/msr/write_msr/filter", F_OK))
		die(INSTANCE "/events/msr/write_msr");
	/* Left on between windows: the counts only grow. */
	if (read_int(INSTANCE "/events/msr/write_msr/enable") == 1)
		return;
	snprintf(buf, sizeof(buf), "msr == %d", TSC_DEADLINE);
	write_file(INSTANCE "/events/msr/write_msr/filter", buf);
	snprintf(buf, sizeof(buf), "%d", TRACE_BUFFER_KB);
	write_file(INSTANCE "/buffer_size_kb", buf);
	write_file(INSTANCE "/events/msr/write_msr/enable", "1");
	write_file(INSTANCE "/tracing_on", "1");
}

static void read_counts(struct counts *c)
{
	FILE *f = fopen(PV_STATS, "r");

	c->msr_writes = trace_events(INSTANCE);
	c->pv_programs = -1;
	c->pv_exits = -1;
	if (!f)
		return;
	if (fscanf(f, "programs %lld exits %lld", &c->pv_programs, &c->pv_exits) != 2)
		die(PV_STATS);
	fclose(f);
}

/* The interface is down in the L2's initramfs; ip(8) would need busybox's applet. */
static void loopback_up(void)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	if (s < 0)
		die("socket");
	snprintf(ifr.ifr_name, IFNAMSIZ, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr))
		die("SIOCGIFFLAGS lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr))
		die("SIOCSIFFLAGS lo");
	close(s);
}

/* --- rr --- */

static int rr_fd = -1;
static pid_t rr_server;

static void rr_start(void)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t len = sizeof(addr);
	int one = 1, ls, fd;
	char c;

	loopback_up();
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&addr, sizeof(addr)) ||
	    listen(ls, 1) || getsockname(ls, (struct sockaddr *)&addr, &len))
		die("listen");
	rr_server = fork();
	if (rr_server < 0)
		die("fork");
	if (!rr_server) {
		pin(opt.cpus[1]);
		fd = accept(ls, NULL, NULL);
		if (fd < 0)
			die("accept");
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		while (read(fd, &c, 1) == 1)
			if (write(fd, &c, 1) != 1)
				break;
		_exit(0);
	}
	close(ls);
	pin(opt.cpus[0]);
	rr_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (rr_fd < 0 || connect(rr_fd, (struct sockaddr *)&addr, sizeof(addr)))
		die("connect");
	setsockopt(rr_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static unsigned long rr_run(double end)
{
	unsigned long n = 0;
	char c = 'x';

	do {
		if (write(rr_fd, &c, 1) != 1 || read(rr_fd, &c, 1) != 1)
			die("round trip");
		n++;
	} while (now() < end);
	return n;
}

static void rr_stop(void)
{
	close(rr_fd);
	waitpid(rr_server, NULL, 0);
}

/* --- sleep --- */

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void add(unsigned long *p)
{
	__atomic_store_n(p, *p + 1, __ATOMIC_RELAXED);
}

static void *sleep_fn(void *arg)
{
	struct timespec req = { .tv_sec = opt.sleep_us / 1000000,
				.tv_nsec = opt.sleep_us % 1000000 * 1000 };
	long long want = opt.sleep_us * 1000LL, t0, over;
	struct sleeper *s = arg;

	pin(s->cpu);
	s->min_over_ns = INT64_MAX;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		add(&s->sleeps);
		t0 = mono_ns();
		if (clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL)) {
			add(&s->errors);
			continue;
		}
		over = mono_ns() - t0 - want;
		if (over < 0)
			add(&s->early);
		if (over < s->min_over_ns)
			s->min_over_ns = over;
		add(&s->wakeups);
	}
	return NULL;
}

static void sleep_start(void)
{
	int i;

	for (i = 0; i < opt.ncpus; i++) {
		sleepers[i].cpu = opt.cpus[i];
		errno = pthread_create(&sleepers[i].handle, NULL, sleep_fn, &sleepers[i]);
		if (errno)
			die("pthread_create");
	}
}

static unsigned long sleep_wakeups(void)
{
	unsigned long n = 0;
	int i;

	for (i = 0; i < opt.ncpus; i++)
		n += __atomic_load_n(&sleepers[i].wakeups, __ATOMIC_RELAXED);
	return n;
}

/*
 * Stop the sleepers and wait for the sleeps in flight: a sleep that never
 * ends is a lost timer. Returns the threads that did not end.
 */
static int sleep_stop(void)
{
	double end = now() + LOST_AFTER;
	int i, left;

	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	do {
		left = 0;
		for (i = 0; i < opt.ncpus; i++)
			left += pthread_tryjoin_np(sleepers[i].handle, NULL) == EBUSY;
		if (left)
			usleep(10000);
	} while (left && now() < end);
	return left;
}

/* --- The window --- */

static void print_counts(const char *name, const struct counts *c, int n)
{
	int i;

	printf("\"%s\":{\"msr_writes\":[", name);
	for (i = 0; i < n; i++)
		printf("%s%llu", i ? "," : "", c[i].msr_writes);
	if (c[0].pv_programs >= 0) {
		printf("],\"pv_programs\":[");
		for (i = 0; i < n; i++)
			printf("%s%lld", i ? "," : "", c[i].pv_programs);
		printf("],\"pv_exits\":[");
		for (i = 0; i < n; i++)
			printf("%s%lld", i ? "," : "", c[i].pv_exits);
	}
	printf("]}");
}

static int run_window(void)
{
	int sleep = !strcmp(opt.pattern, "sleep"), rr = !strcmp(opt.pattern, "rr");
	unsigned long ops = 0, w0 = 0, lost = 0, early = 0, errors = 0, sleeps = 0, wakeups = 0;
	long long min_over = INT64_MAX;
	int i, stuck = 0;
	/* Before and after the start mark, before and after the end mark. */
	struct counts c[4];
	double t0, t1;

	if (rr)
		rr_start();
	if (sleep)
		sleep_start();
	usleep(opt.settle * 1e6);

	read_counts(&c[0]);
	t0 = now();
	hypercall(MARK_START, opt.window, 0, 0, 0);
	read_counts(&c[1]);
	w0 = sleep ? sleep_wakeups() : 0;
	if (rr)
		ops = rr_run(t0 + opt.secs);
	else
		usleep(opt.secs * 1e6);
	if (sleep)
		ops = sleep_wakeups() - w0;
	t1 = now();
	if (!strcmp(opt.pattern, "idle"))
		ops = (t1 - t0) * 1000;
	read_counts(&c[2]);
	hypercall(MARK_END, opt.window, ops, 0, 0);
	read_counts(&c[3]);

	if (rr)
		rr_stop();
	if (sleep) {
		stuck = sleep_stop();
		for (i = 0; i < opt.ncpus; i++) {
			struct sleeper *s = &sleepers[i];

			sleeps += s->sleeps;
			wakeups += s->wakeups;
			early += s->early;
			errors += s->errors;
			if (s->min_over_ns < min_over)
				min_over = s->min_over_ns;
		}
		lost = sleeps - wakeups - errors;
	}

	printf("{\"timerload\":\"window\",\"window\":%d,\"pattern\":\"%s\",", opt.window,
	       opt.pattern);
	printf("\"ops\":%lu,\"secs\":%.6f,\"ops_per_s\":%.1f,\"cpus\":[", ops, t1 - t0,
	       ops / (t1 - t0));
	for (i = 0; i < opt.ncpus; i++)
		printf("%s%d", i ? "," : "", opt.cpus[i]);
	printf("],");
	print_counts("start", c, 2);
	printf(",");
	print_counts("end", c + 2, 2);
	if (sleep) {
		printf(",\"sleep\":{\"us\":%ld,\"sleeps\":%lu,\"wakeups\":%lu,\"lost\":%lu,",
		       opt.sleep_us, sleeps, wakeups, lost);
		printf("\"early\":%lu,\"errors\":%lu,\"stuck_threads\":%d,\"min_over_ns\":%lld}",
		       early, errors, stuck, min_over);
	}
	printf("}\n");
	fflush(stdout);
	return lost || early || errors || stuck;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pattern", required_argument, NULL, 'p' },
		{ "window", required_argument, NULL, 'w' },
		{ "secs", required_argument, NULL, 't' },
		{ "settle", required_argument, NULL, 'z' },
		{ "sleep-us", required_argument, NULL, 'u' },
		{ "cpus", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	int c, i, online = sysconf(_SC_NPROCESSORS_ONLN);

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			opt.pattern = optarg;
			break;
		case 'w':
			opt.window = atoi(optarg);
			break;
		case 't':
			opt.secs = atof(optarg);
			break;
		case 'z':
			opt.settle = atof(optarg);
			break;
		case 'u':
			opt.sleep_us = atol(optarg);
			break;
		case 'c':
			opt.ncpus = parse_list(optarg, opt.cpus, MAX_CPUS);
			break;
		default:
			fprintf(stderr, "usage: see the top of timerload.c in bench/\n");
			return 2;
		}
	}
	if (!opt.ncpus)
		for (i = 0; i < online && i < MAX_CPUS; i++)
			opt.cpus[opt.ncpus++] = i;
	for (i = 0; i < opt.ncpus; i++)
		if (opt.cpus[i] < 0 || opt.cpus[i] >= online)
			opt.window = 0;
	if (!opt.pattern || opt.window < 1 || opt.sleep_us < 1 || opt.secs <= 0 ||
	    (strcmp(opt.pattern, "rr") && strcmp(opt.pattern, "sleep") &&
	     strcmp(opt.pattern, "idle")) ||
	    (!strcmp(opt.pattern, "rr") && opt.ncpus < 2)) {
		fprintf(stderr, "timerload: bad options: %s\n",
			"--pattern rr|sleep|idle, --window 1 or more, online --cpus (rr: two)");
		return 2;
	}
	detect_kvm();
	trace_setup();
	return run_window();
}
