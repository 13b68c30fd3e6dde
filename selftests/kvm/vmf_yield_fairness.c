// SPDX-License-Identifier: GPL-2.0
/*
 * Directed yield must not let one guest take another's CPU time. VM A has
 * two vCPUs, VM B one; all three threads are SCHED_VMF vm, nice 0, pinned
 * to CPU 1, so each one's fair share of the three threads' CPU time is a
 * third. Three phases on the same VMs, each the median of ten slices of a
 * 3 s window (vmf_measure_median()):
 *
 *  - control: the three vCPUs spin;
 *  - ping-pong: A's vCPUs issue KVM_HC_SCHED_YIELD at each other in a
 *    loop, the attack: B's vCPU spins and must keep at least 90% of its
 *    third. When a yield put its target in front of every queued task,
 *    the pair took 99% of the CPU and B got under 1%;
 *  - lock holder: A's vCPU 0 yields to vCPU 1, which spins like a
 *    preempted lock holder would run: B still keeps 90% of its third,
 *    and the yield helps: vCPU 1 gets at least 1.25 times the share it
 *    got in the control, where vCPU 0 spun instead of yielding (the two
 *    split A's time then; with the yield, A's time goes to vCPU 1 and it
 *    runs when vCPU 0 gives way).
 *
 * The main thread is SCHED_FIFO on CPU 0 so that it samples on time.
 */
#include <linux/kvm_para.h>

#include "vmf_yield.h"

#define MAIN_CPU		0
#define VCPU_CPU		1
#define MAIN_FIFO_PRIO		50
#define WARMUP_NS		(300 * VMF_NSEC_PER_MSEC)
#define WINDOW_NS		(3 * VMF_NSEC_PER_SEC)
#define WAIT_TIMEOUT_NS		(30 * VMF_NSEC_PER_SEC)
#define FAIR_MIN		0.9
#define HELP_MIN		1.25

enum { A0, A1, B0, NR_THREADS };

enum mode {
	SPIN,
	YIELD,
};

/* One copy in each VM; the main thread writes it through its hva. */
struct shared {
	uint64_t mode[2];	/* main: enum mode of each vCPU */
	uint64_t target[2];	/* main: APIC ID each vCPU yields to */
	uint64_t stop;		/* main: leave the guest */
	uint64_t loops[2];	/* vCPU: iterations, spins or hypercalls */
};

static struct shared shared;

static void guest_code(uint64_t id)
{
	uint64_t ret;

	while (!READ_ONCE(shared.stop)) {
		if (READ_ONCE(shared.mode[id]) == YIELD) {
			ret = kvm_hypercall(KVM_HC_SCHED_YIELD, READ_ONCE(shared.target[id]),
					    0, 0, 0);
			GUEST_ASSERT_EQ(ret, 0);
		}
		WRITE_ONCE(shared.loops[id], shared.loops[id] + 1);
	}
	GUEST_DONE();
}

struct vm {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpus[2];
	struct shared *hs;
	int nr;
};

static struct vm vms[2];
static struct vcpu_thread threads[NR_THREADS];
static const char * const names[NR_THREADS] = { "A vCPU 0", "A vCPU 1", "B vCPU 0" };

static void create_vm(struct vm *v, int nr)
{
	int i;

	v->nr = nr;
	v->vm = vm_create_with_vcpus(nr, guest_code, v->vcpus);
	v->hs = addr_gva2hva(v->vm, (vm_vaddr_t)&shared);
	for (i = 0; i < nr; i++) {
		vcpu_args_set(v->vcpus[i], 1, i);
		vmf_vcpu_pv_sched_yield(v->vcpus[i]);
	}
	/* Each vCPU's target is the other one. */
	for (i = 0; i < nr; i++)
		v->hs->target[i] = pv_vcpu_apic_id(v->vcpus[(i + 1) % nr]);
}

static void set_modes(enum mode a0, enum mode a1)
{
	WRITE_ONCE(vms[0].hs->mode[0], a0);
	WRITE_ONCE(vms[0].hs->mode[1], a1);
}

/* Shares of the three threads' CPU time over one window, in share[]. */
static void measure(const char *phase, double *share)
{
	clockid_t clocks[NR_THREADS];
	__u64 cpu[NR_THREADS], wall, total = 0;
	int i;

	for (i = 0; i < NR_THREADS; i++)
		clocks[i] = threads[i].clock;
	vmf_sleep_ns(WARMUP_NS);
	vmf_measure_median(clocks, NR_THREADS, WINDOW_NS, cpu, &wall);
	for (i = 0; i < NR_THREADS; i++)
		total += cpu[i];
	for (i = 0; i < NR_THREADS; i++) {
		share[i] = total ? (double)cpu[i] / total : 0;
		ksft_print_msg("%-11s: %s %5.1f%% of the vCPUs' CPU time\n", phase, names[i],
			       100 * share[i]);
	}
	ksft_print_msg("%-11s: the vCPUs had %.0f%% of CPU %d over %.0f ms\n", phase,
		       100.0 * total / wall, VCPU_CPU, (double)wall / VMF_NSEC_PER_MSEC);
}

static void start_vcpus(void)
{
	__u64 deadline = vmf_now_ns() + WAIT_TIMEOUT_NS;
	int i, ret;

	vcpu_thread_start(&threads[A0], vms[0].vcpus[0], VCPU_CPU);
	vcpu_thread_start(&threads[A1], vms[0].vcpus[1], VCPU_CPU);
	vcpu_thread_start(&threads[B0], vms[1].vcpus[0], VCPU_CPU);
	for (i = 0; i < NR_THREADS; i++) {
		struct shared *hs = vms[i / 2].hs;

		while (!vcpu_thread_started(&threads[i]) || !READ_ONCE(hs->loops[i % 2])) {
			TEST_ASSERT(vmf_now_ns() < deadline, "%s did not enter the guest",
				    names[i]);
			vmf_sleep_ns(VMF_NSEC_PER_MSEC);
		}
	}
	/* Only once all run: a vm thread would leave the others little time. */
	for (i = 0; i < NR_THREADS; i++) {
		ret = vmf_set(threads[i].tid, SCHED_VMF, VMF_CLASS_VM, 0, 0);
		if (ret)
			ksft_exit_fail_msg("SCHED_VMF vm for %s: %s\n", names[i], strerror(-ret));
	}
}

static void stop_vcpus(void)
{
	int i;

	for (i = 0; i < 2; i++)
		WRITE_ONCE(vms[i].hs->stop, 1);
	for (i = 0; i < NR_THREADS; i++)
		pthread_join(threads[i].thread, NULL);
}

int main(void)
{
	double control[NR_THREADS], pingpong[NR_THREADS], holder[NR_THREADS];
	uint64_t yields;

	ksft_print_header();
	vmf_require_pv_sched_yield();
	ksft_set_plan(3);

	vmf_sampler_fifo(MAIN_CPU, MAIN_FIFO_PRIO);

	create_vm(&vms[0], 2);
	create_vm(&vms[1], 1);
	start_vcpus();
	ksft_print_msg("fair share under equal weights (nice 0): 33.3%% each\n");

	set_modes(SPIN, SPIN);
	measure("control", control);

	set_modes(YIELD, YIELD);
	yields = READ_ONCE(vms[0].hs->loops[0]) + READ_ONCE(vms[0].hs->loops[1]);
	measure("ping-pong", pingpong);
	yields = READ_ONCE(vms[0].hs->loops[0]) + READ_ONCE(vms[0].hs->loops[1]) - yields;
	ksft_print_msg("ping-pong  : A's vCPUs looped %llu times, yielding each time\n",
		       (unsigned long long)yields);

	set_modes(YIELD, SPIN);
	measure("lock holder", holder);
	stop_vcpus();

	ksft_test_result(pingpong[B0] >= FAIR_MIN / 3,
			 "ping-pong: B has %.1f%% >= %.1f%% (%.0f%% of a third)\n",
			 100 * pingpong[B0], 100 * FAIR_MIN / 3, 100 * FAIR_MIN);
	ksft_test_result(holder[B0] >= FAIR_MIN / 3,
			 "lock holder: B has %.1f%% >= %.1f%% (%.0f%% of a third)\n",
			 100 * holder[B0], 100 * FAIR_MIN / 3, 100 * FAIR_MIN);
	ksft_test_result(holder[A1] >= HELP_MIN * control[A1],
			 "lock holder: the target got %.1f%% >= %.2f x its %.1f%% without the yield\n",
			 100 * holder[A1], HELP_MIN, 100 * control[A1]);

	kvm_vm_free(vms[0].vm);
	kvm_vm_free(vms[1].vm);
	ksft_finished();
}
