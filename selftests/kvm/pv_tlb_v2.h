/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the KVM_HC_FLUSH_TLB_V2 selftests share, on top of pv_ipi_v2.h's VM
 * of vCPUs at chosen APIC IDs (vCPU 0 the sender, the others workers): the
 * hypercall and its a0; pairs of pages whose mappings the sender swaps by
 * writing their PTEs (or PDEs) through a mapping of the table page, as in
 * hyperv_tlb_flush.c; and workers that halt and, each time they wake, read
 * the first page of the pair once.
 *
 * A worker that reads through a translation cached before the swap sees the
 * other page's value: a stale read. It can only be seen if the worker's TLB
 * kept the entry. QEMU's TCG drops every cached translation on each VM
 * entry, so there a stale read is only possible while the worker stays in
 * guest mode; on hardware, entries survive exits, tagged by VPID or ASID.
 * The tests therefore also count, with the tlb_flush vCPU stat, what each
 * worker drained, which TCG does not hide.
 */
#ifndef PV_TLB_V2_H
#define PV_TLB_V2_H

#include "pv_ipi_v2.h"

#define X86_FEATURE_KVM_PV_TLB_FLUSH_V2 \
	KVM_X86_CPU_FEATURE(KVM_CPUID_FEATURES, 0, EAX, KVM_FEATURE_PV_TLB_FLUSH_V2)

#define PV_TLB_PARAM		"/sys/module/kvm/parameters/pv_tlb_v2"
#define PV_TLB_VAL(n)		(0x0101010101010101ULL * (n))	/* what page n holds */
#define PV_TLB_LOW12		0xfffULL	/* PAGE_MASK here drops bits 63:52 too */

/* a0 of a flush of pages from addr, 1 << shift apart (12, 21 or 30). */
#define PV_TLB_A0(addr, pages, shift)					\
	(((uint64_t)(addr) & ~PV_TLB_LOW12) | ((pages) - 1) |		\
	 ((uint64_t)(((shift) - 12) / 9) << 6))

/* Two mappings whose entries the sender swaps. */
struct pv_tlb_pair {
	uint64_t gva[2];	/* where the workers read */
	uint64_t pte[2];	/* GVAs of their PTEs or PDEs, for the sender */
	uint64_t val[2];	/* what gva[i] holds in its first 8 bytes, unswapped */
	uint64_t swapped;
};

/* Shared by the guest and the host. */
struct pv_tlb_shared {
	struct pv_tlb_pair t;			/* two 4K pages, T0 and T1 */
	uint64_t seen[PV_MAX_VCPUS];		/* T0, as a halting worker last read it */
	uint64_t wakes[PV_MAX_VCPUS];		/* how often it read it */
};

static struct pv_tlb_shared pvt;

/* Guest side. */

static __always_inline uint64_t pv_flush(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	return pv_hypercall(KVM_HC_FLUSH_TLB_V2, a0, a1, a2, a3);
}

static inline void pv_tlb_pair_swap(struct pv_tlb_pair *p)
{
	uint64_t *a = (uint64_t *)p->pte[0], *b = (uint64_t *)p->pte[1];
	uint64_t tmp = READ_ONCE(*a);

	WRITE_ONCE(*a, READ_ONCE(*b));
	WRITE_ONCE(*b, tmp);
	p->swapped ^= 1;
}

/* What gva[i] holds when it is read through the current entries. */
static inline uint64_t pv_tlb_pair_expect(const struct pv_tlb_pair *p, int i, uint64_t swapped)
{
	return p->val[i ^ !!swapped];
}

static inline uint64_t pv_tlb_read(uint64_t gva)
{
	return READ_ONCE(*(uint64_t *)gva);
}

/*
 * Halt; on each wake, read T0 once, into seen, then count the wake. The
 * read also keeps T0's translation in the TLB for the next call. Leaves
 * when woken with pv.stop set.
 */
static inline void pv_tlb_halt_loop(uint64_t idx)
{
	while (!READ_ONCE(pv.stop)) {
		WRITE_ONCE(pvt.seen[idx], pv_tlb_read(pvt.t.gva[0]));
		WRITE_ONCE(pvt.wakes[idx], pvt.wakes[idx] + 1);
		pv_safe_halt();
	}
}

/* Host side. */

/* Map gva to gpa at level, and keep later allocations out of it. */
static inline void pv_tlb_map(struct kvm_vm *vm, uint64_t gva, uint64_t gpa, int level)
{
	__virt_pg_map(vm, gva, gpa, level);
	sparsebit_set_num(vm->vpages_mapped, gva >> vm->page_shift,
			  PG_LEVEL_SIZE(level) >> vm->page_shift);
}

/*
 * Give the sender the entries of the pair's two mappings, at level, through
 * a 4K mapping of each table page.
 */
static inline void pv_tlb_pair_map_entries(struct kvm_vm *vm, struct pv_tlb_pair *p, int level)
{
	vm_vaddr_t win = vm_vaddr_unused_gap(vm, 2 * PG_SIZE_4K, KVM_UTIL_MIN_VADDR);
	vm_paddr_t gpa;
	uint64_t *e;
	int i, l;

	for (i = 0; i < 2; i++) {
		l = level;
		e = __vm_get_page_table_entry(vm, p->gva[i], &l);
		TEST_ASSERT(l == level, "the mapping of %#lx is not at level %d", p->gva[i], level);
		gpa = addr_hva2gpa(vm, e);
		pv_tlb_map(vm, win + i * PG_SIZE_4K, gpa & ~PV_TLB_LOW12, PG_LEVEL_4K);
		p->pte[i] = win + i * PG_SIZE_4K + (gpa & PV_TLB_LOW12);
	}
}

static inline void pv_tlb_fill(uint64_t *page, uint64_t val, size_t size)
{
	size_t i;

	for (i = 0; i < size / sizeof(*page); i++)
		page[i] = val;
}

/* Two 4K pages holding PV_TLB_VAL(first) and PV_TLB_VAL(first + 1). */
static inline void pv_tlb_pair_create_4k(struct kvm_vm *vm, struct pv_tlb_pair *p, int first)
{
	vm_vaddr_t pages = vm_vaddr_alloc_pages(vm, 2);
	int i;

	for (i = 0; i < 2; i++) {
		p->gva[i] = pages + i * PG_SIZE_4K;
		p->val[i] = PV_TLB_VAL(first + i);
		pv_tlb_fill(addr_gva2hva(vm, p->gva[i]), p->val[i], PG_SIZE_4K);
	}
	p->swapped = 0;
	pv_tlb_pair_map_entries(vm, p, PG_LEVEL_4K);
}

/*
 * Two 2M pages, in a memslot of their own at gpa (2M-aligned), mapped at a
 * 2M-aligned GVA, holding PV_TLB_VAL(first) and PV_TLB_VAL(first + 1) in
 * their first 8 bytes.
 */
static inline void pv_tlb_pair_create_2m(struct kvm_vm *vm, struct pv_tlb_pair *p,
					 uint64_t gpa, int slot, int first)
{
	vm_vaddr_t gva = vm_vaddr_unused_gap(vm, 3 * PG_SIZE_2M, KVM_UTIL_MIN_VADDR);
	int i;

	TEST_ASSERT(!(gpa % PG_SIZE_2M), "2M pages at GPA %#lx", gpa);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, gpa, slot,
				    2 * PG_SIZE_2M / PG_SIZE_4K, 0);
	gva = align_up(gva, PG_SIZE_2M);
	for (i = 0; i < 2; i++) {
		p->gva[i] = gva + i * PG_SIZE_2M;
		p->val[i] = PV_TLB_VAL(first + i);
		pv_tlb_map(vm, p->gva[i], gpa + i * PG_SIZE_2M, PG_LEVEL_2M);
		*(uint64_t *)addr_gpa2hva(vm, gpa + i * PG_SIZE_2M) = p->val[i];
	}
	p->swapped = 0;
	pv_tlb_pair_map_entries(vm, p, PG_LEVEL_2M);
}

/* The guest's struct pv_tlb_shared, with T0 and T1 set up. */
static inline struct pv_tlb_shared *pv_tlb_setup(struct pv_vm *p)
{
	struct pv_tlb_shared *hs = addr_gva2hva(p->vm, (vm_vaddr_t)&pvt);

	pv_tlb_pair_create_4k(p->vm, &hs->t, 1);
	return hs;
}

/*
 * Start the workers' threads, worker i pinned to CPU (i - 1) % CPUs: the
 * tlb_flush stat counts KVM's own flushes too, and on VMX a vCPU that
 * moves to another CPU flushes when it is loaded there.
 */
static inline void pv_tlb_start_workers(struct pv_vm *p)
{
	int i;

	for (i = 1; i < p->nr; i++)
		vcpu_thread_start(&p->thread[i], p->vcpu[i], (i - 1) % get_nprocs());
}

/* Wait until every worker in mask (bit i: vCPU i) is blocked in KVM_RUN. */
static inline void pv_tlb_wait_blocked(struct pv_vm *p, uint64_t mask)
{
	uint64_t deadline = pv_now_ns() + PV_WAIT_NS;
	int i;

	for (i = 1; i < p->nr; i++) {
		if (!(mask & BIT_ULL(i)))
			continue;
		while (!pv_stat_read(&p->stats[i], PV_BLOCKING)) {
			TEST_ASSERT(pv_now_ns() < deadline,
				    "the worker at APIC ID %lu did not halt", p->hs->apic_id[i]);
			usleep(100);
		}
	}
}

/* Wait until every worker in mask has woken and read T0 since wakes[] was seen. */
static inline void pv_tlb_wait_woken(struct pv_vm *p, struct pv_tlb_shared *hs,
				     const uint64_t *wakes, uint64_t mask)
{
	uint64_t deadline = pv_now_ns() + PV_WAIT_NS;
	int i;

	for (i = 1; i < p->nr; i++) {
		if (!(mask & BIT_ULL(i)))
			continue;
		while (READ_ONCE(hs->wakes[i]) == wakes[i]) {
			TEST_ASSERT(pv_now_ns() < deadline,
				    "the worker at APIC ID %lu did not wake", p->hs->apic_id[i]);
			usleep(100);
		}
	}
}

/* Each vCPU's tlb_flush stat, into v[]. */
static inline void pv_tlb_flushes(struct pv_vm *p, uint64_t *v)
{
	int i;

	for (i = 0; i < p->nr; i++)
		v[i] = pv_stat_read(&p->stats[i], PV_TLB_FLUSH);
}

#endif /* PV_TLB_V2_H */
