/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vCPU threads for the paravirt v2 selftests: each runs one vCPU until the
 * guest is done, pinned where the test says, and reports its TID and CPU
 * clock so that the test can give it a policy and measure its CPU time.
 */
#ifndef PV_VCPU_H
#define PV_VCPU_H

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>
#include <linux/time64.h>

#include "apic.h"
#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"

static inline uint64_t pv_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return timespec_to_ns(ts);
}

static inline void pv_require_cpus(int n)
{
	__TEST_REQUIRE(get_nprocs() >= n, "needs %d CPUs, %d online", n, get_nprocs());
}

/*
 * Where the vCPUs of a hung test are. scripts/vm-run-tests.sh sends
 * SIGUSR2 to a KVM test that timed out. The thread that takes it passes
 * it on to each thread that has run a vCPU; there, the signal ends
 * KVM_RUN (vcpu_run() enters again after the handler) and the handler
 * prints the vCPU's RIP and run state, and whether the RIP is in the
 * guest's code: the test's own text, as guest code runs at the addresses
 * it was linked at. QEMU 7.2's nested SVM has resumed vCPUs at addresses
 * of the L1 kernel (README.md), and the runner tells such a hang from one
 * of the test's own by that line.
 */
#define PV_MAX_VCPU_THREADS	64

extern char __executable_start[], etext[];

static pid_t pv_vcpu_tids[PV_MAX_VCPU_THREADS];
static int pv_nr_vcpu_tids;
static __thread struct kvm_vcpu *pv_this_vcpu;	/* in pv_vcpu_run() */
static __thread bool pv_thread_known;

static void pv_hang_report(int sig, siginfo_t *si, void *ctx)
{
	struct kvm_vcpu *vcpu = pv_this_vcpu;
	struct kvm_mp_state mp;
	struct kvm_regs regs;
	char buf[160];
	pid_t tid;
	int i, n;

	if (si->si_code == SI_USER) {
		for (i = 0; i < PV_MAX_VCPU_THREADS; i++) {
			tid = __atomic_load_n(&pv_vcpu_tids[i], __ATOMIC_ACQUIRE);
			if (tid)
				syscall(SYS_tgkill, getpid(), tid, sig);
		}
		return;
	}
	if (!vcpu || ioctl(vcpu->fd, KVM_GET_REGS, &regs) ||
	    ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp))
		return;
	n = snprintf(buf, sizeof(buf),
		     "hung: vCPU %u at RIP %#llx, RFLAGS %#llx, mp_state %u, %s the guest's code\n",
		     vcpu->id, regs.rip, regs.rflags, mp.mp_state,
		     regs.rip >= (uintptr_t)__executable_start && regs.rip < (uintptr_t)etext ?
		     "in" : "outside");
	if (write(STDERR_FILENO, buf, n) != n)
		return;
}

static void pv_hang_report_install(void)
{
	struct sigaction sa = {
		.sa_sigaction = pv_hang_report,
		.sa_flags = SA_SIGINFO,
	};

	TEST_ASSERT(!sigaction(SIGUSR2, &sa, NULL), "sigaction(SIGUSR2)");
}

/* vcpu_run(), from a thread that pv_hang_report() knows. */
static inline void pv_vcpu_run(struct kvm_vcpu *vcpu)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int slot;

	if (!pv_thread_known) {
		pthread_once(&once, pv_hang_report_install);
		slot = __atomic_fetch_add(&pv_nr_vcpu_tids, 1, __ATOMIC_RELAXED);
		TEST_ASSERT(slot < PV_MAX_VCPU_THREADS, "more than %d vCPU threads",
			    PV_MAX_VCPU_THREADS);
		__atomic_store_n(&pv_vcpu_tids[slot], syscall(SYS_gettid), __ATOMIC_RELEASE);
		pv_thread_known = true;
	}
	pv_this_vcpu = vcpu;
	vcpu_run(vcpu);
	pv_this_vcpu = NULL;
}

struct vcpu_thread {
	struct kvm_vcpu *vcpu;
	pthread_t thread;
	clockid_t clock;
	pid_t tid;		/* set, with clock, once the thread runs */
};

static inline void *vcpu_thread_fn(void *arg)
{
	struct vcpu_thread *t = arg;
	struct ucall uc;

	TEST_ASSERT(!pthread_getcpuclockid(pthread_self(), &t->clock),
		    "pthread_getcpuclockid");
	__atomic_store_n(&t->tid, syscall(SYS_gettid), __ATOMIC_RELEASE);
	pv_vcpu_run(t->vcpu);
	switch (get_ucall(t->vcpu, &uc)) {
	case UCALL_DONE:
		break;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
		break;
	default:
		TEST_FAIL("vCPU %u: unexpected exit %s", t->vcpu->id,
			  exit_reason_str(t->vcpu->run->exit_reason));
	}
	return NULL;
}

/*
 * A thread for the vCPU, pinned to cpu if cpu >= 0, and SCHED_OTHER even
 * when the caller is not: a test that samples from a SCHED_FIFO main
 * thread gives each vCPU thread its policy itself.
 */
static inline void vcpu_thread_start(struct vcpu_thread *t, struct kvm_vcpu *vcpu, int cpu)
{
	struct sched_param other = {};
	pthread_attr_t attr;
	cpu_set_t mask;
	int ret;

	t->vcpu = vcpu;
	t->tid = 0;
	CPU_ZERO(&mask);
	if (cpu >= 0)
		CPU_SET(cpu, &mask);
	ret = pthread_attr_init(&attr) ||
	      pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED) ||
	      pthread_attr_setschedpolicy(&attr, SCHED_OTHER) ||
	      pthread_attr_setschedparam(&attr, &other) ||
	      (cpu >= 0 && pthread_attr_setaffinity_np(&attr, sizeof(mask), &mask));
	TEST_ASSERT(!ret, "thread attributes for vCPU %u", vcpu->id);
	ret = pthread_create(&t->thread, &attr, vcpu_thread_fn, t);
	TEST_ASSERT(!ret, "starting the thread of vCPU %u: %s", vcpu->id, strerror(ret));
	pthread_attr_destroy(&attr);
}

static inline int vcpu_thread_started(struct vcpu_thread *t)
{
	return !!__atomic_load_n(&t->tid, __ATOMIC_ACQUIRE);
}

/*
 * A vCPU's binary stat, from its stats fd; the 6.12 library only reads VM
 * stats. Getting the fd takes the vCPU's mutex, reading it does not: a
 * test that reads while the vCPU runs gets the fd first.
 */
static inline uint64_t read_vcpu_stat_fd(int fd, const char *name)
{
	struct kvm_stats_desc *descs, *desc = NULL;
	struct kvm_stats_header header;
	uint64_t val;
	int i;

	read_stats_header(fd, &header);
	descs = read_stats_descriptors(fd, &header);
	for (i = 0; i < header.num_desc; i++) {
		desc = get_stats_descriptor(descs, i, &header);
		if (!strcmp(desc->name, name))
			break;
	}
	TEST_ASSERT(i < header.num_desc, "no vCPU stat %s", name);
	read_stat_data(fd, &header, desc, &val, 1);
	free(descs);
	return val;
}

static inline uint64_t read_vcpu_stat(struct kvm_vcpu *vcpu, const char *name)
{
	int fd = vcpu_get_stats_fd(vcpu);
	uint64_t val = read_vcpu_stat_fd(fd, name);

	close(fd);
	return val;
}

/* A vCPU's APIC ID; its APIC is in xAPIC mode, with the ID in bits 31:24. */
static inline uint32_t pv_vcpu_apic_id(struct kvm_vcpu *vcpu)
{
	struct kvm_lapic_state lapic;

	vcpu_ioctl(vcpu, KVM_GET_LAPIC, &lapic);
	return GET_APIC_ID_FIELD(*(uint32_t *)&lapic.regs[APIC_ID]);
}

#endif /* PV_VCPU_H */
