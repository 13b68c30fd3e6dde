# SPDX-License-Identifier: GPL-2.0
#
# Sourced by the paravirt tests in L2 guests (selftests/vmf/l2_pv_*.sh).
#
#   l2_pv_setup PARAM FEATURE PROGRAM NAME
#
# Skips the test (status 4) where this VM cannot run it: no /dev/kvm, no
# kvm module parameter PARAM (a kernel without FEATURE), no tracefs; fails
# it if bench/PROGRAM.c is not built static or PARAM is not its default,
# Y. Sets bin (where bench's programs were built) and out (an empty
# directory NAME in the run directory).

l2_pv_setup() {
	param=/sys/module/kvm/parameters/$1
	[ -c /dev/kvm ] || { echo "SKIP: no /dev/kvm"; exit 4; }
	[ -e "$param" ] || { echo "SKIP: kernel without $2 (no $param)"; exit 4; }
	[ -d /sys/kernel/tracing/instances ] || { echo "SKIP: no tracefs"; exit 4; }
	bin=$VMF_ROOT/out/bench-bin
	[ -x "$bin/$3.static" ] || { echo "FAIL: $bin/$3.static is not built"; exit 1; }
	if [ "$(cat "$param")" != Y ]; then
		echo "FAIL: $param is $(cat "$param"), not its default Y"
		exit 1
	fi
	out=${VMF_OUT:-/tmp}/$4
	rm -rf "$out"
	mkdir -p "$out"
}
