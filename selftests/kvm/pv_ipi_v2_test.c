// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_HC_SEND_IPI_V2: one hypercall reaches any set of vCPUs, and yields
 * to a preempted one if asked.
 *
 * A VM with vCPUs at APIC IDs 0, 127, 128, 255, 256, 1023 and 4095, in
 * x2APIC mode; vCPU 0 sends, the others halt and count what they take,
 * by vector. The sender goes through stages; after each, the host checks
 * what every vCPU took, exactly, and vCPU 0's binary stats:
 *
 * - sparse: one call in the sparse form reaches all six receivers and
 *   returns 6. In a window of N calls with different vectors the
 *   'hypercalls' stat moves by N, and so do the exits that no other stat
 *   explains (exits minus ucall, host interrupt, NPT fault, HLT and
 *   window exits): one exit per call. Noise can only add exits, so the
 *   least of WINDOWS windows must be exactly N.
 * - KVM_HC_SEND_IPI, the upstream call, sends the same IPIs in 128-ID
 *   windows as Linux guests do (__send_ipi_mask()): 4 hypercalls and 4
 *   exits per IPI for this set, counted the same way.
 * - inline: the register form, for sets that fit 128 IDs from a base:
 *   each call reaches the vCPUs its bits name, through the last bit of
 *   a2, and ignores IDs that name no vCPU.
 * - the sender in its own set: 7 vCPUs accept, the sender too.
 * - NMIs, sparse and inline: each target takes one NMI.
 * - YIELD with only halted targets: the ABI counts an attempt whenever
 *   there is a target other than the caller, so directed_yield_attempted
 *   moves by one per call; with only the caller in the set it does not.
 * - at the end no vCPU has anything left in its APIC's IRR or ISR, and
 *   the counts are still exact: nothing came late.
 *
 * Then the yield itself, in a VM of two vCPUs whose threads share CPU 1:
 * vCPU 1 spins, so its thread is always preempted while it runs, and
 * vCPU 0 sends it an IPI with KVM_SEND_IPI_V2_YIELD, reading vCPU 1's
 * loop counter before and after each call. In the control phase, the
 * same calls without the flag, directed_yield_attempted and _successful
 * must not move; with it, attempted moves by one per call, some yields
 * succeed, and, with both threads SCHED_VMF vm (where a successful
 * yield_to() puts the yielder behind its target), vCPU 1 ran across at
 * least YIELD_RAN_PCT% of the calls whose yield succeeded. Under
 * SCHED_OTHER a successful yield_to() need not run its target, so that
 * check is skipped there.
 */
#include <sys/wait.h>
#include <linux/sched.h>

#include "pv_ipi_v2.h"

#define NR_VCPUS		7
#define NR_RECEIVERS		(NR_VCPUS - 1)
#define N			8	/* calls per window */
#define WINDOWS			3
#define VEC_SPARSE		0x30	/* ..+N-1 */
#define VEC_UPSTREAM		0x40	/* ..+N-1 */
#define VEC_INLINE		0x50	/* + the call's index */
#define VEC_SELF		0x60
#define VEC_YIELD_HALTED	0x70	/* ..+YIELD_HALTED_CALLS-1 */
#define VEC_YIELD_SELF		0x78
#define VEC_YIELD		0x80
#define YIELD_HALTED_CALLS	3
#define YIELD_CALLS		40
#define YIELD_RAN_PCT		90
#define YIELD_CPU		1

static const uint32_t apic_ids[NR_VCPUS] = { 0, 127, 128, 255, 256, 1023, 4095 };

enum {
	STAGE_READY,
	STAGE_SPARSE,
	STAGE_UPSTREAM,
	STAGE_INLINE,
	STAGE_SELF,
	STAGE_NMI_SPARSE,
	STAGE_NMI_INLINE,
	STAGE_YIELD_HALTED,
	STAGE_YIELD_SELF,
	STAGE_END,
};

/* Inline calls: APIC IDs base + bit of lo, base + 64 + bit of hi. */
struct inline_call {
	uint64_t base, lo, hi;
	uint64_t nr;	/* vCPUs that the bits name */
};

static const struct inline_call inline_calls[] = {
	{ 127, 0x3, 0, 2 },			/* 127, 128 */
	{ 192, 1ULL << 63, 0x1, 2 },		/* 255, 256: the two words meet */
	{ 960, 1ULL << 63, 0, 1 },		/* 1023 */
	{ 3968, 0, 1ULL << 63, 1 },		/* 4095, the last bit of a2 */
	{ 0, 0x22, 1ULL << 63, 1 },		/* 1, 5 name no vCPU; 127 */
	{ 4000, ~0ULL, ~0ULL, 1 },		/* 4000-4127: only 4095 exists */
	{ 0xffffff80, ~0ULL, ~0ULL, 0 },	/* the top of the 32-bit IDs */
};

#define NR_INLINE	ARRAY_SIZE(inline_calls)

static uint64_t again;		/* host: repeat the stage's window */

/* The yield VM's spinner and sender. */
static uint64_t spins;
static uint64_t yield_flags;	/* host: 0 or KVM_SEND_IPI_V2_YIELD */
static uint64_t yield_ran;	/* calls across which the spinner ran */

static void send_sparse(uint64_t flags, const uint64_t *ids, int n)
{
	struct kvm_pv_vcpu_set *set = (void *)pv.set_gva;
	uint64_t size = pv_set_build(set, ids, n);

	pv_check_ret(pv_send(flags | KVM_SEND_IPI_V2_SPARSE, pv.set_gpa, size, 0), n);
}

static void sender_code(uint64_t idx)
{
	uint64_t ids[PV_MAX_VCPUS], all[PV_MAX_VCPUS], i, calls, accepted;
	int n = pv_receiver_ids(ids);

	GUEST_ASSERT(this_cpu_has(X86_FEATURE_KVM_PV_IPI_V2));
	pv_guest_init(idx);
	GUEST_SYNC_ARGS(STAGE_READY, 0, 0, 0, 0);

	do {
		for (i = 0; i < N; i++)
			send_sparse(VEC_SPARSE + i, ids, n);
		pv_sync_stage(STAGE_SPARSE);
	} while (READ_ONCE(again));

	do {
		calls = 0;
		for (i = 0; i < N; i++) {
			accepted = 0;
			calls += pv_send_upstream(ids, n, VEC_UPSTREAM + i, &accepted);
			pv_check_ret(accepted, n);
		}
		pv_res.calls = calls;
		pv_sync_stage(STAGE_UPSTREAM);
	} while (READ_ONCE(again));

	do {
		for (i = 0; i < NR_INLINE; i++)
			pv_check_ret(pv_send(VEC_INLINE + i, inline_calls[i].lo,
					     inline_calls[i].hi, inline_calls[i].base),
				     inline_calls[i].nr);
		pv_sync_stage(STAGE_INLINE);
	} while (READ_ONCE(again));

	all[0] = pv.apic_id[0];
	memcpy(&all[1], ids, n * sizeof(ids[0]));
	send_sparse(VEC_SELF, all, n + 1);
	pv_take_pending();
	pv_sync_stage(STAGE_SELF);

	send_sparse(KVM_SEND_IPI_V2_MODE_NMI, ids, n);
	pv_sync_stage(STAGE_NMI_SPARSE);
	pv_check_ret(pv_send(KVM_SEND_IPI_V2_MODE_NMI, 0x3, 0, 127), 2);
	pv_sync_stage(STAGE_NMI_INLINE);

	for (i = 0; i < YIELD_HALTED_CALLS; i++)
		send_sparse(KVM_SEND_IPI_V2_YIELD | (VEC_YIELD_HALTED + i), ids, n);
	pv_sync_stage(STAGE_YIELD_HALTED);
	pv_check_ret(pv_send(KVM_SEND_IPI_V2_YIELD | VEC_YIELD_SELF, 0x1, 0, pv.apic_id[0]), 1);
	pv_take_pending();
	pv_sync_stage(STAGE_YIELD_SELF);

	pv_sender_end(STAGE_END);
}

/* The yield VM: vCPU 1 spins, vCPU 0 sends it IPIs in phases. */
static void yield_code(uint64_t idx)
{
	uint64_t i, before;

	pv_guest_init(idx);
	if (idx) {
		while (!READ_ONCE(pv.stop))
			WRITE_ONCE(spins, spins + 1);
		pv_take_pending();
		GUEST_DONE();
	}
	GUEST_SYNC_ARGS(STAGE_READY, 0, 0, 0, 0);
	while (!READ_ONCE(pv.stop)) {
		yield_ran = 0;
		for (i = 0; i < YIELD_CALLS; i++) {
			before = READ_ONCE(spins);
			pv_check_ret(pv_send(READ_ONCE(yield_flags) | VEC_YIELD,
					     1ULL << pv.apic_id[1], 0, 0), 1);
			yield_ran += READ_ONCE(spins) != before;
		}
		pv_sync_stage(STAGE_END);
	}
	GUEST_DONE();
}

/* Host side. */

static struct pv_vm vm;
static uint64_t receiver_ids[NR_RECEIVERS];

static bool check_hypercalls(const char *what, const struct pv_stats *d, uint64_t calls)
{
	if (d->v[PV_HYPERCALLS] == calls)
		return true;
	ksft_print_msg("%s: the hypercalls stat moved by %lu, expected %lu\n", what,
		       d->v[PV_HYPERCALLS], calls);
	return false;
}

static void expect_receivers(uint64_t vector)
{
	int i;

	for (i = 1; i < NR_VCPUS; i++)
		vm.expect[i][vector]++;
}

static void expect_sparse(void)
{
	int i;

	for (i = 0; i < N; i++)
		expect_receivers(VEC_SPARSE + i);
}

static void expect_upstream(void)
{
	int i;

	for (i = 0; i < N; i++)
		expect_receivers(VEC_UPSTREAM + i);
}

/* Does the inline call name APIC ID id? Asked per ID, not per bit. */
static bool inline_names(const struct inline_call *c, uint64_t id)
{
	uint64_t off = id - c->base;

	if (id < c->base || off >= 128)
		return false;
	return (off < 64 ? c->lo >> off : c->hi >> (off - 64)) & 1;
}

static void expect_inline(void)
{
	uint64_t nr;
	int i, j;

	for (j = 0; j < NR_INLINE; j++) {
		nr = 0;
		for (i = 0; i < NR_VCPUS; i++) {
			if (!inline_names(&inline_calls[j], apic_ids[i]))
				continue;
			vm.expect[i][VEC_INLINE + j]++;
			nr++;
		}
		TEST_ASSERT(nr == inline_calls[j].nr, "inline call %d names %lu vCPUs, not %lu",
			    j, nr, inline_calls[j].nr);
	}
}

/*
 * A stage of WINDOWS windows of the sender's hypercalls. Each window must
 * make 'calls' hypercalls that return what they should, move the
 * hypercalls stat by as much, and deliver what add_expect() says; the
 * unexplained exits of the quietest window must equal the hypercalls.
 */
static uint64_t run_windows(int64_t stage, const char *what, uint64_t calls,
			    void (*add_expect)(void))
{
	uint64_t *again_hva = addr_gva2hva(vm.vm, (vm_vaddr_t)&again);
	uint64_t least = ~0ULL;
	bool ok = true, rcvd = true;
	struct pv_stats d;
	struct ucall uc;
	int w;

	for (w = 0; w < WINDOWS; w++) {
		pv_sender_to(&vm, &uc, stage);
		d = pv_sender_stats(&vm);
		ok &= pv_check_calls(what, &uc, calls);
		ok &= check_hypercalls(what, &d, calls);
		ksft_print_msg(
			       "%s: window %d: %lu hypercalls, %lu exits: %lu unexplained; io %lu, irq %lu, npf %lu, hlt %lu, windows %lu\n",
			       what, w, d.v[PV_HYPERCALLS], d.v[PV_EXITS],
			       pv_exits_unexplained(&d), d.v[PV_IO_EXITS], d.v[PV_IRQ_EXITS],
			       d.v[PV_PF_TAKEN], d.v[PV_HALT_EXITS],
			       d.v[PV_IRQ_WINDOW_EXITS] + d.v[PV_NMI_WINDOW_EXITS]);
		least = min(least, pv_exits_unexplained(&d));
		add_expect();
		rcvd &= pv_wait_rcvd(&vm, what);
		WRITE_ONCE(*again_hva, w + 1 < WINDOWS);
	}
	ksft_test_result(ok && rcvd,
			 "%s: %lu calls per window returned their counts, each target took each IPI once\n",
			 what, calls);
	ksft_test_result(ok && least == calls,
			 "%s: %lu hypercalls, %lu exits no other stat explains (quietest of %d windows)\n",
			 what, calls, least, WINDOWS);
	return least;
}

/* A stage of one window: its calls and stats, and what it delivered. */
static struct pv_stats run_stage(int64_t stage, const char *what, uint64_t calls, bool *ok)
{
	struct pv_stats d;
	struct ucall uc;

	pv_sender_to(&vm, &uc, stage);
	d = pv_sender_stats(&vm);
	*ok = pv_check_calls(what, &uc, calls);
	*ok &= check_hypercalls(what, &d, calls);
	return d;
}

static void test_ipis(void)
{
	uint64_t windows, exits_v2, exits_up;
	struct pv_stats d;
	struct ucall uc;
	bool ok;
	int i;

	pv_vm_create(&vm, apic_ids, NR_VCPUS, sender_code, NULL);
	for (i = 0; i < NR_RECEIVERS; i++)
		receiver_ids[i] = apic_ids[i + 1];
	pv_start_receivers(&vm);
	pv_sender_to(&vm, &uc, STAGE_READY);
	pv_wait_ready(&vm);
	pv_sender_stats(&vm);

	exits_v2 = run_windows(STAGE_SPARSE, "sparse", N, expect_sparse);

	windows = pv_send_upstream(receiver_ids, NR_RECEIVERS, 0, NULL);
	exits_up = run_windows(STAGE_UPSTREAM, "KVM_HC_SEND_IPI", N * windows, expect_upstream);
	ksft_print_msg(
		       "an IPI to APIC IDs 127, 128, 255, 256, 1023, 4095: KVM_HC_SEND_IPI_V2 %d hypercall, %lu exits per %d IPIs; KVM_HC_SEND_IPI %lu hypercalls, %lu exits per %d IPIs\n",
		       1, exits_v2, N, windows, exits_up, N);

	run_windows(STAGE_INLINE, "inline", NR_INLINE, expect_inline);

	run_stage(STAGE_SELF, "self in the set", 1, &ok);
	expect_receivers(VEC_SELF);
	vm.expect[0][VEC_SELF]++;
	ok &= pv_wait_rcvd(&vm, "self in the set");
	ksft_test_result(ok, "self in the set: 7 vCPUs accept, the sender takes its own IPI too\n");

	run_stage(STAGE_NMI_SPARSE, "NMI, sparse", 1, &ok);
	expect_receivers(NMI_VECTOR);
	ok &= pv_wait_rcvd(&vm, "NMI, sparse");
	ksft_test_result(ok, "NMI, sparse: 6 vCPUs accept, each takes one NMI\n");

	run_stage(STAGE_NMI_INLINE, "NMI, inline", 1, &ok);
	vm.expect[1][NMI_VECTOR]++;
	vm.expect[2][NMI_VECTOR]++;
	ok &= pv_wait_rcvd(&vm, "NMI, inline");
	ksft_test_result(ok, "NMI, inline: APIC IDs 127 and 128 take one NMI each\n");

	d = run_stage(STAGE_YIELD_HALTED, "YIELD, halted targets", YIELD_HALTED_CALLS, &ok);
	for (i = 0; i < YIELD_HALTED_CALLS; i++)
		expect_receivers(VEC_YIELD_HALTED + i);
	ok &= pv_wait_rcvd(&vm, "YIELD, halted targets");
	ksft_print_msg(
		       "YIELD, halted targets: %d calls, directed_yield_attempted +%lu, successful +%lu\n",
		       YIELD_HALTED_CALLS, d.v[PV_YIELD_ATTEMPTED], d.v[PV_YIELD_SUCCESSFUL]);
	/*
	 * A halted target is no candidate: the IPI wakes it. The stats count
	 * only yields to a target that was preempted while it ran, which a
	 * receiver woken by an earlier call can be: at most one per call.
	 */
	ksft_test_result(ok && d.v[PV_YIELD_ATTEMPTED] <= YIELD_HALTED_CALLS &&
			 d.v[PV_YIELD_SUCCESSFUL] <= d.v[PV_YIELD_ATTEMPTED],
			 "YIELD, halted targets: IPIs delivered, at most one attempt per call\n");

	d = run_stage(STAGE_YIELD_SELF, "YIELD, only the sender", 1, &ok);
	vm.expect[0][VEC_YIELD_SELF]++;
	ok &= pv_wait_rcvd(&vm, "YIELD, only the sender");
	ksft_test_result(ok && !d.v[PV_YIELD_ATTEMPTED] && !d.v[PV_YIELD_SUCCESSFUL],
			 "YIELD, only the sender in the set: no attempt (+%lu)\n",
			 d.v[PV_YIELD_ATTEMPTED]);

	ksft_test_result(pv_vm_end(&vm, STAGE_END),
			 "at the end: counts exact, no IRR or ISR bit left on any vCPU\n");
	pv_vm_free(&vm);
}

/*
 * The last YIELD check needs a scheduler under which a successful
 * yield_to() runs its target: SCHED_VMF's vm class, when the kernel has
 * it (its uapi header then defines the policy).
 */
#ifdef SCHED_VMF
static int set_vm_class(pid_t tid, bool vm)
{
	struct sched_param sp = { .sched_priority = vm ? SCHED_VMF_VM : 0 };

	return sched_setscheduler(tid, vm ? SCHED_VMF : SCHED_OTHER, &sp) ? -errno : 0;
}

/* Can a task become SCHED_VMF vm? Asked in a child, which then exits. */
static bool have_vmf(void)
{
	int status;
	pid_t pid;

	if (geteuid())
		return false;
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (!pid)
		_exit(!!set_vm_class(0, true));
	TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
	return WIFEXITED(status) && !WEXITSTATUS(status);
}
#else
static int set_vm_class(pid_t tid, bool vm)
{
	return -EOPNOTSUPP;
}

static bool have_vmf(void)
{
	return false;
}
#endif

struct yield_phase {
	struct pv_stats d;
	uint64_t ran;
	bool ok;
};

static void yield_phase(struct pv_vm *p, uint64_t flags, struct yield_phase *ph)
{
	uint64_t *flags_hva = addr_gva2hva(p->vm, (vm_vaddr_t)&yield_flags);
	struct ucall uc;

	WRITE_ONCE(*flags_hva, flags);
	pv_sender_to(p, &uc, STAGE_END);
	ph->d = pv_sender_stats(p);
	ph->ran = *(uint64_t *)addr_gva2hva(p->vm, (vm_vaddr_t)&yield_ran);
	ph->ok = pv_check_calls(flags ? "YIELD" : "control", &uc, YIELD_CALLS);
	ksft_print_msg(
		       "%s: %d calls, directed_yield_attempted +%lu, successful +%lu, vCPU 1 ran across %lu calls\n",
		       flags ? "YIELD  " : "control", YIELD_CALLS, ph->d.v[PV_YIELD_ATTEMPTED],
		       ph->d.v[PV_YIELD_SUCCESSFUL], ph->ran);
}

static void test_yield(bool vmf)
{
	static const uint32_t ids[] = { 0, 1 };
	uint64_t deadline, *spins_hva;
	struct yield_phase ctl, yld;
	cpu_set_t allowed;
	struct pv_vm y;
	struct ucall uc;
	int ret;

	pv_vm_create(&y, ids, 2, yield_code, yield_code);
	spins_hva = addr_gva2hva(y.vm, (vm_vaddr_t)&spins);
	vcpu_thread_start(&y.thread[1], y.vcpu[1], YIELD_CPU);
	TEST_ASSERT(!sched_getaffinity(0, sizeof(allowed), &allowed), "sched_getaffinity");
	kvm_pin_this_task_to_pcpu(YIELD_CPU);
	deadline = pv_now_ns() + PV_WAIT_NS;
	while (!vcpu_thread_started(&y.thread[1]) || !READ_ONCE(*spins_hva)) {
		TEST_ASSERT(pv_now_ns() < deadline, "vCPU 1 did not start spinning");
		usleep(1000);
	}
	if (vmf) {
		ret = set_vm_class(y.thread[1].tid, true);
		if (!ret)
			ret = set_vm_class(0, true);
		TEST_ASSERT(!ret, "SCHED_VMF vm for the vCPU threads: %s", strerror(-ret));
	}
	pv_sender_to(&y, &uc, STAGE_READY);
	pv_sender_stats(&y);

	yield_phase(&y, 0, &ctl);
	yield_phase(&y, KVM_SEND_IPI_V2_YIELD, &yld);

	WRITE_ONCE(y.hs->stop, 1);
	TEST_ASSERT(pv_run_sender(&y, &uc) == -1, "the sender did not finish");
	pthread_join(y.thread[1].thread, NULL);
	if (vmf)
		set_vm_class(0, false);
	TEST_ASSERT(!sched_setaffinity(0, sizeof(allowed), &allowed), "sched_setaffinity");
	pv_vm_free(&y);

	ksft_test_result(ctl.ok && !ctl.d.v[PV_YIELD_ATTEMPTED] && !ctl.d.v[PV_YIELD_SUCCESSFUL],
			 "control, no YIELD flag: no directed yield attempted or made\n");
	ksft_test_result(yld.ok && yld.d.v[PV_YIELD_ATTEMPTED] == YIELD_CALLS,
			 "YIELD, preempted target: one attempt per call\n");
	ksft_test_result(yld.ok && yld.d.v[PV_YIELD_SUCCESSFUL],
			 "YIELD, preempted target: directed yields succeed\n");
	if (!vmf) {
		ksft_test_result_skip("YIELD: the target ran (needs SCHED_VMF)\n");
		return;
	}
	ksft_test_result(yld.ok && yld.d.v[PV_YIELD_SUCCESSFUL] &&
			 yld.ran * 100 >= YIELD_RAN_PCT * yld.d.v[PV_YIELD_SUCCESSFUL],
			 "YIELD: the target ran across %lu calls, >= %d%% of the %lu successful yields (control: %lu)\n",
			 yld.ran, YIELD_RAN_PCT, yld.d.v[PV_YIELD_SUCCESSFUL], ctl.ran);
}

int main(void)
{
	bool vmf;

	ksft_print_header();
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_MAX_VCPU_ID));
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_KVM_PV_IPI_V2));
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_KVM_PV_SEND_IPI));
	pv_require_cpus(2);
	vmf = have_vmf();
	ksft_set_plan(16);

	test_ipis();
	test_yield(vmf);
	ksft_finished();
}
