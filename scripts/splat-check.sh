#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# splat-check.sh LOG: exit 1, printing the offending lines, if a kernel log
# holds a WARNING, BUG, Oops, lockdep report, RCU stall, soft or hard
# lockup, hung task or KASAN/UBSAN report. Used on every console log and
# on each test's slice of dmesg.

grep -E -n \
	-e 'WARNING:' \
	-e 'BUG:' \
	-e 'Oops' \
	-e 'Kernel panic' \
	-e 'general protection fault' \
	-e 'kernel BUG at' \
	-e 'possible (circular|recursive) locking' \
	-e 'inconsistent lock state' \
	-e 'INFO: lockdep' \
	-e 'suspicious RCU usage' \
	-e 'rcu: INFO: .* stall' \
	-e 'rcu_.*self-detected stall' \
	-e 'detected stalls on CPUs' \
	-e 'soft lockup' \
	-e 'hard LOCKUP' \
	-e 'blocked for more than [0-9]+ seconds' \
	-e 'KASAN:' \
	-e 'UBSAN:' \
	-e 'Call Trace:' \
	"$1" && exit 1
exit 0
