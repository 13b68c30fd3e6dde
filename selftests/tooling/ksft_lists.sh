#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kselftest Makefile of tools/testing/selftests/sched/vmf
# (selftests/vmf/Makefile) keeps the ratio tests out of "make run_tests":
# each vmf/*.c test that selftests/TESTS marks "ratio" must be in
# TEST_GEN_PROGS_EXTENDED and no other, and every test in selftests/vmf/
# in TESTS and in one of the two lists. Runs on the host; make itself
# reads the lists, so the Makefile's own syntax decides.

root=${VMF_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
. "$root/selftests/lib/vmf_sh.sh"

# The Makefile includes ../../lib.mk: a stub there prints the two lists.
mkdir -p "$TMP/a/b/c"
cp "$root/selftests/vmf/Makefile" "$TMP/a/b/c/"
printf 'print:\n\t@echo "$(TEST_GEN_PROGS)"\n\t@echo "$(TEST_GEN_PROGS_EXTENDED)"\n' >"$TMP/a/lib.mk"
{ read -r run; read -r ext; } < <(make -s -C "$TMP/a/b/c" print)
[ -n "$run" ] && [ -n "$ext" ] || { echo "FAIL: make found no lists in the Makefile"; exit 1; }

in_list() { [[ " $1 " == *" $2 "* ]]; }

while read -r src; do
	name=$(basename "${src%.c}")
	kinds=$(awk -v t="vmf/$name.c" '$1 == t { print $4 }' "$root/selftests/TESTS" | sort -u)
	if [ -z "$kinds" ]; then
		not_ok "vmf/$name.c is not in selftests/TESTS"
	elif [ "$kinds" = ratio ]; then
		holds "vmf/$name.c (ratio) is in TEST_GEN_PROGS_EXTENDED only" \
			'in_list "$ext" "$name" && ! in_list "$run" "$name"'
	else
		holds "vmf/$name.c ($kinds) is in TEST_GEN_PROGS only" \
			'in_list "$run" "$name" && ! in_list "$ext" "$name"'
	fi
done < <(ls "$root"/selftests/vmf/*.c)
tap_done
