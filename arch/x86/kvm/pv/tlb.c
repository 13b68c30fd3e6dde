// SPDX-License-Identifier: GPL-2.0
/*
 * PV TLB shootdown v2: KVM_HC_FLUSH_TLB_V2 flushes a range of guest linear
 * addresses, or everything, on any set of vCPUs, and the guest sends no IPI.
 *
 * a0 describes the flush (a page-aligned address whose low 12 bits carry the
 * page count, the stride and the flags) and a1-a3 the vCPUs, in either form
 * of a v2 vCPU set (pv.c). Once a0 and the set are valid, the host puts the
 * flush on each target's queue and makes KVM_REQ_PV_TLB_FLUSH for all of
 * them at once. The request has KVM_REQUEST_WAIT: the caller waits until
 * every target that was in guest mode has acknowledged the kick, which it
 * can only do after a VM-exit, because interrupts stay off from
 * IN_GUEST_MODE to the exit. It has KVM_REQUEST_NO_WAKEUP: a halted target
 * stays halted, and a preempted one is not waited for. Each target drains
 * its own queue in vcpu_enter_guest() before it enters the guest again. So
 * when the hypercall returns, no target runs another guest instruction
 * without the flush: a target in guest mode has left it and drains on the
 * way back, and any other target sees the request on its way in (it sets
 * IN_GUEST_MODE, then, after a full barrier, checks for requests).
 *
 * This is Hyper-V's protocol (hv_tlb_flush_enqueue() and
 * kvm_hv_vcpu_flush_tlb() in hyperv.c), with three differences:
 * - one queue per vCPU, L1's. The hypercall cannot come from L2: L0 turns
 *   VMMCALL from L2 into #UD unless it is a Hyper-V flush, and VMCALL from L2
 *   always exits to L1. While the target runs L2, its drain waits, and
 *   leave_guest_mode() makes the request again (see kvm_pv_tlb_service());
 * - bounded work: an entry covers at most 64 pages, and a drain flushes at
 *   most 64 pages one by one, or else everything;
 * - every guest address is validated when the call is made, so that a call
 *   that fails has changed nothing, and a drain never meets an entry it
 *   cannot flush.
 *
 * The queue holds 16 validated a0s with KVM_FLUSH_TLB_V2_SPARSE cleared, so
 * a flush-all entry is just KVM_FLUSH_TLB_V2_ALL. Producers are vCPUs in the
 * hypercall; each takes the target's write_lock for a single kfifo_put().
 * The one consumer is the target itself, without a lock, as kfifo allows.
 * The last free slot only ever takes a flush-all entry, so a full queue ends
 * in one and a flush that did not fit is covered by it.
 */

#include <linux/bitfield.h>
#include <linux/kfifo.h>
#include <linux/kvm_host.h>
#include <linux/moduleparam.h>
#include <uapi/linux/kvm_para.h>

#include "cpuid.h"
#include "kvm_cache_regs.h"
#include "lapic.h"
#include "trace.h"
#include "x86.h"
#include "pv.h"

static bool __read_mostly pv_tlb_v2 = true;
module_param(pv_tlb_v2, bool, 0644);
MODULE_PARM_DESC(pv_tlb_v2, "Offer guests KVM_HC_FLUSH_TLB_V2 (CPUID KVM_FEATURE_PV_TLB_FLUSH_V2)");

/*
 * The most pages an entry names (KVM_FLUSH_TLB_V2_NR is pages - 1, from bit
 * 0) and the most a drain flushes one at a time. Native Linux flushes at most
 * tlb_single_page_flush_ceiling (33) pages one by one.
 */
#define KVM_PV_TLB_MAX_PAGES	(KVM_FLUSH_TLB_V2_NR + 1)

/* Entries that a drain can only honour with a flush of everything. */
#define KVM_PV_TLB_FULL		(KVM_FLUSH_TLB_V2_ALL | KVM_FLUSH_TLB_V2_GLOBAL | \
				 KVM_FLUSH_TLB_V2_FREED_TABLES)

bool kvm_pv_tlb_v2_enabled(void)
{
	return READ_ONCE(pv_tlb_v2);
}

void kvm_pv_tlb_vcpu_init(struct kvm_vcpu *vcpu)
{
	struct kvm_pv_tlb_queue *q = &vcpu->arch.pv_tlb;

	spin_lock_init(&q->write_lock);
	INIT_KFIFO(q->entries);
	q->l1_pending = false;
}

/* log2 of the distance between the pages of an entry: 4K, 2M or 1G. */
static unsigned int kvm_pv_tlb_shift(u64 entry)
{
	return PAGE_SHIFT + 9 * FIELD_GET(KVM_FLUSH_TLB_V2_STRIDE, entry);
}

/*
 * Canonical in the caller's paging mode. KVM does not know the paging mode
 * of a guest whose state is protected (SEV-ES and later): there, canonical
 * for INVLPG on this host, as its hypercalls are taken as 64-bit anyway.
 */
static bool kvm_pv_tlb_noncanonical(u64 la, struct kvm_vcpu *vcpu)
{
	if (vcpu->arch.guest_state_protected)
		return is_noncanonical_invlpg_address(la, vcpu);
	return is_noncanonical_address(la, vcpu, 0);
}

/*
 * Validate a0 into a queue entry. Whatever a drain relies on is checked here,
 * against the caller, before anything is queued.
 */
static int kvm_pv_tlb_entry(struct kvm_vcpu *vcpu, unsigned long a0,
			    bool op_64_bit, u64 *entry)
{
	u64 first, last;

	if (a0 & KVM_FLUSH_TLB_V2_ALL) {
		/* Nothing else to say about an ALL; a guest that does is confused. */
		if (a0 & (KVM_FLUSH_TLB_V2_ADDR | KVM_FLUSH_TLB_V2_NR |
			  KVM_FLUSH_TLB_V2_STRIDE))
			return -KVM_EINVAL;
		goto out;
	}

	/* Stride 3 is the one reserved code point of a0. */
	if ((a0 & KVM_FLUSH_TLB_V2_STRIDE) == KVM_FLUSH_TLB_V2_STRIDE)
		return -KVM_EINVAL;

	first = a0 & KVM_FLUSH_TLB_V2_ADDR;
	last = first + ((u64)(a0 & KVM_FLUSH_TLB_V2_NR) << kvm_pv_tlb_shift(a0));
	/*
	 * A range that wraps, for a caller outside 64-bit mode past 4G, names
	 * pages the caller cannot have meant.
	 */
	if (last < first || (!op_64_bit && last > U32_MAX))
		return -KVM_EINVAL;
	/*
	 * Canonical for the caller implies canonical for INVLPG on this host,
	 * as a guest only gets LA57 if the host has it. The span is at most
	 * 64 x 1G = 2^36 bytes, far less than the hole between the canonical
	 * halves, so a range that starts and ends canonical, and does not
	 * wrap, is canonical throughout.
	 */
	if (kvm_pv_tlb_noncanonical(first, vcpu) || kvm_pv_tlb_noncanonical(last, vcpu))
		return -KVM_EINVAL;
out:
	*entry = a0 & ~KVM_FLUSH_TLB_V2_SPARSE;
	return 0;
}

/*
 * Put @entry on @vcpu's queue, or a flush-all if only the last slot is left:
 * a full queue always ends in a flush-all, which stands for every flush that
 * did not fit. The lock is held for one kfifo_put(), never across guest
 * memory or a kick, so a guest cannot make the host hold it long: at worst
 * every vCPU takes its turn on one target's lock, for 8 bytes each.
 */
static void kvm_pv_tlb_enqueue(struct kvm_vcpu *vcpu, u64 entry)
{
	struct kvm_pv_tlb_queue *q = &vcpu->arch.pv_tlb;
	unsigned int avail;

	spin_lock(&q->write_lock);
	avail = kfifo_avail(&q->entries);
	if (avail > 1)
		kfifo_put(&q->entries, entry);
	else if (avail == 1)
		kfifo_put(&q->entries, (u64)KVM_FLUSH_TLB_V2_ALL);
	spin_unlock(&q->write_lock);
}

unsigned long kvm_pv_flush_tlb_v2(struct kvm_vcpu *vcpu, unsigned long a0,
				  unsigned long a1, unsigned long a2,
				  unsigned long a3, bool op_64_bit)
{
	unsigned int count = 0, kicked = 0;
	struct kvm_pv_vcpu_mask mask;
	struct kvm_vcpu *target;
	unsigned long i;
	u64 entry;
	int ret;

	if (!kvm_pv_tlb_v2_enabled() ||
	    !guest_pv_has(vcpu, KVM_FEATURE_PV_TLB_FLUSH_V2))
		return -KVM_ENOSYS;

	/*
	 * Not reachable (see the top of the file). Should that change, refuse:
	 * entries are flushed in L1's context, which is not what L2 meant.
	 */
	if (is_guest_mode(vcpu))
		return -KVM_EOPNOTSUPP;

	ret = kvm_pv_tlb_entry(vcpu, a0, op_64_bit, &entry);
	if (ret)
		return ret;
	if (!lapic_in_kernel(vcpu))
		return -KVM_EOPNOTSUPP;

	ret = kvm_pv_vcpu_mask_from_args(vcpu, &mask, a0 & KVM_FLUSH_TLB_V2_SPARSE, a1, a2, a3,
					 op_64_bit);
	if (ret)
		return ret;

	/* Nothing has failed, and nothing can now: queue. */
	for_each_set_bit(i, mask.bits, KVM_MAX_VCPUS) {
		target = kvm_get_vcpu(vcpu->kvm, i);
		if (!target)
			continue;
		kvm_pv_tlb_enqueue(target, entry);
		count++;
		/* Only for the tracepoint: about the kicks the request sends. */
		kicked += READ_ONCE(target->mode) != OUTSIDE_GUEST_MODE;
	}

	/*
	 * __kvm_make_request() orders the entries before the request bit, and
	 * the wait is for the targets in guest mode only; the caller, if it
	 * is in the set, drains before it re-enters.
	 */
	kvm_make_vcpus_request_mask(vcpu->kvm, KVM_REQ_PV_TLB_FLUSH, mask.bits);

	trace_kvm_pv_flush_tlb_v2(vcpu->vcpu_id, a0, count, kicked);
	return count;
}

/*
 * Can flush_tlb_gva() be trusted to drop an address from every PCID of the
 * guest? VMX: yes, INVVPID's individual-address type names a VPID and no
 * PCID, and drops the address's mappings for all PCIDs of the VPID, global
 * ones included. With VPID off it does nothing and VM-entry flushes all.
 *
 * SVM (risk R1 of the design): INVLPGA names an ASID and no PCID, and the
 * APM does not say in so many words that it drops the mappings that other
 * PCIDs of the ASID cached for the address (kvm_hv_vcpu_flush_tlb() assumes
 * it does). Until that is confirmed, a target that runs with CR4.PCIDE on
 * an SVM host gets a full flush instead of its ranges. That costs Linux
 * guests with PCID (Zen 3 and later) their ranges, and nothing else.
 */
static bool kvm_pv_tlb_ranges_ok(struct kvm_vcpu *vcpu)
{
	/*
	 * Shadow paging: a full flush syncs the roots once, where each page
	 * flushed alone would take mmu_lock for write once per page per root
	 * (kvm_mmu_invlpg()). Hyper-V's flush makes the same choice.
	 */
	if (!tdp_enabled)
		return false;

	if (!boot_cpu_has(X86_FEATURE_SVM))
		return true;
	/* KVM cannot see CR4 of a guest whose state is protected. */
	return !vcpu->arch.guest_state_protected &&
	       !kvm_is_cr4_bit_set(vcpu, X86_CR4_PCIDE);
}

static void kvm_pv_tlb_flush_entry(struct kvm_vcpu *vcpu, u64 entry)
{
	unsigned int i, nr = (entry & KVM_FLUSH_TLB_V2_NR) + 1;
	unsigned int shift = kvm_pv_tlb_shift(entry);
	u64 gva = entry & KVM_FLUSH_TLB_V2_ADDR;

	for (i = 0; i < nr; i++, gva += BIT_ULL(shift)) {
		/*
		 * Canonical for the caller, so for the host too (see
		 * kvm_pv_tlb_entry()). Checked again because INVVPID fails
		 * and INVLPGA faults on a non-canonical address.
		 */
		if (!is_noncanonical_invlpg_address(gva, vcpu))
			kvm_x86_call(flush_tlb_gva)(vcpu, gva);
	}
}

/**
 * kvm_pv_tlb_service - drain the flushes other vCPUs queued for @vcpu
 * @vcpu: the current vCPU, which is about to enter the guest
 *
 * Called from vcpu_enter_guest() when KVM_REQ_PV_TLB_FLUSH is pending.
 *
 * Return: true if the caller must flush all of the guest's TLB, with
 * kvm_vcpu_flush_tlb_guest(), before it enters; false if the flushes were
 * done, or must wait until @vcpu is back in L1.
 */
bool kvm_pv_tlb_service(struct kvm_vcpu *vcpu)
{
	struct kvm_pv_tlb_queue *q = &vcpu->arch.pv_tlb;
	u64 entries[KVM_PV_TLB_QUEUE_SIZE];
	unsigned int i, n, pages = 0;
	bool full;

	/* The one consumer; producers only ever take write_lock. */
	lockdep_assert_once(vcpu == kvm_get_running_vcpu());

	/*
	 * The entries are L1's, and flush_tlb_gva() and flush_tlb_guest() act
	 * on the current context, which is L2's. L1's translations cannot be
	 * used while L2 runs (L2 has its own VPID, or its entries are flushed
	 * on every transition: nested_vmx_transition_tlb_flush(),
	 * nested_svm_transition_tlb_flush()), so the entries wait, and
	 * leave_guest_mode() makes the request again. Every way back to L1
	 * goes through leave_guest_mode(), and L1 runs nothing before the
	 * next vcpu_enter_guest() drains the queue.
	 */
	if (is_guest_mode(vcpu)) {
		q->l1_pending = true;
		return false;
	}

	n = kfifo_out(&q->entries, entries, ARRAY_SIZE(entries));
	if (!n)
		return false;

	full = !kvm_pv_tlb_ranges_ok(vcpu);
	for (i = 0; i < n && !full; i++) {
		pages += (entries[i] & KVM_FLUSH_TLB_V2_NR) + 1;
		/*
		 * GLOBAL: the kernel may be mapped under every PCID (PTI); a
		 * full flush is the simple superset. FREED_TABLES: INVLPG
		 * drops the paging-structure caches of its PCID, but INVVPID
		 * and INVLPGA are only specified for the address.
		 */
		full = (entries[i] & KVM_PV_TLB_FULL) || pages > KVM_PV_TLB_MAX_PAGES;
	}

	/*
	 * The emulator caches one GVA that maps MMIO (vcpu->arch.mmio_gva);
	 * guest INVLPG clears it, and so must a flush that may have remapped
	 * it. A 2M or 1G page covers more than the 4K the cache compares, so
	 * clear it whole: that costs at most one page walk.
	 */
	vcpu_clear_mmio_info(vcpu, MMIO_GVA_ANY);
	trace_kvm_pv_tlb_service(vcpu->vcpu_id, n, full ? 0 : pages, full);

	if (full) {
		/*
		 * Entries queued since kfifo_out() go too: the full flush the
		 * caller does next, before entry, covers them, and their
		 * request, if made after the kvm_check_request() that brought
		 * us here, costs one more (empty) drain.
		 */
		kfifo_reset_out(&q->entries);
		return true;
	}

	for (i = 0; i < n; i++)
		kvm_pv_tlb_flush_entry(vcpu, entries[i]);
	vcpu->stat.tlb_flush += n;
	return false;
}
