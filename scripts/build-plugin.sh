#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-plugin.sh: build the QEMU TCG plugins of bench/plugin/ into
# out/bench-bin/, against the plugin API of the QEMU that runs the test VM.
#
# Debian ships no qemu-plugin.h in a binary package, so the header comes
# from the source package of the installed qemu-system-x86's version,
# through a deb-src entry for the same registry in a private apt
# configuration (out/apt/), and is kept in out/qemu-plugin/. A plugin
# built against another QEMU's header is refused at load by its version.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

HDR_DIR=$OUT/qemu-plugin
HDR=$HDR_DIR/qemu-plugin.h
ver=$(dpkg-query -W -f '${source:Version}' qemu-system-x86 2>/dev/null) ||
	die "qemu-system-x86 is not installed"

# The header of this QEMU version, fetched once.
fetch_header() {
	local apt=$OUT/apt src=$OUT/apt/src tarball
	local opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$apt/sources.list.d"
		-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache")

	mkdir -p "$apt/sources.list.d" "$apt/lists/partial" "$apt/cache" "$src"
	# The registry of the machine's own deb entries, as deb-src.
	sed -n 's/^Types: deb$/Types: deb-src/p; /^\(URIs\|Suites\|Components\|Signed-By\):/p; /^$/p' \
		/etc/apt/sources.list.d/debian.sources >"$apt/sources.list.d/src.sources"
	[ -s "$apt/sources.list.d/src.sources" ] ||
		die "no Debian registry in /etc/apt/sources.list.d/debian.sources to fetch QEMU's source from"
	apt-get "${opts[@]}" update >"$apt/update.log" 2>&1 ||
		die "apt-get update for QEMU's source failed; see $apt/update.log"
	(cd "$src" && apt-get "${opts[@]}" source --download-only "qemu=$ver" >"$apt/source.log" 2>&1) ||
		die "cannot fetch QEMU $ver's source; see $apt/source.log"
	tarball=$(ls "$src"/qemu_*.orig.tar.* | head -n 1)
	mkdir -p "$HDR_DIR"
	tar -xf "$tarball" -O --wildcards '*/include/qemu/qemu-plugin.h' >"$HDR.tmp"
	[ -s "$HDR.tmp" ] || die "no include/qemu/qemu-plugin.h in $tarball"
	mv "$HDR.tmp" "$HDR"
	echo "$ver" >"$HDR_DIR/version"
	rm -rf "$src"
}

if [ ! -f "$HDR" ] || [ "$(cat "$HDR_DIR/version" 2>/dev/null)" != "$ver" ]; then
	log "fetching qemu-plugin.h of QEMU $ver"
	fetch_header
fi

mkdir -p "$OUT/bench-bin"
for src in "$VMF_ROOT"/bench/plugin/*.c; do
	so=$OUT/bench-bin/$(basename "${src%.c}").so
	[ "$so" -nt "$src" ] && [ "$so" -nt "$HDR" ] && continue
	gcc -O2 -Wall -Wextra -Wno-unused-parameter -Werror -shared -fPIC \
		-I "$HDR_DIR" -o "$so" "$src" || die "building ${src#"$VMF_ROOT/"} failed"
done
