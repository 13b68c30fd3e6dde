// SPDX-License-Identifier: GPL-2.0
/*
 * vm hogs do not starve the lower classes completely: the host (fair)
 * tasks of a CPU keep sched_vmf_host_runtime_us per sched_vmf_host_period_us
 * of it, and its vmm tasks keep sched_vmf_vmm_runtime_us per
 * sched_vmf_vmm_period_us. Shares are CPU time over wall time, the median
 * of the ten 1 s slices of a 10 s window (vmf_measure_median()):
 *
 *  - a vm hog and a SCHED_OTHER hog pinned to every CPU: each host hog
 *    gets the host runtime/period within one point (plus 200 us a period
 *    above it, for the hrtick's latency under TCG), each vm hog >= 1 -
 *    runtime/period - 0.03 (so the vm class does win, and the CPU is not
 *    left idle), at 1000 us and at 2000 us per 20 ms. The reservation is
 *    enforced with the hrtick; when it was charged at the tick, each block
 *    overran by up to a tick: 9.8% and 14.0% measured here;
 *  - in the same rounds, the host blocks end by the hrtick, not at the
 *    tick, so their length does not depend on HZ: the vm hog on CPU 1
 *    waits (sched_vmf_run_delay, mostly for the host block) a median of
 *    at most the runtime plus HRTICK_SLACK_US, and at the 90th percentile
 *    at most twice the runtime. Charged at the tick, the median was 1.9 ms
 *    for 1 ms at HZ=1000; at HZ=250 (the test kernels' HZ, Debian's) a
 *    block would last at least the 4 ms tick. p99 and max are printed
 *    only: under TCG a stalled vCPU of the test VM makes some waits long
 *    whatever the kernel does (4 to 6 ms at p99 in runs here);
 *  - a vm hog and a vmm hog on CPU 1: the vmm hog gets >= 0.8 * vmm
 *    runtime/period, the vm hog >= 1 - (vmm runtime + one tick)/period
 *    - 0.03.
 *
 * The sysctls are restored at the end, and on SIGTERM. The main thread is
 * SCHED_FIFO, so that it takes its samples on time.
 */
#include "kselftest.h"
#include "vmf_trace.h"
#include "vmf_util.h"

#define WARMUP_NS	(500 * VMF_NSEC_PER_MSEC)
#define WINDOW_NS	(10 * VMF_NSEC_PER_SEC)
#define MAX_CPUS	(VMF_MAX_HOGS / 2)
#define MARGIN		0.03
/* The hrtick's lateness under TCG: medians of 1.10-1.13 ms for 1 ms here. */
#define HRTICK_SLACK_US	500
#define HOST_RUNTIME	"sched_vmf_host_runtime_us"
#define HOST_PERIOD	"sched_vmf_host_period_us"

static struct vmf_hog hog(int cpu, int policy, int prio)
{
	struct vmf_hog h = { .cpu = cpu, .policy = policy, .prio = prio };

	return h;
}

#define MAX_DELAYS	100000

struct delays {
	pid_t pid;
	size_t n;
	__u64 ns[MAX_DELAYS];
};

static int collect_delay(const struct vmf_event *ev, const char *line, void *arg)
{
	struct delays *d = arg;

	if (strcmp(ev->name, "sched_vmf_run_delay") ||
	    vmf_event_num(ev->payload, "pid", 0) != d->pid || d->n == MAX_DELAYS)
		return 0;
	d->ns[d->n++] = vmf_event_num(ev->payload, "delay", 0);
	return 0;
}

/*
 * A vm hog and a host hog on each CPU for one window, with runtime and
 * period written first: each host hog within a point of runtime/period,
 * each vm hog above 1 - runtime/period - 3%, and CPU 1's vm hog waits a
 * median of at most runtime + half a tick, and at most twice the runtime
 * at p90. 2 results per CPU and 2.
 */
static void host_round(int ncpus, long runtime, long period)
{
	static const char * const events[] = { "vmf/sched_vmf_run_delay", NULL };
	static struct delays d;
	double frac = (double)runtime / period, vm, host;
	/* The hrtick's latency under TCG: 90 to 150 us a block, at p50. */
	double tcg = 200.0 / period;
	struct vmf_hog h[2 * MAX_CPUS];
	__u64 cpu[2 * MAX_CPUS], wall, p50 = 0, p90 = 0, p99 = 0, max = 0;
	clockid_t clocks[2 * MAX_CPUS];
	struct vmf_trace tr;
	char label[64];
	int c, ret;

	snprintf(label, sizeof(label), "%ld us per %ld us", runtime, period);
	ret = vmf_sysctl_set(HOST_PERIOD, period);
	if (!ret)
		ret = vmf_sysctl_set(HOST_RUNTIME, runtime);
	if (ret)
		ksft_exit_fail_msg("%s: writing the sysctls: %s\n", label, strerror(-ret));
	for (c = 0; c < ncpus; c++) {
		h[2 * c] = hog(c, SCHED_VMF, VMF_CLASS_VM);
		h[2 * c + 1] = hog(c, SCHED_OTHER, 0);
	}
	ret = vmf_trace_open(&tr, "vmf_host_share", events, 8192);
	if (ret)
		ksft_exit_fail_msg("tracefs instance: %s\n", strerror(-ret));
	for (c = 0; c < 2 * ncpus; c++) {
		ret = vmf_hog_start(&h[c]);
		if (ret)
			ksft_exit_fail_msg("%s: hog %d: %s\n", label, c, strerror(-ret));
	}
	vmf_sleep_ns(WARMUP_NS);
	if (vmf_trace_on(&tr, 1))
		ksft_exit_fail_msg("starting the trace\n");
	for (c = 0; c < 2 * ncpus; c++)
		clocks[c] = h[c].clock;
	vmf_measure_median(clocks, 2 * ncpus, WINDOW_NS, cpu, &wall);
	vmf_trace_on(&tr, 0);
	vmf_hogs_stop(h, 2 * ncpus);

	d.pid = h[2].tid;
	d.n = 0;
	if (vmf_trace_overrun(&tr) || vmf_trace_for_each(&tr, collect_delay, &d))
		d.n = 0;
	vmf_trace_close(&tr);
	if (d.n) {
		vmf_sort_u64(d.ns, d.n);
		p50 = vmf_percentile(d.ns, d.n, 50);
		p90 = vmf_percentile(d.ns, d.n, 90);
		p99 = vmf_percentile(d.ns, d.n, 99);
		max = d.ns[d.n - 1];
	}

	for (c = 0; c < ncpus; c++) {
		vm = (double)cpu[2 * c] / wall;
		host = (double)cpu[2 * c + 1] / wall;
		ksft_print_msg("%s, CPU %d: vm hog %.1f%%, host hog %.2f%% of %.0f ms\n", label,
			       c, 100 * vm, 100 * host, (double)wall / VMF_NSEC_PER_MSEC);
		ksft_test_result(host >= frac - 0.01 && host <= frac + 0.01 + tcg,
				 "%s, CPU %d: host hog %.2f%% in [%.2f%% - 1, %.2f%% + 1 + %.2f]\n",
				 label, c, 100 * host, 100 * frac, 100 * frac, 100 * tcg);
		ksft_test_result(vm >= 1 - frac - MARGIN,
				 "%s, CPU %d: vm hog %.1f%% >= 100%% - %.2f%% - 3%%\n",
				 label, c, 100 * vm, 100 * frac);
	}
	ksft_print_msg(
		       "%s, CPU 1: %zu waits of the vm hog (us): p50 %llu, p90 %llu, p99 %llu, max %llu\n",
		       label, d.n, p50 / 1000, p90 / 1000, p99 / 1000, max / 1000);
	ksft_test_result(d.n && p50 <= (runtime + HRTICK_SLACK_US) * 1000ULL,
			 "%s, CPU 1: the vm hog's median wait %llu us <= %ld us + %d us (HZ=%ld)\n",
			 label, p50 / 1000, runtime, HRTICK_SLACK_US, 1000000 / vmf_tick_us());
	ksft_test_result(d.n && p90 <= 2ULL * runtime * 1000,
			 "%s, CPU 1: the vm hog's p90 wait %llu us <= 2 x %ld us\n",
			 label, p90 / 1000, runtime);
}

static void vmm_round(void)
{
	double frac = (double)vmf_sysctl_get("sched_vmf_vmm_runtime_us") /
		      vmf_sysctl_get("sched_vmf_vmm_period_us");
	double tick = (double)vmf_tick_us() / vmf_sysctl_get("sched_vmf_vmm_period_us");
	struct vmf_hog h[2] = {
		hog(1, SCHED_VMF, VMF_CLASS_VM),
		hog(1, SCHED_VMF, VMF_CLASS_VMM),
	};
	__u64 cpu[2], wall;
	double vm, vmm;

	if (vmf_hogs_run(h, 2, WARMUP_NS, WINDOW_NS, cpu, &wall)) {
		ksft_test_result_fail("vm and vmm hogs on CPU 1: could not start them\n");
		ksft_test_result_fail("vm and vmm hogs on CPU 1: could not start them\n");
		return;
	}
	vm = (double)cpu[0] / wall;
	vmm = (double)cpu[1] / wall;
	ksft_print_msg("CPU 1: vm hog %.1f%%, vmm hog %.2f%% of %.0f ms\n", 100 * vm, 100 * vmm,
		       (double)wall / VMF_NSEC_PER_MSEC);
	ksft_test_result(vmm >= 0.8 * frac, "CPU 1: vmm hog %.2f%% >= 0.8 * %.2f%%\n",
			 100 * vmm, 100 * frac);
	ksft_test_result(vm >= 1 - frac - tick - MARGIN,
			 "CPU 1: vm hog %.1f%% >= 100%% - %.2f%% - %.2f%% - 3%%\n",
			 100 * vm, 100 * frac, 100 * tick);
}

int main(void)
{
	int ncpus, ret;

	ksft_print_header();
	vmf_require();
	vmf_require_cpus(2);
	ncpus = vmf_nr_cpus();
	if (ncpus > MAX_CPUS)
		ncpus = MAX_CPUS;
	ksft_set_plan(2 * (2 * ncpus + 2) + 2);

	vmf_sysctl_save(HOST_RUNTIME);
	vmf_sysctl_save(HOST_PERIOD);
	ret = vmf_set(0, SCHED_FIFO, 10, 0, 0);
	if (ret)
		ksft_exit_fail_msg("making this thread SCHED_FIFO: %s\n", strerror(-ret));

	host_round(ncpus, 1000, 20000);
	vmm_round();
	host_round(ncpus, 2000, 20000);
	vmf_sysctl_restore_all();
	ksft_finished();
}
