// SPDX-License-Identifier: GPL-2.0
/*
 * ipiload: a guest workload of multicast call-function IPIs, for the
 * paravirt IPI test (selftests/vmf/l2_pv_ipi.sh) and the pv-ipi scenario
 * of make bench (bench/pvipi.py). Runs inside an L2 guest under KVM.
 *
 *   ipiload [--sender CPU] [--spin CPU,CPU...] [--secs S] [--windows N]
 *           [--settle S] [--no-marks]
 *   ipiload --eperm
 *
 * Threads of one process spin, each pinned to a --spin CPU, while the
 * sender, pinned to --sender, calls membarrier(PRIVATE_EXPEDITED) in a
 * loop: every call IPIs each CPU that runs the process (all the spinners),
 * through the guest's call-function IPI path, and waits until all of them
 * have run the handler. A lost IPI hangs the sender, so the workload also
 * checks that delivery works.
 *
 * The sender marks each measured window with a hypercall from user space
 * (bench/l2load.h), the calls made in it at its end. The host counts its
 * exits and hypercalls between the marks (bench/pvipi.py).
 *
 * One JSON line per window on stdout: the calls, the guest's own rate
 * (CLOCK_MONOTONIC), the APIC IDs of the sender and the spinners, and how
 * many call-function interrupts each spinner's CPU took ("CAL" in
 * /proc/interrupts) and how often each spinner was preempted. Exits
 * non-zero if membarrier() failed.
 *
 * --eperm: drop to uid/gid 65534 and make the KVM_HC_SEND_IPI_V2
 * hypercall (16) with valid arguments from user space. KVM must refuse it
 * with -KVM_EPERM (-1) whatever the hypercall; exits 0 if it did.
 */
#include <getopt.h>
#include <grp.h>
#include <linux/kvm_para.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "l2load.h"

#ifndef KVM_HC_SEND_IPI_V2
#define KVM_HC_SEND_IPI_V2	16
#endif

#define MAX_SPIN	16
#define NOBODY		65534

static struct {
	int sender, nspin, spin[MAX_SPIN], windows, marks;
	double secs, settle;
} opt = { .sender = 0, .secs = 3, .windows = 1, .settle = 1, .marks = 1 };

static int stop, running;
static pid_t spin_tid[MAX_SPIN];

static void *spin_fn(void *arg)
{
	int i = (int)(long)arg;

	spin_tid[i] = syscall(__NR_gettid);
	pin(opt.spin[i]);
	__atomic_fetch_add(&running, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED))
		__builtin_ia32_pause();
	return NULL;
}

static int membarrier(int cmd)
{
	return syscall(__NR_membarrier, cmd, 0, 0);
}

static void measure(int w, int ncpus)
{
	unsigned long long cal0[ncpus], cal1[ncpus], pre0[MAX_SPIN];
	unsigned long calls = 0;
	double t0, t1, end;
	int i;

	irq_counts("CAL", cal0, ncpus);
	/* A call that finds no spinner running sends no IPI. */
	for (i = 0; i < opt.nspin; i++)
		pre0[i] = preemptions(spin_tid[i]);
	if (opt.marks)
		hypercall(MARK_START, w, 0, 0, 0);
	t0 = now();
	end = t0 + opt.secs;
	do {
		if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED))
			die("membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)");
		calls++;
	} while (now() < end);
	t1 = now();
	if (opt.marks)
		hypercall(MARK_END, w, calls, 0, 0);
	irq_counts("CAL", cal1, ncpus);

	printf("{\"ipiload\":\"%s\",", "window");
	printf("\"window\":%d,\"calls\":%lu,\"secs\":%.6f,\"calls_per_s\":%.1f,",
	       w, calls, t1 - t0, calls / (t1 - t0));
	printf("\"sender\":{\"cpu\":%d,\"apicid\":%ld},\"targets\":[",
	       opt.sender, apic_id(opt.sender));
	for (i = 0; i < opt.nspin; i++) {
		int c = opt.spin[i];

		printf("%s{\"cpu\":%d,\"apicid\":%ld,\"cal\":%llu,\"preempted\":%llu}",
		       i ? "," : "", c, apic_id(c), c < ncpus ? cal1[c] - cal0[c] : 0ULL,
		       preemptions(spin_tid[i]) - pre0[i]);
	}
	printf("]}\n");
	fflush(stdout);
}

/* KVM refuses every hypercall from CPL 3 with -KVM_EPERM. */
static int check_eperm(void)
{
	/* Vector 0xf0, fixed, to APIC IDs 0-63: valid for a CPL-0 caller. */
	long ret;

	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
		die("dropping to uid 65534");
	if (getuid() == 0 || geteuid() == 0) {
		fprintf(stderr, "ipiload: still root after setuid()\n");
		return 1;
	}
	ret = hypercall(KVM_HC_SEND_IPI_V2, 0xf0, ~0UL, 0, 0);
	printf("{\"ipiload\":\"%s\",\"uid\":%d,\"nr\":%d,\"ret\":%ld,\"expected\":%d}\n",
	       "eperm", getuid(), KVM_HC_SEND_IPI_V2, ret, -KVM_EPERM);
	return ret == -KVM_EPERM ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "sender", required_argument, NULL, 'S' },
		{ "spin", required_argument, NULL, 's' },
		{ "secs", required_argument, NULL, 't' },
		{ "windows", required_argument, NULL, 'w' },
		{ "settle", required_argument, NULL, 'z' },
		{ "no-marks", no_argument, NULL, 'n' },
		{ "eperm", no_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	pthread_t threads[MAX_SPIN];
	int c, i, ncpus, do_eperm = 0;

	opt.nspin = parse_list("1,3", opt.spin, MAX_SPIN);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'S':
			opt.sender = atoi(optarg);
			break;
		case 's':
			opt.nspin = parse_list(optarg, opt.spin, MAX_SPIN);
			break;
		case 't':
			opt.secs = atof(optarg);
			break;
		case 'w':
			opt.windows = atoi(optarg);
			break;
		case 'z':
			opt.settle = atof(optarg);
			break;
		case 'n':
			opt.marks = 0;
			break;
		case 'e':
			do_eperm = 1;
			break;
		default:
			fprintf(stderr, "usage: see the top of bench/ipiload.c\n");
			return 2;
		}
	}
	detect_kvm();
	if (do_eperm)
		return check_eperm();

	ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (opt.sender >= ncpus) {
		fprintf(stderr, "ipiload: CPU %d is not online (%d online)\n", opt.sender, ncpus);
		return 2;
	}
	for (i = 0; i < opt.nspin; i++) {
		if (opt.spin[i] >= ncpus || opt.spin[i] == opt.sender) {
			fprintf(stderr, "ipiload: bad spinner CPU %d\n", opt.spin[i]);
			return 2;
		}
	}
	if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED))
		die("membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED)");
	pin(opt.sender);
	for (i = 0; i < opt.nspin; i++) {
		errno = pthread_create(&threads[i], NULL, spin_fn, (void *)(long)i);
		if (errno)
			die("pthread_create");
	}
	while (__atomic_load_n(&running, __ATOMIC_ACQUIRE) < opt.nspin)
		usleep(1000);
	usleep(opt.settle * 1e6);

	for (i = 1; i <= opt.windows; i++)
		measure(i, ncpus);

	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < opt.nspin; i++)
		pthread_join(threads[i], NULL);
	return 0;
}
