# SPDX-License-Identifier: GPL-2.0
# Shared settings for the scripts in this directory. Sourced, not run.

VMF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${OUT:-$VMF_ROOT/out}
LINUX=$OUT/linux

# DEBUG=1 selects the debug kernel everywhere: its own build directory, so
# switching between the two never rebuilds either.
if [ "${DEBUG:-0}" = 1 ]; then
	FLAVOUR=debug
else
	FLAVOUR=lean
fi
# VMF=n builds the same series with CONFIG_SCHED_CLASS_VMF off, to check
# that the option off changes nothing (scripts/bloat-check.sh).
[ "${VMF:-y}" = n ] && FLAVOUR=$FLAVOUR-novmf
KBUILD=$OUT/build-$FLAVOUR
BZIMAGE=$KBUILD/arch/x86/boot/bzImage
# The L2 guest of scripts/l2.sh: the lean kernel, if built, under the
# debug one, whose checkers are for the host (L1).
L2_BZIMAGE=$BZIMAGE
if [ "${DEBUG:-0}" = 1 ] && [ -f "$OUT/build-lean/arch/x86/boot/bzImage" ]; then
	L2_BZIMAGE=$OUT/build-lean/arch/x86/boot/bzImage
fi

die() {
	echo "error: $*" >&2
	exit 1
}

log() {
	echo ">>> $*" >&2
}

# Run a command and report how long it took, so CI logs show every phase.
timed() {
	local what=$1 start end
	shift
	start=$(date +%s)
	"$@"
	local rc=$?
	end=$(date +%s)
	echo ">>> phase '$what' took $((end - start)) s (exit $rc)" >&2
	return $rc
}

# make for our test kernels: kbuild SRC OBJ [make args...]. One compiler
# command and build identity everywhere, so that kbuild never rebuilds an
# object only because its command line differs, and ccache shares objects
# between trees at different paths.
kbuild() {
	local src=$1 obj=$2
	shift 2
	CCACHE_BASEDIR=$VMF_ROOT CCACHE_NOHASHDIR=1 make -C "$src" O="$obj" CC="ccache gcc" \
		LOCALVERSION= KBUILD_BUILD_USER=vmf KBUILD_BUILD_HOST=vmf "$@"
}
