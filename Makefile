# SPDX-License-Identifier: GPL-2.0
# Entry points. Each target is a thin wrapper around a script in scripts/.

SHELL := /bin/bash
export KSRC DEBUG VMF JOBS OUT FORCE BASE_VMLINUX BASE_BZIMAGE ROUNDS \
	QUICK SCENARIOS POLICIES REPS SECS CONFIG LOCALMODCONFIG LSMOD PKG HOST BENCH_OUT CONFIG_ONLY \
	V RFC SKIP_BUILD BASE_COMMIT

.PHONY: kernel host-kernel vm check bench bench-overhead checkpatch export bloat-check clean help

help:
	@echo "make kernel      build out/linux and bzImage (KSRC=<6.12.y tree>, DEBUG=1)"
	@echo "make host-kernel packages for a KVM host from your config in out/host (CONFIG=, LOCALMODCONFIG=1, PKG=deb|rpm)"
	@echo "make vm CMD=...  boot the kernel under QEMU/TCG, run CMD, return its status"
	@echo "make check       build, then run every selftest inside the VM"
	@echo "make bench       latency jitter: VMF vCPUs against EEVDF, SCHED_FIFO, SCHED_DEADLINE and sched_ext (QUICK=1, SCENARIOS=, POLICIES=, HOST=1 on this host)"
	@echo "make bench-overhead  hackbench and perf pipe, stock against VMF (BASE_BZIMAGE=)"
	@echo "make checkpatch  scripts/checkpatch.pl --strict on every patch and new file"
	@echo "make export      each series as mails in out/export, b4-style, checked patch by patch (V=, RFC=1)"
	@echo "make bloat-check no vmlinux change with CONFIG_SCHED_CLASS_VMF off (BASE_VMLINUX=)"
	@echo "make clean       remove out/"

kernel:
	@scripts/kernel.sh

host-kernel:
	@scripts/host-kernel.sh

# CMD reaches the test VM's shell as written: make expands nothing in it
# and the host's shell never parses it, so ";", "&&", pipes, redirections
# and quotes all act inside the VM.
vm: export VMF_VM_CMD := $(value CMD)
vm:
	@[ -n "$$VMF_VM_CMD" ] || { echo "make vm: give the command, CMD='...'" >&2; exit 2; }
	@scripts/vm.sh $(if $(SMP),--smp $(SMP)) $(if $(MEM),--mem $(MEM)) \
		$(if $(TIMEOUT),--timeout $(TIMEOUT)) -- "$$VMF_VM_CMD"

check:
	@scripts/check.sh $(if $(TESTS),--tests '$(TESTS)')

bench:
	@scripts/bench.sh

bench-overhead:
	@scripts/bench-overhead.sh

checkpatch:
	@scripts/checkpatch.sh

export:
	@scripts/export.sh

bloat-check:
	@scripts/bloat-check.sh

clean:
	rm -rf out
