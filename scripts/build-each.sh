#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-each.sh RANGE...: build every commit of each git range of
# out/linux (bzImage), one by one, with the lean test config and with
# CONFIG_SCHED_CLASS_VMF=n, as "git rebase -x make" would; stop at the
# first that fails or warns. make export runs it on each series before it
# writes any mail; run it alone to check a part of the series, e.g.
#
#   scripts/build-each.sh refs/vmf/fixes..refs/vmf/sched-vmf
#
# The code and config of each build that passed are remembered in
# out/export-built/, so a second run, or make export after it, builds only
# what changed. A commit that changes only documentation, selftests or
# MAINTAINERS counts as built once its parent is.
# BUILD_CONFIGS="lean" (or "lean-novmf") builds with one config only.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

[ $# -gt 0 ] || die "usage: $0 RANGE..."
unset V MAKEFLAGS MAKELEVEL MFLAGS
JOBS=${JOBS:-$(($(nproc) + 1))}
G="git -C $LINUX"

# BUILD_CONFIGS=lean: one of the two, to see a range through faster.
read -r -a CONFIGS <<<"${BUILD_CONFIGS:-lean lean-novmf}"
for cfg in "${CONFIGS[@]}"; do
	case $cfg in lean | lean-novmf) ;; *) die "BUILD_CONFIGS: no config $cfg (lean, lean-novmf)" ;; esac
done
CONFIG_ONLY=1 "$VMF_ROOT/scripts/kernel.sh"
VMF=n CONFIG_ONLY=1 "$VMF_ROOT/scripts/kernel.sh"

# The worktree and the build directories sit beside each other as
# out/linux and out/build-* do, so that the compiler sees the same
# relative paths and ccache (see kbuild) finds what make kernel built.
xp=$OUT/export-check
wt=$xp/linux
stamps=$OUT/export-built
mkdir -p "$stamps"
# The worktree stays between runs: a new one would give every file a new
# mtime, and kbuild would then rebuild everything.
$G worktree prune
if ! git -C "$wt" rev-parse -q --verify HEAD >/dev/null 2>&1; then
	rm -rf "$wt"
	$G worktree add -q --detach "$wt" vmf-base
fi

# A record is keyed by the commit's tree less the paths that never reach
# bzImage: a commit that changes only documentation, selftests or
# MAINTAINERS has its parent's key, and so has the same code under the
# identity that make export writes into MAINTAINERS.
outside='^(Documentation/.*\.rst|tools/testing/.*|MAINTAINERS)$'
code_key() { # commit
	git -C "$wt" ls-tree -r "$1" | awk -F'\t' -v re="$outside" '$2 !~ re' |
		sha1sum | cut -c1-40
}

stamp_of() { # commit code-key config
	local dir=$xp/build-$3
	mkdir -p "$dir"
	cp "$OUT/build-$3/.config" "$dir/.config"
	git -C "$wt" checkout -q --detach "$1"
	make -s -C "$wt" O="$dir" olddefconfig >/dev/null
	echo "$stamps/$2-$(sha1sum <"$dir/.config" | cut -c1-16)"
}

built=0 reused=0
for range in "$@"; do
	total=$($G rev-list --count "$range")
	n=0
	for c in $($G rev-list --reverse "$range"); do
		n=$((n + 1))
		subject=$($G log -1 --format=%s "$c")
		key=$(code_key "$c")
		for cfg in "${CONFIGS[@]}"; do
			sum=$(stamp_of "$c" "$key" "$cfg")
			if [ -e "$sum" ]; then
				reused=$((reused + 1))
				continue
			fi
			git -C "$wt" checkout -q --detach "$c"
			dir=$xp/build-$cfg
			log "building $n/$total ($cfg): $subject"
			if ! kbuild "$wt" "$dir" -j"$JOBS" bzImage >"$dir/build.log" 2>&1; then
				grep -E 'error|Error' "$dir/build.log" | head -20 >&2
				die "patch $n/$total does not build with the $cfg config: $subject (log: $dir/build.log)"
			fi
			# A warning is a build failure upstream (W=1 aside).
			if grep -E '^[^ ]+:[0-9]+:[0-9]+: warning:' "$dir/build.log" >&2; then
				die "patch $n/$total builds with warnings ($cfg): $subject"
			fi
			touch "$sum"
			built=$((built + 1))
		done
	done
done
log "patch by patch: $built builds, $reused built before or only documentation and tests"
