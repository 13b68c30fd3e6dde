# SPDX-License-Identifier: GPL-2.0
#
# Sourced by the shell selftests that drive vmfctl and QEMU
# (selftests/vmf/vmfctl.sh, libvirt.sh): TAP lines, the policy of a
# thread, and a KVM guest under QEMU. Needs $TMP, a private directory.
#
#   vmf_sh_require [TOOL...]: skip unless SCHED_VMF, root, python3 and TOOLs
#   ok|not_ok|skip DESCRIPTION, check DESCRIPTION COMMAND...,
#   holds DESCRIPTION SHELL-EXPRESSION, comment FILE...
#   tap_done: the plan and the summary; its status is the test's
#   sched_of TID: "POLICY NICE"
#   start_qemu ARGS..., stop_qemu, wait_for TIMEOUT_S COMMAND...
#   threads_named PID REGEX, qmp SOCKET COMMAND [JSON-ARGUMENTS]

n=0 failed=0 qpid=""

# Skip (kselftest's status 4) without a VMF kernel, root, python3, or
# one of the tools named.
vmf_sh_require() {
	local tool
	if [ ! -e /proc/sys/kernel/sched_vmf_slice_us ]; then
		echo "kernel without SCHED_VMF (no /proc/sys/kernel/sched_vmf_slice_us)"
		exit 4
	fi
	if [ "$(id -u)" != 0 ] || ! command -v python3 >/dev/null; then
		echo "needs root and python3"
		exit 4
	fi
	for tool; do
		command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 4; }
	done
}

ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
# check DESCRIPTION COMMAND...: ok if the command succeeds. Both fail as
# the check did, so that "holds ... || comment LOG" shows why.
check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; return 1; fi
}
# holds DESCRIPTION EXPRESSION: ok if the shell expression is true
holds() {
	if eval "$2"; then ok "$1"; else not_ok "$1"; return 1; fi
}
# Show a file's lines as TAP comments.
comment() { sed 's/^/# /' "$@"; }

tap_done() {
	echo "1..$n"
	echo "# $((n - failed)) passed, $failed failed"
	[ $failed = 0 ]
}

# "POLICY NICE" of a thread, from /proc (fields 41 and 19 of stat; comm,
# field 2, ends at the last ')'). TID may be PID/task/TID.
sched_of() {
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $39, $17 }'
}

# start_qemu ARGS...: a KVM guest without devices, its pid in $qpid and
# its output in $TMP/qemu.log.
start_qemu() {
	qemu-system-x86_64 -accel kvm -cpu host -m 64 -nodefaults -nographic \
		"$@" </dev/null >"$TMP/qemu.log" 2>&1 &
	qpid=$!
}

stop_qemu() {
	# QEMU has nothing to save: SIGKILL can't be ignored.
	[ -z "$qpid" ] || { kill -KILL "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null; }
	qpid=""
}

# The threads of process PID whose name matches REGEX.
threads_named() {
	for t in /proc/"$1"/task/*; do
		grep -qE "$2" "$t/comm" 2>/dev/null && echo "${t##*/}"
	done
}

# wait_for TIMEOUT_S COMMAND...: until the command succeeds, while QEMU lives.
wait_for() {
	i=$(($1 * 10))
	shift
	until "$@"; do
		i=$((i - 1))
		if [ $i -le 0 ] || ! kill -0 "$qpid" 2>/dev/null; then
			comment "$TMP/qemu.log"
			return 1
		fi
		sleep 0.1
	done
}

# qmp SOCKET COMMAND [ARGUMENTS]: run one QMP command, print its "return"
# as JSON; exit 1 on an error reply.
qmp() {
	python3 - "$@" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(60)
s.connect(sys.argv[1])
f = s.makefile("rb")
f.readline()
args = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
for cmd, arg in (("qmp_capabilities", {}), (sys.argv[2], args)):
    s.sendall(json.dumps({"execute": cmd, "arguments": arg}).encode() + b"\n")
    while True:
        msg = json.loads(f.readline())
        if "return" in msg or "error" in msg:
            break
    if "error" in msg:
        sys.exit(f"QMP {cmd}: {msg['error']}")
print(json.dumps(msg["return"]))
PY
}
