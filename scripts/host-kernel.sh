#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make host-kernel: the VMF series built from your own kernel config, as
# packages to install on a KVM host, in out/host/.
#
#   CONFIG=<file>     the config to start from; default: the running
#                     kernel's (/boot/config-$(uname -r)), else Debian's
#                     linux-config-6.12 (amd64, none flavour)
#   LOCALMODCONFIG=1  keep only the modules loaded now, as "make
#                     localmodconfig" does (LSMOD=<file>: another host's lsmod)
#   PKG=deb|rpm       bindeb-pkg (default) or binrpm-pkg
#   JOBS=<n>          parallel jobs (default: CPUs + 1)
#   CONFIG_ONLY=1     stop once out/build-host has its .config (and the diff)
#
# The source and the series are those of "make kernel" (scripts/kernel.sh
# with SERIES_ONLY=1), and so is the ccache. The config is yours after
# olddefconfig, with the VMF options turned on and nothing else changed,
# except a trusted-keys file that names a distribution's certificate, which
# no tree but the distribution's has. What changed is printed, and kept in
# out/host/config.diff.
#
# uname -r is <version><your CONFIG_LOCALVERSION>-vmf. The Debian package
# version, <version>-vmf<patches>+g<series tip>, says which series it
# carries; an RPM's is <release with _ for ->-<build count>, as the
# kernel's kernel.spec takes it from scripts/build-version, so for RPMs
# only out/host/vmf-build-info names the series.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

JOBS=${JOBS:-$(($(nproc) + 1))}
PKG=${PKG:-deb}
HOST_BUILD=$OUT/build-host
HOST_OUT=$OUT/host
DEBIAN_CONFIG=/usr/src/linux-config-6.12/config.amd64_none_amd64.xz

# Options the package must have on. The guest options matter too: a host
# kernel often boots as a guest elsewhere (nested, or in CI).
VMF_OPTIONS=(SCHED_CLASS_VMF KVM_PV_V2 KVM_GUEST_PV_V2)

# The packaging tools, installed where apt can (the build's own tools come
# with .ci/run's list).
need_package() {
	local cmd=$1 pkg=$2
	command -v "$cmd" >/dev/null && return
	command -v apt-get >/dev/null ||
		die "PKG=$PKG needs $cmd (the $pkg package on Debian)"
	log "installing $pkg for $cmd"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >&2 ||
		die "cannot install $pkg (run 'apt-get update' first?)"
}

case $PKG in
deb)
	TARGET=bindeb-pkg
	need_package dh_prep debhelper
	;;
rpm)
	TARGET=binrpm-pkg
	need_package rpmbuild rpm
	;;
*) die "PKG takes deb or rpm, not '$PKG'" ;;
esac

start_config() {
	if [ -n "${CONFIG:-}" ]; then
		[ -r "$CONFIG" ] || die "CONFIG=$CONFIG cannot be read"
		cat "$CONFIG"
	elif [ -r "/boot/config-$(uname -r)" ]; then
		log "starting from the running kernel's config, /boot/config-$(uname -r)"
		cat "/boot/config-$(uname -r)"
	else
		if [ ! -r "$DEBIAN_CONFIG" ]; then
			log "no /boot/config-$(uname -r): installing Debian's linux-config-6.12"
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q linux-config-6.12 >&2 ||
				die "no config: give CONFIG=<file>"
		fi
		log "starting from Debian's $DEBIAN_CONFIG"
		xz -dc "$DEBIAN_CONFIG"
	fi
}

kconfig() {
	make -s -C "$LINUX" O="$HOST_BUILD" "$@"
}

# A distribution config names its own signing certificates (Debian:
# debian/certs/debian-uefi-certs.pem), which are not in this tree: the
# build would stop on them. Empty means the kernel's own.
drop_foreign_keys() {
	local sym file
	for sym in SYSTEM_TRUSTED_KEYS SYSTEM_REVOCATION_KEYS; do
		file=$(sed -n "s/^CONFIG_$sym=\"\(.*\)\"$/\1/p" "$HOST_BUILD/.config")
		[ -n "$file" ] || continue
		[ -e "$LINUX/$file" ] || [ -e "$file" ] && continue
		log "CONFIG_$sym names $file, which this tree does not have: cleared"
		"$LINUX/scripts/config" --file "$HOST_BUILD/.config" --set-str "$sym" ""
	done
}

configure_host() {
	local sym missing=()
	mkdir -p "$HOST_BUILD" "$HOST_OUT"
	start_config >"$HOST_BUILD/.config"
	cp "$HOST_BUILD/.config" "$HOST_OUT/config.given"
	kconfig olddefconfig
	if [ "${LOCALMODCONFIG:-0}" = 1 ]; then
		# localmodconfig asks about symbols it cannot decide; take the
		# defaults, as olddefconfig does. yes(1) dies of SIGPIPE when
		# it is done, which pipefail would take for a failure.
		{ yes '' || true; } | kconfig ${LSMOD:+LSMOD="$(realpath "$LSMOD")"} localmodconfig >/dev/null
	fi
	cp "$HOST_BUILD/.config" "$HOST_OUT/config.olddefconfig"
	for sym in "${VMF_OPTIONS[@]}"; do
		"$LINUX/scripts/config" --file "$HOST_BUILD/.config" --enable "$sym"
	done
	drop_foreign_keys
	kconfig olddefconfig
	for sym in "${VMF_OPTIONS[@]}"; do
		grep -qx "CONFIG_$sym=y" "$HOST_BUILD/.config" || missing+=("$sym")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		# KVM_GUEST_PV_V2 needs KVM_GUEST: a host-only config may lack it.
		[ "${missing[*]}" = KVM_GUEST_PV_V2 ] ||
			die "olddefconfig turned off CONFIG_${missing[*]}: check their dependencies (SMP, KVM)"
		log "CONFIG_KVM_GUEST_PV_V2 stays off: this config has no CONFIG_KVM_GUEST"
	fi
	"$LINUX/scripts/diffconfig" "$HOST_OUT/config.olddefconfig" "$HOST_BUILD/.config" \
		>"$HOST_OUT/config.diff" || true
	log "your config after olddefconfig$([ "${LOCALMODCONFIG:-0}" = 1 ] && echo ' and localmodconfig'), to the one built:"
	sed 's/^/    /' "$HOST_OUT/config.diff" >&2
	log "olddefconfig$([ "${LOCALMODCONFIG:-0}" = 1 ] && echo " and localmodconfig") changed $("$LINUX/scripts/diffconfig" "$HOST_OUT/config.given" \
		"$HOST_OUT/config.olddefconfig" | wc -l) symbols of the given config"
}

build_packages() {
	local kver tip n pkgver
	command -v ccache >/dev/null || die "ccache missing (.ci/run installs it)"
	export CCACHE_BASEDIR=$VMF_ROOT CCACHE_NOHASHDIR=1
	ccache -M 30G >/dev/null
	kver=$(make -s -C "$LINUX" kernelversion)
	tip=$(git -C "$LINUX" rev-parse --short=12 HEAD)
	n=$(git -C "$LINUX" rev-list --count vmf-base..HEAD)
	pkgver=$kver-vmf$n+g$tip
	# The packages land next to the build directory: clear old ones so
	# that only this build's are moved to out/host.
	rm -f "$OUT"/*.deb "$OUT"/*.buildinfo "$OUT"/*.changes "$HOST_OUT"/*.deb "$HOST_OUT"/*.rpm
	make -C "$LINUX" O="$HOST_BUILD" -j"$JOBS" CC="ccache gcc" LOCALVERSION=-vmf \
		KDEB_PKGVERSION="$pkgver" KBUILD_BUILD_USER=vmf KBUILD_BUILD_HOST=vmf "$TARGET"
	case $PKG in
	deb) mv "$OUT"/*.deb "$HOST_OUT/" ;;
	rpm) find "$HOST_BUILD/rpmbuild/RPMS" -name '*.rpm' -exec mv {} "$HOST_OUT/" \; ;;
	esac
	{
		echo "base: $(cat "$OUT/base-version.txt")"
		echo "release: $(kconfig LOCALVERSION=-vmf kernelrelease)"
		echo "package version: $pkgver"
		echo "series: $n patches, tip $(git -C "$LINUX" log -1 --format='%H %s')"
	} >"$HOST_OUT/vmf-build-info"
	cat "$HOST_OUT/vmf-build-info" >&2
	ls -l "$HOST_OUT" >&2
}

SERIES_ONLY=1 "$VMF_ROOT/scripts/kernel.sh"
timed "host config" configure_host
[ "${CONFIG_ONLY:-0}" = 1 ] && exit 0
timed "host packages ($TARGET)" build_packages
