#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# PID 1 of the test VM. The root filesystem is the host's, read-only over
# virtio-9p; everything writable is tmpfs, and the run directory of
# scripts/vm.sh is mounted read-write on /mnt. Runs /mnt/cmd.sh, stores
# its exit status in /mnt/status and powers off.

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp TMPDIR=/tmp TERM=dumb

mount -t proc proc /proc
mount -t sysfs sysfs /sys
# CONFIG_DEVTMPFS_MOUNT may have mounted it already.
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /var/tmp
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 vmfout /mnt

# The status file doubles as the "init ran" marker for the host side.
echo cmd >/mnt/stage
busybox ip link set lo up 2>/dev/null
busybox hostname vmf

# Kernel command-line words NAME=value arrive in our environment.
export VMF_ROOT="$vmf_root" VMF_KERNEL="$vmf_kernel" VMF_L2_KERNEL="$vmf_l2_kernel" VMF_OUT=/mnt
cd /tmp || exit 1
/bin/sh /mnt/cmd.sh </dev/null
rc=$?
echo "$rc" >/mnt/status
echo "vmf-init: command exited with status $rc"
sync
busybox poweroff -f
