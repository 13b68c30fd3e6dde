#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/build-each.sh, which make export runs before it writes a mail,
# on a scratch tree whose Makefile records what it builds: every commit of
# a range is built with both configs; a commit that changes only
# documentation or tests counts as built once its parent is, and not
# otherwise; a second run builds nothing, nor does the same code under
# another MAINTAINERS; a commit that fails to build or
# warns stops the run and is named; and two configs that come out the same
# are built once. Runs on the host.

root=${VMF_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
. "$root/selftests/lib/vmf_sh.sh"

# The scripts find out/ under their repository, not wherever OUT points.
unset OUT
repo=$TMP/repo tree=$TMP/repo/out/linux
mkdir -p "$repo/scripts" "$tree"
cp "$root/scripts/build-each.sh" "$root/scripts/lib.sh" "$repo/scripts/"

# make kernel's config step, as build-each.sh calls it: one .config per
# flavour, which differ unless SAME_CONFIGS is set.
cat >"$repo/scripts/kernel.sh" <<'EOF'
#!/bin/bash
. "$(dirname "$0")/lib.sh"
mkdir -p "$KBUILD"
if [ "${VMF:-y}" = n ] && [ -z "${SAME_CONFIGS:-}" ]; then
	echo "# CONFIG_SCHED_CLASS_VMF is not set" >"$KBUILD/.config"
else
	echo "CONFIG_SCHED_CLASS_VMF=y" >"$KBUILD/.config"
fi
EOF
chmod +x "$repo/scripts/kernel.sh"

export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t
g() { git -C "$tree" "$@" >/dev/null; }
commit() { # subject: commit all, as that subject
	g add -A
	g commit -q -m "$1"
}
# The tree's "kernel": bzImage appends the subject of the commit checked
# out and the config to O/built; a file BROKEN fails it, WARN warns.
cat >"$tree/Makefile" <<'EOF'
olddefconfig:
	@true
bzImage:
	@! test -e BROKEN || { echo "f.c:1:1: error: broken" >&2; false; }
	@! test -e WARN || echo "f.c:1:1: warning: unused variable"
	@echo "$$(git log -1 --format=%s) $$(cat $(O)/.config)" >>$(O)/built
EOF
git init -q "$tree"
mkdir -p "$tree/kernel" "$tree/Documentation" "$tree/tools/testing/x"
echo 0 >"$tree/kernel/f.c"
commit base
g tag vmf-base
echo 1 >"$tree/kernel/f.c"
commit "Code one"
echo doc >"$tree/Documentation/f.rst"
commit "Docs"
echo 2 >"$tree/kernel/f.c"
commit "Code two"
echo t >"$tree/tools/testing/x/t.c"
echo m >"$tree/MAINTAINERS"
commit "Tests"

run() { # RANGE...: run build-each.sh, set out and rc
	out=$(cd "$repo" && scripts/build-each.sh "$@" 2>&1)
	rc=$?
}
built() { # the builds so far, one line each: "<subject> <config>"
	cat "$repo"/out/export-check/build-*/built 2>/dev/null | sort
}
# expect DESCRIPTION EXPRESSION: holds, with what build-each.sh said if not
expect() {
	holds "$@"
	eval "$2" || comment <(echo "rc $rc:"; echo "$out"; echo "built:"; built)
}

run vmf-base..HEAD
expect "a range builds" '[ $rc = 0 ]'
expect "each code commit is built with each config, the others are not" \
	'[ "$(built)" = "$(printf "%s\n" "Code one # CONFIG_SCHED_CLASS_VMF is not set" \
		"Code one CONFIG_SCHED_CLASS_VMF=y" "Code two # CONFIG_SCHED_CLASS_VMF is not set" \
		"Code two CONFIG_SCHED_CLASS_VMF=y")" ]'
expect "it says so: 4 builds, 4 only documentation and tests" \
	'grep -q "patch by patch: 4 builds, 4 built before or only documentation and tests" <<<"$out"'

run vmf-base..HEAD
expect "a second run builds nothing" \
	'[ $rc = 0 ] && [ "$(built | wc -l)" = 4 ] && grep -q "0 builds, 8 built before" <<<"$out"'

# The same code under another MAINTAINERS, as make export writes it.
g checkout -q --detach vmf-base
echo 1 >"$tree/kernel/f.c"
echo other >"$tree/MAINTAINERS"
commit "Code one, another MAINTAINERS"
run HEAD~1..HEAD
expect "code built before under another MAINTAINERS is not built again" \
	'[ $rc = 0 ] && [ "$(built | wc -l)" = 4 ] && grep -q "0 builds, 2 built before" <<<"$out"'
g checkout -q --detach master

# A documentation commit whose parent was never built is built.
rm -rf "$repo/out/export-built" "$repo"/out/export-check/build-*/built
run HEAD~3..HEAD~2
expect "documentation whose parent was not built is built" \
	'[ $rc = 0 ] && [ "$(built | cut -d" " -f1 | sort -u)" = Docs ]'

touch "$tree/BROKEN"
commit "Break"
run HEAD~1..HEAD
expect "a commit that does not build stops the run and is named" \
	'[ $rc != 0 ] && grep -q "patch 1/1 does not build with the lean config: Break" <<<"$out"'
g rm -q BROKEN
touch "$tree/WARN"
commit "Warn"
run HEAD~1..HEAD
expect "a commit that builds with a warning stops the run" \
	'[ $rc != 0 ] && grep -q "patch 1/1 builds with warnings (lean): Warn" <<<"$out"'

g rm -q WARN
echo 3 >"$tree/kernel/f.c"
commit "Code three"
rm -f "$repo"/out/export-check/build-*/built
out=$(cd "$repo" && SAME_CONFIGS=1 scripts/build-each.sh HEAD~1..HEAD 2>&1)
rc=$?
expect "two configs that are the same are built once" \
	'[ $rc = 0 ] && [ "$(built)" = "Code three CONFIG_SCHED_CLASS_VMF=y" ]'
tap_done
