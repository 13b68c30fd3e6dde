#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM: vm-run-tests.sh FLAVOUR TEST:TIMEOUT:KIND...
# Each test's output goes to $VMF_OUT/logs/, one line per test to
# $VMF_OUT/results ("name pass|fail|skip reason"). A kernel splat that
# appears in dmesg while a test runs fails that test.

flavour=$1
shift
mkdir -p "$VMF_OUT/logs"
: >"$VMF_OUT/results"

for spec in "$@"; do
	name=${spec%%:*}
	rest=${spec#*:}
	tmo=${rest%%:*}
	kind=${rest#*:}
	log=$VMF_OUT/logs/$(echo "$name" | tr / _).log
	echo "$name" >>"$VMF_OUT/stage"

	if [ "$kind" = ratio ] && [ "$flavour" = debug ]; then
		echo "$name skip ratio test: timings of the debug kernel mean nothing" >>"$VMF_OUT/results"
		continue
	fi
	case $name in
	*.c) prog="$VMF_ROOT/out/selftests/${name%.c}" ;;
	*) prog="$VMF_ROOT/selftests/$name" ;;
	esac

	dmesg >/tmp/dmesg.before
	start=$(date +%s)
	timeout -k 5 "$tmo" "$prog" >"$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	dmesg | tail -n +"$(($(wc -l </tmp/dmesg.before) + 1))" >/tmp/dmesg.test
	if ! "$VMF_ROOT/scripts/splat-check.sh" /tmp/dmesg.test >/tmp/splat; then
		{ echo "--- kernel splat during the test:"; cat /tmp/dmesg.test; } >>"$log"
		echo "$name fail kernel splat in dmesg (${secs}s)" >>"$VMF_OUT/results"
	elif [ $rc = 124 ] || [ $rc = 137 ]; then
		echo "$name fail timed out after ${tmo}s" >>"$VMF_OUT/results"
	elif [ $rc = 4 ]; then
		echo "$name skip $(tail -n 1 "$log") (${secs}s)" >>"$VMF_OUT/results"
	elif [ $rc = 0 ]; then
		echo "$name pass (${secs}s)" >>"$VMF_OUT/results"
	else
		echo "$name fail exit status $rc (${secs}s)" >>"$VMF_OUT/results"
	fi
done
exit 0
