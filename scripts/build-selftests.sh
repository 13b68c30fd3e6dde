#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build every C selftest under selftests/ into out/selftests/, and the
# programs under bench/ into out/bench-bin/, against the
# uapi headers of the kernel that was just built (so new ABI is visible)
# and the tree's kselftest.h. Tests under selftests/kvm/ also link the
# tree's KVM selftest library (kvm_util, ucall, guest page tables). The
# test VM runs them straight from out/, which it sees over 9p.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

[ -d "$KBUILD" ] || die "no kernel build in $KBUILD; run 'make kernel' first"
make -s -C "$LINUX" O="$KBUILD" headers_install >/dev/null

KSFT=$LINUX/tools/testing/selftests
JOBS=${JOBS:-$(($(nproc) + 1))}
CFLAGS="-O2 -g -Wall -Wextra -Wno-unused-parameter -Werror -D_GNU_SOURCE"
CFLAGS="$CFLAGS -isystem $KBUILD/usr/include -I $KSFT -I $VMF_ROOT/selftests/lib"
dest=$OUT/selftests
mkdir -p "$dest"
built=0

# build_c SRC BIN [GCC FLAGS...]: build BIN unless it is newer than SRC,
# the uapi headers, the headers in SRC's directory and selftests/lib.
build_c() {
	local src=$1 bin=$2
	shift 2
	local deps=("$src" "$KBUILD/usr/include/linux/sched.h" $(ls "$VMF_ROOT"/selftests/lib/*.h \
		"$(dirname "$src")"/*.h 2>/dev/null))

	mkdir -p "$(dirname "$bin")"
	if [ -x "$bin" ] && [ -z "$(find "${deps[@]}" -newer "$bin")" ]; then
		return 0
	fi
	gcc $CFLAGS "$@" -o "$bin" "$src" -pthread -lm || die "building ${src#"$VMF_ROOT/"} failed"
	built=$((built + 1))
}

while read -r src; do
	rel=${src#"$VMF_ROOT/selftests/"}
	build_c "$src" "$dest/${rel%.c}"
done < <(find "$VMF_ROOT/selftests" -name '*.c' -not -path '*/lib/*' \
	-not -path "$VMF_ROOT/selftests/kvm/*" | sort)

# bench/: each program also static, to run in the L2 guest's initramfs.
for src in "$VMF_ROOT"/bench/*.c; do
	[ -e "$src" ] || continue
	name=$(basename "${src%.c}")
	build_c "$src" "$OUT/bench-bin/$name"
	build_c "$src" "$OUT/bench-bin/$name.static" -static
done

# selftests/kvm/: the tree's KVM Makefile does the work, with
# scripts/kvm-selftests.mk read after it. It builds the library objects once
# into kvm-lib/ and each test with that Makefile's own flags; make's
# dependency files decide what is rebuilt. Its headers are the uapi ones of
# $KBUILD (KHDR_INCLUDES, LINUX_HDR_PATH), its temporary files go to
# kvm-lib/ (TMPOUT) so that nothing is written into $LINUX, and no make
# variables of a calling 'make check' leak into it.
if [ -n "$(find "$VMF_ROOT/selftests/kvm" -maxdepth 1 -name '*.c' 2>/dev/null)" ]; then
	stamp=$(mktemp)
	env -u MAKEFLAGS -u MAKELEVEL -u CFLAGS -u LDFLAGS -u LDLIBS \
		make -s -j "$JOBS" -C "$KSFT/kvm" -f Makefile \
		-f "$VMF_ROOT/scripts/kvm-selftests.mk" vmf-kvm-tests \
		ARCH=x86 OUTPUT="$dest/kvm-lib" TMPOUT="$dest/kvm-lib/.tmp.$$" \
		KHDR_INCLUDES="-isystem $KBUILD/usr/include" \
		LINUX_HDR_PATH="$KBUILD/usr/include/" \
		VMF_SRC="$VMF_ROOT/selftests/kvm" VMF_DEST="$dest/kvm" \
		VMF_CFLAGS="-Werror -I $VMF_ROOT/selftests/lib" ||
		{ rm -f "$stamp"; die "building the KVM selftests failed"; }
	built=$((built + $(find "$dest/kvm" -maxdepth 1 -type f -newer "$stamp" | wc -l)))
	rm -f "$stamp"
fi
# tools/vmf_tp: the module that gives the bare SCHED_VMF tracepoints
# trace events, for this kernel, in its own directory per flavour (a
# module only loads into the kernel it was built against).
if grep -q '^CONFIG_SCHED_CLASS_VMF=y' "$KBUILD/.config"; then
	tp=$OUT/vmf_tp-$FLAVOUR
	mkdir -p "$tp"
	for f in "$VMF_ROOT"/tools/vmf_tp/*; do
		cmp -s "$f" "$tp/${f##*/}" || cp "$f" "$tp/"
	done
	# Module.symvers of the kernel, which an external module links
	# against, comes with its modules.
	kbuild "$LINUX" "$KBUILD" -s -j"$JOBS" modules >/dev/null ||
		die "building the kernel's modules failed"
	kbuild "$LINUX" "$KBUILD" -s M="$tp" modules >/dev/null || die "building tools/vmf_tp failed"
fi
log "selftests: $built rebuilt"
