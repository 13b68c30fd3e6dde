/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the paravirt workloads that run inside an L2 guest share
 * (bench/ipiload.c, bench/tlbload.c, bench/timerload.c): the window marks
 * that the L1's trace shows (bench/pvl2.py finds them), pinning, and the
 * guest's own counters of interrupts, preemptions and traced events.
 *
 * A mark is a hypercall from user space (CPL 3): RAX MARK_START with
 * RBX = the window's number at its start, RAX MARK_END with RBX = the
 * number and RCX = the operations done at its end. KVM traces a hypercall
 * (kvm:kvm_hypercall, with its number and arguments) before it checks the
 * CPL, and then fails it with -KVM_EPERM: the marks show in the host's
 * trace and cost the guest one exit each.
 */
#ifndef VMF_BENCH_L2LOAD_H
#define VMF_BENCH_L2LOAD_H

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cpuid.h>

/* bench/pvl2.py matches these. */
#define MARK_START	0x564d4601UL
#define MARK_END	0x564d4602UL

static int l2load_amd;

static inline void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what,
		strerror(errno));
	exit(1);
}

static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A KVM hypercall: VMMCALL on AMD, VMCALL on Intel; returns RAX. */
static inline long hypercall(unsigned long nr, unsigned long a0, unsigned long a1,
			     unsigned long a2, unsigned long a3)
{
	long ret;

	if (l2load_amd)
		asm volatile("vmmcall" : "=a"(ret)
			     : "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3) : "memory");
	else
		asm volatile("vmcall" : "=a"(ret)
			     : "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3) : "memory");
	return ret;
}

/*
 * Under KVM? Then which hypercall instruction (the L2 sees its L1's
 * vendor). Exits 2 if not a KVM guest: a mark would then be #UD.
 */
static inline void detect_kvm(void)
{
	unsigned int a, b, c, d;
	char sig[13] = { 0 };

	__cpuid(0x40000000, a, b, c, d);
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	if (strcmp(sig, "KVMKVMKVM")) {
		fprintf(stderr, "%s: not a KVM guest (hypervisor signature '%s')\n",
			program_invocation_short_name, sig);
		exit(2);
	}
	__cpuid(0, a, b, c, d);
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &d, 4);
	memcpy(sig + 8, &c, 4);
	l2load_amd = !strcmp(sig, "AuthenticAMD") || !strcmp(sig, "HygonGenuine");
}

static inline void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
}

/* The APIC ID of a CPU, from /proc/cpuinfo; -1 if not found. */
static inline long apic_id(int cpu)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];
	int cur = -1;
	long id = -1;

	if (!f)
		die("/proc/cpuinfo");
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "processor", 9)) {
			cur = atoi(strchr(line, ':') + 1);
		} else if (cur == cpu && !strncmp(line, "apicid", 6)) {
			id = atol(strchr(line, ':') + 1);
			break;
		}
	}
	fclose(f);
	return id;
}

/*
 * Interrupts of one kind taken by each online CPU so far: the line of
 * /proc/interrupts named @name ("CAL", "TLB"), one column per online CPU
 * in order (all CPUs of these guests are online).
 */
static inline void irq_counts(const char *name, unsigned long long *count, int n)
{
	FILE *f = fopen("/proc/interrupts", "r");
	size_t len = strlen(name);
	char line[4096], *p, *end;
	int i;

	if (!f)
		die("/proc/interrupts");
	memset(count, 0, n * sizeof(*count));
	while (fgets(line, sizeof(line), f)) {
		p = line + strspn(line, " ");
		if (strncmp(p, name, len) || p[len] != ':')
			continue;
		p += len + 1;
		for (i = 0; i < n; i++, p = end) {
			count[i] = strtoull(p, &end, 10);
			if (end == p)
				break;
		}
		break;
	}
	fclose(f);
}

/* "1,2,3" into @list; returns how many numbers, @max at most. */
static inline int parse_list(const char *s, int *list, int max)
{
	char *end;
	int n = 0;

	while (*s && n < max) {
		list[n++] = strtol(s, &end, 10);
		if (end == s)
			break;
		s = *end == ',' ? end + 1 : end;
	}
	return n;
}

/* How often a thread of this process was switched out, involuntarily. */
static inline unsigned long long preemptions(pid_t tid)
{
	char path[64], line[128];
	unsigned long long n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "nonvoluntary_ctxt_switches: %llu", &n) == 1)
			break;
	fclose(f);
	return n;
}

/*
 * The events a tracefs buffer (dir: the tracefs mount or an instance in
 * it) took so far on all CPUs, kept, overwritten or dropped: a count to
 * hold against the host's.
 */
static inline unsigned long long trace_events(const char *dir)
{
	static const char * const keys[] = { "entries: ", "overrun: ", "dropped events: ", NULL };
	unsigned long long n = 0;
	char path[160], line[128];
	int cpu, k;
	FILE *f;

	for (cpu = 0; ; cpu++) {
		snprintf(path, sizeof(path), "%s/per_cpu/cpu%d/stats", dir, cpu);
		f = fopen(path, "r");
		if (!f)
			break;
		while (fgets(line, sizeof(line), f))
			for (k = 0; keys[k]; k++)
				if (!strncmp(line, keys[k], strlen(keys[k])))
					n += strtoull(line + strlen(keys[k]), NULL, 10);
		fclose(f);
	}
	return n;
}

#endif /* VMF_BENCH_L2LOAD_H */
