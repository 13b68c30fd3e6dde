#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make checkpatch: the tree's scripts/checkpatch.pl --strict on every patch
# of the series, exported from out/linux exactly as 'git format-patch'
# sends it (so files added through the manifest are checked in context,
# MAINTAINERS included), and on every new source file with -f.
# Zero errors and zero warnings, or it fails.
#
# checkpatch.sh --mails DIR: the same checks on the mails in DIR only
# (make export's, as they are sent).

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

mails=
if [ "${1:-}" = --mails ]; then
	mails=$(cd "$2" && pwd)
else
	SERIES_ONLY=1 "$VMF_ROOT/scripts/kernel.sh"
fi

# checkpatch runs scripts/spdxcheck.py with "python3" from PATH; it needs
# Debian's python3-ply and python3-git, which another python3 may not see.
export PATH=/usr/bin:/bin:$PATH
CP="$LINUX/scripts/checkpatch.pl --strict --quiet --no-summary --color=never --show-types"
dir=$OUT/checkpatch
rm -rf "$dir"
mkdir -p "$dir"
if [ -n "$mails" ]; then
	cp "$mails"/*.patch "$dir/"
	rm -f "$dir"/*0000-cover-letter.patch
else
	git -C "$LINUX" format-patch -q -o "$dir" vmf-base..vmf
fi

n=0
check() { # label checkpatch-args...
	local label=$1 out
	shift
	n=$((n + 1))
	out=$(cd "$LINUX" && $CP "$@" 2>&1) || true
	if [ -n "$out" ]; then
		echo "--- $label"
		echo "$out"
	fi
	printf '%s\n' "$out" >>"$dir/all.log"
}

: >"$dir/all.log"
# out/linux holds one base commit, not upstream's history, so the commit
# ids that Fixes: tags and commit references name cannot be looked up in
# it; they resolve in a tree that has that history.
# A stable-style backport ("commit <sha> upstream.") keeps upstream's
# message word for word, so only its code is held to checkpatch here.
UPSTREAM_LOG=BAD_FIXES_TAG,BAD_REPORTED_BY_LINK,COMMIT_LOG_LONG_LINE,FROM_SIGN_OFF_MISMATCH
# "Does MAINTAINERS need updating?" is checkpatch's question for every
# patch that adds a file. A file of a MAINTAINERS section that the series
# itself adds (KVM PARAVIRT V2, say) answers it: such a patch is not asked.
own_sections=$(git -C "$LINUX" diff vmf-base..vmf -- MAINTAINERS |
	sed -n 's/^+\([A-Z0-9][^:]*\)$/\1/p')
maintained() { # patch
	local f sections
	for f in $(awk '/^diff --git/ { f = substr($4, 3) } /^new file mode/ { print f }' "$1"); do
		sections=$(cd "$LINUX" && perl scripts/get_maintainer.pl --no-git \
			--no-git-fallback --sections -f "$f" 2>/dev/null) || return 1
		grep -qxF -f <(printf '%s\n' "$own_sections") <<<"$sections" || return 1
	done
	[ -n "$own_sections" ]
}
for p in "$dir"/*.patch; do
	[ -e "$p" ] || continue
	ignore=UNKNOWN_COMMIT_ID
	! grep -q '^new file mode' "$p" || ! maintained "$p" || ignore=$ignore,FILE_PATH_CHANGES
	if grep -qE '^commit [0-9a-f]{40} upstream\.$' "$p"; then
		ignore=$ignore,$UPSTREAM_LOG
	fi
	check "$(basename "$p")" --ignore "$ignore" "$p"
done
[ -n "$mails" ] || while read -r f; do
	extra=()
	# User-space tests use the C types of their libc, as kselftests do.
	case $f in selftests/* | bench/*) extra=(--ignore PREFER_KERNEL_TYPES) ;; esac
	check "$f" "${extra[@]}" --no-tree -f "$VMF_ROOT/$f"
done < <(cd "$VMF_ROOT" && git ls-files --cached --others --exclude-standard \
	'kernel/*.[ch]' 'include/*.h' 'arch/*.[ch]' 'guest/*.[ch]' 'selftests/*.[ch]' \
	'bench/*.[ch]' 'tools/*.[ch]' 'Documentation/*.rst')

errors=$(grep -c '^ERROR:' "$dir/all.log" || true)
warnings=$(grep -c '^WARNING:' "$dir/all.log" || true)
checks=$(grep -c '^CHECK:' "$dir/all.log" || true)
echo "checkpatch --strict: $n patches and files, $errors errors, $warnings warnings, $checks checks"
[ "$errors" = 0 ] && [ "$warnings" = 0 ] || die "checkpatch found errors or warnings"
