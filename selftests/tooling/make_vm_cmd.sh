#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make vm CMD='...' runs the whole of CMD in the test VM and no part of it
# on the host. Runs on the host (shape "host" in selftests/TESTS).
#
# CMD has a ";", a "&&", a pipe, redirections, a quoted argument with a
# space and a command substitution. In the VM its parts write to /tmp,
# the VM's own tmpfs, and the result goes to /mnt, the run directory that
# the host sees. The host must find the result whole and in order, a line
# that only the test VM's /proc/cmdline gives, and nothing in its own
# /tmp. The Makefile used to hand $(CMD) to the host's shell unquoted:
# everything after the first ";" ran on the host, as root.

root=${VMF_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
tag=vmf-cmd-$$
mkdir -p "$root/out/vm"
run=$(mktemp -d "$root/out/vm/cmd-test.XXXXXX")
trap 'rm -rf "$run" /tmp/$tag-*' EXIT

cmd="echo one >/tmp/$tag-a; echo two >/tmp/$tag-b && printf '%s|' \"two words\" \"\$(cat /tmp/$tag-a)\" | tr a-z A-Z >/mnt/out; grep -c vmf_root= /proc/cmdline >>/mnt/out"
want='TWO WORDS|ONE|1'
fail=0
check() {
	if [ "$1" = 0 ]; then echo "ok: $2"; else echo "FAIL: $2"; fail=1; fi
}

VM_RUN=$run make -s -C "$root" vm TIMEOUT=300 CMD="$cmd" >"$run/make.log" 2>&1
rc=$?
check $rc "make vm exits 0 (status $rc; console in $run/console.log)"
got=$(cat "$run/out" 2>/dev/null)
[ "$got" = "$want" ]
check $? "the VM ran every part, the quoted word whole: $(printf '%q' "$got")"
left=$(ls /tmp/$tag-* 2>/dev/null)
[ -z "$left" ]
check $? "no part ran on the host (host files: ${left:-none})"
[ $fail = 0 ] || tail -n 20 "$run/console.log" 2>/dev/null | sed 's/^/console: /'
exit $fail
