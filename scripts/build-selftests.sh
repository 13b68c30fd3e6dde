#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build every C selftest under selftests/ into out/selftests/, against the
# uapi headers of the kernel that was just built (so new ABI is visible)
# and the tree's kselftest.h. The test VM runs them straight from out/,
# which it sees over 9p.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

[ -d "$KBUILD" ] || die "no kernel build in $KBUILD; run 'make kernel' first"
make -s -C "$LINUX" O="$KBUILD" headers_install >/dev/null

KSFT=$LINUX/tools/testing/selftests
CFLAGS="-O2 -g -Wall -Wextra -Wno-unused-parameter -Werror -D_GNU_SOURCE"
CFLAGS="$CFLAGS -isystem $KBUILD/usr/include -I $KSFT -I $VMF_ROOT/selftests/lib"
dest=$OUT/selftests
mkdir -p "$dest"
built=0
while read -r src; do
	rel=${src#"$VMF_ROOT/selftests/"}
	bin=$dest/${rel%.c}
	mkdir -p "$(dirname "$bin")"
	deps=("$src" "$KBUILD/usr/include/linux/sched.h" $(ls "$VMF_ROOT"/selftests/lib/*.h 2>/dev/null))
	if [ -x "$bin" ] && [ -z "$(find "${deps[@]}" -newer "$bin")" ]; then
		continue
	fi
	gcc $CFLAGS -o "$bin" "$src" -pthread -lm || die "building $rel failed"
	built=$((built + 1))
done < <(find "$VMF_ROOT/selftests" -name '*.c' -not -path '*/lib/*' | sort)
log "selftests: $built rebuilt"
