#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# scripts/vmfctl on the running kernel: usage errors change nothing; 'set'
# on a thread and on cgroups; 'show'; 'auto' on a paused QEMU whose vCPU
# threads it finds by their names (debug-threads=on) and, without names,
# through QMP. Prints "ok"/"not ok" lines; exit 0 pass, 4 skip, 1 fail.

VMFCTL=$VMF_ROOT/scripts/vmfctl
CG=/sys/fs/cgroup
SOCK=/tmp/q.sock
TMP=$(mktemp -d /tmp/vmfctl.XXXXXX) || exit 1
CGA_NAME=vmfctl-test.$$
CGA=$CG/$CGA_NAME		# "vm"/"vmm", with a child cgroup
CGB=$CG/vmfctl-test-low.$$	# "batch", with a child that can't go above it
helper="" cpu_enabled=""
. "$VMF_ROOT/selftests/lib/vmf_sh.sh"

cleanup() {
	stop_qemu
	[ -z "$helper" ] || { kill -KILL "$helper" 2>/dev/null; wait "$helper" 2>/dev/null; }
	rmdir "$CGA/child" "$CGA" "$CGB/child" "$CGB" 2>/dev/null
	[ -z "$cpu_enabled" ] || echo -cpu >$CG/cgroup.subtree_control 2>/dev/null
	rm -rf "$TMP" "$SOCK"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

vmf_sh_require

# listed_class TID <SHOW_OUTPUT: the class that the output of 'vmfctl
# show' lists thread TID under; empty if none. Class lines ("vm: 2 tasks")
# start in column 1, task lines ("  PID TID NICE COMM CGROUP") are indented.
listed_class() {
	awk -v tid="$1" '
		/^[^ ]/ { cls = $1; sub(/:$/, "", cls); next }
		$2 == tid { print cls; exit }'
}

# show_class TID [--all]: the class 'vmfctl show' lists thread TID under.
show_class() {
	"$VMFCTL" show ${2:+"$2"} | listed_class "$1"
}

# The nice value 'vmfctl show --all' gives thread TID.
show_nice() {
	"$VMFCTL" show --all | awk -v tid="$1" '/^ / && $2 == tid { print $3; exit }'
}

# shows_cgroup TID CGROUP: 'vmfctl show' gives thread TID that cgroup.
shows_cgroup() {
	"$VMFCTL" show | awk -v tid="$1" -v cg="$2" '
		/^ / && $2 == tid && $NF == cg { found = 1 }
		END { exit !found }'
}

# vmfctl ARGS... with the status in $rc and stderr in $TMP/err.
run() {
	"$VMFCTL" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
}

# usage_error ARGS...: vmfctl must exit 2 and leave the helper alone.
usage_error() {
	before=$(sched_of "$helper")
	run "$@"
	after=$(sched_of "$helper")
	if [ $rc = 2 ] && [ "$before" = "$after" ]; then
		ok "usage error, exit 2, nothing changed: vmfctl $*"
	else
		not_ok "usage error: vmfctl $*: exit $rc, policy/nice '$before' -> '$after'"
		comment "$TMP/err"
	fi
}

# rejected ARGS...: vmfctl must fail and leave the helper alone.
rejected() {
	before=$(sched_of "$helper") cls_before=$(show_class "$helper" --all)
	run "$@"
	after=$(sched_of "$helper") cls_after=$(show_class "$helper" --all)
	if [ $rc != 0 ] && [ "$before" = "$after" ] && [ "$cls_before" = "$cls_after" ]; then
		ok "rejected (exit $rc), nothing changed: vmfctl $*"
	else
		not_ok "vmfctl $*: exit $rc, '$before' $cls_before -> '$after' $cls_after"
		comment "$TMP/err"
	fi
}

sleep 1000 &
helper=$!

# --- Usage errors ------------------------------------------------------------

usage_error
usage_error frobnicate
usage_error set
usage_error set vm
usage_error set vm --tid "$helper" --pid "$helper"
usage_error set bogus --tid "$helper"
usage_error set vm --tid "$helper" --nice 20
usage_error set vm --tid "$helper" --nice -21
usage_error set vm --tid "$helper" --nice x
usage_error set vm --tid "$helper" --slice-us 0
usage_error set vm --tid notanumber
usage_error set vm --cgroup "$CGA" --nice 1
usage_error show --bogus
usage_error auto --bogus
run --help
check "--help exits 0" [ $rc = 0 ]
run auto --help
check "auto --help documents the QMP method" grep -q query-cpus-fast "$TMP/out"

# --- set on a thread ---------------------------------------------------------

run set vm --tid "$helper"
check "set vm --tid: exit 0" [ $rc = 0 ]
check "the thread is SCHED_VMF (8) now" [ "$(sched_of "$helper" | cut -d' ' -f1)" = 8 ]
check "show lists the thread as vm" [ "$(show_class "$helper")" = vm ]

run set vmm --tid "$helper" --nice 3 --slice-us 2000
check "set vmm --tid --nice 3 --slice-us 2000: exit 0" [ $rc = 0 ]
check "show lists the thread as vmm" [ "$(show_class "$helper")" = vmm ]
check "show gives it nice 3" [ "$(show_nice "$helper")" = 3 ]

rejected set vm --tid "$helper" --nice 99
rejected set vm --tid "$helper" --nice -42
rejected set nonsense --tid "$helper"
rejected set vm --tid 999999999
rejected set vm --pid 999999999

run set host --tid "$helper"
check "set host: back to SCHED_OTHER, nice 3 kept" [ "$(sched_of "$helper")" = "0 3" ]
run set batch --tid "$helper"
check "set batch: SCHED_IDLE (5)" [ "$(sched_of "$helper" | cut -d' ' -f1)" = 5 ]
check "show --all lists it as batch" [ "$(show_class "$helper" --all)" = batch ]
run set host --pid "$helper"
check "set host --pid: SCHED_OTHER again" [ "$(sched_of "$helper")" = "0 3" ]

# A task that is host already takes --nice and --slice-us (they used to
# be dropped: "unchanged: already host").
run set host --tid "$helper" --nice 5 --slice-us 3000
check "set host --nice 5 --slice-us 3000 on a host task: exit 0" [ $rc = 0 ]
check "it has nice 5 now" [ "$(sched_of "$helper")" = "0 5" ]
check "it has the 3000 us slice now" \
	[ "$(awk '$1 == "se.slice" { print $3 }' "/proc/$helper/sched")" = 3000000 ]
run set host --tid "$helper" --nice 3
check "set host --nice 3: back to nice 3" [ "$(sched_of "$helper")" = "0 3" ]

# Slices outside the kernel's range are usage errors that name the range.
for us in 99 100001; do
	usage_error set vm --tid "$helper" --slice-us $us
	check "--slice-us $us: the error names the range" grep -q "from 100 to 100000" "$TMP/err"
done

# A reader that is gone ('vmfctl show | head') is no error: show exits 0,
# and set still changes the task and exits 0. stdout is a pipe whose read
# end is closed before vmfctl starts.
closed_stdout() {
	python3 -c 'import os, subprocess, sys
r, w = os.pipe()
os.close(r)
sys.exit(subprocess.call(sys.argv[1:], stdout=w))' "$VMFCTL" "$@" 2>"$TMP/err"
}
closed_stdout show --all
rc=$?
check "show --all into a closed pipe: exit 0 (got $rc)" [ $rc = 0 ]
closed_stdout set host --tid "$helper" --nice 4
rc=$?
check "set host --nice 4 into a closed pipe: exit 0 (got $rc)" [ $rc = 0 ]
check "... and the task has nice 4" [ "$(sched_of "$helper")" = "0 4" ]
check "... and nothing on stderr" [ ! -s "$TMP/err" ]
run set host --tid "$helper" --nice 3

# --- set on a cgroup ---------------------------------------------------------

# make_cgroup DIR: a cgroup with the cpu controller, which its parent,
# holding no task, enables.
make_cgroup() {
	mkdir "$1" && echo +cpu >"${1%/*}/cgroup.subtree_control" && [ -e "$1/cpu.vmf" ]
}

cgroup_test() {
	if ! grep -qw cpu $CG/cgroup.subtree_control; then
		echo +cpu >$CG/cgroup.subtree_control && cpu_enabled=1
	fi
	if ! make_cgroup "$CGA" || ! make_cgroup "$CGB"; then
		not_ok "create test cgroups with the cpu controller and cpu.vmf"
		return
	fi

	run set vmm --cgroup "$CGA_NAME"
	check "set vmm --cgroup RELATIVE: exit 0" [ $rc = 0 ]
	check "cpu.vmf reads vmm" [ "$(cat "$CGA/cpu.vmf")" = vmm ]
	run set vm --cgroup "$CGA"
	check "set vm --cgroup ABSOLUTE: exit 0" [ $rc = 0 ]
	check "cpu.vmf reads vm" [ "$(cat "$CGA/cpu.vmf")" = vm ]
	# Children are made once their parent has its class, so that no
	# child is ever above its parent.
	make_cgroup "$CGA/child"
	run set vm --cgroup "/$CGA_NAME/child"
	check "set vm --cgroup /CGROUP/PATH of a child: exit 0" [ $rc = 0 ]
	check "the child's cpu.vmf reads vm" [ "$(cat "$CGA/child/cpu.vmf")" = vm ]

	echo "$helper" >"$CGA/child/cgroup.procs"
	check "a task moved into the vm cgroup is shown as vm" \
		[ "$(show_class "$helper")" = vm ]
	check "show gives its cgroup" shows_cgroup "$helper" "/$CGA_NAME/child"
	echo "$helper" >$CG/cgroup.procs

	# batch is the lowest class: no child may be above it.
	run set batch --cgroup "$CGB"
	check "set batch --cgroup: exit 0" [ $rc = 0 ]
	make_cgroup "$CGB/child"
	before=$(cat "$CGB/child/cpu.vmf")
	run set vm --cgroup "$CGB/child"
	check "set vm on the child of a batch cgroup fails (exit 1)" [ $rc = 1 ]
	comment "$TMP/err"
	check "... and leaves its cpu.vmf alone" [ "$(cat "$CGB/child/cpu.vmf")" = "$before" ]

	run set none --cgroup "$CGA_NAME/child"
	check "set none --cgroup: exit 0" [ $rc = 0 ]
	check "the child's cpu.vmf reads none" [ "$(cat "$CGA/child/cpu.vmf")" = none ]
	run set none --pid "$helper"
	check "set none on a task is a usage error (exit 2)" [ $rc = 2 ]

	run set vm --cgroup "$CG/no-such-cgroup.$$"
	check "set on a missing cgroup fails (exit 1)" [ $rc = 1 ]
}
cgroup_test

# --- auto on QEMU ------------------------------------------------------------

has_vcpu_names() { [ "$(threads_named "$qpid" '^CPU [0-9]+/KVM$' | wc -l)" = 2 ]; }
has_threads() {
	[ "$(find "/proc/$qpid/task" -mindepth 1 -maxdepth 1 | wc -l)" -ge "$1" ] &&
		[ -S "$SOCK" ]
}

# The thread ids QMP gives the vCPUs: what vmfctl should find, asked
# independently of it.
qmp_vcpu_tids() {
	qmp "$SOCK" query-cpus-fast |
		python3 -c 'import json, sys; print(" ".join(str(c["thread-id"]) for c in json.load(sys.stdin)))'
}

# check_classes "VCPU TIDS": 'show' must list exactly these threads of
# QEMU as vm and all its other threads as vmm.
check_classes() {
	"$VMFCTL" show >"$TMP/show"
	bad=""
	for t in /proc/"$qpid"/task/*; do
		t=${t##*/}
		want=vmm
		case " $1 " in *" $t "*) want=vm ;; esac
		got=$(listed_class "$t" <"$TMP/show")
		# Threads that exited meanwhile don't count.
		[ "$got" = "$want" ] || [ ! -d "/proc/$qpid/task/$t" ] || bad="$bad $t:$got(want $want)"
	done
	nvm=$(awk -v pid="$qpid" '/^[^ ]/ { c = $1 } c == "vm:" && $1 == pid' "$TMP/show" | wc -l)
	[ -z "$bad" ] && [ "$nvm" = 2 ] && return 0
	echo "# wrong classes:$bad; $nvm threads of QEMU $qpid in vm"
	comment "$TMP/show"
	return 1
}

# No QEMU thread may have left SCHED_OTHER.
all_host() {
	for t in /proc/"$qpid"/task/*; do
		[ "$(sched_of "$qpid/task/${t##*/}" | cut -d' ' -f1)" = 0 ] || return 1
	done
}

auto_by_names() {
	start_qemu -smp 2 -S -name t,debug-threads=on
	if ! wait_for 120 has_vcpu_names; then
		not_ok "QEMU started with 2 'CPU n/KVM' threads"
		return
	fi
	vcpus=$(threads_named "$qpid" '^CPU [0-9]+/KVM$' | tr '\n' ' ')

	run auto --dry-run
	check "auto --dry-run: exit 0" [ $rc = 0 ]
	check "auto --dry-run: names the vCPU threads" grep -q "CPU 1/KVM .*-> vm" "$TMP/out"
	check "auto --dry-run: changes nothing" all_host
	comment "$TMP/out" "$TMP/err"

	run auto
	check "auto (thread names): exit 0" [ $rc = 0 ]
	comment "$TMP/out" "$TMP/err"
	check "auto (thread names): 2 'CPU n/KVM' threads vm, the others vmm" \
		check_classes "$vcpus"

	run set host --pid "$qpid"
	check "set host --pid QEMU: every thread back to SCHED_OTHER" all_host
	stop_qemu
}

auto_by_qmp() {
	rm -f "$SOCK"
	start_qemu -smp 2 -S -name t -qmp "unix:$SOCK,server=on,wait=off"
	# main loop, call_rcu, 2 vCPUs
	if ! wait_for 120 has_threads 4; then
		not_ok "QEMU started with its QMP socket"
		return
	fi
	vcpus=$(qmp_vcpu_tids)
	check "QMP gives 2 vCPU thread ids ($vcpus)" [ "$(echo "$vcpus" | wc -w)" = 2 ]
	check "QEMU without debug-threads has no 'CPU n/KVM' names" \
		[ -z "$(threads_named "$qpid" '^CPU ')" ]

	# Without names or QMP, the vCPUs of a paused VM can't be told apart:
	# auto must say so and must not make them vmm.
	run auto
	check "auto without names or QMP on a paused VM: exit 1" [ $rc = 1 ]
	comment "$TMP/out" "$TMP/err"
	for t in $vcpus; do
		check "... leaves vCPU thread $t alone" [ "$(sched_of "$qpid/task/$t" | cut -d' ' -f1)" = 0 ]
	done

	run auto --qmp "$SOCK"
	check "auto --qmp: exit 0" [ $rc = 0 ]
	comment "$TMP/out" "$TMP/err"
	check "auto --qmp: the 2 vCPU threads vm, the others vmm" check_classes "$vcpus"
	stop_qemu
}

if ! command -v qemu-system-x86_64 >/dev/null || [ ! -c /dev/kvm ]; then
	skip "auto on QEMU" "no qemu-system-x86_64 or /dev/kvm"
else
	auto_by_names
	auto_by_qmp
fi

tap_done
