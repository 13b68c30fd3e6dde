#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make export: each series of patches/series as mails ready for
# git send-email, in out/export/<series>/, the way "b4 prep" prepares them:
#
#   - author and Signed-off-by are your git identity (user.name and
#     user.email); the placeholder identity the patches carry in this
#     repository is replaced wherever it appears, MAINTAINERS included.
#     Without an identity it refuses to run;
#   - subjects carry the series' prefix from patches/series, vN and, with
#     RFC=1, "RFC";
#   - To/Cc come from the tree's scripts/get_maintainer.pl, per patch, and
#     their union on the cover letter, plus patches/<series>/recipients;
#   - a series based on another names that one's patches with
#     prerequisite-patch-id, and base-commit is given when the upstream
#     commit of the base is known (KSRC= a git tree, or BASE_COMMIT=);
#   - the cover letter has a range-diff against the previous version that
#     make export wrote (kept in $EXPORT_HISTORY).
#
# Before it writes anything, every series must
#
#   - apply with git am to what it is based on: the pristine base alone,
#     or the series it needs;
#   - build patch by patch (bzImage) with the lean test config and with
#     CONFIG_SCHED_CLASS_VMF=n (scripts/build-each.sh);
#   - pass checkpatch.pl --strict, patch by patch;
#
# and the whole stack must apply with "git am -3" to Debian's
# linux-source-6.12 tree (installed if missing).
#
#   V=<n>        version (default: one more than the last one written)
#   RFC=1        mark every series RFC
#   SKIP_BUILD=1 skip the patch-by-patch builds; the mails then say so
#                nowhere, so never send what this wrote

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

# V= is make's verbosity too: kbuild would take it from MAKEFLAGS.
VERSION=${V:-}
unset V MAKEFLAGS MAKELEVEL MFLAGS

PLACEHOLDER="VMF Developers <vmf-devel@lists.vmf.dev>"
EXPORT_HISTORY=${EXPORT_HISTORY:-${XDG_DATA_HOME:-$HOME/.local/share}/vmf/export}
DEBIAN_TARBALL=${DEBIAN_TARBALL:-/usr/src/linux-source-6.12.tar.xz}

name=$(git -C "$VMF_ROOT" config user.name || true)
email=$(git -C "$VMF_ROOT" config user.email || true)
[ -n "$name" ] && [ -n "$email" ] ||
	die "no git identity: set user.name and user.email (git config --global ...); they sign off every patch"
ME="$name <$email>"
[ "$ME" != "$PLACEHOLDER" ] || die "your git identity is the placeholder $PLACEHOLDER"
export GIT_AUTHOR_NAME=$name GIT_AUTHOR_EMAIL=$email
export GIT_COMMITTER_NAME=$name GIT_COMMITTER_EMAIL=$email
G="git -C $LINUX"

SERIES_ONLY=1 "$VMF_ROOT/scripts/kernel.sh"

base_id=$(cat "$OUT/base-version.txt")
if [ -z "${BASE_COMMIT:-}" ] && [ -n "${KSRC:-}" ] && git -C "$KSRC" rev-parse -q --verify HEAD >/dev/null 2>&1; then
	BASE_COMMIT=$(git -C "$KSRC" rev-parse HEAD)
fi

# A worktree for git am (scripts/build-each.sh has its own).
wt=$OUT/export-am
scratch=$OUT/export-tmp
cleanup() {
	$G worktree remove --force "$wt" 2>/dev/null || rm -rf "$wt"
	$G worktree prune
	rm -rf "$scratch"
}
trap cleanup EXIT
cleanup
mkdir -p "$scratch"
$G worktree add -q --detach "$wt" vmf-base

# The mails of a range, with the placeholder identity replaced by yours
# and your Signed-off-by last (once).
identity_mails() { # range dir
	rm -rf "$2"
	$G format-patch -q --zero-commit --no-signature -o "$2" "$1"
	python3 - "$PLACEHOLDER" "$ME" "$2"/*.patch <<'PY'
import sys
old, me, *paths = sys.argv[1:]
for path in paths:
    text = open(path).read().replace(old, me)
    head, sep, rest = text.partition("\n---\n")
    lines = [l for l in head.split("\n") if l != f"Signed-off-by: {me}"]
    while lines and lines[-1] == "":
        lines.pop()
    lines.append(f"Signed-off-by: {me}")
    open(path, "w").write("\n".join(lines) + sep + rest)
PY
}

# The recipients of one mail: maintainers and reviewers to To, lists to Cc.
recipients() { # mail to|cc
	local sel
	case $2 in
	to) sel=(--no-l) ;;
	cc) sel=(--no-m --no-r) ;;
	esac
	# Not yourself: the series' own MAINTAINERS entries name you.
	(cd "$wt" && perl scripts/get_maintainer.pl --no-git --no-git-fallback \
		--no-rolestats --no-multiline --separator , "${sel[@]}" "$1" 2>/dev/null) |
		tr ',' '\n' | grep -vF "<$email>" | paste -sd, - || true
}

# Adds To:/Cc: headers to a mail, after its Subject.
address() { # mail to cc
	python3 - "$@" <<'PY'
import sys
path, to, cc = sys.argv[1:]
text = open(path).read()
head, sep, body = text.partition("\n\n")
extra = "".join(f"\n{k}: {v}" for k, v in (("To", to), ("Cc", cc)) if v)
open(path, "w").write(head + extra + sep + body)
PY
}

merge_addrs() { # comma lists... -> one comma list, in order, without repeats
	tr ',' '\n' <<<"$(IFS=,; echo "$*")" | sed 's/^ *//; /^$/d' | awk '!seen[$0]++' | paste -sd, - |
		sed 's/,/, /g'
}

dest=$OUT/export
rm -rf "$dest.new"
mkdir -p "$dest.new"
stack_prev=vmf-base
summary=()
while read -r series based prefix; do
	tip=refs/vmf/$series
	range=$stack_prev..$tip
	stack_prev=$tip
	onto=vmf-base
	[ "$based" = base ] || onto=refs/export/$based
	$G rev-parse -q --verify "$onto" >/dev/null || die "$series is based on $based, which comes after it"

	log "$series: $(git -C "$LINUX" rev-list --count "$range") patches on $based"
	identity_mails "$range" "$scratch/$series"
	git -C "$wt" checkout -q --detach "$onto"
	git -C "$wt" am -q "$scratch/$series"/*.patch ||
		{ git -C "$wt" am --abort; die "$series does not apply with git am to $based"; }
	$G update-ref "refs/export/$series" "$(git -C "$wt" rev-parse HEAD)"
	[ "${SKIP_BUILD:-0}" = 1 ] || "$VMF_ROOT/scripts/build-each.sh" "$onto..refs/export/$series"

	# Version: one more than the last one written, unless V= says.
	hist=$EXPORT_HISTORY/$series
	last=$({ ls "$hist" 2>/dev/null || true; } | sed -n 's/^v\([0-9]*\)\.bundle$/\1/p' |
		sort -n | tail -n 1)
	v=${VERSION:-$((${last:-0} + 1))}
	pfx=$prefix
	[ "${RFC:-0}" != 1 ] || [[ $pfx == RFC* ]] || pfx="RFC $pfx"
	fp=(--cover-letter --thread=shallow --zero-commit --subject-prefix="$pfx"
		-o "$dest.new/$series")
	# As b4 does, a first version carries no "v1".
	[ "$v" = 1 ] || fp+=(-v "$v")
	# The previous version, for the range-diff: its bundle needs the base
	# it was made on; if the base moved, its mails are applied again.
	prev=
	if [ -n "$last" ] && [ "$last" != "$v" ] && [ -e "$hist/v$last.bundle" ]; then
		if $G fetch -q "$hist/v$last.bundle" "+refs/export/$series:refs/export-prev/$series" \
			"+refs/export-onto/$series:refs/export-prev-onto/$series" 2>/dev/null; then
			prev=refs/export-prev/$series
		else
			git -C "$wt" checkout -q --detach "$onto"
			if git -C "$wt" am -q -3 $(ls "$hist/v$last"/*.patch | grep -v 0000-cover-letter) 2>/dev/null; then
				$G update-ref "refs/export-prev/$series" "$(git -C "$wt" rev-parse HEAD)"
				$G update-ref "refs/export-prev-onto/$series" "$($G rev-parse "$onto")"
				prev=refs/export-prev/$series
			else
				git -C "$wt" am --abort 2>/dev/null || true
				log "$series: no range-diff, v$last does not apply to the current base"
			fi
		fi
	fi
	[ -z "$prev" ] || fp+=(--range-diff="refs/export-prev-onto/$series..$prev")
	# base-commit, and prerequisite-patch-id for a series based on another.
	fp+=(--base=vmf-base)
	$G format-patch -q "${fp[@]}" "$onto..refs/export/$series"

	# checkpatch --strict, each patch as it is mailed.
	"$VMF_ROOT/scripts/checkpatch.sh" --mails "$dest.new/$series" ||
		die "$series: checkpatch.pl --strict is not clean"

	cover=$(ls "$dest.new/$series"/*0000-cover-letter.patch)
	extra_to= extra_cc=
	if [ -f "$VMF_ROOT/patches/$series/recipients" ]; then
		extra_to=$(sed -n 's/^To: *//p' "$VMF_ROOT/patches/$series/recipients" | paste -sd, -)
		extra_cc=$(sed -n 's/^Cc: *//p' "$VMF_ROOT/patches/$series/recipients" | paste -sd, -)
	fi
	all_to=$extra_to all_cc=$extra_cc
	for m in "$dest.new/$series"/*.patch; do
		[ "$m" != "$cover" ] || continue
		to=$(merge_addrs "$extra_to" "$(recipients "$m" to)")
		cc=$(merge_addrs "$extra_cc" "$(recipients "$m" cc)")
		address "$m" "$to" "$cc"
		all_to=$(merge_addrs "$all_to" "$to") all_cc=$(merge_addrs "$all_cc" "$cc")
	done
	address "$cover" "$all_to" "$all_cc"
	python3 - "$cover" "$VMF_ROOT/patches/$series/cover-letter" "$based" "$base_id" \
		"${BASE_COMMIT:-}" <<'PY'
import re, sys, textwrap
path, letter, based, base_id, base_commit = sys.argv[1:]
subject, _, body = open(letter).read().partition("\n")
body = body.strip("\n") + "\n"
based_on = f"Based on {base_id}"
if based != "base":
    based_on += (f", with the {based} series applied first (the "
                 f"prerequisite-patch-id lines below)")
body += "\n" + textwrap.fill(based_on + ".", 72, break_long_words=False) + "\n"
s = open(path).read()
s = s.replace("*** SUBJECT HERE ***", subject.strip()).replace("*** BLURB HERE ***", body)
# format-patch's base-commit is the local commit of the base: give the
# upstream one if known, else none.
s = re.sub(r"^base-commit: .*\n", f"base-commit: {base_commit}\n" if base_commit else "",
           s, flags=re.M)
open(path, "w").write(s)
PY
	n=$(ls "$dest.new/$series"/*.patch | grep -vc 0000-cover-letter)
	summary+=("$series v$v: $n patches + cover letter, on $based${prev:+, range-diff against v$last}")
	mkdir -p "$scratch/hist/$series"
	$G update-ref "refs/export-onto/$series" "$($G rev-parse "$onto")"
	$G bundle create -q "$scratch/hist/$series/v$v.bundle" "refs/export/$series" \
		"refs/export-onto/$series" ^vmf-base
	cp -r "$dest.new/$series" "$scratch/hist/$series/v$v"
done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$VMF_ROOT/patches/series")

# The whole stack on Debian's tree (its own patches applied): Debian
# users build from it. Three-way, as a maintainer applying it would.
if [ ! -r "$DEBIAN_TARBALL" ]; then
	log "installing Debian's linux-source-6.12, to check the series against it"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q linux-source-6.12 >&2 ||
		die "cannot install linux-source-6.12 (run apt-get update?)"
fi
{
	deb=$($G config vmf.debianbase 2>/dev/null || true)
	stamp=$(stat -c '%s %Y' "$DEBIAN_TARBALL")
	if [ -z "$deb" ] || [ "$($G config vmf.debianstamp)" != "$stamp" ]; then
		log "importing Debian's tree from $DEBIAN_TARBALL"
		rm -rf "$scratch/debian"
		mkdir -p "$scratch/debian"
		tar -C "$scratch/debian" --strip-components=1 -xf "$DEBIAN_TARBALL"
		deb=$(cd "$scratch/debian" && GIT_DIR=$LINUX/.git GIT_INDEX_FILE=$scratch/debian.index \
			git add -A -f . && GIT_DIR=$LINUX/.git GIT_INDEX_FILE=$scratch/debian.index \
			git write-tree)
		deb=$(echo "Debian linux-source-6.12" | $G commit-tree "$deb")
		$G config vmf.debianbase "$deb"
		$G config vmf.debianstamp "$stamp"
		rm -rf "$scratch/debian"
	fi
	git -C "$wt" checkout -q --detach "$deb"
	identity_mails "vmf-base..vmf" "$scratch/stack"
	git -C "$wt" am -q -3 "$scratch/stack"/*.patch >"$scratch/debian-am.log" 2>&1 ||
		{ cat "$scratch/debian-am.log" >&2; git -C "$wt" am --abort;
		  die "the series does not apply to Debian's tree ($DEBIAN_TARBALL), even three-way"; }
	summary+=("all series: apply to Debian's $(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null) tree with git am -3")
}

rm -rf "$dest"
mv "$dest.new" "$dest"
if [ "${SKIP_BUILD:-0}" = 1 ]; then
	# Not a version: nothing that was not built is remembered as sent.
	summary+=("NOT BUILT patch by patch (SKIP_BUILD=1): do not send; no version recorded")
else
	mkdir -p "$EXPORT_HISTORY"
	cp -r "$scratch/hist/." "$EXPORT_HISTORY/"
fi
printf 'out/export: %s\n' "${summary[@]}"
