// SPDX-License-Identifier: GPL-2.0
/*
 * The host reservation is a runtime choice, kernel.sched_vmf_host_reserve:
 *
 *  - until a task becomes SCHED_VMF, every CPU's fair server keeps the
 *    upstream default, 50 ms every 1000 ms (debugfs
 *    sched/fair_server/cpuN/{runtime,period}). This part needs a boot in
 *    which no VMF task ran yet, so the Makefile lists this test first;
 *    otherwise it is skipped;
 *  - the first SCHED_VMF task turns it on: the sysctl reads 1 and every
 *    server has sched_vmf_host_{runtime,period}_us;
 *  - writing 0 puts the upstream default back on every CPU, 1 the
 *    reservation again; writing 2 fails with EINVAL and changes nothing;
 *  - a CPU that is offline while sched_vmf_host_runtime_us is written
 *    comes back with the new value once its fair server starts.
 *
 * CPU 1 is brought back online and the sysctls restored however the test
 * ends.
 */
#include "kselftest.h"
#include "vmf_util.h"

#define RESERVE		"sched_vmf_host_reserve"
#define RUNTIME		"sched_vmf_host_runtime_us"
#define PERIOD		"sched_vmf_host_period_us"
#define SERVER_DIR	"/sys/kernel/debug/sched/fair_server"
#define UPSTREAM_RT	(50 * VMF_NSEC_PER_MSEC)
#define UPSTREAM_PERIOD	(1000 * VMF_NSEC_PER_MSEC)
#define SETTLE_MS	1000

static long long server(int cpu, const char *file)
{
	char path[128], buf[64];
	int ret;

	snprintf(path, sizeof(path), SERVER_DIR "/cpu%d/%s", cpu, file);
	ret = vmf_read_file(path, buf, sizeof(buf));
	if (ret)
		ksft_exit_fail_msg("reading %s: %s\n", path, strerror(-ret));
	return atoll(buf);
}

/* Whether every CPU's server has runtime/period, within SETTLE_MS. */
static int servers_are(long long runtime, long long period)
{
	int cpu, i, ok = 0;

	for (i = 0; i < SETTLE_MS / 10 && !ok; i++) {
		ok = 1;
		for (cpu = 0; cpu < vmf_nr_cpus() && ok; cpu++)
			ok = server(cpu, "runtime") == runtime && server(cpu, "period") == period;
		if (!ok)
			usleep(10000);
	}
	for (cpu = 0; cpu < vmf_nr_cpus() && !ok; cpu++)
		ksft_print_msg("CPU %d: fair server %lld / %lld ns, expected %lld / %lld\n", cpu,
			       server(cpu, "runtime"), server(cpu, "period"), runtime, period);
	return ok;
}

static int reservation_on(void)
{
	return servers_are(vmf_sysctl_get(RUNTIME) * VMF_NSEC_PER_USEC,
			   vmf_sysctl_get(PERIOD) * VMF_NSEC_PER_USEC);
}

/*
 * Before anything else: the state of a boot in which no VMF task ran yet,
 * if this is one. vmf_require()'s probe then is the first VMF task.
 */
static int upstream_at_start = -1;

static void check_before_first_task(void)
{
	char buf[16];

	if (vmf_sysctl_read(RESERVE, buf, sizeof(buf)) || strcmp(buf, "0"))
		return;
	upstream_at_start = !access(SERVER_DIR, F_OK) && servers_are(UPSTREAM_RT, UPSTREAM_PERIOD);
}

static void test_first_task(void)
{
	int i;

	if (upstream_at_start < 0) {
		ksft_test_result_skip("before any VMF task: a VMF task ran in this boot already\n");
		ksft_test_result_skip("the first VMF task turns the reservation on\n");
		return;
	}
	ksft_test_result(upstream_at_start,
			 "before any VMF task: the fair servers keep 50 ms / 1000 ms\n");
	for (i = 0; i < SETTLE_MS / 10 && vmf_sysctl_get(RESERVE) != 1; i++)
		usleep(10000);
	ksft_test_result(vmf_sysctl_get(RESERVE) == 1 && reservation_on(),
			 "the first VMF task turns the reservation on, on every CPU\n");
}

static void test_switch(void)
{
	int ok, ret;

	ret = vmf_sysctl_write(RESERVE, "0");
	ok = !ret && servers_are(UPSTREAM_RT, UPSTREAM_PERIOD);
	ret = vmf_sysctl_write(RESERVE, "1");
	ok &= !ret && reservation_on();
	ksft_test_result(ok, "writing 0 and 1 switches every server between the two\n");

	ret = vmf_sysctl_write(RESERVE, "2");
	ok = ret == -EINVAL && vmf_sysctl_get(RESERVE) == 1 && reservation_on();
	ksft_test_result(ok, "writing 2 fails with EINVAL (%s) and changes nothing\n",
			 ret ? strerror(-ret) : "accepted");
}

/* A fair task on CPU 1, so that its server starts. */
static int run_on_cpu1(void *arg)
{
	if (vmf_pin(0, 1))
		return 1;
	vmf_burn_ns(5 * VMF_NSEC_PER_MSEC);
	return 0;
}

static void test_offline(void)
{
	long long runtime = vmf_sysctl_get(RUNTIME) * 2;
	int ret, ok;

	ret = vmf_cpu_set_online(1, 0);
	if (ret)
		ksft_exit_fail_msg("taking CPU 1 offline: %s\n", strerror(-ret));
	ret = vmf_sysctl_set(RUNTIME, runtime);
	if (ret)
		ksft_exit_fail_msg("writing %s: %s\n", RUNTIME, strerror(-ret));
	ret = vmf_cpu_set_online(1, 1);
	if (ret)
		ksft_exit_fail_msg("bringing CPU 1 online: %s\n", strerror(-ret));
	ok = !vmf_run_child(run_on_cpu1, NULL) && reservation_on();
	ksft_test_result(ok, "a CPU offline during a write comes back with %lld us\n", runtime);
}

static void cleanup(void)
{
	vmf_cpu_set_online(1, 1);
}

int main(void)
{
	ksft_print_header();
	if (geteuid() == 0)
		check_before_first_task();
	vmf_require();
	vmf_require_cpus(2);
	if (access(SERVER_DIR, F_OK))
		ksft_exit_skip("no %s\n", SERVER_DIR);
	vmf_sysctl_save(RUNTIME);
	vmf_sysctl_save(PERIOD);
	atexit(cleanup);
	ksft_set_plan(5);

	test_first_task();
	test_switch();
	test_offline();
	ksft_finished();
}
