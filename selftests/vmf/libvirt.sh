#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The libvirt hook (scripts/libvirt-hook-qemu, 'vmfctl libvirt-hook')
# without libvirt: builds libvirt's cgroup layout by hand, starts a real
# QEMU -accel kvm as libvirt does (-name guest=NAME,debug-threads=on, an
# I/O thread, the process in .../emulator, each vCPU thread in vcpuN),
# runs the hook with libvirt's argv and stdin, and checks the class of
# every thread, also after threads move and new ones start. Bad calls
# (names with shell metacharacters or a path, bogus pid files, a foreign
# cgroup, missing groups, a lower class above) must fail clearly and
# change nothing. When the VM is gone nothing may be left: no cgroup
# class, file or process. Also checks that 'vmfctl auto' finds a VMM not
# named QEMU by its KVM fds, and that scripts/vmf-sysctl.conf names
# every VMF tunable and applies. Exit 0 pass, 4 skip, 1 fail.

VMFCTL=$VMF_ROOT/scripts/vmfctl
HOOK=$VMF_ROOT/scripts/libvirt-hook-qemu
SYSCTL_CONF=$VMF_ROOT/scripts/vmf-sysctl.conf
CG=/sys/fs/cgroup
TMP=$(mktemp -d /tmp/libvirt.XXXXXX) || exit 1
cd "$TMP" || exit 1
. "$VMF_ROOT/selftests/lib/vmf_sh.sh"

# Shell metacharacters, quotes, XML's specials and a comma, which QEMU's
# -name doubles (libvirt refuses only '/' and newlines): the hook must take
# the name as data, never as code, which would create $TMP/pwned*.
NAME='vm $(touch pwned1);`touch pwned2`&<x>"'"'"'*,q'
ID=7
SOCK=$TMP/qmp.sock
STATE=/run/libvirt/qemu
SLICE=$CG/machine.slice
# libvirt's machine name is qemu-ID-NAME with only [A-Za-z0-9_.-] of the
# name, and systemd escapes '-' in the scope's name.
SCOPE=$SLICE/machine-qemu\\x2d$ID\\x2d$(printf '%s' "$NAME" | tr -cd 'A-Za-z0-9_.-' |
	sed 's/-/\\x2d/g').scope
DOM=$SCOPE/libvirt
helper="" child="" run_created="" cpu_enabled="" layout=""

stop_helper() {
	[ -z "$child" ] || kill -KILL $child 2>/dev/null
	[ -z "$helper" ] || { kill -KILL $helper 2>/dev/null; wait $helper 2>/dev/null; }
	helper="" child=""
}

cleanup() {
	stop_qemu
	stop_helper
	[ -z "$layout" ] || remove_layout
	[ -z "$cpu_enabled" ] || echo -cpu >$CG/cgroup.subtree_control 2>/dev/null
	[ -z "$run_created" ] || rm -rf /run/libvirt
	rm -rf "$TMP" /tmp/evil.pid
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

vmf_sh_require
if ! command -v qemu-system-x86_64 >/dev/null || [ ! -c /dev/kvm ]; then
	echo "needs qemu-system-x86_64 and /dev/kvm"
	exit 4
fi
if [ -e "$SLICE" ] || [ -e /run/libvirt ]; then
	echo "$SLICE or /run/libvirt exists already: not a clean test VM"
	exit 1
fi

# The class of a thread (PID/task/TID) from /proc: SCHED_VMF (policy,
# field 41 of stat, 8) at rt_priority (field 40) 2 is vm, 1 vmm;
# SCHED_OTHER and SCHED_BATCH host, SCHED_IDLE batch.
class_of() {
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{
		if ($39 == 8) print ($38 == 2 ? "vm" : $38 == 1 ? "vmm" : "vmf" $38)
		else if ($39 == 0 || $39 == 3) print "host"
		else if ($39 == 5) print "batch"
		else print "policy" $39 }'
}

# The cgroup of thread PID/task/TID below the domain's, "-" elsewhere.
group_of() {
	cg=$(sed -n 's/^0:://p' "/proc/$1/cgroup" 2>/dev/null)
	case $CG$cg in
	"$DOM" | "$DOM"/*) echo "${cg##*/}" ;;
	*) echo - ;;
	esac
}

# Flags (field 9 of stat) with PF_USER_WORKER: vhost, kvm-nx-lpage-recovery.
is_worker() {
	flags=$(sed 's/.*) //' "/proc/$1/stat" | awk '{ print $7 }')
	[ $((flags & 0x4000)) != 0 ]
}

# What every thread of QEMU must be once the hook ran: workers vmm,
# threads in vcpuN vm, in emulator or iothreadN vmm. Prints the
# threads that are not, "TID(COMM):CLASS@GROUP".
misclassified() {
	for t in /proc/"$qpid"/task/*; do
		t=$qpid/task/${t##*/}
		group=$(group_of "$t")
		case $group in
		vcpu*) want=vm ;;
		emulator | iothread*) want=vmm ;;
		*) want="in a group of the domain" ;;
		esac
		is_worker "$t" 2>/dev/null && want=vmm
		got=$(class_of "$t")
		[ -z "$got" ] || [ "$got" = "$want" ] ||
			echo "${t##*/}($(cat "/proc/$t/comm")):$got@$group"
	done
}

classes_right() {
	bad=$(misclassified)
	[ -z "$bad" ] && return 0
	echo "# misclassified: $bad"
	return 1
}

# The classes of the domain's threads and groups, and of every cgroup.
state() {
	for t in /proc/"$qpid"/task/*; do
		echo "${t##*/} $(class_of "$qpid/task/${t##*/}") $(group_of "$qpid/task/${t##*/}")"
	done
	find $CG -name cpu.vmf | sort | while read -r f; do echo "$f $(cat "$f")"; done
}

# The domain XML libvirt passes: NAME XML-escaped, ID, vCPUs, I/O threads.
domain_xml() {
	name=$(printf '%s' "$1" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g')
	cat <<EOF
<domain type='kvm' id='$2'>
  <name>$name</name>
  <memory unit='KiB'>65536</memory>
  <vcpu placement='static'>$3</vcpu>
  <iothreads>$4</iothreads>
  <iothreadids>
$(i=1; while [ $i -le "$4" ]; do echo "    <iothread id='$i'/>"; i=$((i + 1)); done)
  </iothreadids>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <resource><partition>/machine</partition></resource>
</domain>
EOF
}

# hook NAME OPERATION [XML]: the hook as libvirt runs it, stdout in
# $TMP/out, stderr in $TMP/err, status in $rc.
hook() {
	xml=${3-$(domain_xml "$1" $ID 2 1)}
	printf '%s\n' "$xml" | "$HOOK" "$1" "$2" begin - >"$TMP/out" 2>"$TMP/err"
	rc=$?
}

# vmfctl_hook: the same, 'vmfctl libvirt-hook' itself.
vmfctl_hook() {
	xml=${3-$(domain_xml "$1" $ID 2 1)}
	printf '%s\n' "$xml" | "$VMFCTL" libvirt-hook "$1" "$2" begin - >"$TMP/out" 2>"$TMP/err"
	rc=$?
}

# refused DESCRIPTION WORDS NAME OPERATION [XML]: the hook must succeed,
# for libvirt, while it says why it did nothing (WORDS, an extended
# regex); vmfctl itself must exit 1; nothing may change.
refused() {
	desc=$1 words=$2
	shift 2
	state >"$TMP/before"
	hook "$@"
	hook_rc=$rc
	cp "$TMP/err" "$TMP/hook.err"
	vmfctl_hook "$@"
	state >"$TMP/after"
	if [ $hook_rc = 0 ] && [ $rc = 1 ] && grep -qE "$words" "$TMP/hook.err" &&
		grep -qE "$words" "$TMP/err" && cmp -s "$TMP/before" "$TMP/after"; then
		ok "refused, nothing changed: $desc"
		comment "$TMP/err"
	else
		not_ok "$desc: hook exit $hook_rc, vmfctl exit $rc (want 0, 1 and /$words/)"
		comment "$TMP/hook.err" "$TMP/out"
		diff "$TMP/before" "$TMP/after" | comment
	fi
	[ ! -e "$TMP/pwned1" ] && [ ! -e "$TMP/pwned2" ] || not_ok "$desc: the name ran as shell code"
}

# mkgroup DIR [threaded]: a cgroup as libvirt makes it.
mkgroup() {
	mkdir "$1" || return 1
	[ -z "$2" ] || echo threaded >"$1/cgroup.type"
}

remove_layout() {
	for d in "$DOM"/* "$DOM" "$SCOPE" "$SLICE"; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	[ ! -e "$SLICE" ]
}

# --- The layout, and QEMU in it ----------------------------------------------

# What is here before: every cgroup's class, the files of /run and /tmp.
listing() {
	find $CG -name cpu.vmf | sort | while read -r f; do echo "$f $(cat "$f")"; done
	find /run /tmp /var/tmp -xdev 2>/dev/null | grep -v "^$TMP" | sort
}
listing >"$TMP/listing.before"

if ! grep -qw cpu $CG/cgroup.subtree_control; then
	echo +cpu >$CG/cgroup.subtree_control && cpu_enabled=1
fi
mkdir -p $STATE && run_created=1
layout=1

# systemd's slice and the scope machined makes, libvirt's own group in it.
if ! mkgroup "$SLICE" || ! echo +cpu >"$SLICE/cgroup.subtree_control" ||
	! mkgroup "$SCOPE" || ! echo +cpu >"$SCOPE/cgroup.subtree_control" ||
	! mkgroup "$DOM"; then
	not_ok "build machine.slice/<scope>/libvirt with the cpu controller"
	exit 1
fi

start_qemu -smp 2 -S -name "guest=$(printf '%s' "$NAME" | sed 's/,/,,/g'),debug-threads=on" \
	-object iothread,id=iothread1 -qmp "unix:$SOCK,server=on,wait=off"
has_threads() {
	[ "$(threads_named "$qpid" '^CPU [0-9]+/KVM$' | wc -l)" = 2 ] &&
		[ -n "$(threads_named "$qpid" '^IO iothread1$')" ] && [ -S "$SOCK" ]
}
if ! wait_for 120 has_threads; then
	not_ok "QEMU started with 2 'CPU n/KVM' threads and 'IO iothread1'"
	exit 1
fi
vcpu0=$(threads_named "$qpid" '^CPU 0/KVM$')
vcpu1=$(threads_named "$qpid" '^CPU 1/KVM$')
io1=$(threads_named "$qpid" '^IO iothread1$')
printf '%s\n' "$qpid" >"$STATE/$NAME.pid"

# libvirt: the process into the domain's group, then threaded groups
# for the emulator, each vCPU and I/O thread, then the threads in them.
echo "$qpid" >"$DOM/cgroup.procs"
check "QEMU is in the domain's group" [ "$(group_of "$qpid")" = libvirt ]

# The hook before libvirt has placed QEMU: not libvirt's layout yet.
refused "QEMU not yet in .../emulator" "not in libvirt's" "$NAME" started

for g in emulator vcpu0 vcpu1 iothread1; do
	mkgroup "$DOM/$g" threaded || not_ok "mkdir $DOM/$g"
done
echo +cpu >"$DOM/cgroup.subtree_control" || not_ok "enable cpu in $DOM"
echo "$qpid" >"$DOM/emulator/cgroup.procs"
echo "$vcpu0" >"$DOM/vcpu0/cgroup.threads"
echo "$vcpu1" >"$DOM/vcpu1/cgroup.threads"
echo "$io1" >"$DOM/iothread1/cgroup.threads"
check "QEMU's threads are where libvirt puts them" \
	[ "$(group_of "$qpid/task/$qpid")$(group_of "$qpid/task/$vcpu0")$(group_of "$qpid/task/$vcpu1")$(group_of "$qpid/task/$io1")" = emulatorvcpu0vcpu1iothread1 ]
check "every cpu.vmf of the domain reads none" \
	[ "$(cat "$DOM"/*/cpu.vmf | sort -u)" = none ]

# libvirt starts the vCPUs before the "started" hook: the first KVM_RUN
# starts kvm-nx-lpage-recovery, a worker of QEMU, in that vCPU's group.
qmp "$SOCK" cont >/dev/null || not_ok "QMP cont"
has_nx_worker() { [ -n "$(threads_named "$qpid" '^kvm-nx-lpage')" ]; }
if wait_for 60 has_nx_worker; then
	nx=$(threads_named "$qpid" '^kvm-nx-lpage')
	ok "kvm-nx-lpage-recovery ($nx) started in group $(group_of "$qpid/task/$nx")"
else
	nx=""
	skip "kvm-nx-lpage-recovery" "no such worker (kvm.nx_huge_pages=never?)"
fi
all_host() {
	for t in /proc/"$qpid"/task/*; do
		[ "$(class_of "$qpid/task/${t##*/}")" = host ] || return 1
	done
}
check "before the hook, every thread of QEMU is host" all_host

# --- Bad calls: nothing may change -------------------------------------------

refused "a name with '/' (path traversal)" "not a libvirt domain name" \
	"../../../tmp/evil" started "$(domain_xml ../../../tmp/evil $ID 2 1)"
printf '%s\n' "$qpid" >/tmp/evil.pid
refused "a name that reaches a real pid file through '..'" "not a libvirt domain name" \
	"../../../tmp/evil" started "$(domain_xml ../../../tmp/evil $ID 2 1)"
refused "the name '..'" "not a libvirt domain name" ".." started "$(domain_xml .. $ID 2 1)"
refused "XML of another domain" "XML on stdin is that of domain" "$NAME" started \
	"$(domain_xml other $ID 2 1)"
refused "XML that does not parse" "does not parse" "$NAME" started "<domain><name>"
refused "XML without an id (a domain not running)" "no id" "$NAME" started \
	"$(domain_xml "$NAME" $ID 2 1 | sed "s/ id='$ID'//")"
refused "a domain without a pid file" "cannot read its pid file" "no-such-vm" started \
	"$(domain_xml no-such-vm $ID 2 1)"
cp "$STATE/$NAME.pid" "$TMP/pid"
for bogus in garbage 1 999999999 "$$"; do
	echo "$bogus" >"$STATE/$NAME.pid"
	refused "a pid file that says $bogus" "not a PID|no running process|is not its QEMU" \
		"$NAME" started
done
cp "$TMP/pid" "$STATE/$NAME.pid"
refused "XML with another domain id than the scope's" "that of domain id $ID" \
	"$NAME" started "$(domain_xml "$NAME" $((ID + 1)) 2 1)"
refused "a vCPU group that is missing (XML: 3 vCPUs)" "vcpu2 for a vCPU is missing" \
	"$NAME" started "$(domain_xml "$NAME" $ID 3 1)"
refused "an I/O thread group that is missing (XML: 2)" "iothread2 for an I/O thread is missing" \
	"$NAME" started "$(domain_xml "$NAME" $ID 2 2)"
echo vmm >"$SLICE/cpu.vmf"
refused "machine.slice is vmm: no vCPU may be vm" "machine.slice above it has class vmm" \
	"$NAME" started
echo none >"$SLICE/cpu.vmf"
holds "no name ran as shell code" '[ ! -e "$TMP/pwned1" ] && [ ! -e "$TMP/pwned2" ]'

# --- The hook, as libvirt runs it --------------------------------------------

state >"$TMP/before"
for op in prepare start; do
	hook "$NAME" "$op"
	holds "hook $op: exit 0, silent" '[ $rc = 0 ] && [ ! -s "$TMP/err" ]'
done
state >"$TMP/after"
check "prepare and start change nothing" cmp -s "$TMP/before" "$TMP/after"

hook "$NAME" started
holds "hook started: exit 0, nothing on stderr" '[ $rc = 0 ] && [ ! -s "$TMP/err" ]'
comment "$TMP/err"
check "emulator and iothread1 are vmm, vcpu0 and vcpu1 vm" \
	[ "$(cat "$DOM/emulator/cpu.vmf" "$DOM/iothread1/cpu.vmf" "$DOM/vcpu0/cpu.vmf" \
		"$DOM/vcpu1/cpu.vmf" | tr '\n' ' ')" = "vmm vmm vm vm " ]
check "the domain's, the scope's and machine.slice's cpu.vmf stay none" \
	[ "$(cat "$DOM/cpu.vmf" "$SCOPE/cpu.vmf" "$SLICE/cpu.vmf" | sort -u)" = none ]
check "every thread of QEMU has its group's class, workers vmm" classes_right
check "the vCPU threads are vm, the I/O thread and main thread vmm" \
	[ "$(class_of "$qpid/task/$vcpu0") $(class_of "$qpid/task/$vcpu1") $(class_of "$qpid/task/$io1") $(class_of "$qpid")" = "vm vm vmm vmm" ]
[ -z "$nx" ] || check "kvm-nx-lpage-recovery, started in a vCPU's group, is vmm" \
	[ "$(class_of "$qpid/task/$nx")" = vmm ]

state >"$TMP/before"
hook "$NAME" reconnect
state >"$TMP/after"
holds "hook reconnect (libvirtd restarted): exit 0, same classes" \
	'[ $rc = 0 ] && [ ! -s "$TMP/err" ] && cmp -s "$TMP/before" "$TMP/after"'

# --- Threads move, threads start ---------------------------------------------

# move TID GROUP WANT: as libvirt's vcpupin/emulatorpin moves do.
move() {
	echo "$1" >"$DOM/$2/cgroup.threads"
	check "thread $1 moved into $2 is $3" [ "$(class_of "$qpid/task/$1")" = "$3" ]
}
move "$vcpu0" vcpu1 vm
move "$vcpu1" vcpu0 vm
move "$vcpu0" emulator vmm
move "$vcpu0" vcpu0 vm
move "$vcpu1" vcpu1 vm
move "$io1" vcpu1 vm
move "$io1" iothread1 vmm
check "after the moves every thread has its group's class" classes_right

# A thread QEMU starts later (an I/O thread hot-added through QMP)
# starts in emulator, from the main loop, and is vmm from birth.
qmp "$SOCK" object-add '{"qom-type": "iothread", "id": "iothread2"}' >/dev/null ||
	not_ok "QMP object-add iothread2"
has_io2() { [ -n "$(threads_named "$qpid" '^IO iothread2$')" ]; }
if wait_for 30 has_io2; then
	io2=$(threads_named "$qpid" '^IO iothread2$')
	check "a new I/O thread starts in emulator as vmm" \
		[ "$(group_of "$qpid/task/$io2") $(class_of "$qpid/task/$io2")" = "emulator vmm" ]
	# libvirt's iothreadadd makes its group; no hook runs for that.
	mkgroup "$DOM/iothread2" threaded && echo "$io2" >"$DOM/iothread2/cgroup.threads"
	check "moved into a new, unwritten iothread2 group it stays vmm" \
		[ "$(class_of "$qpid/task/$io2")" = vmm ]
else
	not_ok "QEMU started thread 'IO iothread2'"
fi

# A process that libvirt adds to emulator takes vmm, and what it forks
# there is vmm too.
sh -c "echo \$\$ >'$DOM/cgroup.procs' && echo \$\$ >'$DOM/emulator/cgroup.procs' &&
	exec sh -c 'sleep 1000 & wait'" &
helper=$!
forked() { [ -n "$(pgrep -P $helper sleep)" ]; }
if wait_for 10 forked; then
	child=$(pgrep -P $helper sleep)
	check "a process moved into emulator is vmm" [ "$(class_of $helper)" = vmm ]
	check "the child it forked there is vmm, in emulator" \
		[ "$(class_of "$child") $(sed -n 's/^0:://p' /proc/"$child"/cgroup)" = \
			"vmm ${DOM#$CG}/emulator" ]
else
	not_ok "a helper forked in emulator"
fi
stop_helper

# --- The VM stops ------------------------------------------------------------

stop_qemu
for op in stopped release; do
	state >"$TMP/before"
	hook "$NAME" $op
	state >"$TMP/after"
	holds "hook $op: exit 0, silent, changes nothing" \
		'[ $rc = 0 ] && [ ! -s "$TMP/err" ] && [ ! -s "$TMP/out" ] &&
		cmp -s "$TMP/before" "$TMP/after"'
done
# libvirt removes its groups and its pid file; systemd the scope.
rm -f "$STATE/$NAME.pid" /tmp/evil.pid
check "the layout can be removed (no process left in it)" remove_layout

# --- A VMM that is not QEMU by name ------------------------------------------

# QEMU under another name, without debug-threads and QMP: 'vmfctl auto'
# must find it by its KVM VM fd and its vCPUs by their KVM fds.
cp "$(command -v qemu-system-x86_64)" "$TMP/othervmm"
"$TMP/othervmm" -L /usr/share/seabios -L /usr/share/qemu -accel kvm -cpu host -m 64 -smp 2 -nodefaults -nographic \
	</dev/null >"$TMP/qemu.log" 2>&1 &
qpid=$!
# main loop, call_rcu, 2 vCPUs, and nx-lpage-recovery after the first KVM_RUN
more_threads() { [ "$(find "/proc/$qpid/task" -mindepth 1 -maxdepth 1 | wc -l)" -ge 4 ]; }
found_all() {
	"$VMFCTL" auto >"$TMP/out" 2>"$TMP/err"
}
if wait_for 60 more_threads && wait_for 120 found_all; then
	comment "$TMP/out"
	check "auto names it a VMM, not QEMU" grep -q "^VMM $qpid (othervmm): 2 vCPU threads found by KVM vCPU fds" "$TMP/out"
	vms=$(for t in /proc/"$qpid"/task/*; do class_of "$qpid/task/${t##*/}"; done | sort | uniq -c |
		awk '{ printf "%s%s=%s", sep, $2, $1; sep = " " }')
	check "its 2 vCPU threads are vm, its other threads vmm ($vms)" \
		[ "$(echo "$vms" | sed 's/vmm=[0-9]*//')" = "vm=2 " ]
else
	not_ok "auto classified the VMM 'othervmm' in 120 s"
	comment "$TMP/out" "$TMP/err"
fi
stop_qemu

# --- sysctl.d ----------------------------------------------------------------

# Every tunable of the kernel is in the file, every line of the file is
# one of the kernel's, and the file applies.
knobs=$(cd /proc/sys/kernel && ls -d sched_vmf_* | sort)
in_file=$(sed -n 's/^#\{0,1\}-kernel\.\(sched_vmf_[a-z_]*\) *=.*/\1/p' "$SYSCTL_CONF" | sort)
check "vmf-sysctl.conf names every kernel.sched_vmf_* ($(echo $knobs))" [ "$knobs" = "$in_file" ]
for k in $knobs; do echo "$k $(cat /proc/sys/kernel/$k)"; done >"$TMP/sysctl.before"
sysctl -p "$SYSCTL_CONF" >"$TMP/out" 2>"$TMP/err"
rc=$?
for k in $knobs; do echo "$k $(cat /proc/sys/kernel/$k)"; done >"$TMP/sysctl.after"
holds "sysctl -p vmf-sysctl.conf: exit 0 (got $rc), the kernel's defaults" \
	'[ $rc = 0 ] && cmp -s "$TMP/sysctl.before" "$TMP/sysctl.after"'
comment "$TMP/err"

# --- Nothing left behind -----------------------------------------------------

rm -rf /run/libvirt
run_created=""
[ -z "$cpu_enabled" ] || echo -cpu >$CG/cgroup.subtree_control
cpu_enabled=""
listing >"$TMP/listing.after"
check "no cgroup class, file under /run, /tmp or /var/tmp left behind" \
	cmp -s "$TMP/listing.before" "$TMP/listing.after"
diff "$TMP/listing.before" "$TMP/listing.after" | comment
# By name, not command line: the runner's names this test and vmfctl.sh.
# A process SIGKILLed a moment ago can still be on its way out.
leftovers() { pgrep -l -x 'vmfctl|libvirt-hook-qe|othervmm|qemu-system-x86'; }
for _ in $(seq 10); do [ -n "$(leftovers)" ] || break; sleep 1; done
leftovers >"$TMP/left"
check "no process of the hook or QEMU left" [ ! -s "$TMP/left" ]
comment "$TMP/left"

tap_done
