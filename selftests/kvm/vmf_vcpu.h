/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vCPU threads for the VMF KVM selftests: each runs one vCPU until the
 * guest is done, pinned where the test says, and reports its TID and CPU
 * clock so that the test can give it a policy and measure its CPU time.
 */
#ifndef VMF_VCPU_H
#define VMF_VCPU_H

#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "apic.h"
#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"
#include "vmf_util.h"

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
	vcpu_run(t->vcpu);
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

/* A thread for the vCPU, SCHED_OTHER and pinned to cpu. */
static inline void vcpu_thread_start(struct vcpu_thread *t, struct kvm_vcpu *vcpu, int cpu)
{
	int ret;

	t->vcpu = vcpu;
	t->tid = 0;
	ret = vmf_thread_create(&t->thread, cpu, vcpu_thread_fn, t);
	TEST_ASSERT(!ret, "starting the thread of vCPU %u: %s", vcpu->id, strerror(-ret));
}

static inline int vcpu_thread_started(struct vcpu_thread *t)
{
	return !!__atomic_load_n(&t->tid, __ATOMIC_ACQUIRE);
}

/* A vCPU's binary stat; the 6.12 library only reads VM stats. */
static inline uint64_t read_vcpu_stat(struct kvm_vcpu *vcpu, const char *name)
{
	struct kvm_stats_desc *descs, *desc = NULL;
	struct kvm_stats_header header;
	uint64_t val;
	int fd, i;

	fd = vcpu_get_stats_fd(vcpu);
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
	close(fd);
	return val;
}

/* What the KVM_HC_SCHED_YIELD tests need, or skip. */
static inline void vmf_require_pv_sched_yield(void)
{
	close(open_kvm_dev_path_or_exit());
	vmf_require_cpus(2);
	vmf_require();
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_ENFORCE_PV_FEATURE_CPUID));
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_KVM_PV_SCHED_YIELD));
}

/*
 * Give a vCPU KVM_FEATURE_PV_SCHED_YIELD, enforced, and put it into KVM's
 * APIC map, where kvm_sched_yield() looks its targets up. KVM only builds
 * a vCPU's entry when the map is recalculated after the vCPU was created;
 * like a VMM, set its LAPIC state once all vCPUs exist.
 */
static inline void vmf_vcpu_pv_sched_yield(struct kvm_vcpu *vcpu)
{
	struct kvm_lapic_state lapic;

	vcpu_enable_cap(vcpu, KVM_CAP_ENFORCE_PV_FEATURE_CPUID, 1);
	vcpu_set_cpuid_feature(vcpu, X86_FEATURE_KVM_PV_SCHED_YIELD);
	vcpu_ioctl(vcpu, KVM_GET_LAPIC, &lapic);
	vcpu_ioctl(vcpu, KVM_SET_LAPIC, &lapic);
}

/* A vCPU's APIC ID; its APIC is in xAPIC mode, with the ID in bits 31:24. */
static inline uint32_t vmf_vcpu_apic_id(struct kvm_vcpu *vcpu)
{
	struct kvm_lapic_state lapic;

	vcpu_ioctl(vcpu, KVM_GET_LAPIC, &lapic);
	return GET_APIC_ID_FIELD(*(uint32_t *)&lapic.regs[APIC_ID]);
}

#endif /* VMF_VCPU_H */
