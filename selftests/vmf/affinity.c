// SPDX-License-Identifier: GPL-2.0
/*
 * Placement, push and pull never break affinity or cpusets. On a 4-CPU VM:
 *
 *  1. A storm: 6 SCHED_VMF hog processes (4 vm, 2 vmm) and 2 SCHED_OTHER
 *     hogs, while a SCHED_FIFO thread gives a random hog a random set of
 *     CPUs every 0-2 ms for 5 s. Right after each change, and for one
 *     other VMF hog picked at random, the CPU the hog runs on (field 39
 *     of its stat) must be in its set. VMF tasks move by push and pull
 *     all through the storm, so a balancer that ignored the masks would
 *     be caught.
 *  2. A cpuset: a cgroup with cpuset.cpus 2-3, and 4 vm hogs moved into
 *     it from CPUs 0-1 while 2 host hogs keep CPUs 0-1 busy. For 2 s,
 *     sampled every 10 ms, every hog runs on CPU 2 or 3.
 */
#include "kselftest.h"
#include "vmf_util.h"

#define NR_VMF		6
#define NR_HOST		2
#define STORM_NS	(5 * VMF_NSEC_PER_SEC)
#define CPUSET_NS	(2 * VMF_NSEC_PER_SEC)
#define CGROUP		VMF_CGROUP_ROOT "/vmf_affinity"

static pid_t hogs[NR_VMF + NR_HOST];
static unsigned long masks[NR_VMF + NR_HOST];

static void cleanup(void)
{
	for (int i = 0; i < NR_VMF + NR_HOST; i++)
		vmf_kill_wait(hogs[i]);
	rmdir(CGROUP);
}

static pid_t start_hog(int cpu, int vmf_class)
{
	clockid_t clock;
	pid_t pid = vmf_hog_process(cpu, &clock);

	if (vmf_class && vmf_set(pid, SCHED_VMF, vmf_class, 0, 0))
		ksft_exit_fail_perror("making a hog SCHED_VMF");
	return pid;
}

static void test_storm(void)
{
	unsigned long all = (1UL << 4) - 1, changes = 0, checks = 0, bad = 0;
	__u64 end;
	int i;

	for (i = 0; i < NR_VMF + NR_HOST; i++) {
		int cls = i < 4 ? VMF_CLASS_VM : i < NR_VMF ? VMF_CLASS_VMM : 0;

		hogs[i] = start_hog(i % 4, cls);
		masks[i] = all;
		if (vmf_set_cpus(hogs[i], all))
			ksft_exit_fail_perror("sched_setaffinity");
	}
	srand(getpid());
	end = vmf_now_ns() + STORM_NS;
	while (vmf_now_ns() < end) {
		int h = rand() % (NR_VMF + NR_HOST), o = rand() % NR_VMF, cpu;
		unsigned long mask = 1 + rand() % all;

		if (vmf_set_cpus(hogs[h], mask))
			ksft_exit_fail_perror("sched_setaffinity");
		masks[h] = mask;
		changes++;
		for (int k = 0; k < 2; k++, checks++) {
			int t = k ? o : h;

			cpu = vmf_task_cpu(hogs[t], hogs[t]);
			if (cpu < 0 || !(masks[t] & (1UL << cpu))) {
				if (bad++ < 5)
					ksft_print_msg("hog %d on CPU %d, allowed 0x%lx\n",
						       t, cpu, masks[t]);
			}
		}
		vmf_sleep_ns((rand() % 2000) * VMF_NSEC_PER_USEC);
	}
	ksft_print_msg("%lu affinity changes, %lu checks\n", changes, checks);
	ksft_test_result(!bad, "affinity storm: %lu hogs outside their CPUs\n", bad);
	for (i = 0; i < NR_VMF + NR_HOST; i++) {
		vmf_kill_wait(hogs[i]);
		hogs[i] = 0;
	}
}

static void test_cpuset(void)
{
	unsigned long samples = 0, bad = 0;
	char pid[16];
	__u64 end;
	int i, ret;

	ret = vmf_write_file(VMF_CGROUP_ROOT "/cgroup.subtree_control", "+cpuset");
	if (ret) {
		ksft_test_result_fail("cannot enable the cpuset controller: %s\n", strerror(-ret));
		return;
	}
	rmdir(CGROUP);
	if (mkdir(CGROUP, 0755) ||
	    vmf_write_file(CGROUP "/cpuset.cpus", "2-3")) {
		ksft_test_result_fail("cannot create a cpuset of CPUs 2-3\n");
		return;
	}
	for (i = 0; i < NR_HOST; i++)
		hogs[NR_VMF + i] = start_hog(i, 0);
	for (i = 0; i < 4; i++) {
		hogs[i] = start_hog(i % 2, VMF_CLASS_VM);
		if (vmf_set_cpus(hogs[i], 0xf))
			ksft_exit_fail_perror("sched_setaffinity");
		snprintf(pid, sizeof(pid), "%d", hogs[i]);
		ret = vmf_write_file(CGROUP "/cgroup.procs", pid);
		if (ret)
			ksft_exit_fail_msg("moving a hog into the cpuset: %s\n", strerror(-ret));
	}
	end = vmf_now_ns() + CPUSET_NS;
	while (vmf_now_ns() < end) {
		for (i = 0; i < 4; i++, samples++) {
			int cpu = vmf_task_cpu(hogs[i], hogs[i]);

			if (cpu != 2 && cpu != 3 && bad++ < 5)
				ksft_print_msg("vm hog %d on CPU %d\n", i, cpu);
		}
		vmf_sleep_ns(10 * VMF_NSEC_PER_MSEC);
	}
	ksft_test_result(!bad, "cpuset 2-3: %lu of %lu samples outside it\n", bad, samples);
}

int main(void)
{
	struct sched_param sp = { .sched_priority = 10 };

	vmf_require();
	vmf_require_cpus(4);
	ksft_print_header();
	ksft_set_plan(2);
	atexit(cleanup);
	/* The hogs are forked from us: they must not be SCHED_FIFO too. */
	if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp))
		ksft_exit_fail_perror("SCHED_FIFO");

	test_storm();
	test_cpuset();
	ksft_finished();
}
