// SPDX-License-Identifier: GPL-2.0
/*
 * tlbload: TLB shootdowns from user space, for the paravirt TLB flush test
 * (selftests/vmf/l2_pv_tlb.sh) and the pv-tlb scenario of make bench
 * (bench/pvtlb.py). Runs inside an L2 guest under KVM.
 *
 *   tlbload [--cpus LIST] [--pages N,...] [--passes P] [--secs S] [--windows N]
 *           [--settle S]
 *   tlbload --check [--cpus LIST] [--secs S] [--windows N] [--settle S]
 *           [--break wrong-version|skip-mprotect]
 *
 * Load, ebizzy-like: one thread pinned to each CPU of LIST (default: all
 * online CPUs) loops: mmap() N private anonymous pages (8 by default),
 * fill them, munmap() them; with several N, the windows take them in
 * turn. The other threads' CPUs are in the mm's CPU mask, so each
 * munmap() flushes the pages from their TLBs: one remote shootdown
 * (flush_tlb_multi()), whichever way the guest's kernel does it (IPIs;
 * 6.12's PV flush, which spares the preempted vCPUs; or
 * KVM_HC_FLUSH_TLB_V2), but a CPU that is idle, its thread waiting for
 * the mm's lock, is out of the mm, and the flush passes it by. Between the
 * fill and the munmap(), P passes (none by default) read the chunk, like
 * ebizzy's searches in its chunk: work in user space, out of that lock.
 * Every munmap() is timed: the sender's wait, in a histogram of log2
 * nanosecond buckets.
 *
 * --check: stress their correctness. The first CPU of LIST runs the
 * mutator, every other one a reader; readers never write. Two mappings:
 *
 * W: 16 pages, read-only, MAP_SHARED from a memfd of two slots per page.
 *    To remap page i, the mutator writes generation g + 1 into its spare
 *    slot (through a control mapping of the memfd), mmap(MAP_FIXED)s W[i]
 *    onto it, and once that call has returned, writes POISON into the old
 *    slot and then publishes g + 1 (release). A reader that loads the
 *    published generation p (acquire) and then reads W[i] (its first and
 *    last words) must read neither POISON nor less than p: only a
 *    translation that outlived the mmap() call reaches the old slot after
 *    it was poisoned.
 * R: 16 anonymous pages at a 2 MiB boundary, alone in their page table,
 *    cycled through states that the mutator publishes after each change
 *    has returned: RW(v) (every page holds v) -> mprotect(PROT_NONE) ->
 *    NONE(v) -> munmap(), which frees the page table -> UNMAPPED(v) ->
 *    mmap() and write v + 1 -> RW(v + 1). It publishes BUSY (sequentially
 *    consistent) before each change, and waits for every reader to have
 *    checked the new state before the next. A reader loads the state,
 *    reads a page of R (a SIGSEGV is caught with sigsetjmp()) and loads the
 *    state again; if the state did not change, the read must have faulted
 *    in NONE and UNMAPPED ("missed" if not), and must have read v in RW.
 *
 * Any stale read, missed fault or fault in RW makes the exit status 1.
 * --break makes the checker see what a lost flush would show: the mutator
 * publishes each W page one generation ahead of its contents
 * (wrong-version), or publishes NONE without the mprotect() call
 * (skip-mprotect).
 *
 * In both modes, the process marks each measured window with hypercalls
 * from user space (bench/l2load.h), the operations made in it at its end
 * (munmap() calls; in --check the mutator's mapping calls). One JSON line
 * per window on stdout: the operations and the guest's own time
 * (CLOCK_MONOTONIC); the remote shootdowns, counted by the guest's
 * tlb:tlb_flush tracepoint with the reason "remote ipi send" (which every
 * flush_tlb_multi() of x86 and of KVM guests emits, once per call, v2's
 * included), through the per-CPU counts of the ring buffer; the TLB
 * shootdown interrupts each CPU took (the "TLB" line of /proc/interrupts);
 * and per thread, its operations and how often it was preempted.
 */
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "l2load.h"

#define MAX_CPUS	64
#define HIST_BUCKETS	48
#define TRACEFS		"/sys/kernel/tracing"
#define TLB_EVENT	TRACEFS "/events/tlb/tlb_flush"
/* Per CPU: a 10 s window of load made up to 20000 events here, 32 bytes each. */
#define TRACE_BUFFER_KB	4096

#define W_PAGES		16
#define R_PAGES		16
#define R_ALIGN		(2UL << 20)
#define POISON		0xdeadbeefdeadbeefUL
/* How long the mutator waits for the readers to check a state of R. */
#define ACK_TIMEOUT	2.0

enum { R_BUSY, R_RW, R_NONE, R_UNMAPPED, R_KINDS };
static const char * const r_kind_name[R_KINDS] = { "busy", "rw", "none", "unmapped" };

#define MAX_SIZES	8

static struct {
	int ncpus, cpus[MAX_CPUS], nsizes, pages[MAX_SIZES], passes, windows, check;
	double secs, settle;
	const char *brk;
} opt = { .nsizes = 1, .pages = { 8 }, .passes = 0, .secs = 3, .windows = 1, .settle = 1 };

static size_t page_size;

/* A thread's counters: it writes them, the main thread reads them. */
struct counters {
	/* Load: munmap() calls and their times. */
	unsigned long ops, hist[HIST_BUCKETS];
	/* --check readers: W. */
	unsigned long reads, poison, stale, w_faults;
	/* --check readers: R, by state kind. */
	unsigned long checks[R_KINDS], faults[R_KINDS], r_stale, discarded;
};

#define NR_COUNTERS	(sizeof(struct counters) / sizeof(unsigned long))

/* One per thread. */
struct thread {
	int cpu;
	pid_t tid;
	pthread_t handle;
	struct counters c;
	unsigned long ack;
	unsigned int next;
};

static struct thread threads[MAX_CPUS];
static int stop, running, cur_pages;
/* Where the reading passes leave their sum, so that they are made. */
static unsigned long sink;

/* --check's shared state. */
static int memfd;
static char *w_map, *ctl_map, *r_map;
/* Published generations; what the pages hold, which only the mutator reads. */
static unsigned long w_gen[W_PAGES], w_held[W_PAGES];
static unsigned long r_state;
static struct {
	unsigned long remaps, r_cycles, unacked;
} mut;

static __thread sigjmp_buf probe_env;

static void add(unsigned long *p, unsigned long n)
{
	/* One writer per counter; the main thread reads them. */
	__atomic_store_n(p, *p + n, __ATOMIC_RELAXED);
}

static void write_file(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_TRUNC);

	if (fd < 0 || write(fd, value, strlen(value)) < 0)
		die(path);
	close(fd);
}

/* --- The guest's shootdowns, from its tlb:tlb_flush tracepoint --- */

/* The number of TLB_REMOTE_SEND_IPI, from the event's print format. */
static int remote_send_reason(void)
{
	static char buf[8192];
	const char *s;
	ssize_t n;
	int fd;

	fd = open(TLB_EVENT "/format", O_RDONLY);
	if (fd < 0)
		die(TLB_EVENT "/format");
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	s = strstr(buf, "\"remote ipi send\"");
	while (s && s > buf && *s != '{')
		s--;
	if (!s || *s != '{') {
		fprintf(stderr, "tlbload: no \"remote ipi send\" in " TLB_EVENT "/format\n");
		exit(2);
	}
	return atoi(s + 1);
}

static void trace_setup(void)
{
	char filter[32];

	if (access(TLB_EVENT, F_OK) &&
	    mount("tracefs", TRACEFS, "tracefs", 0, NULL))
		die("mount " TRACEFS);
	write_file(TRACEFS "/tracing_on", "0");
	snprintf(filter, sizeof(filter), "%d", TRACE_BUFFER_KB);
	write_file(TRACEFS "/buffer_size_kb", filter);
	snprintf(filter, sizeof(filter), "reason == %d", remote_send_reason());
	write_file(TLB_EVENT "/filter", filter);
	write_file(TLB_EVENT "/enable", "1");
}

/* --- Load --- */

static void *load_fn(void *arg)
{
	struct thread *t = arg;
	struct timespec a, b;
	unsigned long ns, sum;
	size_t len, i;
	char *p;
	int bucket, pass;

	t->tid = syscall(__NR_gettid);
	pin(t->cpu);
	__atomic_fetch_add(&running, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		len = __atomic_load_n(&cur_pages, __ATOMIC_RELAXED) * page_size;
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			die("mmap");
		memset(p, t->c.ops, len);
		for (pass = 0, sum = 0; pass < opt.passes; pass++)
			for (i = 0; i < len; i += sizeof(sum))
				sum += *(unsigned long *)(p + i);
		__atomic_store_n(&sink, sum, __ATOMIC_RELAXED);
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (munmap(p, len))
			die("munmap");
		clock_gettime(CLOCK_MONOTONIC, &b);
		ns = (b.tv_sec - a.tv_sec) * 1000000000UL + b.tv_nsec - a.tv_nsec;
		bucket = ns ? 63 - __builtin_clzl(ns) : 0;
		add(&t->c.hist[bucket < HIST_BUCKETS ? bucket : HIST_BUCKETS - 1], 1);
		add(&t->c.ops, 1);
	}
	return NULL;
}

/* --- Check --- */

static int in_range(const char *addr, const char *start, size_t pages)
{
	return addr >= start && addr < start + pages * page_size;
}

/* Only readers touch W and R where that can fault, and only in probe(). */
static void segv(int sig, siginfo_t *si, void *uc)
{
	if (in_range(si->si_addr, w_map, W_PAGES) || in_range(si->si_addr, r_map, R_PAGES))
		siglongjmp(probe_env, 1);
	/* Not ours: die of it, as without the handler. */
	signal(SIGSEGV, SIG_DFL);
}

/* Read *p, once, whatever the compiler knows; returns 1 if that faulted. */
static int probe(const unsigned long *p, unsigned long *v)
{
	if (sigsetjmp(probe_env, 0))
		return 1;
	*v = __atomic_load_n(p, __ATOMIC_RELAXED);
	return 0;
}

static void check_w(struct thread *t)
{
	unsigned long p, first, last;
	const unsigned long *pg;
	int i;

	for (i = 0; i < W_PAGES; i++) {
		p = __atomic_load_n(&w_gen[i], __ATOMIC_ACQUIRE);
		pg = (const unsigned long *)(w_map + i * page_size);
		if (probe(pg, &first) || probe(pg + page_size / sizeof(*pg) - 1, &last)) {
			add(&t->c.w_faults, 1);
			continue;
		}
		add(&t->c.reads, 1);
		if (first == POISON || last == POISON)
			add(&t->c.poison, 1);
		else if (first < p || last < p)
			add(&t->c.stale, 1);
	}
}

static void check_r(struct thread *t)
{
	unsigned long s1, s2, v = 0;
	int kind, faulted;

	s1 = __atomic_load_n(&r_state, __ATOMIC_ACQUIRE);
	kind = s1 & 3;
	if (kind == R_BUSY)
		return;
	faulted = probe((const unsigned long *)(r_map + (t->next++ % R_PAGES) * page_size), &v);
	/* x86 does not reorder loads with loads; keep the compiler from it too. */
	asm volatile("" ::: "memory");
	s2 = __atomic_load_n(&r_state, __ATOMIC_ACQUIRE);
	if (s1 != s2) {
		add(&t->c.discarded, 1);
		return;
	}
	add(&t->c.checks[kind], 1);
	add(&t->c.faults[kind], faulted);
	if (kind == R_RW && !faulted && v != s1 >> 2)
		add(&t->c.r_stale, 1);
	__atomic_store_n(&t->ack, s1, __ATOMIC_RELEASE);
}

static void *reader_fn(void *arg)
{
	struct thread *t = arg;

	t->tid = syscall(__NR_gettid);
	pin(t->cpu);
	__atomic_fetch_add(&running, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		check_w(t);
		check_r(t);
	}
	return NULL;
}

static void fill(char *page, unsigned long v)
{
	unsigned long *p = (unsigned long *)page;

	p[0] = v;
	p[page_size / sizeof(*p) - 1] = v;
}

/* Slot 2i of page i holds its even generations, 2i + 1 the odd ones. */
static void remap_w(int i)
{
	int old = 2 * i + (w_held[i] & 1), new = old ^ 1;
	unsigned long g = w_held[i] + 1;

	fill(ctl_map + new * page_size, g);
	if (mmap(w_map + i * page_size, page_size, PROT_READ, MAP_SHARED | MAP_FIXED,
		 memfd, new * page_size) == MAP_FAILED)
		die("mmap(MAP_FIXED) of a page of W");
	fill(ctl_map + old * page_size, POISON);
	w_held[i] = g;
	if (opt.brk && !strcmp(opt.brk, "wrong-version"))
		g++;
	__atomic_store_n(&w_gen[i], g, __ATOMIC_RELEASE);
	add(&mut.remaps, 1);
}

static void map_r(unsigned long v)
{
	int i;

	if (mmap(r_map, R_PAGES * page_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != r_map)
		die("mmap of R at its place");
	for (i = 0; i < R_PAGES; i++)
		*(unsigned long *)(r_map + i * page_size) = v;
}

/*
 * Publish a state of R and wait until every reader has checked it; a
 * reader that does not within ACK_TIMEOUT is counted, not waited for.
 */
static void publish_r(int kind, unsigned long v)
{
	unsigned long s = v << 2 | kind;
	double end;
	int i;

	__atomic_store_n(&r_state, s, __ATOMIC_RELEASE);
	end = now() + ACK_TIMEOUT;
	for (i = 1; i < opt.ncpus; i++) {
		while (__atomic_load_n(&threads[i].ack, __ATOMIC_ACQUIRE) != s) {
			if (now() > end) {
				add(&mut.unacked, 1);
				break;
			}
			__builtin_ia32_pause();
		}
	}
}

/* Before a change: readers must not trust a check that overlaps it. */
static void busy_r(void)
{
	__atomic_store_n(&r_state, R_BUSY, __ATOMIC_SEQ_CST);
}

static void cycle_r(unsigned long *v)
{
	busy_r();
	if (!(opt.brk && !strcmp(opt.brk, "skip-mprotect")) &&
	    mprotect(r_map, R_PAGES * page_size, PROT_NONE))
		die("mprotect(PROT_NONE) of R");
	publish_r(R_NONE, *v);
	busy_r();
	if (munmap(r_map, R_PAGES * page_size))
		die("munmap of R");
	publish_r(R_UNMAPPED, *v);
	busy_r();
	map_r(++*v);
	publish_r(R_RW, *v);
	add(&mut.r_cycles, 1);
}

/*
 * W from the memfd, slot 2i of page i holding generation 0 at first; R
 * at the start of a 2 MiB range that nothing else maps, so that its
 * munmap() frees the page table.
 */
static void check_setup(void)
{
	size_t span = 2 * R_ALIGN;
	struct sigaction sa = { .sa_sigaction = segv, .sa_flags = SA_SIGINFO | SA_NODEFER };
	char *res, *a;
	int i;

	if (sigaction(SIGSEGV, &sa, NULL))
		die("sigaction");
	memfd = memfd_create("tlbload", 0);
	if (memfd < 0 || ftruncate(memfd, 2 * W_PAGES * page_size))
		die("memfd");
	ctl_map = mmap(NULL, 2 * W_PAGES * page_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       memfd, 0);
	w_map = mmap(NULL, W_PAGES * page_size, PROT_READ, MAP_SHARED, memfd, 0);
	if (ctl_map == MAP_FAILED || w_map == MAP_FAILED)
		die("mmap of the memfd");
	for (i = 0; i < W_PAGES; i++) {
		fill(ctl_map + 2 * i * page_size, 0);
		fill(ctl_map + (2 * i + 1) * page_size, POISON);
		if (mmap(w_map + i * page_size, page_size, PROT_READ, MAP_SHARED | MAP_FIXED,
			 memfd, 2 * i * page_size) == MAP_FAILED)
			die("mmap of W");
	}

	res = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED)
		die("mmap of R's reservation");
	a = (char *)(((uintptr_t)res + R_ALIGN - 1) & ~(R_ALIGN - 1));
	if (munmap(res, span))
		die("munmap of R's reservation");
	r_map = a;
	map_r(1);
	__atomic_store_n(&r_state, 1UL << 2 | R_RW, __ATOMIC_RELEASE);
}

/* --- Windows --- */

struct snapshot {
	unsigned long long tlb[MAX_CPUS], events, pre[MAX_CPUS];
	struct counters t[MAX_CPUS];
	unsigned long remaps, r_cycles, unacked;
	double time;
};

static unsigned long load(const unsigned long *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void snap(struct snapshot *s, int ncpus_online)
{
	unsigned int k;
	int i;

	s->time = now();
	irq_counts("TLB", s->tlb, ncpus_online);
	s->events = trace_events(TRACEFS);
	for (i = 0; i < opt.ncpus; i++) {
		for (k = 0; k < NR_COUNTERS; k++)
			((unsigned long *)&s->t[i])[k] = load((unsigned long *)&threads[i].c + k);
		s->pre[i] = preemptions(threads[i].tid);
	}
	s->remaps = load(&mut.remaps);
	s->r_cycles = load(&mut.r_cycles);
	s->unacked = load(&mut.unacked);
}

/* The change of a counter in the window, summed over the threads. */
static unsigned long delta(const struct snapshot *a, const struct snapshot *b, size_t off)
{
	unsigned long n = 0;
	int i;

	for (i = 0; i < opt.ncpus; i++)
		n += *(unsigned long *)((char *)&b->t[i] + off) -
		     *(unsigned long *)((char *)&a->t[i] + off);
	return n;
}

#define D(f)	delta(a, b, offsetof(struct counters, f))

static unsigned long ops_done(const struct snapshot *a, const struct snapshot *b)
{
	if (opt.check)
		return (b->remaps - a->remaps) + 3 * (b->r_cycles - a->r_cycles);
	return D(ops);
}

/* Returns how many errors the checker found in the window. */
static unsigned long report(int w, const struct snapshot *a, const struct snapshot *b,
			    int ncpus_online)
{
	unsigned long ops = ops_done(a, b), errors = 0, hist;
	unsigned long long tlb = 0;
	double secs = b->time - a->time;
	int i, k;

	printf("{\"tlbload\":\"window\",\"mode\":\"%s\",\"window\":%d,",
	       opt.check ? "check" : "load", w);
	printf("\"ops\":%lu,\"secs\":%.6f,\"ops_per_s\":%.1f,\"pages\":%d,\"passes\":%d,",
	       ops, secs, ops / secs, opt.check ? 1 : cur_pages, opt.check ? 0 : opt.passes);
	printf("\"shootdowns\":%llu,", b->events - a->events);
	printf("\"tlb_irqs_by_cpu\":[");
	for (i = 0; i < ncpus_online; i++) {
		printf("%s%llu", i ? "," : "", b->tlb[i] - a->tlb[i]);
		tlb += b->tlb[i] - a->tlb[i];
	}
	printf("],\"tlb_irqs\":%llu,\"threads\":[", tlb);
	for (i = 0; i < opt.ncpus; i++)
		printf("%s{\"cpu\":%d,\"apicid\":%ld,\"ops\":%lu,\"preempted\":%llu}", i ? "," : "",
		       threads[i].cpu, apic_id(threads[i].cpu),
		       b->t[i].ops - a->t[i].ops,
		       b->pre[i] - a->pre[i]);
	/* Keys are bucket floors in ns. */
	printf("],\"munmap_ns\":{");
	for (k = 0, i = 0; k < HIST_BUCKETS; k++) {
		hist = D(hist[k]);
		if (hist)
			printf("%s\"%lu\":%lu", i++ ? "," : "", 1UL << k, hist);
	}
	printf("}");
	if (opt.check) {
		errors = D(poison) + D(stale) + D(w_faults) + D(r_stale) +
			 D(faults[R_RW]) + (D(checks[R_NONE]) - D(faults[R_NONE])) +
			 (D(checks[R_UNMAPPED]) - D(faults[R_UNMAPPED]));
		printf(",\"check\":{\"break\":\"%s\",\"remaps\":%lu,\"r_cycles\":%lu,",
		       opt.brk ? opt.brk : "", b->remaps - a->remaps, b->r_cycles - a->r_cycles);
		printf("\"unacked\":%lu,\"reads\":%lu,\"poison\":%lu,\"stale\":%lu,",
		       b->unacked - a->unacked, D(reads), D(poison), D(stale));
		printf("\"w_faults\":%lu,\"r_stale\":%lu,\"discarded\":%lu",
		       D(w_faults), D(r_stale), D(discarded));
		for (k = R_RW; k < R_KINDS; k++)
			printf(",\"%s_checks\":%lu,\"%s_faults\":%lu", r_kind_name[k],
			       D(checks[k]), r_kind_name[k], D(faults[k]));
		printf(",\"errors\":%lu}", errors);
	}
	printf("}\n");
	fflush(stdout);
	return errors;
}

/* --check: the mutator's work, whole rounds of it, until @end. */
static void mutate(double end, unsigned long *v)
{
	int i;

	do {
		for (i = 0; i < W_PAGES; i++)
			remap_w(i);
		cycle_r(v);
	} while (now() < end);
}

static unsigned long run_window(int w, int ncpus_online, unsigned long *v)
{
	struct snapshot a, b;

	/* The load's threads take the new size with their next mmap(). */
	__atomic_store_n(&cur_pages, opt.pages[(w - 1) % opt.nsizes], __ATOMIC_RELAXED);
	write_file(TRACEFS "/trace", "");
	write_file(TRACEFS "/tracing_on", "1");
	snap(&a, ncpus_online);
	hypercall(MARK_START, w, 0, 0, 0);
	if (opt.check)
		mutate(now() + opt.secs, v);
	else
		usleep(opt.secs * 1e6);
	snap(&b, ncpus_online);
	hypercall(MARK_END, w, ops_done(&a, &b), 0, 0);
	write_file(TRACEFS "/tracing_on", "0");
	return report(w, &a, &b, ncpus_online);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cpus", required_argument, NULL, 'c' },
		{ "pages", required_argument, NULL, 'p' },
		{ "passes", required_argument, NULL, 'P' },
		{ "secs", required_argument, NULL, 't' },
		{ "windows", required_argument, NULL, 'w' },
		{ "settle", required_argument, NULL, 'z' },
		{ "check", no_argument, NULL, 'C' },
		{ "break", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	int c, i, ncpus_online, first = 0;
	unsigned long errors = 0, v = 1;

	page_size = sysconf(_SC_PAGESIZE);
	ncpus_online = sysconf(_SC_NPROCESSORS_ONLN);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opt.ncpus = parse_list(optarg, opt.cpus, MAX_CPUS);
			break;
		case 'p':
			opt.nsizes = parse_list(optarg, opt.pages, MAX_SIZES);
			break;
		case 'P':
			opt.passes = atoi(optarg);
			break;
		case 't':
			opt.secs = atof(optarg);
			break;
		case 'w':
			opt.windows = atoi(optarg);
			break;
		case 'z':
			opt.settle = atof(optarg);
			break;
		case 'C':
			opt.check = 1;
			break;
		case 'b':
			opt.brk = optarg;
			break;
		default:
			fprintf(stderr, "usage: see the top of tlbload.c in bench/\n");
			return 2;
		}
	}
	if (!opt.ncpus)
		for (i = 0; i < ncpus_online && i < MAX_CPUS; i++)
			opt.cpus[opt.ncpus++] = i;
	for (i = 0; i < opt.ncpus; i++) {
		if (opt.cpus[i] < 0 || opt.cpus[i] >= ncpus_online) {
			fprintf(stderr, "tlbload: CPU %d is not online (%d online)\n",
				opt.cpus[i], ncpus_online);
			return 2;
		}
		threads[i].cpu = opt.cpus[i];
	}
	for (i = 0; i < opt.nsizes; i++)
		if (opt.pages[i] < 1)
			opt.nsizes = 0;
	if (opt.ncpus < 2 || opt.nsizes < 1 ||
	    (opt.brk && (!opt.check || (strcmp(opt.brk, "wrong-version") &&
					strcmp(opt.brk, "skip-mprotect"))))) {
		fprintf(stderr, "tlbload: bad options: %s\n",
			"two CPUs or more, --pages 1 or more, --break wrong-version or skip-mprotect with --check");
		return 2;
	}
	detect_kvm();
	trace_setup();
	cur_pages = opt.pages[0];

	/* --check: the mutator is this thread, on the first CPU. */
	if (opt.check) {
		check_setup();
		threads[0].tid = syscall(__NR_gettid);
		pin(threads[0].cpu);
		first = 1;
	}
	for (i = first; i < opt.ncpus; i++) {
		errno = pthread_create(&threads[i].handle, NULL, opt.check ? reader_fn : load_fn,
				       &threads[i]);
		if (errno)
			die("pthread_create");
	}
	while (__atomic_load_n(&running, __ATOMIC_ACQUIRE) < opt.ncpus - first)
		usleep(1000);
	usleep(opt.settle * 1e6);

	for (i = 1; i <= opt.windows; i++)
		errors += run_window(i, ncpus_online, &v);

	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = first; i < opt.ncpus; i++)
		pthread_join(threads[i].handle, NULL);
	if (errors)
		fprintf(stderr, "tlbload: %lu stale reads, missed or unexpected faults\n", errors);
	return errors ? 1 : 0;
}
