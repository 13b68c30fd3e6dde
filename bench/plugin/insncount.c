// SPDX-License-Identifier: GPL-2.0
/*
 * A QEMU TCG plugin that counts the guest kernel's instructions, function
 * by function, between marks.
 *
 * Timing under TCG is noisy and says little about hardware; the number of
 * instructions a code path executes is exact and says more. This plugin
 * adds one to a counter of the enclosing kernel function for each
 * instruction executed at a kernel text address (exclusive counts: a
 * callee's instructions are its own), and writes and clears the counters
 * each time the guest enters the marker function. A workload that calls
 * the marker between its phases gets each phase's counts.
 *
 * Arguments: syms=FILE, lines "ADDR NAME" of the kernel's functions sorted
 * by address (from System.map, nokaslr), each ending where the next one
 * starts; mark=NAME, the marker function; out=FILE. Run QEMU with
 * "-accel tcg,thread=single": the inline counters are not atomic.
 *
 * The output: for each mark, "mark N", then "COUNT NAME" for every
 * function that ran since the previous mark.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

struct func {
	uint64_t start;
	char *name;
	uint64_t count;
};

static struct func *funcs;
static size_t nr_funcs;
static uint64_t text_end;
static FILE *out;
static const char *mark_name;
static unsigned int nr_marks;

/* The function that holds @addr, or NULL outside the kernel's text. */
static struct func *func_of(uint64_t addr)
{
	size_t lo = 0, hi = nr_funcs;

	if (!nr_funcs || addr < funcs[0].start || addr >= text_end)
		return NULL;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (funcs[mid].start <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return &funcs[lo];
}

static void dump(void)
{
	size_t i;

	fprintf(out, "mark %u\n", nr_marks++);
	for (i = 0; i < nr_funcs; i++) {
		if (!funcs[i].count)
			continue;
		fprintf(out, "%" PRIu64 " %s\n", funcs[i].count, funcs[i].name);
		funcs[i].count = 0;
	}
	fflush(out);
}

static void on_mark(unsigned int vcpu_index, void *udata)
{
	dump();
}

static void on_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t i, n = qemu_plugin_tb_n_insns(tb);

	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		uint64_t addr = qemu_plugin_insn_vaddr(insn);
		struct func *f = func_of(addr);

		if (!f)
			continue;
		qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64,
							   &f->count, 1);
		if (addr == f->start && !strcmp(f->name, mark_name))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark,
							       QEMU_PLUGIN_CB_NO_REGS, NULL);
	}
}

static void on_atexit(qemu_plugin_id_t id, void *udata)
{
	dump();
	fclose(out);
}

static int load_syms(const char *path)
{
	FILE *f = fopen(path, "r");
	char name[512];
	uint64_t addr;
	size_t cap = 0;

	if (!f)
		return -1;
	while (fscanf(f, "%" SCNx64 " %511s", &addr, name) == 2) {
		if (nr_funcs == cap) {
			cap = cap ? 2 * cap : 65536;
			funcs = realloc(funcs, cap * sizeof(*funcs));
			if (!funcs)
				return -1;
		}
		funcs[nr_funcs++] = (struct func){ .start = addr, .name = strdup(name) };
	}
	fclose(f);
	if (nr_funcs < 2)
		return -1;
	/* The last line ends the text: it is _etext, not a function. */
	text_end = funcs[--nr_funcs].start;
	return 0;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	const char *syms = NULL, *path = NULL;
	int i;

	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "syms=", 5))
			syms = argv[i] + 5;
		else if (!strncmp(argv[i], "mark=", 5))
			mark_name = argv[i] + 5;
		else if (!strncmp(argv[i], "out=", 4))
			path = argv[i] + 4;
		else
			fprintf(stderr, "insncount: unknown argument %s\n", argv[i]);
	}
	if (!syms || !mark_name || !path) {
		fprintf(stderr, "insncount: needs syms=FILE, mark=NAME and out=FILE\n");
		return -1;
	}
	if (load_syms(syms)) {
		fprintf(stderr, "insncount: cannot read functions from %s\n", syms);
		return -1;
	}
	out = fopen(path, "w");
	if (!out) {
		perror(path);
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_trans);
	qemu_plugin_register_atexit_cb(id, on_atexit, NULL);
	return 0;
}
