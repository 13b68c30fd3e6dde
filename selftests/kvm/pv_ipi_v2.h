/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the KVM_HC_SEND_IPI_V2 selftests share: a VM whose vCPUs sit at
 * chosen APIC IDs (vCPU ID = x2APIC ID), vCPU 0 the sender and the others
 * receivers; receivers that halt in x2APIC mode and count every vector and
 * every NMI they take; the sets of the sparse form; vCPU stats read while
 * the vCPUs run; and the sender's stages, each reporting what its calls
 * returned, up to the end at which it stops the receivers.
 *
 * Interrupts land where the guest's C code cannot be hurt. The guest is
 * built with the red zone: an interrupt taken inside a leaf function
 * would push its frame over that function's locals. So fixed interrupts
 * are only taken in pv_safe_halt() and pv_take_pending(), which move the
 * stack pointer below the red zone first, and the handler is not a leaf.
 * NMIs can land anywhere; receivers only run non-leaf code and the
 * handler, and a sender that NMIs itself takes the NMI right after its
 * hypercall, inline in a non-leaf function.
 *
 * The library's stub for vector 17 (#AC) expects an error code, which an
 * interrupt does not push. IDT entry 17 therefore uses the stub of vector
 * 15 (reserved, never raised), and the handler counts vector 15 as 17.
 *
 * The KVM_HC_FLUSH_TLB_V2 tests (pv_tlb_v2.h) build on the same VM, and
 * so do the error tests of both hypercalls (pv_errors.h).
 */
#ifndef PV_IPI_V2_H
#define PV_IPI_V2_H

#include <fcntl.h>
#include <asm/kvm_para.h>
#include <linux/kvm_para.h>

#include "pv_vcpu.h"

#define X86_FEATURE_KVM_PV_IPI_V2 \
	KVM_X86_CPU_FEATURE(KVM_CPUID_FEATURES, 0, EAX, KVM_FEATURE_PV_IPI_V2)

#define PV_MAX_VCPUS		8
#define PV_NR_VECTORS		256
#define PV_FIRST_VECTOR		16	/* the lowest vector of the fixed mode */
#define PV_VEC17_STUB		15	/* the stub that IDT entry 17 uses */
#define PV_VEC_STOP		0xff	/* wakes the receivers to leave */
#define PV_SET_MAX_SIZE		(sizeof(struct kvm_pv_vcpu_set) + 8 * KVM_PV_VCPU_SET_BANKS)
#define PV_PARAM		"/sys/module/kvm/parameters/pv_ipi_v2"
#define PV_WAIT_NS		(20 * NSEC_PER_SEC)
#define PV_PAGE_SIZE		4096
#define PV_APIC_ISR		0x100	/* not in the library's apic.h */
#define PV_NOLAPIC_PAGES	1024

/* Shared by the guest and the host, which reaches it through its hva. */
struct pv_shared {
	uint64_t nr_vcpus;
	uint64_t apic_id[PV_MAX_VCPUS];		/* vCPU 0 is the sender */
	uint64_t ready[PV_MAX_VCPUS];		/* in x2APIC mode, ID checked */
	uint64_t stop;				/* receivers leave once woken */
	uint64_t set_gva;			/* a page for the sender's sets */
	uint64_t set_gpa;
	/* Interrupts taken, by vCPU and vector; NMIs count at NMI_VECTOR. */
	uint64_t rcvd[PV_MAX_VCPUS][PV_NR_VECTORS];
};

static struct pv_shared pv;

/* Guest side. */

/*
 * A KVM hypercall, inlined so that an NMI the sender sends itself lands
 * in its caller; the memory clobber orders the writes of a sparse set.
 */
static __always_inline uint64_t pv_hypercall(uint64_t nr, uint64_t a0, uint64_t a1,
					     uint64_t a2, uint64_t a3)
{
	uint64_t ret;

	asm volatile("test %[amd], %[amd]\n\t"
		     "jnz 1f\n\t"
		     "vmcall\n\t"
		     "jmp 2f\n\t"
		     "1: vmmcall\n\t"
		     "2:"
		     : "=a"(ret)
		     : [amd] "r"(host_cpu_is_amd), "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3)
		     : "memory");
	return ret;
}

static __always_inline uint64_t pv_send(uint64_t flags, uint64_t a1, uint64_t a2, uint64_t a3)
{
	return pv_hypercall(KVM_HC_SEND_IPI_V2, flags, a1, a2, a3);
}

/* Halt until an interrupt or NMI comes, taking what is pending. */
static inline void pv_safe_halt(void)
{
	asm volatile("sub $128, %%rsp\n\t"
		     "sti\n\t"
		     "hlt\n\t"
		     "cli\n\t"
		     "add $128, %%rsp" ::: "memory");
}

/* Take the interrupts that are pending, without halting. */
static inline void pv_take_pending(void)
{
	asm volatile("sub $128, %%rsp\n\t"
		     "sti\n\t"
		     "nop\n\t"
		     "cli\n\t"
		     "add $128, %%rsp" ::: "memory");
}

static inline int pv_self(void)
{
	uint64_t id = x2apic_read_reg(APIC_ID);
	uint64_t i;

	for (i = 0; i < pv.nr_vcpus; i++)
		if (pv.apic_id[i] == id)
			return i;
	GUEST_FAIL("no vCPU of the test has APIC ID %lu", id);
	return 0;
}

/*
 * An interrupt or NMI taken on the HLT of pv_safe_halt(), between it and
 * its STI, returns to the HLT: the vCPU halts again and the wake-up is
 * lost. Hardware never delivers there, in the STI's interrupt shadow, but
 * QEMU's TCG before 9.1 does not load the shadow from the VMCB on VMRUN
 * (fixed by "target/i386: fix INHIBIT_IRQ/TF/RF handling for VMRUN"), so
 * under its nested SVM KVM can inject there. Return past the HLT.
 */
static inline void pv_skip_shadowed_hlt(struct ex_regs *regs)
{
	const uint8_t *ip = (const uint8_t *)regs->rip;

	if (ip[0] == 0xf4 && ip[-1] == 0xfb)	/* hlt, after sti */
		regs->rip++;
}

static void pv_irq_handler(struct ex_regs *regs)
{
	uint64_t vector = regs->vector == PV_VEC17_STUB ? 17 : regs->vector;

	pv_skip_shadowed_hlt(regs);

	pv.rcvd[pv_self()][vector]++;
	if (vector != NMI_VECTOR)
		x2apic_write_reg(APIC_EOI, 0);
}

static inline void pv_guest_init(uint64_t idx)
{
	x2apic_enable();
	GUEST_ASSERT_EQ(x2apic_read_reg(APIC_ID), pv.apic_id[idx]);
	WRITE_ONCE(pv.ready[idx], 1);
}

/* The code of every receiver: count what comes until told to leave. */
static void pv_receiver_code(uint64_t idx)
{
	pv_guest_init(idx);
	while (!READ_ONCE(pv.stop))
		pv_safe_halt();
	GUEST_DONE();
}

/* Guest and host. */

/*
 * Write the struct kvm_pv_vcpu_set of the n APIC IDs at set; returns its
 * size. The IDs need not be sorted; banks follow in ascending order.
 */
static inline uint64_t pv_set_build(struct kvm_pv_vcpu_set *set, const uint64_t *ids, int n)
{
	uint64_t bank, nr_banks = 0, k;
	int i, w;

	memset(set, 0, sizeof(*set));
	for (i = 0; i < n; i++) {
		bank = ids[i] / 64;
		set->bank_mask[bank / 64] |= 1ULL << (bank % 64);
	}
	for (w = 0; w < KVM_PV_VCPU_SET_BANKS / 64; w++)
		nr_banks += __builtin_popcountll(set->bank_mask[w]);
	memset(set->banks, 0, nr_banks * 8);
	for (i = 0; i < n; i++) {
		bank = ids[i] / 64;
		k = 0;
		for (w = 0; w < bank / 64; w++)
			k += __builtin_popcountll(set->bank_mask[w]);
		k += __builtin_popcountll(set->bank_mask[bank / 64] &
					  ((1ULL << (bank % 64)) - 1));
		set->banks[k] |= 1ULL << (ids[i] % 64);
	}
	return sizeof(*set) + nr_banks * 8;
}

/* Back to the guest. */

/* The receivers' APIC IDs, vCPU 1 and up, ascending, in ids; their number. */
static inline int pv_receiver_ids(uint64_t *ids)
{
	uint64_t i;

	for (i = 1; i < pv.nr_vcpus; i++) {
		ids[i - 1] = pv.apic_id[i];
		GUEST_ASSERT(i == 1 || ids[i - 1] > ids[i - 2]);
	}
	return pv.nr_vcpus - 1;
}

/*
 * KVM_HC_SEND_IPI as Linux's __send_ipi_mask() uses it on APIC IDs in
 * ascending order: a bitmap of 128 IDs from the lowest one not sent yet,
 * one hypercall per window. Returns the number of hypercalls; they are
 * made only if vector is not 0 (the host asks how many it takes), and
 * what they return is added to *accepted.
 */
static inline uint64_t pv_send_upstream(const uint64_t *ids, int n, uint64_t vector,
					uint64_t *accepted)
{
	uint64_t min = 0, bits[2] = { 0, 0 }, hypercalls = 0;
	int i;

	for (i = 0; i <= n; i++) {
		if ((bits[0] || bits[1]) && (i == n || ids[i] >= min + 128)) {
			hypercalls++;
			if (vector)
				*accepted += pv_hypercall(KVM_HC_SEND_IPI, bits[0], bits[1], min,
							  APIC_DM_FIXED | vector);
			bits[0] = 0;
			bits[1] = 0;
		}
		if (i == n)
			break;
		if (!bits[0] && !bits[1])
			min = ids[i];
		bits[(ids[i] - min) / 64] |= 1ULL << ((ids[i] - min) % 64);
	}
	return hypercalls;
}

/* Send vector to every receiver with the upstream hypercall; all must accept. */
static inline void pv_upstream_to_receivers(uint64_t vector)
{
	uint64_t ids[PV_MAX_VCPUS], accepted = 0;
	int n = pv_receiver_ids(ids);

	pv_send_upstream(ids, n, vector, &accepted);
	GUEST_ASSERT_EQ(accepted, n);
}

/*
 * The sender's last act: wake the receivers, which see pv.stop, with the
 * upstream hypercall, so that a test ends whatever ours does.
 */
static inline void pv_stop_receivers(void)
{
	pv_upstream_to_receivers(PV_VEC_STOP);
}

/* Sync at stage, where the host sets pv.stop (pv_vm_end()); stop the receivers. */
static inline void pv_sender_end(uint64_t stage)
{
	GUEST_SYNC_ARGS(stage, 0, 0, 0, 0);
	pv_stop_receivers();
	GUEST_DONE();
}

/*
 * What the sender's calls of a stage returned: it checks each with
 * pv_check_ret() and reports them with pv_sync_stage(), for
 * pv_check_calls() on the host.
 */
struct pv_result {
	uint64_t calls;		/* hypercalls made */
	uint64_t bad;		/* calls that returned something unexpected */
	uint64_t bad_ret;	/* the first such return, */
	uint64_t bad_call;	/* and its call */
};

static struct pv_result pv_res;

static inline void pv_check_ret(uint64_t ret, uint64_t expect)
{
	if (ret != expect && !pv_res.bad++) {
		pv_res.bad_ret = ret;
		pv_res.bad_call = pv_res.calls;
	}
	pv_res.calls++;
}

/* Report the stage's results with its GUEST_SYNC_ARGS(), and start anew. */
static inline void pv_sync_stage(uint64_t stage)
{
	GUEST_SYNC_ARGS(stage, pv_res.calls, pv_res.bad, pv_res.bad_ret, pv_res.bad_call);
	memset(&pv_res, 0, sizeof(pv_res));
}

/* Host side. */

/* The vCPU stats the tests read. */
enum pv_stat {
	PV_EXITS,
	PV_IO_EXITS,
	PV_IRQ_EXITS,
	PV_PF_TAKEN,
	PV_HALT_EXITS,
	PV_IRQ_WINDOW_EXITS,
	PV_NMI_WINDOW_EXITS,
	PV_HYPERCALLS,
	PV_YIELD_ATTEMPTED,
	PV_YIELD_SUCCESSFUL,
	PV_IRQ_INJECTIONS,
	PV_NMI_INJECTIONS,
	PV_TLB_FLUSH,
	PV_BLOCKING,
	PV_NR_STATS
};

static const char * const pv_stat_names[PV_NR_STATS] = {
	[PV_EXITS]		= "exits",
	[PV_IO_EXITS]		= "io_exits",
	[PV_IRQ_EXITS]		= "irq_exits",
	[PV_PF_TAKEN]		= "pf_taken",
	[PV_HALT_EXITS]		= "halt_exits",
	[PV_IRQ_WINDOW_EXITS]	= "irq_window_exits",
	[PV_NMI_WINDOW_EXITS]	= "nmi_window_exits",
	[PV_HYPERCALLS]		= "hypercalls",
	[PV_YIELD_ATTEMPTED]	= "directed_yield_attempted",
	[PV_YIELD_SUCCESSFUL]	= "directed_yield_successful",
	[PV_IRQ_INJECTIONS]	= "irq_injections",
	[PV_NMI_INJECTIONS]	= "nmi_injections",
	[PV_TLB_FLUSH]		= "tlb_flush",
	[PV_BLOCKING]		= "blocking",	/* 1 while in kvm_vcpu_block() */
};

struct pv_stats {
	uint64_t v[PV_NR_STATS];
};

/*
 * A vCPU's stats fd, opened before the vCPU runs: reading it takes no vCPU
 * ioctl, so it works while the vCPU is in KVM_RUN.
 */
struct pv_stats_fd {
	int fd;
	struct kvm_stats_header header;
	struct kvm_stats_desc *descs;
	struct kvm_stats_desc *desc[PV_NR_STATS];
};

static inline void pv_stats_open(struct pv_stats_fd *s, struct kvm_vcpu *vcpu)
{
	struct kvm_stats_desc *desc;
	int i, j;

	s->fd = vcpu_get_stats_fd(vcpu);
	read_stats_header(s->fd, &s->header);
	s->descs = read_stats_descriptors(s->fd, &s->header);
	for (j = 0; j < PV_NR_STATS; j++) {
		s->desc[j] = NULL;
		for (i = 0; i < s->header.num_desc; i++) {
			desc = get_stats_descriptor(s->descs, i, &s->header);
			if (!strcmp(desc->name, pv_stat_names[j]))
				s->desc[j] = desc;
		}
		TEST_ASSERT(s->desc[j], "no vCPU stat %s", pv_stat_names[j]);
	}
}

static inline void pv_stats_close(struct pv_stats_fd *s)
{
	free(s->descs);
	close(s->fd);
}

static inline void pv_stats_read(struct pv_stats_fd *s, struct pv_stats *st)
{
	int j;

	for (j = 0; j < PV_NR_STATS; j++)
		read_stat_data(s->fd, &s->header, s->desc[j], &st->v[j], 1);
}

static inline uint64_t pv_stat_read(struct pv_stats_fd *s, enum pv_stat j)
{
	uint64_t v;

	read_stat_data(s->fd, &s->header, s->desc[j], &v, 1);
	return v;
}

static inline struct pv_stats pv_stats_delta(const struct pv_stats *a, const struct pv_stats *b)
{
	struct pv_stats d;
	int j;

	for (j = 0; j < PV_NR_STATS; j++)
		d.v[j] = b->v[j] - a->v[j];
	return d;
}

/*
 * The exits that the other stats do not explain: ucalls (io), host
 * interrupts and kicks (irq), NPT faults, HLT, interrupt and NMI windows.
 * What is left of a window in which the guest only made hypercalls is one
 * exit per hypercall.
 */
static inline uint64_t pv_exits_unexplained(const struct pv_stats *d)
{
	return d->v[PV_EXITS] - d->v[PV_IO_EXITS] - d->v[PV_IRQ_EXITS] -
	       d->v[PV_PF_TAKEN] - d->v[PV_HALT_EXITS] - d->v[PV_IRQ_WINDOW_EXITS] -
	       d->v[PV_NMI_WINDOW_EXITS];
}

struct pv_vm {
	struct kvm_vm *vm;
	int nr;
	struct kvm_vcpu *vcpu[PV_MAX_VCPUS];
	struct vcpu_thread thread[PV_MAX_VCPUS];
	struct pv_stats_fd stats[PV_MAX_VCPUS];
	struct pv_shared *hs;
	/* What each vCPU must have taken, by vector, once the IPIs land. */
	uint64_t expect[PV_MAX_VCPUS][PV_NR_VECTORS];
	struct pv_stats sender_prev;	/* for pv_sender_stats() */
};

/* Count every vector the APIC can deliver, NMIs, and vector 17 (above). */
static inline void pv_install_handlers(struct kvm_vm *vm)
{
	struct idt_entry *idt = addr_gva2hva(vm, vm->arch.idt);
	int v;

	for (v = PV_FIRST_VECTOR; v < PV_NR_VECTORS; v++)
		vm_install_exception_handler(vm, v, pv_irq_handler);
	vm_install_exception_handler(vm, NMI_VECTOR, pv_irq_handler);
	vm_install_exception_handler(vm, PV_VEC17_STUB, pv_irq_handler);
	idt[17] = idt[PV_VEC17_STUB];
}

/*
 * A VM with a vCPU at each of the nr APIC IDs of ids (vCPU ID = x2APIC
 * ID): ids[0] runs sender_code, the others receiver_code, by default
 * pv_receiver_code(). Each gets its index as argument. Nothing runs yet.
 */
static inline void pv_vm_create(struct pv_vm *p, const uint32_t *ids, int nr,
				void *sender_code, void *receiver_code)
{
	uint32_t max_id = 0;
	vm_vaddr_t set;
	int i;

	TEST_ASSERT(nr <= PV_MAX_VCPUS, "too many vCPUs");
	memset(p, 0, sizeof(*p));
	for (i = 0; i < nr; i++)
		max_id = max(max_id, ids[i]);
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_MAX_VCPU_ID) > max_id);

	if (!receiver_code)
		receiver_code = pv_receiver_code;
	p->nr = nr;
	p->vm = vm_create(nr);
	vm_enable_cap(p->vm, KVM_CAP_MAX_VCPU_ID, max_id + 1);
	for (i = 0; i < nr; i++) {
		p->vcpu[i] = vm_vcpu_add(p->vm, ids[i], i ? receiver_code : sender_code);
		vcpu_args_set(p->vcpu[i], 1, i);
		pv_stats_open(&p->stats[i], p->vcpu[i]);
	}
	pv_install_handlers(p->vm);

	set = vm_vaddr_alloc_page(p->vm);
	p->hs = addr_gva2hva(p->vm, (vm_vaddr_t)&pv);
	p->hs->nr_vcpus = nr;
	for (i = 0; i < nr; i++)
		p->hs->apic_id[i] = ids[i];
	p->hs->set_gva = set;
	p->hs->set_gpa = addr_gva2gpa(p->vm, set);
}

/* Start the receivers' threads, unpinned. */
static inline void pv_start_receivers(struct pv_vm *p)
{
	int i;

	for (i = 1; i < p->nr; i++)
		vcpu_thread_start(&p->thread[i], p->vcpu[i], -1);
}

static inline void pv_wait_ready(struct pv_vm *p)
{
	uint64_t deadline = pv_now_ns() + PV_WAIT_NS;
	int i;

	for (i = 1; i < p->nr; i++) {
		while (!READ_ONCE(p->hs->ready[i])) {
			TEST_ASSERT(pv_now_ns() < deadline,
				    "the receiver at APIC ID %lu did not start",
				    p->hs->apic_id[i]);
			usleep(1000);
		}
	}
}

/*
 * Run the sender to its next ucall; the stage of a GUEST_SYNC_ARGS(),
 * with its arguments in uc, or -1 at GUEST_DONE().
 */
static inline int64_t pv_run_sender(struct pv_vm *p, struct ucall *uc)
{
	struct kvm_vcpu *vcpu = p->vcpu[0];

	pv_vcpu_run(vcpu);
	TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO, "sender: unexpected exit %s",
		    exit_reason_str(vcpu->run->exit_reason));
	switch (get_ucall(vcpu, uc)) {
	case UCALL_SYNC:
		return uc->args[1];
	case UCALL_DONE:
		return -1;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(*uc);
		break;
	default:
		TEST_FAIL("sender: unexpected ucall %lu", uc->cmd);
	}
	return -1;
}

/* Run the sender to its next ucall, which must be stage. */
static inline void pv_sender_to(struct pv_vm *p, struct ucall *uc, int64_t stage)
{
	int64_t got = pv_run_sender(p, uc);

	TEST_ASSERT(got == stage, "sender: stage %ld, expected %ld", got, stage);
}

/* The sender's stats since the last call, or since the VM was made. */
static inline struct pv_stats pv_sender_stats(struct pv_vm *p)
{
	struct pv_stats now, d;

	pv_stats_read(&p->stats[0], &now);
	d = pv_stats_delta(&p->sender_prev, &now);
	p->sender_prev = now;
	return d;
}

/*
 * Did the stage whose pv_sync_stage() is in uc make 'calls' hypercalls,
 * each returning what it should? False, after saying what differs, if not.
 */
static inline bool pv_check_calls(const char *what, struct ucall *uc, uint64_t calls)
{
	if (uc->args[3]) {
		ksft_print_msg(
			       "%s: %lu of %lu calls returned something else, the first (call %lu) %ld\n",
			       what, uc->args[3], uc->args[2], uc->args[5], (int64_t)uc->args[4]);
		return false;
	}
	if (uc->args[2] != calls) {
		ksft_print_msg("%s: %lu hypercalls made, expected %lu\n", what, uc->args[2], calls);
		return false;
	}
	return true;
}

/*
 * Wait until every vCPU has taken what p->expect says, then check that
 * it took exactly that. False, after saying what differs, if a vCPU took
 * more, or not all of it came within PV_WAIT_NS. p->expect then becomes
 * what came, so that the next check fails only for its own IPIs.
 */
static inline bool pv_wait_rcvd(struct pv_vm *p, const char *what)
{
	uint64_t deadline = pv_now_ns() + PV_WAIT_NS, got;
	int i, v, bad = 0;
	bool missing;

	do {
		missing = false;
		for (i = 0; i < p->nr; i++)
			for (v = 0; v < PV_NR_VECTORS; v++)
				missing |= READ_ONCE(p->hs->rcvd[i][v]) < p->expect[i][v];
		if (missing)
			usleep(100);
	} while (missing && pv_now_ns() < deadline);

	for (i = 0; i < p->nr; i++) {
		for (v = 0; v < PV_NR_VECTORS; v++) {
			got = READ_ONCE(p->hs->rcvd[i][v]);
			if (got == p->expect[i][v])
				continue;
			if (bad++ < 16)
				ksft_print_msg(
					       "%s: APIC ID %lu took %s %d %lu times, expected %lu%s\n",
					       what, p->hs->apic_id[i],
					       v == NMI_VECTOR ? "NMI, vector" : "vector", v, got,
					       p->expect[i][v], missing ? " (waited 20 s)" : "");
			p->expect[i][v] = got;
		}
	}
	return !bad;
}

/* An APIC register bitmap (IRR, ISR) of 256 bits: empty? */
static inline bool pv_apic_bitmap_empty(struct kvm_lapic_state *lapic, int reg)
{
	int i;

	for (i = 0; i < 8; i++)
		if (*(uint32_t *)&lapic->regs[reg + 0x10 * i])
			return false;
	return true;
}

/*
 * After the sender's GUEST_DONE(): join the receivers, which leave on
 * PV_VEC_STOP, and check that every vCPU took exactly what p->expect
 * says and has no interrupt left requested or in service: what was
 * delivered but never taken (a vector under 16, say) shows there.
 */
static inline bool pv_vm_finish(struct pv_vm *p)
{
	struct kvm_lapic_state lapic;
	bool ok;
	int i;

	for (i = 1; i < p->nr; i++)
		p->expect[i][PV_VEC_STOP]++;
	ok = pv_wait_rcvd(p, "at the end");
	for (i = 1; i < p->nr; i++)
		pthread_join(p->thread[i].thread, NULL);
	for (i = 0; i < p->nr; i++) {
		vcpu_ioctl(p->vcpu[i], KVM_GET_LAPIC, &lapic);
		if (!pv_apic_bitmap_empty(&lapic, APIC_IRR) ||
		    !pv_apic_bitmap_empty(&lapic, PV_APIC_ISR)) {
			ksft_print_msg("APIC ID %lu has interrupts left in IRR or ISR\n",
				       p->hs->apic_id[i]);
			ok = false;
		}
	}
	ok &= pv_wait_rcvd(p, "after the receivers left");
	return ok;
}

/*
 * Run the sender to its stage end, where it waits to stop the receivers
 * (pv_sender_end()); let them and it finish, then pv_vm_finish().
 */
static inline bool pv_vm_end(struct pv_vm *p, int64_t end)
{
	struct ucall uc;

	pv_sender_to(p, &uc, end);
	WRITE_ONCE(p->hs->stop, 1);
	TEST_ASSERT(pv_run_sender(p, &uc) == -1, "the sender did not finish");
	return pv_vm_finish(p);
}

static inline void pv_vm_free(struct pv_vm *p)
{
	int i;

	for (i = 0; i < p->nr; i++)
		pv_stats_close(&p->stats[i]);
	kvm_vm_free(p->vm);
}

/* Does KVM_GET_SUPPORTED_CPUID, asked now, report this KVM_FEATURE_* bit? */
static inline bool pv_feature_supported_now(unsigned int bit)
{
	struct kvm_cpuid2 *cpuid = allocate_kvm_cpuid2(MAX_NR_CPUID_ENTRIES);
	bool has = false;
	int kvm_fd, i;

	kvm_fd = open_kvm_dev_path_or_exit();
	kvm_ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid);
	close(kvm_fd);
	for (i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == KVM_CPUID_FEATURES &&
		    !cpuid->entries[i].index)
			has = cpuid->entries[i].eax & (1u << bit);
	free(cpuid);
	return has;
}

/*
 * A kvm module parameter that a test turns off and on; the first
 * pv_param_set() saves its value, which is put back at exit, on SIGINT and
 * on SIGTERM. One parameter per test program.
 */
static const char *pv_param_path;
static char pv_param_saved[8];

/* A boolean parameter's "Y" or "N", newline dropped; 0 or -errno. */
static inline int pv_param_read(const char *path, char *val, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, val, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	val[n] = '\0';
	val[strcspn(val, "\n")] = '\0';
	return 0;
}

/* Only open(), write() and close(): pv_param_restore_signal() calls it. */
static inline int pv_param_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : n < 0 ? -errno : -EIO;
}

static inline void pv_param_restore(void)
{
	if (pv_param_saved[0])
		pv_param_write(pv_param_path, pv_param_saved);
}

static inline void pv_param_restore_signal(int sig)
{
	pv_param_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Set the parameter at path to Y or N; 0 or -errno. */
static inline int pv_param_set(const char *path, bool on)
{
	int ret;

	if (!pv_param_saved[0]) {
		ret = pv_param_read(path, pv_param_saved, sizeof(pv_param_saved));
		if (ret)
			return ret;
		pv_param_path = path;
		atexit(pv_param_restore);
		signal(SIGINT, pv_param_restore_signal);
		signal(SIGTERM, pv_param_restore_signal);
	}
	TEST_ASSERT(!strcmp(path, pv_param_path), "one module parameter per test");
	return pv_param_write(path, on ? "Y" : "N");
}

/*
 * A VM without KVM_CREATE_IRQCHIP, for -KVM_EOPNOTSUPP. The library's VMs
 * all have one, so this is __vm_create() without kvm_arch_vm_post_create():
 * memory, the ELF, ucalls, and descriptor-table pages for the vCPU's
 * segments, left empty: the guest makes no exception, and a fault would
 * shut it down. Add the vCPU with vm_vcpu_add().
 */
static inline struct kvm_vm *pv_vm_create_nolapic(void)
{
	struct kvm_vm *vm;
	int i;

	vm = ____vm_create(VM_SHAPE_DEFAULT);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, 0, 0, PV_NOLAPIC_PAGES, 0);
	for (i = 0; i < NR_MEM_REGIONS; i++)
		vm->memslots[i] = 0;
	kvm_vm_elf_load(vm, program_invocation_name);
	ucall_init(vm, 0);
	vm->arch.gdt = __vm_vaddr_alloc_page(vm, MEM_REGION_DATA);
	vm->arch.idt = __vm_vaddr_alloc_page(vm, MEM_REGION_DATA);
	vm->arch.tss = __vm_vaddr_alloc_page(vm, MEM_REGION_DATA);
	sync_global_to_guest(vm, host_cpu_is_intel);
	sync_global_to_guest(vm, host_cpu_is_amd);
	return vm;
}

#endif /* PV_IPI_V2_H */
