/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the SCHED_VMF selftests: the sched_setattr() ABI,
 * sysctls that are put back on exit, hog threads and processes whose CPU
 * time is measured, cgroup v2 files, dropping privileges, percentiles.
 *
 * Everything is static inline, so each test stays one translation unit
 * and unused helpers cost nothing.
 */
#ifndef VMF_UTIL_H
#define VMF_UTIL_H

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/types.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest.h"
#include "vmf_common.h"

#ifndef SCHED_VMF
#define SCHED_VMF			8
#endif
#ifndef SCHED_BATCH
#define SCHED_BATCH			3
#endif
#ifndef SCHED_IDLE
#define SCHED_IDLE			5
#endif
#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE			6
#endif
#ifndef SCHED_RESET_ON_FORK
#define SCHED_RESET_ON_FORK		0x40000000
#endif
#ifndef SCHED_FLAG_RESET_ON_FORK
#define SCHED_FLAG_RESET_ON_FORK	0x01
#define SCHED_FLAG_RECLAIM		0x02
#define SCHED_FLAG_DL_OVERRUN		0x04
#define SCHED_FLAG_KEEP_POLICY		0x08
#define SCHED_FLAG_KEEP_PARAMS		0x10
#define SCHED_FLAG_UTIL_CLAMP_MIN	0x20
#define SCHED_FLAG_UTIL_CLAMP_MAX	0x40
#endif
#define VMF_FLAG_KEEP_ALL	(SCHED_FLAG_KEEP_POLICY | SCHED_FLAG_KEEP_PARAMS)

/* sched_priority of a SCHED_VMF task selects its class. */
#define VMF_CLASS_VMM		1
#define VMF_CLASS_VM		2

#define VMF_SLICE_MIN_NS	100000ULL
#define VMF_SLICE_MAX_NS	100000000ULL

/*
 * One tick of the running kernel, in microseconds, from CONFIG_HZ in
 * /proc/config.gz: the deadline class enforces a server's runtime at the
 * tick unless something arms the hrtick, so its blocks can overrun by up
 * to this much. The test kernels run at HZ=250, as Debian's do.
 */
static inline long vmf_tick_us(void)
{
	static long tick_us;
	char line[128];
	long hz = 0;
	FILE *f;

	if (tick_us)
		return tick_us;
	f = popen("zcat /proc/config.gz", "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "CONFIG_HZ=%ld", &hz) == 1)
			break;
	}
	if (f)
		pclose(f);
	if (hz <= 0)
		ksft_exit_fail_msg("no CONFIG_HZ in /proc/config.gz (CONFIG_IKCONFIG_PROC?)\n");
	tick_us = 1000000 / hz;
	return tick_us;
}

#ifndef VMF_SYSCTL_DIR
#define VMF_SYSCTL_DIR		"/proc/sys/kernel/"
#endif
#ifndef VMF_CGROUP_ROOT
#define VMF_CGROUP_ROOT		"/sys/fs/cgroup"
#endif
#define VMF_CGROUP2_MAGIC	0x63677270

#define VMF_NOBODY		65534

/*
 * struct sched_attr, SCHED_ATTR_SIZE_VER1. Our own copy: newer C libraries
 * define struct sched_attr themselves, which would clash with the uapi one.
 */
struct vmf_attr {
	__u32 size;
	__u32 sched_policy;
	__u64 sched_flags;
	__s32 sched_nice;
	__u32 sched_priority;
	__u64 sched_runtime;
	__u64 sched_deadline;
	__u64 sched_period;
	__u32 sched_util_min;
	__u32 sched_util_max;
};

static_assert(sizeof(struct vmf_attr) == 56, "struct sched_attr is 56 bytes");

/* sched_setattr(2); 0 or -errno. */
static inline int vmf_setattr(pid_t pid, const struct vmf_attr *attr)
{
	return syscall(SYS_sched_setattr, pid, attr, 0) ? -errno : 0;
}

/* sched_getattr(2) into a zeroed *attr; 0 or -errno. */
static inline int vmf_getattr(pid_t pid, struct vmf_attr *attr)
{
	memset(attr, 0, sizeof(*attr));
	return syscall(SYS_sched_getattr, pid, attr, sizeof(*attr), 0) ? -errno : 0;
}

static inline struct vmf_attr vmf_mkattr(int policy, int prio, int nice,
					 __u64 slice_ns, __u64 flags)
{
	struct vmf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.sched_policy = policy;
	attr.sched_priority = prio;
	attr.sched_nice = nice;
	attr.sched_runtime = slice_ns;
	attr.sched_flags = flags;
	return attr;
}

/*
 * Set the policy of a task or thread (0: the calling thread). prio is the
 * RT priority or the SCHED_VMF class, slice_ns 0 the default; 0 or -errno.
 */
static inline int vmf_set(pid_t pid, int policy, int prio, int nice, __u64 slice_ns)
{
	struct vmf_attr attr = vmf_mkattr(policy, prio, nice, slice_ns, 0);

	return vmf_setattr(pid, &attr);
}

static inline const char *vmf_policy_name(int policy)
{
	policy &= ~SCHED_RESET_ON_FORK;
	if (policy == SCHED_VMF)
		return "SCHED_VMF";
	switch (policy) {
	case SCHED_OTHER: return "SCHED_OTHER";
	case SCHED_FIFO: return "SCHED_FIFO";
	case SCHED_RR: return "SCHED_RR";
	case SCHED_BATCH: return "SCHED_BATCH";
	case SCHED_IDLE: return "SCHED_IDLE";
	case SCHED_DEADLINE: return "SCHED_DEADLINE";
	default: return "unknown policy";
	}
}

/* "SCHED_VMF prio 2 nice 0 slice 3000000 flags 0x0" into buf. */
static inline const char *vmf_attr_str(const struct vmf_attr *a, char *buf, size_t len)
{
	snprintf(buf, len, "%s prio %u nice %d slice %llu flags 0x%llx",
		 vmf_policy_name(a->sched_policy), a->sched_priority, a->sched_nice,
		 (unsigned long long)a->sched_runtime,
		 (unsigned long long)a->sched_flags);
	return buf;
}

/* Policy, class/priority, nice, slice and flags are all the same. */
static inline int vmf_attr_equal(const struct vmf_attr *a, const struct vmf_attr *b)
{
	return a->sched_policy == b->sched_policy &&
	       a->sched_priority == b->sched_priority &&
	       a->sched_nice == b->sched_nice &&
	       a->sched_runtime == b->sched_runtime &&
	       a->sched_flags == b->sched_flags;
}

/* Sysctls. */

static inline int vmf_sysctl_read(const char *name, char *buf, size_t len)
{
	char path[256];

	snprintf(path, sizeof(path), VMF_SYSCTL_DIR "%s", name);
	return vmf_read_file(path, buf, len);
}

/* Read an integer sysctl of /proc/sys/kernel/; exits failing if it cannot. */
static inline long vmf_sysctl_get(const char *name)
{
	char buf[64], *end;
	long val;
	int ret;

	ret = vmf_sysctl_read(name, buf, sizeof(buf));
	if (ret)
		ksft_exit_fail_msg("reading %s: %s\n", name, strerror(-ret));
	val = strtol(buf, &end, 10);
	if (end == buf || *end)
		ksft_exit_fail_msg("%s reads \"%s\", not a number\n", name, buf);
	return val;
}

/* Write a string (a newline is added) to a sysctl of /proc/sys/kernel/. */
static inline int vmf_sysctl_write(const char *name, const char *s)
{
	char path[256], val[128];

	snprintf(path, sizeof(path), VMF_SYSCTL_DIR "%s", name);
	snprintf(val, sizeof(val), "%s\n", s);
	return vmf_write_file(path, val);
}

static inline int vmf_sysctl_set(const char *name, long val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", val);
	return vmf_sysctl_write(name, buf);
}

/*
 * Sysctls saved by vmf_sysctl_save() are written back when the test exits,
 * normally or by SIGTERM/SIGINT (the runner's timeout), in reverse order.
 */
#define VMF_MAX_SAVED	8

struct vmf_saved_sysctls {
	pid_t owner;
	int n;
	char path[VMF_MAX_SAVED][256];
	char val[VMF_MAX_SAVED][96];
};

static inline struct vmf_saved_sysctls *vmf_saved_sysctls(void)
{
	static struct vmf_saved_sysctls saved;

	return &saved;
}

static inline void vmf_sysctl_restore_all(void)
{
	struct vmf_saved_sysctls *s = vmf_saved_sysctls();
	int i;

	/* Forked children inherit the atexit handler: only the saver restores. */
	if (s->owner != getpid())
		return;
	for (i = s->n - 1; i >= 0; i--)
		vmf_write_file(s->path[i], s->val[i]);
}

static inline void vmf_sysctl_restore_signal(int sig)
{
	vmf_sysctl_restore_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Remember a sysctl's value, to be restored at exit; exits failing if it cannot. */
static inline void vmf_sysctl_save(const char *name)
{
	struct vmf_saved_sysctls *s = vmf_saved_sysctls();
	char buf[64];
	int ret;

	if (s->n == VMF_MAX_SAVED)
		ksft_exit_fail_msg("too many saved sysctls\n");
	ret = vmf_sysctl_read(name, buf, sizeof(buf));
	if (ret)
		ksft_exit_fail_msg("reading %s: %s\n", name, strerror(-ret));
	if (!s->n) {
		s->owner = getpid();
		atexit(vmf_sysctl_restore_all);
		signal(SIGTERM, vmf_sysctl_restore_signal);
		signal(SIGINT, vmf_sysctl_restore_signal);
	}
	snprintf(s->path[s->n], sizeof(s->path[0]), VMF_SYSCTL_DIR "%s", name);
	snprintf(s->val[s->n], sizeof(s->val[0]), "%s\n", buf);
	s->n++;
}

/* Privileges. */

static inline int vmf_have_cap(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	return !!(data[cap / 32].effective & (1U << (cap % 32)));
}

/* Drop one capability from the effective, permitted and inheritable sets. */
static inline int vmf_drop_cap(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	__u32 bit = 1U << (cap % 32);

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[cap / 32].effective &= ~bit;
	data[cap / 32].permitted &= ~bit;
	data[cap / 32].inheritable &= ~bit;
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	return vmf_have_cap(cap) ? -EPERM : 0;
}

/*
 * Become an unprivileged task: RLIMIT_RTPRIO = rtprio (set while we still
 * may), then user and group nobody, which clears every capability. 0 if
 * CAP_SYS_NICE is gone afterwards, else -errno.
 */
static inline int vmf_become_nobody(int rtprio)
{
	struct rlimit rl = { .rlim_cur = rtprio, .rlim_max = rtprio };

	if (setrlimit(RLIMIT_RTPRIO, &rl)) {
		ksft_perror("setrlimit(RLIMIT_RTPRIO)");
		return -errno;
	}
	if (prctl(PR_SET_KEEPCAPS, 0) || setgroups(0, NULL) ||
	    setresgid(VMF_NOBODY, VMF_NOBODY, VMF_NOBODY) ||
	    setresuid(VMF_NOBODY, VMF_NOBODY, VMF_NOBODY)) {
		ksft_perror("becoming nobody");
		return -errno;
	}
	if (vmf_have_cap(CAP_SYS_NICE)) {
		ksft_print_msg("still CAP_SYS_NICE as nobody\n");
		return -EPERM;
	}
	return 0;
}

/*
 * Make the calling thread SCHED_FIFO prio on cpu, so that it samples on
 * time next to the tasks it measures; the test fails if it cannot.
 */
static inline void vmf_sampler_fifo(int cpu, int prio)
{
	int ret = vmf_pin(0, cpu);

	if (!ret)
		ret = vmf_set(0, SCHED_FIFO, prio, 0, 0);
	if (ret)
		ksft_exit_fail_msg("the test thread to SCHED_FIFO %d on CPU %d: %s\n",
				   prio, cpu, strerror(-ret));
}

/* Skips. */

static inline int vmf_probe_child(void *arg)
{
	return -vmf_set(0, SCHED_VMF, VMF_CLASS_VMM, 0, 0);
}

/*
 * Exit with KSFT_SKIP unless we are root on a kernel with SCHED_VMF. A
 * kernel without it refuses policy 8 with EINVAL and has no VMF sysctls;
 * a kernel that has one of the two and not the other is broken: fail.
 */
static inline void vmf_require(void)
{
	int has_sysctl, ret;

	if (geteuid() != 0)
		ksft_exit_skip("must run as root\n");
	has_sysctl = !access(VMF_SYSCTL_DIR "sched_vmf_slice_us", F_OK);
	ret = vmf_run_child(vmf_probe_child, NULL);
	if (ret == EINVAL && !has_sysctl)
		ksft_exit_skip("kernel without SCHED_VMF\n");
	if (ret)
		ksft_exit_fail_msg("a root task cannot become SCHED_VMF: %s (sysctls %s)\n",
				   strerror(ret), has_sysctl ? "present" : "missing");
	if (!has_sysctl)
		ksft_exit_fail_msg("SCHED_VMF works but %ssched_vmf_slice_us is missing\n",
				   VMF_SYSCTL_DIR);
}

/* Hog threads. */

/*
 * A thread pinned to cpu (-1: not pinned) with policy/prio/nice that spins
 * until stopped, or, if run_ns is set, burns run_ns of CPU time and sleeps
 * sleep_ns in a loop. Its CPU time can be read through clock at any time.
 * Fill in the first part, then vmf_hog_start().
 */
struct vmf_hog {
	int cpu;
	int policy;
	int prio;
	int nice;
	__u64 run_ns;
	__u64 sleep_ns;

	pthread_t thread;
	clockid_t clock;
	pid_t tid;
	int err;
	int ready;
	int stop;
};

static inline void *vmf_hog_fn(void *arg)
{
	struct vmf_hog *h = arg;

	h->tid = syscall(SYS_gettid);
	h->err = -pthread_getcpuclockid(pthread_self(), &h->clock);
	__atomic_store_n(&h->ready, 1, __ATOMIC_RELEASE);
	if (h->err)
		return NULL;

	while (!__atomic_load_n(&h->stop, __ATOMIC_RELAXED)) {
		if (!h->run_ns)
			continue;
		vmf_burn_ns(h->run_ns);
		vmf_sleep_ns(h->sleep_ns);
	}
	return NULL;
}

/*
 * Start a hog; 0 or -errno. It starts as SCHED_OTHER on its CPU and the
 * caller gives it its policy: a hog that made itself, say, vmm next to a
 * vm hog could wait a long time before it could report back.
 */
static inline int vmf_hog_start(struct vmf_hog *h)
{
	int ret;

	h->err = 0;
	h->ready = 0;
	h->stop = 0;
	ret = vmf_thread_create(&h->thread, h->cpu, vmf_hog_fn, h);
	if (ret)
		return ret;
	while (!__atomic_load_n(&h->ready, __ATOMIC_ACQUIRE))
		usleep(1000);
	if (!h->err)
		h->err = vmf_set(h->tid, h->policy, h->prio, h->nice, 0);
	if (h->err) {
		__atomic_store_n(&h->stop, 1, __ATOMIC_RELAXED);
		pthread_join(h->thread, NULL);
	}
	return h->err;
}

static inline void vmf_hog_stop(struct vmf_hog *h)
{
	__atomic_store_n(&h->stop, 1, __ATOMIC_RELAXED);
	pthread_join(h->thread, NULL);
}

/*
 * Stop n hogs: all flags first, then the joins. A hog waiting behind
 * another of a higher class or level only sees its flag once that one
 * has stopped too.
 */
static inline void vmf_hogs_stop(struct vmf_hog *h, int n)
{
	int i;

	for (i = 0; i < n; i++)
		__atomic_store_n(&h[i].stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < n; i++)
		pthread_join(h[i].thread, NULL);
}

/* Statistics. */

static inline int vmf_cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

static inline void vmf_sort_u64(__u64 *v, size_t n)
{
	qsort(v, n, sizeof(*v), vmf_cmp_u64);
}

/* The pct-th percentile (nearest rank) of n sorted values. */
static inline __u64 vmf_percentile(const __u64 *sorted, size_t n, double pct)
{
	size_t rank;

	if (!n)
		return 0;
	rank = (size_t)(pct / 100.0 * n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

#define VMF_MAX_HOGS	16

/*
 * CPU time consumed through each of n clocks over a window of window_ns,
 * in cpu_ns[], and the window's length in *wall_ns.
 */
static inline void vmf_measure(const clockid_t *clocks, int n, __u64 window_ns,
			       __u64 *cpu_ns, __u64 *wall_ns)
{
	__u64 start = vmf_now_ns();
	int i;

	for (i = 0; i < n; i++)
		cpu_ns[i] = vmf_clock_ns(clocks[i]);
	vmf_sleep_until(start + window_ns);
	for (i = 0; i < n; i++)
		cpu_ns[i] = vmf_clock_ns(clocks[i]) - cpu_ns[i];
	*wall_ns = vmf_now_ns() - start;
}

/*
 * Like vmf_measure(), for shares: the window is cut into VMF_SLICES slices
 * and cpu_ns[i] is clock i's median share of a slice times the whole
 * window's length in *wall_ns.
 *
 * Why the median: under TCG the host may stop a vCPU thread of the test VM
 * for a second or more. The guest charges that time to whichever task was
 * current. In one CI run a 10 s window took 11.4 s, and one CPU's host hog
 * got 20.6% of it where the other CPU's got 9.4%, as in every other run.
 * A stall spoils one slice; a scheduler that gets a share wrong gets it
 * wrong in most of them. A slice that ends over 50 ms late is reported, as
 * the sign of such a stall.
 */
#define VMF_SLICES		10
#define VMF_SLICE_LATE_NS	(50 * VMF_NSEC_PER_MSEC)

static inline void vmf_measure_median(const clockid_t *clocks, int n, __u64 window_ns,
				      __u64 *cpu_ns, __u64 *wall_ns)
{
	__u64 ppm[VMF_SLICES], slice_cpu[VMF_MAX_HOGS], slice_wall, slice_ns;
	__u64 share[VMF_MAX_HOGS][VMF_SLICES];
	__u64 start = vmf_now_ns();
	int i, s;

	assert(n <= VMF_MAX_HOGS);
	slice_ns = window_ns / VMF_SLICES;
	for (s = 0; s < VMF_SLICES; s++) {
		vmf_measure(clocks, n, slice_ns, slice_cpu, &slice_wall);
		if (slice_wall > slice_ns + VMF_SLICE_LATE_NS)
			ksft_print_msg("slice %d of %d ended %llu ms late: the VM was stalled?\n",
				       s + 1, VMF_SLICES,
				       (slice_wall - slice_ns) / VMF_NSEC_PER_MSEC);
		for (i = 0; i < n; i++)
			share[i][s] = slice_cpu[i] * 1000000 / slice_wall;
	}
	*wall_ns = vmf_now_ns() - start;
	for (i = 0; i < n; i++) {
		memcpy(ppm, share[i], sizeof(ppm));
		vmf_sort_u64(ppm, VMF_SLICES);
		cpu_ns[i] = (ppm[VMF_SLICES / 2 - 1] + ppm[VMF_SLICES / 2]) / 2 *
			    *wall_ns / 1000000;
	}
}

/*
 * Start n hogs, let them settle for warmup_ns, measure their CPU time over
 * window_ns with vmf_measure_median() (into cpu_ns[] and *wall_ns), stop
 * them. 0 or the -errno of the first hog that could not start; then
 * nothing is measured.
 */
static inline int vmf_hogs_run(struct vmf_hog *h, int n, __u64 warmup_ns,
			       __u64 window_ns, __u64 *cpu_ns, __u64 *wall_ns)
{
	clockid_t clocks[VMF_MAX_HOGS];
	int i, ret = 0;

	if (n > VMF_MAX_HOGS)
		return -E2BIG;
	for (i = 0; i < n; i++) {
		ret = vmf_hog_start(&h[i]);
		if (ret) {
			ksft_print_msg("hog %d (%s prio %d nice %d, CPU %d): %s\n", i,
				       vmf_policy_name(h[i].policy), h[i].prio, h[i].nice,
				       h[i].cpu, strerror(-ret));
			break;
		}
		clocks[i] = h[i].clock;
	}
	if (!ret) {
		vmf_sleep_ns(warmup_ns);
		vmf_measure_median(clocks, n, window_ns, cpu_ns, wall_ns);
	}
	vmf_hogs_stop(h, i);
	return ret;
}

/*
 * A hog process pinned to cpu: spins until killed, dies with its parent.
 * Its CPU time is read through *clock. Returns the pid.
 */
static inline pid_t vmf_hog_process(int cpu, clockid_t *clock)
{
	int pipefd[2], ret;
	pid_t pid;
	char c;

	if (pipe(pipefd))
		ksft_exit_fail_perror("pipe");
	pid = vmf_fork();
	if (!pid) {
		c = vmf_pin(0, cpu) ? 'E' : 'R';
		if (write(pipefd[1], &c, 1) != 1 || c != 'R')
			_exit(1);
		for (;;)
			;
	}
	close(pipefd[1]);
	if (read(pipefd[0], &c, 1) != 1 || c != 'R')
		ksft_exit_fail_msg("hog process could not pin itself to CPU %d\n", cpu);
	close(pipefd[0]);
	ret = clock_getcpuclockid(pid, clock);
	if (ret)
		ksft_exit_fail_msg("clock_getcpuclockid: %s\n", strerror(ret));
	return pid;
}

/* cgroup v2. group is relative to the cgroup2 root, "" for the root. */

static inline void vmf_cg_path(char *buf, size_t len, const char *group, const char *file)
{
	snprintf(buf, len, "%s%s%s%s%s", VMF_CGROUP_ROOT, *group ? "/" : "", group,
		 file ? "/" : "", file ? file : "");
}

static inline int vmf_cg_read(const char *group, const char *file, char *buf, size_t len)
{
	char path[512];

	vmf_cg_path(path, sizeof(path), group, file);
	return vmf_read_file(path, buf, len);
}

/* Write s plus a newline, as "echo s > file" does. */
static inline int vmf_cg_write(const char *group, const char *file, const char *s)
{
	char path[512], val[128];

	vmf_cg_path(path, sizeof(path), group, file);
	snprintf(val, sizeof(val), "%s\n", s);
	return vmf_write_file(path, val);
}

static inline int vmf_cg_has(const char *group, const char *file)
{
	char path[512];

	vmf_cg_path(path, sizeof(path), group, file);
	return !access(path, F_OK);
}

static inline int vmf_cg_attach(const char *group, pid_t pid)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d", pid);
	return vmf_cg_write(group, "cgroup.procs", buf);
}

static inline int vmf_cg_mkdir(const char *group)
{
	char path[512];

	vmf_cg_path(path, sizeof(path), group, NULL);
	return mkdir(path, 0755) ? -errno : 0;
}

/* rmdir, retrying while the last exited tasks are being taken out. */
static inline int vmf_cg_rmdir(const char *group)
{
	char path[512];
	int i;

	vmf_cg_path(path, sizeof(path), group, NULL);
	for (i = 0; i < 100; i++) {
		if (!rmdir(path) || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			break;
		usleep(10000);
	}
	return -errno;
}

/* Whether the space-separated list has word in it. */
static inline int vmf_has_word(const char *list, const char *word)
{
	size_t len = strlen(word);
	const char *p = list;

	while ((p = strstr(p, word))) {
		if ((p == list || p[-1] == ' ') && (p[len] == ' ' || !p[len]))
			return 1;
		p += len;
	}
	return 0;
}

/*
 * Exit with KSFT_SKIP unless cgroup v2 with the cpu controller is mounted,
 * and enable the cpu controller for the root's children. 1 if this call
 * enabled it (the test should disable it again when done), else 0.
 */
static inline int vmf_cg_require_cpu(void)
{
	char buf[512];
	struct statfs sfs;
	int ret;

	if (statfs(VMF_CGROUP_ROOT, &sfs) || sfs.f_type != VMF_CGROUP2_MAGIC)
		ksft_exit_skip("no cgroup2 at " VMF_CGROUP_ROOT "\n");
	ret = vmf_cg_read("", "cgroup.controllers", buf, sizeof(buf));
	if (ret || !vmf_has_word(buf, "cpu"))
		ksft_exit_skip("no cpu controller in cgroup2\n");
	ret = vmf_cg_read("", "cgroup.subtree_control", buf, sizeof(buf));
	if (ret)
		ksft_exit_fail_msg("reading cgroup.subtree_control: %s\n", strerror(-ret));
	if (vmf_has_word(buf, "cpu"))
		return 0;
	ret = vmf_cg_write("", "cgroup.subtree_control", "+cpu");
	if (ret)
		ksft_exit_fail_msg("enabling the cpu controller: %s\n", strerror(-ret));
	return 1;
}

/* Threads, placement and per-thread scheduler state. */

/*
 * Set the affinity of a task or thread (0: the calling thread) to the CPUs
 * whose bits are set in mask, CPU n being bit n; 0 or -errno. Unlike
 * vmf_pin(), it does not depend on which CPUs are online.
 */
static inline int vmf_set_cpus(pid_t pid, unsigned long mask)
{
	cpu_set_t set;
	unsigned int i;

	CPU_ZERO(&set);
	for (i = 0; i < 8 * sizeof(mask); i++)
		if (mask & (1UL << i))
			CPU_SET(i, &set);
	return sched_setaffinity(pid, sizeof(set), &set) ? -errno : 0;
}

/* The affinity of a task or thread as a mask of the first 64 CPUs, or -errno. */
static inline long vmf_get_cpus(pid_t pid)
{
	unsigned long mask = 0;
	cpu_set_t set;
	unsigned int i;

	if (sched_getaffinity(pid, sizeof(set), &set))
		return -errno;
	for (i = 0; i < 8 * sizeof(mask) - 1; i++)
		if (CPU_ISSET(i, &set))
			mask |= 1UL << i;
	return mask;
}

/* The CPU a thread runs or last ran on: field 39 of its stat file; or -errno. */
static inline int vmf_task_cpu(pid_t pid, pid_t tid)
{
	char path[64], buf[1024], *p;
	int field, ret;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	ret = vmf_read_file(path, buf, sizeof(buf));
	if (ret)
		return ret;
	/* The comm (field 2) may hold spaces: count from its closing parenthesis. */
	p = strrchr(buf, ')');
	for (field = 2; p && field < 39; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return -EINVAL;
	return atoi(p + 1);
}

/*
 * A numeric line of /proc/PID/task/TID/sched ("prio", "policy", ...), such
 * as "prio    :    100", into *val. 0, -ENOENT if there is no such line,
 * or -errno.
 */
static inline int vmf_sched_field(pid_t pid, pid_t tid, const char *key, long long *val)
{
	char path[64], line[256], name[128];
	int ret = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/sched", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %127[^: ] : %lld", name, val) == 2 && !strcmp(name, key)) {
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

/*
 * Kernel priorities (p->prio, the "prio" of /proc/PID/sched) with
 * CONFIG_SCHED_CLASS_VMF: RT 0..98, then vm, vmm, then the nice levels.
 */
#define VMF_KPRIO_VM		100
#define VMF_KPRIO_VMM		101
#define VMF_KPRIO_NICE_0	122

/* The unboosted kernel priority of a task with these attributes. */
static inline int vmf_kprio(int policy, int prio, int nice)
{
	policy &= ~SCHED_RESET_ON_FORK;
	if (policy == SCHED_VMF)
		return prio == VMF_CLASS_VM ? VMF_KPRIO_VM : VMF_KPRIO_VMM;
	if (policy == SCHED_FIFO || policy == SCHED_RR)
		return 99 - prio;
	return VMF_KPRIO_NICE_0 + nice;
}

/* CPU hotplug. */

/* Whether a CPU is online: 1, 0, or -errno (CPU 0 of x86 has no such file). */
static inline int vmf_cpu_online(int cpu)
{
	char path[96], buf[16];
	int ret;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
	ret = vmf_read_file(path, buf, sizeof(buf));
	if (ret)
		return ret;
	return !strcmp(buf, "1");
}

/*
 * Take a CPU offline or bring it online, retrying for up to 10 s while
 * another hotplug operation makes the write fail with EBUSY; 0 or -errno.
 */
static inline int vmf_cpu_set_online(int cpu, int online)
{
	struct timespec ts = { .tv_nsec = 100 * VMF_NSEC_PER_MSEC };
	char path[96];
	int i, ret;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
	for (i = 0; i < 100; i++) {
		ret = vmf_write_file(path, online ? "1\n" : "0\n");
		if (ret != -EBUSY && ret != -EAGAIN)
			break;
		nanosleep(&ts, NULL);
	}
	return ret;
}

#endif /* VMF_UTIL_H */
