// SPDX-License-Identifier: GPL-2.0
/*
 * cpu.max and cpu.weight do not apply to SCHED_VMF tasks: they are not in
 * the fair class's group run queues. Hog processes pinned to CPU 1 (the
 * main thread stays on CPU 0), 5 s windows, shares are CPU time over wall
 * time, the median of the window's ten slices (vmf_measure_median()):
 *
 *  - a hog in a group with cpu.max "10000 100000": as host (SCHED_OTHER)
 *    it gets about 10%, at most 20% (the control: bandwidth control works
 *    here); with the group's cpu.vmf set to vm it gets at least 50% and
 *    at least 4 times its host share;
 *  - two hogs in groups of cpu.weight 1 and 10000: as host, the first gets
 *    at most 10% of their sum (the control); with both groups vm, each
 *    gets 50% +- 10% of the sum, the split of two vm tasks of nice 0.
 *
 * 5 s is 50 bandwidth periods, and the expected shares are far from the
 * limits; the whole test takes about 25 s.
 */
#include "kselftest.h"
#include "vmf_util.h"

#define CPU		1
#define WARMUP_NS	(500 * VMF_NSEC_PER_MSEC)
#define WINDOW_NS	(5 * VMF_NSEC_PER_SEC)

static char top[64];
static char g_max[96], g_w1[96], g_w10k[96];
static const char * const groups[] = { g_max, g_w1, g_w10k, top };	/* rmdir order */
static pid_t hogs[3];
static pid_t owner;
static int cpu_enabled;		/* we enabled the cpu controller */

static void cleanup(void)
{
	unsigned int i;

	if (getpid() != owner)
		return;
	for (i = 0; i < ARRAY_SIZE(hogs); i++)
		vmf_kill_wait(hogs[i]);
	for (i = 0; i < ARRAY_SIZE(groups); i++)
		if (*groups[i])
			vmf_cg_rmdir(groups[i]);
	if (cpu_enabled)
		vmf_cg_write("", "cgroup.subtree_control", "-cpu");
}

static void must_write(const char *group, const char *file, const char *val)
{
	int ret = vmf_cg_write(group, file, val);

	if (ret)
		ksft_exit_fail_msg("writing %s to %s/%s: %s\n", val, group, file, strerror(-ret));
}

static void make_group(char *buf, size_t len, const char *name)
{
	int ret;

	snprintf(buf, len, "%s/%s", top, name);
	ret = vmf_cg_mkdir(buf);
	if (ret)
		ksft_exit_fail_msg("mkdir %s: %s\n", buf, strerror(-ret));
}

static pid_t hog_in(const char *group, clockid_t *clock)
{
	pid_t pid = vmf_hog_process(CPU, clock);
	int ret = vmf_cg_attach(group, pid);

	if (ret)
		ksft_exit_fail_msg("moving the hog to %s: %s\n", group, strerror(-ret));
	return pid;
}

/* Whether the process has policy/prio; prints it otherwise. */
static int policy_is(pid_t pid, int policy, int prio)
{
	struct vmf_attr attr;
	char buf[128];

	if (!vmf_getattr(pid, &attr) && (int)attr.sched_policy == policy &&
	    (int)attr.sched_priority == prio)
		return 1;
	ksft_print_msg("hog %d: %s, expected %s prio %d\n", pid,
		       vmf_attr_str(&attr, buf, sizeof(buf)), vmf_policy_name(policy), prio);
	return 0;
}

static void measure(const clockid_t *clocks, int n, __u64 *cpu, __u64 *wall)
{
	vmf_sleep_ns(WARMUP_NS);
	vmf_measure_median(clocks, n, WINDOW_NS, cpu, wall);
}

static void test_max(void)
{
	double host, vm;
	clockid_t clock;
	__u64 cpu, wall;

	must_write(g_max, "cpu.max", "10000 100000");
	hogs[0] = hog_in(g_max, &clock);

	measure(&clock, 1, &cpu, &wall);
	host = (double)cpu / wall;
	ksft_print_msg("cpu.max 10%%, host: %.1f%% of the CPU\n", 100 * host);
	ksft_test_result(policy_is(hogs[0], SCHED_OTHER, 0) && host <= 0.2,
			 "control: a host hog under cpu.max 10%% gets %.1f%%, <= 20%%\n",
			 100 * host);

	must_write(g_max, "cpu.vmf", "vm");
	measure(&clock, 1, &cpu, &wall);
	vm = (double)cpu / wall;
	ksft_print_msg("cpu.max 10%%, vm: %.1f%% of the CPU\n", 100 * vm);
	ksft_test_result(policy_is(hogs[0], SCHED_VMF, VMF_CLASS_VM) && vm >= 0.5 && vm >= 4 * host,
			 "a vm hog under cpu.max 10%% gets %.1f%%, >= 50%% and >= 4 x host\n",
			 100 * vm);
	vmf_kill_wait(hogs[0]);
	hogs[0] = 0;
}

static void test_weight(void)
{
	clockid_t clocks[2];
	__u64 cpu[2], wall;
	double share;

	must_write(g_w1, "cpu.weight", "1");
	must_write(g_w10k, "cpu.weight", "10000");
	hogs[1] = hog_in(g_w1, &clocks[0]);
	hogs[2] = hog_in(g_w10k, &clocks[1]);

	measure(clocks, 2, cpu, &wall);
	share = (double)cpu[0] / (cpu[0] + cpu[1]);
	ksft_print_msg("cpu.weight 1 / 10000, host: %.0f ms / %.0f ms\n",
		       (double)cpu[0] / VMF_NSEC_PER_MSEC, (double)cpu[1] / VMF_NSEC_PER_MSEC);
	ksft_test_result(policy_is(hogs[1], SCHED_OTHER, 0) && share <= 0.1,
			 "control: host hogs of cpu.weight 1 and 10000 split %.1f%% / %.1f%%\n",
			 100 * share, 100 * (1 - share));

	must_write(g_w1, "cpu.vmf", "vm");
	must_write(g_w10k, "cpu.vmf", "vm");
	measure(clocks, 2, cpu, &wall);
	share = (double)cpu[0] / (cpu[0] + cpu[1]);
	ksft_print_msg("cpu.weight 1 / 10000, vm: %.0f ms / %.0f ms\n",
		       (double)cpu[0] / VMF_NSEC_PER_MSEC, (double)cpu[1] / VMF_NSEC_PER_MSEC);
	ksft_test_result(policy_is(hogs[1], SCHED_VMF, VMF_CLASS_VM) &&
			 policy_is(hogs[2], SCHED_VMF, VMF_CLASS_VM) &&
			 share >= 0.4 && share <= 0.6,
			 "vm hogs of cpu.weight 1 and 10000 split %.1f%% / %.1f%%, 50%% +- 10%%\n",
			 100 * share, 100 * (1 - share));
}

int main(void)
{
	int ret;

	ksft_print_header();
	vmf_require();
	vmf_require_cpus(2);
	cpu_enabled = vmf_cg_require_cpu();

	owner = getpid();
	snprintf(top, sizeof(top), "vmf-cgroup-max-%d", getpid());
	atexit(cleanup);
	ret = vmf_cg_mkdir(top);
	if (ret)
		ksft_exit_fail_msg("mkdir %s: %s\n", top, strerror(-ret));
	must_write(top, "cgroup.subtree_control", "+cpu");
	must_write(top, "cpu.vmf", "vm");
	make_group(g_max, sizeof(g_max), "max");
	make_group(g_w1, sizeof(g_w1), "w1");
	make_group(g_w10k, sizeof(g_w10k), "w10k");
	if (vmf_pin(0, 0))
		ksft_exit_fail_perror("pinning to CPU 0");

	ksft_set_plan(4);
	test_max();
	test_weight();
	ksft_finished();
}
