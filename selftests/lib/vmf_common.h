/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers that the SCHED_VMF selftests share: clocks and sleeps, CPUs and
 * pinning, small files, forked children and threads. The project's own
 * KVM tests (selftests/kvm/vmf_*.c, which no series carries) use them too;
 * the paravirt v2 tests of the KVM series do not, so that either series
 * applies alone.
 */
#ifndef VMF_COMMON_H
#define VMF_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <linux/types.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest.h"

#define VMF_NSEC_PER_USEC	1000ULL
#define VMF_NSEC_PER_MSEC	1000000ULL
#define VMF_NSEC_PER_SEC	1000000000ULL

/* Time. */

static inline __u64 vmf_clock_ns(clockid_t clk)
{
	struct timespec ts;

	if (clock_gettime(clk, &ts))
		ksft_exit_fail_perror("clock_gettime");
	return ts.tv_sec * VMF_NSEC_PER_SEC + ts.tv_nsec;
}

static inline __u64 vmf_now_ns(void)
{
	return vmf_clock_ns(CLOCK_MONOTONIC);
}

static inline struct timespec vmf_timespec(__u64 ns)
{
	struct timespec ts = {
		.tv_sec = ns / VMF_NSEC_PER_SEC,
		.tv_nsec = ns % VMF_NSEC_PER_SEC,
	};

	return ts;
}

/* Sleep until CLOCK_MONOTONIC reaches deadline_ns, signals or not. */
static inline void vmf_sleep_until(__u64 deadline_ns)
{
	struct timespec ts = vmf_timespec(deadline_ns);

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static inline void vmf_sleep_ns(__u64 ns)
{
	vmf_sleep_until(vmf_now_ns() + ns);
}

/* Burn ns of the calling thread's CPU time. */
static inline void vmf_burn_ns(__u64 ns)
{
	__u64 start = vmf_clock_ns(CLOCK_THREAD_CPUTIME_ID);

	while (vmf_clock_ns(CLOCK_THREAD_CPUTIME_ID) - start < ns)
		;
}

/* CPUs and files. */

static inline int vmf_nr_cpus(void)
{
	return sysconf(_SC_NPROCESSORS_ONLN);
}

/* Pin a task or thread (0: the calling thread) to one CPU, or to all if cpu < 0. */
static inline int vmf_pin(pid_t pid, int cpu)
{
	cpu_set_t set;
	int i;

	CPU_ZERO(&set);
	for (i = 0; i < vmf_nr_cpus(); i++)
		if (cpu < 0 || cpu == i)
			CPU_SET(i, &set);
	return sched_setaffinity(pid, sizeof(set), &set) ? -errno : 0;
}

/* Read a file into buf (up to len - 1 bytes), trailing whitespace removed; 0 or -errno. */
static inline int vmf_read_file(const char *path, char *buf, size_t len)
{
	ssize_t n = 0;
	size_t got;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* seq_file hands out a long file over several reads. */
	for (got = 0; got < len - 1; got += n) {
		n = read(fd, buf + got, len - 1 - got);
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		if (!n)
			break;
	}
	close(fd);
	n = got;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return 0;
}

/*
 * One write(2) of s to an open fd or to path, as "echo" would do it; 0 or
 * -errno. Only open, write and close: usable from a signal handler.
 */
static inline int vmf_write_fd(int fd, const char *s)
{
	ssize_t len = strlen(s);
	ssize_t n = write(fd, s, len);

	if (n < 0)
		return -errno;
	return n == len ? 0 : -EIO;
}

static inline int vmf_write_file(const char *path, const char *s)
{
	int fd, ret;

	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = vmf_write_fd(fd, s);
	close(fd);
	return ret;
}

/* Processes. */

/* fork(), stdout flushed first; the child dies with its parent. */
static inline pid_t vmf_fork(void)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		ksft_exit_fail_perror("fork");
	if (!pid)
		prctl(PR_SET_PDEATHSIG, SIGKILL);
	return pid;
}

/* Run fn(arg) in a forked child; its return value, or 128 + signal. */
static inline int vmf_run_child(int (*fn)(void *arg), void *arg)
{
	int status;
	pid_t pid;

	pid = vmf_fork();
	if (!pid)
		_exit(fn(arg) & 0xff);
	if (waitpid(pid, &status, 0) != pid)
		ksft_exit_fail_perror("waitpid");
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static inline void vmf_kill_wait(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Threads. */

/*
 * pthread_create() of fn(arg) as SCHED_OTHER, whatever the policy of the
 * creator (a SCHED_FIFO main thread would pass its own on), and pinned to
 * cpu if cpu >= 0. 0 or -errno.
 */
static inline int vmf_thread_create(pthread_t *thread, int cpu, void *(*fn)(void *), void *arg)
{
	struct sched_param sp = { .sched_priority = 0 };
	pthread_attr_t attr;
	cpu_set_t set;
	int ret;

	CPU_ZERO(&set);
	if (cpu >= 0)
		CPU_SET(cpu, &set);
	ret = pthread_attr_init(&attr);
	if (!ret)
		ret = pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
	if (!ret)
		ret = pthread_attr_setschedpolicy(&attr, SCHED_OTHER);
	if (!ret)
		ret = pthread_attr_setschedparam(&attr, &sp);
	if (!ret && cpu >= 0)
		ret = pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	if (!ret)
		ret = pthread_create(thread, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return -ret;
}

static inline void vmf_require_cpus(int n)
{
	if (vmf_nr_cpus() < n)
		ksft_exit_skip("needs %d CPUs, %d online\n", n, vmf_nr_cpus());
}

#endif /* VMF_COMMON_H */
