// SPDX-License-Identifier: GPL-2.0
/*
 * Directed yield between vCPU threads, KVM_HC_SCHED_YIELD, with the vCPU
 * threads as SCHED_VMF vm, SCHED_FIFO 10 and SCHED_OTHER, in the same run.
 *
 * A VM with two vCPUs whose threads share CPU 1: vCPU 0 issues
 * KVM_HC_SCHED_YIELD at vCPU 1's APIC ID in a loop, vCPU 1 spins. vCPU 0
 * only runs while vCPU 1 is preempted inside KVM_RUN, so every hypercall
 * finds its target as kvm_sched_yield() wants it (target->ready, runnable,
 * not on a CPU) and goes on to kvm_vcpu_yield_to(), i.e. yield_to(). Each
 * policy gets a fresh VM for 3 s or MAX_HYPERCALLS hypercalls; then vCPU
 * 0's directed_yield_attempted and directed_yield_successful stats are
 * read. In every phase attempted must equal the hypercalls the guest made:
 * each of them reached kvm_sched_yield(), which also shows that the guest's
 * CPUID has KVM_FEATURE_PV_SCHED_YIELD (KVM enforces it here). Then:
 *
 * - SCHED_VMF vm: yield_to_task_vmf() succeeds for every target that is
 *   queued and not running, so all attempts should succeed; at least
 *   VMF_MIN_PCT% must, the rest of the margin being for vCPU 1 blocking in
 *   the host now and then (a page fault, say). And the target ran: vCPU 1
 *   got at least TARGET_MIN_PCT% of the CPU time the two threads had,
 *   because vCPU 0 gives the CPU away at every hypercall. Were the
 *   attempts counted as successful without the yield, the two would share
 *   the CPU half and half, by weight.
 * - SCHED_FIFO 10: the RT class has no yield_to_task, yield_to() returns 0
 *   and no attempt may succeed. This is what vCPUs moved to FIFO lose: the
 *   preempted vCPU 1 does not run at all while vCPU 0 spins (its share is
 *   printed, not checked).
 * - SCHED_OTHER: some attempts succeed: the mechanism works at all.
 *
 * The order of the setup matters for FIFO. The main thread is SCHED_FIFO
 * 50 on CPU 0, so a vCPU thread never starves it. vCPU 0 starts on CPU 1
 * and vCPU 1 on CPU 0, both SCHED_OTHER; once both are in the guest they
 * get the phase's policy, vCPU 0 first, and only then is vCPU 1 moved to
 * CPU 1. Arriving there queued, it cannot preempt vCPU 0 of the same FIFO
 * priority (both are pinned, so the RT class does not push either away).
 * Had vCPU 1 been on CPU 1 already, its policy could change while it ran,
 * served by the fair server, and then it would keep the CPU instead.
 */
#include <linux/kvm_para.h>

#include "vmf_yield.h"

#define NR_VCPUS		2
#define YIELDER			0	/* vCPU 0 issues the hypercalls */
#define SPINNER			1	/* vCPU 1 is their target */
#define MAIN_CPU		0
#define VCPU_CPU		1
#define MAIN_FIFO_PRIO		50
#define VCPU_FIFO_PRIO		10
#define PHASE_NS		(3 * VMF_NSEC_PER_SEC)
#define WAIT_TIMEOUT_NS		(30 * VMF_NSEC_PER_SEC)
#define MAX_HYPERCALLS		100000
#define MIN_ATTEMPTS		20
#define VMF_MIN_PCT		90
#define TARGET_MIN_PCT		75
#define RT_RUNTIME		"sched_rt_runtime_us"

/* Shared by the guest and the main thread, which writes it through its hva. */
struct shared {
	uint64_t target_apic_id;	/* main: vCPU 1's APIC ID */
	uint64_t go;			/* main: start yielding */
	uint64_t stop;			/* main: stop yielding */
	uint64_t yielder_ready;		/* vCPU 0: in the guest */
	uint64_t hypercalls;		/* vCPU 0: KVM_HC_SCHED_YIELD made */
	uint64_t yielder_done;		/* vCPU 0: done, vCPU 1 may stop */
	uint64_t spins;			/* vCPU 1: loop iterations */
};

static struct shared shared;

/* sched_rt_runtime_us as it was, put back after the FIFO phase and at exit. */
static char rt_runtime[64];

static void guest_yielder(void)
{
	uint64_t target, n = 0, ret;

	GUEST_ASSERT(this_cpu_has(X86_FEATURE_KVM_PV_SCHED_YIELD));
	WRITE_ONCE(shared.yielder_ready, 1);
	while (!READ_ONCE(shared.go))
		;
	target = READ_ONCE(shared.target_apic_id);
	while (!READ_ONCE(shared.stop) && n < MAX_HYPERCALLS) {
		ret = kvm_hypercall(KVM_HC_SCHED_YIELD, target, 0, 0, 0);
		GUEST_ASSERT_EQ(ret, 0);
		WRITE_ONCE(shared.hypercalls, ++n);
	}
	WRITE_ONCE(shared.yielder_done, 1);
}

/* No PAUSE: on hardware, pause-loop exits would make vCPU 1 yield itself. */
static void guest_spinner(void)
{
	while (!READ_ONCE(shared.yielder_done))
		WRITE_ONCE(shared.spins, shared.spins + 1);
}

static void guest_code(uint64_t id)
{
	if (id == YIELDER)
		guest_yielder();
	else
		guest_spinner();
	GUEST_DONE();
}

struct phase {
	const char *name;
	int policy;
	int prio;
	uint64_t hypercalls;	/* made by vCPU 0 */
	uint64_t attempted;	/* vCPU 0's directed_yield_attempted */
	uint64_t successful;	/* vCPU 0's directed_yield_successful */
	uint64_t spins;		/* vCPU 1's loop iterations while vCPU 0 yielded */
	uint64_t ms;
	uint64_t cpu_ns[NR_VCPUS];	/* each vCPU thread's CPU time meanwhile */
};

static struct phase phases[] = {
	{ .name = "SCHED_VMF vm", .policy = SCHED_VMF, .prio = VMF_CLASS_VM },
	{ .name = "SCHED_FIFO 10", .policy = SCHED_FIFO, .prio = VCPU_FIFO_PRIO },
	{ .name = "SCHED_OTHER", .policy = SCHED_OTHER, .prio = 0 },
};

static void run_phase(struct phase *ph)
{
	struct vcpu_thread threads[NR_VCPUS];
	struct kvm_vcpu *vcpus[NR_VCPUS];
	uint64_t start, deadline, spins, cpu0[NR_VCPUS];
	struct shared *hs;
	struct kvm_vm *vm;
	int i, ret;

	vm = vm_create_with_vcpus(NR_VCPUS, guest_code, vcpus);
	for (i = 0; i < NR_VCPUS; i++) {
		vcpu_args_set(vcpus[i], 1, i);
		vmf_vcpu_pv_sched_yield(vcpus[i]);
	}
	hs = addr_gva2hva(vm, (vm_vaddr_t)&shared);
	hs->target_apic_id = pv_vcpu_apic_id(vcpus[SPINNER]);

	for (i = 0; i < NR_VCPUS; i++)
		vcpu_thread_start(&threads[i], vcpus[i], i == YIELDER ? VCPU_CPU : MAIN_CPU);
	deadline = vmf_now_ns() + WAIT_TIMEOUT_NS;
	while (!vcpu_thread_started(&threads[YIELDER]) ||
	       !vcpu_thread_started(&threads[SPINNER]) ||
	       !READ_ONCE(hs->yielder_ready) || !READ_ONCE(hs->spins)) {
		TEST_ASSERT(vmf_now_ns() < deadline, "%s: the vCPUs did not enter the guest",
			    ph->name);
		vmf_sleep_ns(VMF_NSEC_PER_MSEC);
	}

	if (ph->policy == SCHED_FIFO) {
		ret = vmf_sysctl_write(RT_RUNTIME, "-1");
		if (ret)
			ksft_exit_fail_msg("writing -1 to %s: %s\n", RT_RUNTIME, strerror(-ret));
	}
	/* vCPU 0 first, then vCPU 1, then vCPU 1 joins vCPU 0 on its CPU. */
	for (i = 0; i < NR_VCPUS; i++) {
		ret = vmf_set(threads[i].tid, ph->policy, ph->prio, 0, 0);
		if (ret)
			ksft_exit_fail_msg("%s for the thread of vCPU %d: %s\n", ph->name, i,
					   strerror(-ret));
	}
	ret = vmf_pin(threads[SPINNER].tid, VCPU_CPU);
	if (ret)
		ksft_exit_fail_msg("moving vCPU 1 to CPU %d: %s\n", VCPU_CPU, strerror(-ret));

	spins = READ_ONCE(hs->spins);
	for (i = 0; i < NR_VCPUS; i++)
		cpu0[i] = vmf_clock_ns(threads[i].clock);
	start = vmf_now_ns();
	WRITE_ONCE(hs->go, 1);
	while (vmf_now_ns() - start < PHASE_NS && !READ_ONCE(hs->yielder_done))
		vmf_sleep_ns(10 * VMF_NSEC_PER_MSEC);
	ph->spins = READ_ONCE(hs->spins) - spins;
	for (i = 0; i < NR_VCPUS; i++)
		ph->cpu_ns[i] = vmf_clock_ns(threads[i].clock) - cpu0[i];
	WRITE_ONCE(hs->stop, 1);
	ph->ms = (vmf_now_ns() - start) / VMF_NSEC_PER_MSEC;

	deadline = vmf_now_ns() + WAIT_TIMEOUT_NS;
	while (!READ_ONCE(hs->yielder_done)) {
		TEST_ASSERT(vmf_now_ns() < deadline, "%s: vCPU 0 did not stop, %lu hypercalls made",
			    ph->name, READ_ONCE(hs->hypercalls));
		vmf_sleep_ns(VMF_NSEC_PER_MSEC);
	}
	/* vCPU 0 first: under FIFO, vCPU 1 only runs once it is gone. */
	for (i = 0; i < NR_VCPUS; i++)
		pthread_join(threads[i].thread, NULL);
	if (ph->policy == SCHED_FIFO) {
		ret = vmf_sysctl_write(RT_RUNTIME, rt_runtime);
		if (ret)
			ksft_exit_fail_msg("restoring %s: %s\n", RT_RUNTIME, strerror(-ret));
	}

	/* Only now: vCPU ioctls, KVM_GET_STATS_FD too, wait out KVM_RUN. */
	ph->hypercalls = READ_ONCE(hs->hypercalls);
	ph->attempted = read_vcpu_stat(vcpus[YIELDER], "directed_yield_attempted");
	ph->successful = read_vcpu_stat(vcpus[YIELDER], "directed_yield_successful");
	kvm_vm_free(vm);
}

static void report(struct phase *ph)
{
	uint64_t pct = ph->attempted ? ph->successful * 100 / ph->attempted : 0;
	uint64_t total = ph->cpu_ns[YIELDER] + ph->cpu_ns[SPINNER];
	uint64_t target_pct = total ? ph->cpu_ns[SPINNER] * 100 / total : 0;

	ksft_print_msg("%-13s: %llu hypercalls in %llu ms, vCPU 1 looped %llu times meanwhile\n",
		       ph->name, (unsigned long long)ph->hypercalls,
		       (unsigned long long)ph->ms, (unsigned long long)ph->spins);
	ksft_print_msg("%-13s: directed yield attempted %llu, successful %llu (%llu%%)\n",
		       ph->name, (unsigned long long)ph->attempted,
		       (unsigned long long)ph->successful, (unsigned long long)pct);
	ksft_print_msg("%-13s: CPU time vCPU 0 %llu ms, vCPU 1 (the target) %llu ms: %llu%%\n",
		       ph->name, (unsigned long long)ph->cpu_ns[YIELDER] / VMF_NSEC_PER_MSEC,
		       (unsigned long long)ph->cpu_ns[SPINNER] / VMF_NSEC_PER_MSEC,
		       (unsigned long long)target_pct);
	ksft_test_result(ph->attempted == ph->hypercalls && ph->attempted >= MIN_ATTEMPTS,
			 "%s: each hypercall attempted a directed yield, at least %d of them\n",
			 ph->name, MIN_ATTEMPTS);
	switch (ph->policy) {
	case SCHED_VMF:
		ksft_test_result(ph->successful && pct >= VMF_MIN_PCT,
				 "%s: at least %d%% of the directed yields succeed\n",
				 ph->name, VMF_MIN_PCT);
		ksft_test_result(ph->spins && target_pct >= TARGET_MIN_PCT,
				 "%s: the target ran, %llu%% >= %d%% of the two vCPUs' CPU time\n",
				 ph->name, (unsigned long long)target_pct, TARGET_MIN_PCT);
		break;
	case SCHED_FIFO:
		ksft_test_result(!ph->successful, "%s: no directed yield succeeds\n", ph->name);
		break;
	default:
		ksft_test_result(ph->successful, "%s: directed yields succeed\n", ph->name);
		break;
	}
}

int main(void)
{
	unsigned int i;
	int ret;

	ksft_print_header();
	vmf_require_pv_sched_yield();
	ksft_set_plan(2 * ARRAY_SIZE(phases) + 1);

	ret = vmf_sysctl_read(RT_RUNTIME, rt_runtime, sizeof(rt_runtime));
	if (ret)
		ksft_exit_fail_msg("reading %s: %s\n", RT_RUNTIME, strerror(-ret));
	vmf_sysctl_save(RT_RUNTIME);

	vmf_sampler_fifo(MAIN_CPU, MAIN_FIFO_PRIO);

	for (i = 0; i < ARRAY_SIZE(phases); i++) {
		run_phase(&phases[i]);
		report(&phases[i]);
	}
	ksft_finished();
}
