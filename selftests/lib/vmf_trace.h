/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints for the VMF selftests: a tracefs instance of their own, so
 * that tests never disturb the top-level buffer, and a parser for the
 * text format of the events they read back.
 *
 * An event is named "system/event", or "event" for the sched system. The
 * SCHED_VMF tracepoints are bare (DECLARE_TRACE): their trace events, of
 * the "vmf" system, exist while the vmf_tp module is loaded.
 */
#ifndef VMF_TRACE_H
#define VMF_TRACE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmf_util.h"

#define VMF_TRACEFS	"/sys/kernel/tracing"

/* events/<system>/<event>/<file> of @event, "system/event" or "event". */
static inline void vmf_trace_event_file(char *buf, size_t len, const char *event,
					const char *file)
{
	snprintf(buf, len, "events/%s%s/%s", strchr(event, '/') ? "" : "sched/", event, file);
}

struct vmf_trace {
	char dir[128];
};

static inline int vmf_trace_write(struct vmf_trace *t, const char *file, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", t->dir, file);
	return vmf_write_file(path, val);
}

/*
 * Create instance @name (removing a stale one) with @buffer_kb per CPU and
 * the sched events @events enabled, NULL-terminated; not yet recording.
 */
static inline int vmf_trace_open(struct vmf_trace *t, const char *name,
				 const char * const *events, int buffer_kb)
{
	char buf[64];
	int ret;

	snprintf(t->dir, sizeof(t->dir), VMF_TRACEFS "/instances/%s", name);
	rmdir(t->dir);
	if (mkdir(t->dir, 0755))
		return -errno;
	snprintf(buf, sizeof(buf), "%d", buffer_kb);
	ret = vmf_trace_write(t, "tracing_on", "0");
	if (!ret)
		ret = vmf_trace_write(t, "buffer_size_kb", buf);
	for (; !ret && *events; events++) {
		char file[96];

		vmf_trace_event_file(file, sizeof(file), *events, "enable");
		ret = vmf_trace_write(t, file, "1");
		if (ret != -ENOENT || strncmp(*events, "vmf/", 4))
			continue;
		/* A harness that loads the module sets VMF_TP_REQUIRED. */
		if (!getenv("VMF_TP_REQUIRED"))
			ksft_exit_skip(
				       "no %s event: load the vmf_tp module (vmf_tp/ beside the SCHED_VMF selftests)\n",
				       *events);
		ksft_print_msg(
			       "no %s event, and VMF_TP_REQUIRED is set: the vmf_tp module did not load\n",
			       *events);
	}
	return ret;
}

/* Record only the events of @event that match @filter. */
static inline int vmf_trace_filter(struct vmf_trace *t, const char *event, const char *filter)
{
	char file[96];

	vmf_trace_event_file(file, sizeof(file), event, "filter");
	return vmf_trace_write(t, file, filter);
}

static inline int vmf_trace_on(struct vmf_trace *t, int on)
{
	return vmf_trace_write(t, "tracing_on", on ? "1" : "0");
}

static inline FILE *vmf_trace_file(struct vmf_trace *t)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/trace", t->dir);
	return fopen(path, "r");
}

/* Lost events make every count from the buffer suspect. */
static inline int vmf_trace_overrun(struct vmf_trace *t)
{
	char path[256], buf[4096];
	const char *p;
	long overrun = 0;

	for (int cpu = 0; cpu < vmf_nr_cpus(); cpu++) {
		snprintf(path, sizeof(path), "%s/per_cpu/cpu%d/stats", t->dir, cpu);
		if (vmf_read_file(path, buf, sizeof(buf)) < 0)
			continue;
		p = strstr(buf, "overrun: ");
		if (p)
			overrun += atol(p + 9);
	}
	return overrun > 0;
}

static inline void vmf_trace_close(struct vmf_trace *t)
{
	vmf_trace_on(t, 0);
	vmf_trace_write(t, "events/enable", "0");
	rmdir(t->dir);
}

/* One event of the text format: "comm-pid [cpu] flags ts: name: payload". */
struct vmf_event {
	double ts;		/* seconds, on the trace clock */
	int cpu;
	char name[48];
	const char *payload;
};

static inline int vmf_event_parse(const char *line, struct vmf_event *ev)
{
	const char *br, *p;
	int n = 0;

	if (line[0] == '#')
		return -1;
	/* The comm may hold anything; "[cpu] flags ts: name: " may not. */
	for (br = strstr(line, "] "); br; br = strstr(br + 1, "] ")) {
		const char *open = br;

		while (open > line && open[-1] != '[')
			open--;
		if (open == line || sscanf(open, "%d]", &ev->cpu) != 1)
			continue;
		if (sscanf(br + 1, " %*s %lf: %47[^:]: %n", &ev->ts, ev->name, &n) == 2 && n)
			break;
	}
	if (!br)
		return -1;
	p = br + 1 + n;
	ev->payload = p;
	return 0;
}

/*
 * Call @fn on each event of the instance's buffer, in order, until it
 * returns non-zero. Returns that value, 0 when every event was seen, or
 * -errno when the buffer cannot be read.
 */
static inline int vmf_trace_for_each(struct vmf_trace *t,
				     int (*fn)(const struct vmf_event *ev, const char *line,
					       void *arg),
				     void *arg)
{
	struct vmf_event ev;
	char line[512];
	int ret = 0;
	FILE *f;

	f = vmf_trace_file(t);
	if (!f)
		return -errno;
	while (!ret && fgets(line, sizeof(line), f))
		if (!vmf_event_parse(line, &ev))
			ret = fn(&ev, line, arg);
	fclose(f);
	return ret;
}

/* Write @msg into the instance's buffer, to mark a moment in the trace. */
static inline int vmf_trace_mark(struct vmf_trace *t, const char *msg)
{
	return vmf_trace_write(t, "trace_marker", msg);
}

/*
 * The value of field @key ("pid", "class"...) in @payload, from the
 * @nth (0-based) occurrence on. Values end at a space; comms with spaces
 * are not supported, and the tests name their threads without any.
 */
static inline const char *vmf_event_field(const char *payload, const char *key, int nth,
					  char *buf, size_t len)
{
	size_t klen = strlen(key);
	const char *p = payload;

	for (;;) {
		p = strstr(p, key);
		if (!p)
			return NULL;
		if ((p == payload || p[-1] == ' ') && p[klen] == '=' && nth-- == 0)
			break;
		p += klen;
	}
	p += klen + 1;
	snprintf(buf, len, "%.*s", (int)strcspn(p, "\n "), p);
	return buf;
}

static inline long long vmf_event_num(const char *payload, const char *key, int nth)
{
	char buf[32];

	if (!vmf_event_field(payload, key, nth, buf, sizeof(buf)))
		return -1;
	return atoll(buf);
}

#endif /* VMF_TRACE_H */
