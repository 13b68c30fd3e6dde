#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the selftests into out/selftests/, and the programs under bench/
# into out/bench-bin/, against the uapi headers of the kernel that was just
# built (so new ABI is visible) and the tree's kselftest.h. The tests that
# the series carry are built from the patched tree, with its own kselftest
# Makefiles: tools/testing/selftests/sched/vmf/ (selftests/vmf/*.c here)
# and the x86_64/ entries that kvm-pv adds to tools/testing/selftests/kvm/
# (selftests/kvm/ here). The project's other C tests are built from this
# repository; those under selftests/kvm/ also link the tree's KVM selftest
# library (kvm_util, ucall, guest page tables). The test VM runs them
# straight from out/, which it sees over 9p.

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
	-not -path "$VMF_ROOT/selftests/kvm/*" -not -path "$VMF_ROOT/selftests/vmf/*" | sort)

# tools/testing/selftests/sched/vmf: its Makefile, as "make -C
# tools/testing/selftests TARGETS=sched/vmf" would run it, without the
# module (built below, per flavour). make decides what is rebuilt.
count_newer() { # DIR STAMP
	find "$1" -maxdepth 1 -type f -newer "$2" | wc -l
}
stamp=$(mktemp)
mkdir -p "$dest/vmf"
env -u MAKEFLAGS -u MAKELEVEL -u CFLAGS -u LDFLAGS -u LDLIBS \
	make -s -j "$JOBS" -C "$KSFT/sched/vmf" OUTPUT="$dest/vmf" TEST_GEN_MODS_DIR= \
	KHDR_INCLUDES="-isystem $KBUILD/usr/include" USERCFLAGS=-Werror ||
	{ rm -f "$stamp"; die "building tools/testing/selftests/sched/vmf failed"; }
built=$((built + $(count_newer "$dest/vmf" "$stamp")))

# bench/: each program also static, to run in the L2 guest's initramfs.
for src in "$VMF_ROOT"/bench/*.c; do
	[ -e "$src" ] || continue
	name=$(basename "${src%.c}")
	build_c "$src" "$OUT/bench-bin/$name"
	build_c "$src" "$OUT/bench-bin/$name.static" -static
done

# KVM: the tree's KVM Makefile does the work, for its x86_64/ entries that
# the series carry and, with scripts/kvm-selftests.mk read after it, for the
# project's tests in selftests/kvm/ that no series carries. It builds the
# library objects once into kvm-lib/ and each test with that Makefile's
# own flags; make's dependency files decide what is rebuilt. Its headers
# are the uapi ones of $KBUILD (KHDR_INCLUDES, LINUX_HDR_PATH), its
# temporary files go to kvm-lib/ (TMPOUT) so that nothing is written into
# $LINUX, and no make variables of a calling 'make check' leak into it.
# The runner finds every KVM test in kvm/.
# The series' tests: those the manifest gives to a series, and that the
# tree's Makefile lists (a tree without kvm-pv has none of them). The
# project's own: those the manifest gives to no series.
series_kvm_tests() {
	awk '$2 ~ /^selftests\/kvm\/.*\.c$/ { sub(/.*\//, "", $2); sub(/\.c$/, "", $2); print $2 }' \
		"$VMF_ROOT/manifest" | sort
}
mapfile -t intree < <(series_kvm_tests | sed 's|^|x86_64/|' |
	grep -xFf - <(sed -n 's/^TEST_GEN_PROGS_x86_64 += //p' "$KSFT/kvm/Makefile") || true)
mapfile -t own < <(comm -23 <(cd "$VMF_ROOT/selftests/kvm" && ls -- *.c | sed 's/\.c$//' | sort) \
	<(series_kvm_tests))
mkdir -p "$dest/kvm"
env -u MAKEFLAGS -u MAKELEVEL -u CFLAGS -u LDFLAGS -u LDLIBS \
	make -s -j "$JOBS" -C "$KSFT/kvm" -f Makefile \
	-f "$VMF_ROOT/scripts/kvm-selftests.mk" vmf-kvm-tests "${intree[@]/#/$dest/kvm-lib/}" \
	ARCH=x86 OUTPUT="$dest/kvm-lib" TMPOUT="$dest/kvm-lib/.tmp.$$" \
	KHDR_INCLUDES="-isystem $KBUILD/usr/include" \
	LINUX_HDR_PATH="$KBUILD/usr/include/" \
	VMF_SRC="$VMF_ROOT/selftests/kvm" VMF_TESTS="${own[*]}" VMF_DEST="$dest/kvm" \
	VMF_CFLAGS="-Werror -I $VMF_ROOT/selftests/lib" ||
	{ rm -f "$stamp"; die "building the KVM selftests failed"; }
for t in "${intree[@]}"; do
	cmp -s "$dest/kvm-lib/$t" "$dest/kvm/${t#x86_64/}" ||
		cp -p "$dest/kvm-lib/$t" "$dest/kvm/${t#x86_64/}"
done
built=$((built + $(count_newer "$dest/kvm" "$stamp")))
rm -f "$stamp"

# The selftests' vmf_tp module, which gives the bare SCHED_VMF
# tracepoints trace events, for this kernel, in its own directory per
# flavour (a module only loads into the kernel it was built against).
if grep -q '^CONFIG_SCHED_CLASS_VMF=y' "$KBUILD/.config"; then
	tp=$OUT/vmf_tp-$FLAVOUR
	mkdir -p "$tp"
	for f in "$KSFT"/sched/vmf/vmf_tp/{Kbuild,*.[ch]}; do
		cmp -s "$f" "$tp/${f##*/}" || cp "$f" "$tp/"
	done
	# Module.symvers of the kernel, which an external module links
	# against, comes with its modules.
	kbuild "$LINUX" "$KBUILD" -s -j"$JOBS" modules >/dev/null ||
		die "building the kernel's modules failed"
	# The module's BTF is made against vmlinux's, and kbuild does not
	# rebuild an external module when only vmlinux changed: loaded into
	# the new kernel, the old one failed ("failed to validate module
	# [vmf_tp] BTF: -22").
	if [ -e "$tp/vmf_tp.ko" ] && [ "$tp/vmf_tp.ko" -ot "$KBUILD/vmlinux" ]; then
		kbuild "$LINUX" "$KBUILD" -s M="$tp" clean >/dev/null
	fi
	kbuild "$LINUX" "$KBUILD" -s M="$tp" modules >/dev/null || die "building the vmf_tp module failed"
fi
log "selftests: $built rebuilt"
