#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make kernel: pristine 6.12.y source (patches/base) -> out/linux (git: base commit plus
# one commit per patch of patches/series) -> configured -> bzImage.
#
#   KSRC=<dir>   use this v6.12.y tree instead of the one pinned in patches/base
#   DEBUG=1      build the debug flavour (configs/debug.config) in out/build-debug
#   VMF=n        build with CONFIG_SCHED_CLASS_VMF off, in out/build-<flavour>-novmf
#   JOBS=<n>     parallel jobs (default: CPUs + 1)
#   SERIES_ONLY=1  stop once out/linux holds the series (no config, no build)
#   CONFIG_ONLY=1  stop once the build directory has its .config
#
# Every step is skipped when its inputs did not change, and the source tree
# is only ever moved with "git checkout", which rewrites just the files that
# differ, so make rebuilds incrementally.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

SOURCE_CACHE=${SOURCE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmf}
SERIES_DIR=${SERIES_DIR:-$VMF_ROOT/patches}
MANIFEST=${MANIFEST:-$VMF_ROOT/manifest}
JOBS=${JOBS:-$(($(nproc) + 1))}
GIT="git -C $LINUX"

# Commits in out/linux are a pure function of their inputs: same inputs,
# same hashes, so an unchanged series is recognised by its tip.
export GIT_COMMITTER_NAME="VMF build" GIT_COMMITTER_EMAIL="vmf@localhost"
export GIT_AUTHOR_NAME="VMF build" GIT_AUTHOR_EMAIL="vmf@localhost"

# patches/base: the one line that pins the pristine source.
read -r BASE_PKG BASE_DEBVER BASE_SHA256 < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' \
	"$SERIES_DIR/base") || die "$SERIES_DIR/base pins no source"
BASE_UPSTREAM=${BASE_DEBVER%%-*}
BASE_TARBALL=$SOURCE_CACHE/${BASE_PKG}_$BASE_UPSTREAM.orig.tar.xz

# Fetch the pinned upstream tarball once into $SOURCE_CACHE; apt checks
# it against the archive's signed index, and we check it against the pin.
ensure_pristine_source() {
	if [ ! -r "$BASE_TARBALL" ]; then
		log "fetching $BASE_PKG $BASE_DEBVER (apt-get source)"
		mkdir -p "$SOURCE_CACHE"
		(cd "$SOURCE_CACHE" && apt-get source --download-only -q \
			"$BASE_PKG=$BASE_DEBVER" >&2) ||
			die "cannot fetch $BASE_PKG $BASE_DEBVER with apt-get source. Either the" \
				"archive no longer has it (pin a newer 6.12.y in patches/base), or" \
				"apt has no deb-src entry (install scripts/apt/vmf-deb-src.sources" \
				"into /etc/apt/sources.list.d/ and run apt-get update), or give KSRC="
	fi
	echo "$BASE_SHA256  $BASE_TARBALL" | sha256sum --quiet -c - >&2 ||
		die "$BASE_TARBALL does not match the sha256 pinned in patches/base"
}

# Identity of the pristine source: if it changes, out/linux is rebuilt.
base_identity() {
	if [ -n "${KSRC:-}" ]; then
		[ -f "$KSRC/Makefile" ] || die "KSRC=$KSRC is not a kernel tree"
		local v
		v=$(make -s -C "$KSRC" kernelversion)
		echo "Linux $v from $(cd "$KSRC" && pwd)"
	else
		echo "Linux $BASE_UPSTREAM from $(basename "$BASE_TARBALL") sha256:${BASE_SHA256:0:16}"
	fi
}

create_base() {
	local id=$1 tmp=$OUT/linux.new
	log "creating $LINUX: $id"
	rm -rf "$tmp" "$LINUX"
	mkdir -p "$tmp"
	if [ -n "${KSRC:-}" ]; then
		tar -C "$KSRC" --exclude=.git -cf - . | tar -C "$tmp" -xf -
	else
		tar -C "$tmp" --strip-components=1 -xf "$BASE_TARBALL"
	fi
	case $(make -s -C "$tmp" kernelversion) in
	6.12.*) ;;
	*) die "$id is not a v6.12.y tree" ;;
	esac
	[ -z "$(ls "$tmp/.config" 2>/dev/null)" ] || die "source tree has a .config; give a pristine tree"
	git -C "$tmp" init -q
	git -C "$tmp" config core.autocrlf false
	git -C "$tmp" config gc.auto 0
	git -C "$tmp" add -A -f
	GIT_AUTHOR_DATE="2000-01-01T00:00:00Z" GIT_COMMITTER_DATE="2000-01-01T00:00:00Z" \
		git -C "$tmp" commit -q -m "$id"
	git -C "$tmp" tag vmf-base
	git -C "$tmp" config vmf.baseid "$id"
	mv "$tmp" "$LINUX"
}

ensure_base() {
	[ -n "${KSRC:-}" ] || ensure_pristine_source
	local id
	id=$(base_identity)
	if [ "$(git -C "$LINUX" config vmf.baseid 2>/dev/null)" != "$id" ]; then
		timed "extract base" create_base "$id"
	fi
	echo "$id" >"$OUT/base-version.txt"
}

# The series of patches/series, in order: "<series> <based on> <prefix>".
series_list() {
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$SERIES_DIR/series"
}

# Every patch of every series, in order, as <series>/<patch>.
series_patches() {
	local name
	while read -r name _; do
		[ -f "$SERIES_DIR/$name/series" ] || die "patches/series names $name, which has no series file"
		sed -e 's/#.*//' -e '/^[[:space:]]*$/d' -e "s|^|$name/|" "$SERIES_DIR/$name/series"
	done < <(series_list)
}

# Manifest lines: <patch> <repo path> [<tree path>]. The file is added to
# the tree by the commit of <patch>; the tree path defaults to the repo path.
manifest_files_of() {
	[ -f "$MANIFEST" ] || return 0
	awk -v p="$1" '!/^[[:space:]]*(#|$)/ && $1 == p { print $2, ($3 ? $3 : $2) }' "$MANIFEST"
}

check_manifest() {
	[ -f "$MANIFEST" ] || return 0
	local known
	known=$(series_patches)
	awk '!/^[[:space:]]*(#|$)/ { print $1, $2 }' "$MANIFEST" |
		while read -r patch file; do
			grep -qxF "$patch" <<<"$known" ||
				die "manifest: $file belongs to $patch, which is not in the series"
			[ -f "$VMF_ROOT/$file" ] || die "manifest: $file does not exist"
		done
}

# Apply one patch on top of $parent without touching the work tree: a
# private index, "git apply --cached", and commit-tree. Prints the commit.
apply_one() {
	local parent=$1 name=$2 file=$SERIES_DIR/$2 dir
	[ -f "$file" ] || die "series names $name, but $file does not exist"
	dir=$(mktemp -d)
	export GIT_INDEX_FILE=$dir/index
	$GIT read-tree "$parent"
	git mailinfo "$dir/msg" "$dir/diff" <"$file" >"$dir/info"
	if [ -s "$dir/diff" ]; then
		if ! $GIT apply --cached --verbose "$dir/diff" >"$dir/apply.log" 2>&1; then
			echo "error: patch $name does not apply to $($GIT log -1 --format=%s "$parent"):" >&2
			grep -v '^Checking patch' "$dir/apply.log" >&2
			rm -rf "$dir"
			exit 1
		fi
	fi
	local src dst blob
	while read -r src dst; do
		blob=$($GIT hash-object -w --path="$dst" "$VMF_ROOT/$src")
		$GIT update-index --add --cacheinfo "100644,$blob,$dst"
	done < <(manifest_files_of "$name")
	local tree subject author email date
	tree=$($GIT write-tree)
	subject=$(sed -n 's/^Subject: //p' "$dir/info")
	author=$(sed -n 's/^Author: //p' "$dir/info")
	email=$(sed -n 's/^Email: //p' "$dir/info")
	date=$(sed -n 's/^Date: //p' "$dir/info")
	[ -n "$subject" ] || die "patch $name has no Subject"
	[ -n "$author" ] && [ -n "$email" ] || die "patch $name has no From"
	[ -n "$date" ] || date="2000-01-01T00:00:00Z"
	{ echo "$subject"; echo; cat "$dir/msg"; } |
		GIT_AUTHOR_NAME="$author" GIT_AUTHOR_EMAIL="$email" \
			GIT_AUTHOR_DATE="$date" GIT_COMMITTER_DATE="$date" \
			$GIT commit-tree "$tree" -p "$parent"
	unset GIT_INDEX_FILE
	rm -rf "$dir"
}

apply_series() {
	check_manifest
	local tip name n=0
	local -A tips=()
	tip=$($GIT rev-parse vmf-base)
	while read -r name; do
		tip=$(apply_one "$tip" "$name")
		tips[${name%%/*}]=$tip
		n=$((n + 1))
	done < <(series_patches)
	# refs/vmf/<series>: the tip of each series in the stack, for
	# scripts/export.sh.
	for name in "${!tips[@]}"; do
		$GIT update-ref "refs/vmf/$name" "${tips[$name]}"
	done
	if [ "$($GIT rev-parse HEAD)" = "$tip" ]; then
		log "out/linux is up to date ($n patches)"
		return
	fi
	if [ -n "$($GIT status --porcelain --untracked-files=no)" ]; then
		[ "${FORCE:-0}" = 1 ] ||
			die "out/linux has local changes; save them (make refresh) or discard with FORCE=1"
	fi
	# Only files that differ between the old and new tip are rewritten.
	$GIT checkout -q -f --detach "$tip"
	$GIT branch -f vmf "$tip"
	log "out/linux now at $($GIT log -1 --format='%h %s') ($n patches)"
}

# The config is a function of configs/ and the tree's own defconfigs. It is
# regenerated in a scratch directory and only replaces .config if it
# differs, so an unchanged config never triggers a rebuild.
configure() {
	local frags=("$VMF_ROOT/configs/lean.config")
	local scratch=$OUT/config-$FLAVOUR
	rm -rf "$scratch"
	mkdir -p "$scratch" "$KBUILD"
	case $FLAVOUR in debug*) frags+=("$VMF_ROOT/configs/debug.config") ;; esac
	case $FLAVOUR in
	*-novmf)
		echo "# CONFIG_SCHED_CLASS_VMF is not set" >"$scratch/novmf.config"
		frags+=("$scratch/novmf.config")
		;;
	esac
	make -s -C "$LINUX" O="$scratch" x86_64_defconfig >/dev/null
	cp "$scratch/.config" "$scratch/base.config"
	(cd "$LINUX" && KCONFIG_CONFIG=$scratch/.config \
		scripts/kconfig/merge_config.sh -m -O "$scratch" "$scratch/base.config" \
		kernel/configs/kvm_guest.config "${frags[@]}" >"$scratch/merge.log" 2>&1) ||
		{ cat "$scratch/merge.log" >&2; die "merge_config failed"; }
	make -s -C "$LINUX" O="$scratch" olddefconfig >/dev/null
	# Every option that a fragment asks for must survive olddefconfig:
	# a silently dropped option means a test would run on the wrong kernel.
	# Later fragments override earlier ones, as in merge_config.sh.
	local bad=0 line sym
	local -A want=()
	while read -r line; do
		case $line in
		CONFIG_*=*) sym=${line%%=*} ;;
		"# CONFIG_"*" is not set") sym=${line#\# }; sym=${sym%% *} ;;
		*) continue ;;
		esac
		want[$sym]=$line
	done < <(cat "${frags[@]}")
	for sym in "${!want[@]}"; do
		line=${want[$sym]}
		if ! grep -qxF "$line" "$scratch/.config"; then
			if [ "$line" = "# $sym is not set" ] && ! grep -q "^$sym=" "$scratch/.config"; then
				continue
			fi
			echo "config: requested '$line', got '$(grep -E "^(# )?$sym[= ]" "$scratch/.config" || echo absent)'" >&2
			bad=1
		fi
	done
	[ $bad = 0 ] || die "configs/ asks for options that olddefconfig rejected"
	if ! cmp -s "$scratch/.config" "$KBUILD/.config"; then
		cp "$scratch/.config" "$KBUILD/.config"
		log "config updated"
	fi
}

build() {
	command -v ccache >/dev/null || die "ccache missing (.ci/run installs it)"
	ccache -M 30G >/dev/null
	kbuild "$LINUX" "$KBUILD" -j"$JOBS" bzImage
	make -s -C "$LINUX" O="$KBUILD" LOCALVERSION= kernelrelease >"$KBUILD/kernelrelease"
	{
		echo "base: $(cat "$OUT/base-version.txt")"
		echo "release: $(cat "$KBUILD/kernelrelease")"
		echo "flavour: $FLAVOUR"
		echo "head: $($GIT log -1 --format='%H %s')"
		echo "patches: $($GIT rev-list --count vmf-base..HEAD)"
	} >"$KBUILD/vmf-build-info"
	cat "$KBUILD/vmf-build-info" >&2
}

mkdir -p "$OUT"
timed "source" ensure_base
timed "series" apply_series
[ "${SERIES_ONLY:-0}" = 1 ] && exit 0
timed "config" configure
[ "${CONFIG_ONLY:-0}" = 1 ] && exit 0
timed "build $FLAVOUR" build
