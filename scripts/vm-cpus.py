#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""vm-cpus.py [--jiffies|--nmi] MONITOR_SOCKET SYSTEM_MAP: where each CPU of a test VM is.

Asks QEMU's human monitor for every vCPU's registers twice, a second apart,
and prints one line per vCPU: its RIP as a symbol of the test kernel (the
VM boots with nokaslr, so System.map's addresses are the running ones),
whether it moved between the two samples, whether it is halted, and
whether it was in a guest in both (CPL 0 at a lower-half address). An
address the map does not cover is printed raw: with an L2 running, it is
most likely the L2's. The full register dumps follow, for the record.

scripts/vm.sh runs this when a test VM hangs, before it stops the VM: a
hung L1 under an L2 prints nothing more of its own, and CI keeps only the
output of make check.

With --jiffies, it prints the test kernel's jiffies instead, read from
guest memory: scripts/vm.sh watches them to tell a kernel that takes no
timer interrupt at all, which can print nothing, from one that is idle.
With --nmi, it sends every vCPU an NMI.
"""

import bisect
import re
import socket
import sys
import time


def hmp(path, command, timeout=10.0):
    """Run one human-monitor command, return its output."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        buf = b""
        # The banner ends with the first prompt.
        while not buf.endswith(b"(qemu) "):
            chunk = s.recv(65536)
            if not chunk:
                return ""
            buf += chunk
        s.sendall(command.encode() + b"\n")
        buf = b""
        while not buf.endswith(b"(qemu) "):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    text = buf.decode(errors="replace").replace("\r", "")
    # The monitor echoes the command line first, with terminal escapes.
    lines = text.split("\n")[1:]
    return "\n".join(line for line in lines if line != "(qemu) ")


def load_map(path):
    addrs, names = [], []
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and parts[1] in "tTwW":
                    addrs.append(int(parts[0], 16))
                    names.append(parts[2])
    except OSError:
        pass
    order = sorted(range(len(addrs)), key=addrs.__getitem__)
    return [addrs[i] for i in order], [names[i] for i in order]


def data_symbol(path, name):
    """The address of a data symbol in System.map, or None."""
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and parts[2] == name and parts[1] in "dDbB":
                    return int(parts[0], 16)
    except OSError:
        pass
    return None


# With nokaslr the kernel image runs where it was linked, at
# __START_KERNEL_map plus its physical address, so a symbol's physical
# address is known without the guest's page tables, which belong to an L2
# while a CPU runs one.
START_KERNEL_MAP = 0xFFFFFFFF80000000


def read_jiffies(sock, smap):
    """The test kernel's jiffies as a hex string, or '' if unreadable."""
    addr = data_symbol(smap, "jiffies_64") or data_symbol(smap, "jiffies")
    if addr is None:
        return ""
    out = hmp(sock, f"xp /1gx {addr - START_KERNEL_MAP:#x}")
    m = re.search(r":\s*(0x[0-9a-f]+)", out)
    return m.group(1) if m else ""


def symbolize(rip, addrs, names):
    i = bisect.bisect_right(addrs, rip) - 1
    # A text symbol further than 64 KiB away is not this address's.
    if i < 0 or rip - addrs[i] > 0x10000:
        return f"{rip:#x} (not in the test kernel's text)"
    return f"{names[i]}+{rip - addrs[i]:#x} ({rip:#x})"


# The test kernel runs at CPL 0 only in the upper half (SMEP forbids the
# lower): a CPU at CPL 0 on a lower-half address is in a guest (the KVM
# selftests' guests run there), in the middle of VMRUN as QEMU sees it.
LOWER_HALF_END = 1 << 47


def parse(dump):
    """CPU index -> (RIP, halted, in a guest) from 'info registers -a'."""
    cpus = {}
    cpu = None
    for line in dump.split("\n"):
        m = re.match(r"CPU#(\d+)", line)
        if m:
            cpu = int(m.group(1))
            continue
        m = re.search(r"RIP=([0-9a-f]+) .*CPL=(\d)", line)
        if m and cpu is not None:
            halted = re.search(r"HLT=1", dump.split(f"CPU#{cpu}")[1].split("CPU#")[0])
            rip = int(m.group(1), 16)
            guest = m.group(2) == "0" and rip < LOWER_HALF_END
            cpus[cpu] = (rip, bool(halted), guest)
    return cpus


def describe(first, second, addrs, names):
    """One line per CPU from two register dumps taken a second apart."""
    a, b = parse(first), parse(second)
    lines = []
    for cpu in sorted(b):
        rip, halted, guest = b[cpu]
        moved = "moved" if a.get(cpu, (None,))[0] != rip else "same RIP 1 s apart"
        state = ", halted" if halted else ""
        if guest and a.get(cpu, (None, None, False))[2]:
            state += ", in a guest"
        lines.append(f"CPU#{cpu}: {symbolize(rip, addrs, names)}, {moved}{state}")
    return lines


def main():
    args = sys.argv[1:]
    mode = args.pop(0) if args[:1] in (["--jiffies"], ["--nmi"]) else ""
    if len(args) != 2:
        sys.exit("usage: vm-cpus.py [--jiffies|--nmi] MONITOR_SOCKET SYSTEM_MAP")
    sock, smap = args
    try:
        if mode == "--jiffies":
            print(read_jiffies(sock, smap))
            return
        if mode == "--nmi":
            hmp(sock, "nmi")
            return
    except OSError as e:
        sys.exit(f"the monitor did not answer: {e}")
    addrs, names = load_map(smap)
    try:
        first = hmp(sock, "info registers -a")
        time.sleep(1)
        second = hmp(sock, "info registers -a")
    except OSError as e:
        print(f"the monitor did not answer: {e}")
        return
    for line in describe(first, second, addrs, names):
        print(line)
    print("--- info registers -a, second sample")
    print(second)


if __name__ == "__main__":
    main()
