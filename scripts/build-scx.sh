#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-scx.sh: build scx_simple, the sched_ext scheduler of make bench's
# scx policy, from the kernel tree's tools/sched_ext into out/scx/ (the
# binary: out/scx/build/bin/scx_simple). The build makes its own libbpf
# and bpftool, and takes vmlinux.h from the BTF of VMLINUX_BTF (default:
# the built kernel's vmlinux; make bench HOST=1 gives the running
# kernel's /sys/kernel/btf/vmlinux). Nothing is written into out/linux.
#
# The BPF side needs clang, lld and llvm 19 (Debian 12 has them in
# bookworm main); missing ones are installed with apt-get, as .ci/run
# installs its packages, or the build stops and names them.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

VMLINUX_BTF=${VMLINUX_BTF:-$KBUILD/vmlinux}
SCX_OUT=$OUT/scx
# What make needs, as command:package.
TOOLS=(clang-19:clang-19 ld.lld-19:lld-19 llvm-strip-19:llvm-19)

need_tools() {
	local t missing=()

	for t in "${TOOLS[@]}"; do
		command -v "${t%%:*}" >/dev/null || missing+=("${t#*:}")
	done
	[ ${#missing[@]} = 0 ] && return
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		die "building scx_simple needs ${missing[*]}: install them (Debian: apt-get install ${missing[*]})"
	fi
	log "installing ${missing[*]} for scx_simple"
	{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"; } >&2 ||
		die "cannot install ${missing[*]} (apt-get failed, see above)"
}

[ -d "$LINUX/tools/sched_ext" ] || die "no $LINUX/tools/sched_ext; run 'make kernel' first"
[ -s "$VMLINUX_BTF" ] || die "no kernel BTF at $VMLINUX_BTF; run 'make kernel' first"
need_tools
mkdir -p "$SCX_OUT"
make -s -C "$LINUX/tools/sched_ext" LLVM=-19 O="$SCX_OUT" VMLINUX_BTF="$VMLINUX_BTF" \
	scx_simple >"$SCX_OUT/build.log" 2>&1 ||
	die "building scx_simple failed; see $SCX_OUT/build.log"
[ -x "$SCX_OUT/build/bin/scx_simple" ] || die "the build left no $SCX_OUT/build/bin/scx_simple"
