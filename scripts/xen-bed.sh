#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/xen-bed.sh: a real Xen test bed under QEMU (x86_64, TCG).  Builds
# what is missing: Xen, dom0's kernel and its initramfs.
#
#   xen-bed.sh --build      build (or find in the cache) everything
#
# What it uses, all from Debian 12's archive, cached under
# $VA_CACHE/xen/:
#   hv-<key>/xen          Xen built from Debian's source package `xen`
#                         (fetched with apt-get source through a private apt
#                         directory) with CONFIG_UNSUPPORTED and CONFIG_ARGO;
#                         key: source version, configuration, compiler
#   kernel-<abi>-<ver>/   Debian's linux-image matching linux-headers-amd64
#   rootfs-<key>/root     debootstrap bookworm with the Xen toolstack
#   base-<key>.cpio       that root with the kernel's modules: dom0's
#                         initramfs
#
# Needs root (debootstrap) and the packages of scripts/deps.sh.

set -euo pipefail
exec </dev/null

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	sed -n '6,7s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

build_only=0
while [[ $# -gt 0 ]]; do
	case $1 in
	--build)
		build_only=1
		shift
		;;
	*) usage ;;
	esac
done
[[ $build_only -eq 1 ]] || usage
[[ $(id -u) -eq 0 ]] || va_die "needs root (debootstrap)"

XB=$VA_CACHE/xen
mkdir -p "$XB"

# The hypervisor: Debian 12's source package, bookworm main.  If the archive
# no longer has this version, the one it has is used (with a warning).
xen_version=${VA_XEN_VERSION:-4.17.5+72-g01140da4e8-1}
# Debian's own configuration (debian/xen-kconfig) plus these.
xen_config=(
	CONFIG_UNSUPPORTED=y
	CONFIG_ARGO=y
)
suite=bookworm
# The root file system of dom0 (and, later, of the domUs).
rootfs_pkgs=(
	# the toolstack (xl, xenstored, xenconsoled) from main, the same
	# version as the hypervisor's source
	xen-utils-4.17 xenstore-utils
	# what the scenarios use
	kmod fio e2fsprogs iproute2 iputils-ping procps psmisc python3
	util-linux strace
)
# Module directories left out of dom0's initramfs (hardware a QEMU machine
# under Xen does not have; they would only cost memory).
kmod_prune=(
	drivers/gpu drivers/media drivers/net/wireless drivers/net/ethernet
	drivers/infiniband drivers/staging drivers/iio drivers/usb
	drivers/bluetooth drivers/isdn drivers/mtd drivers/hwmon drivers/input
	drivers/hid drivers/mmc drivers/nfc drivers/thunderbolt drivers/platform
	drivers/scsi drivers/net/can drivers/atm drivers/leds drivers/power
	drivers/misc drivers/comedi drivers/spi drivers/i2c drivers/pinctrl
	drivers/watchdog net/wireless net/mac80211 net/bluetooth sound
)
# Run "$@" with an exclusive lock on FILE.
# Never call it in a condition: set -e must stay in force in CMD.
with_lock() { # FILE CMD...
	local lockfd
	exec {lockfd}>"$1"
	shift
	flock "$lockfd"
	"$@"
	exec {lockfd}>&-
}

# ---- A private apt directory ----
#
# The host's mirrors (and, through /etc/apt/apt.conf.d, which apt still
# reads, its proxy), but a sources list, lists and cache of our own: deb-src
# for the Xen source, deb for the kernel; the machine's apt configuration and
# state are not touched.

# "URI SUITE" for every suite of the host's sources (deb822 and one-line).
host_mirrors() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -f $f ]] || continue
		awk '
			function flush() {
				if (uris != "" && types ~ /(^| )deb( |$)/) {
					nu = split(uris, u, " ")
					ns = split(suites, s, " ")
					for (i = 1; i <= nu; i++)
						for (j = 1; j <= ns; j++)
							print u[i], s[j]
				}
				uris = suites = types = ""
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			tolower($1) == "types:" { $1 = ""; types = $0 }
			tolower($1) == "uris:" { $1 = ""; uris = $0 }
			tolower($1) == "suites:" { $1 = ""; suites = $0 }
			END { flush() }
		' "$f"
	done
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		sed -E 's/\[[^]]*\]//' |
		awk '$1 == "deb" { print $2, $3 }'
}

# The host's mirror for SUITE, or Debian's default one.
host_mirror() { # SUITE DEFAULT
	local m
	m=$(host_mirrors | awk -v s="$1" '$2 == s { print $1; exit }')
	echo "${m:-$2}"
}

mirror=$(host_mirror "$suite" http://deb.debian.org/debian)
security_mirror=$(host_mirror "$suite-security" http://deb.debian.org/debian-security)
mirror=${mirror%/}
security_mirror=${security_mirror%/}

apt_dir=$XB/apt
apt_opts=(
	-o "Dir::Etc::sourcelist=$apt_dir/sources.list"
	-o Dir::Etc::sourceparts=-
	-o "Dir::State::Lists=$apt_dir/lists"
	-o "Dir::Cache=$apt_dir/cache"
	-o APT::Sandbox::User=root
)

apt_setup() {
	local key=/usr/share/keyrings/debian-archive-keyring.gpg
	mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
	cat >"$apt_dir/sources.list.new" <<-EOF
		# written by scripts/xen-bed.sh from the host's sources
		deb-src [signed-by=$key] $mirror $suite main
		deb [signed-by=$key] $mirror $suite main
		deb [signed-by=$key] $mirror $suite-updates main
		deb [signed-by=$key] $security_mirror $suite-security main
	EOF
	if ! cmp -s "$apt_dir/sources.list.new" "$apt_dir/sources.list"; then
		mv "$apt_dir/sources.list.new" "$apt_dir/sources.list"
		rm -f "$apt_dir/updated"
	else
		rm -f "$apt_dir/sources.list.new"
	fi
	[[ -f $apt_dir/updated ]] || apt_update
}

apt_update() {
	va_note "apt: updating the private lists ($apt_dir)"
	apt-get "${apt_opts[@]}" -q update >&2 || va_die "apt-get update failed"
	touch "$apt_dir/updated"
}

# apt_try CMD...: run an apt command with the private directory; if it
# fails, update the lists once and try again.
apt_try() {
	"$@" || {
		apt_update
		"$@"
	}
}

# ---- Xen ----

xen_versions_offered() {
	apt-cache "${apt_opts[@]}" showsrc xen 2>/dev/null |
		awk '/^Version:/ { print $2 }' | sort -Vu
}

# Download Debian's source package of Xen into $XB/src/<version>; sets
# xen_version to the version fetched.
xen_fetch() {
	local have d
	if ! xen_versions_offered | grep -qxF "$xen_version"; then
		apt_update
	fi
	if ! xen_versions_offered | grep -qxF "$xen_version"; then
		have=$(xen_versions_offered | tail -n1)
		[[ -n $have ]] || va_die "apt: no source package xen in $suite"
		va_note "WARNING: xen $xen_version is not in $suite any more; using $have"
		xen_version=$have
	fi
	d=$XB/src/$xen_version
	if [[ ! -f $d/.complete ]]; then
		rm -rf "$d"
		mkdir -p "$d"
		va_note "xen: fetching the source of xen $xen_version"
		(cd "$d" && apt_try apt-get "${apt_opts[@]}" -q source \
			--download-only "xen=$xen_version" >&2) ||
			va_die "apt-get source xen=$xen_version failed"
		touch "$d/.complete"
	fi
}

xen_key() {
	{
		echo "$xen_version"
		printf '%s\n' "${xen_config[@]}"
		va_gcc_id gcc
		echo "xen-bed hv 1"
	} | va_hash
}

# Build the hypervisor (only xen/, not the tools) into $XB/hv-<key>/; keeps
# xen (the multiboot image QEMU loads), xen-syms, .config and the log.
xen_build() {
	local d=$1 src dsc t0=$SECONDS line maint
	[[ -f $d/.complete ]] && return 0
	dsc=$(echo "$XB/src/$xen_version"/*.dsc)
	[[ -f $dsc ]] || va_die "no .dsc in $XB/src/$xen_version"
	rm -rf "$d"
	mkdir -p "$d"
	src=$d/src
	va_note "xen: building the hypervisor $xen_version in $src (log $d/build.log)"
	dpkg-source -x "$dsc" "$src" >"$d/build.log" 2>&1 ||
		va_die "dpkg-source -x $dsc failed (log $d/build.log)"
	{
		cat "$src/debian/xen-kconfig"
		printf '%s\n' "${xen_config[@]}"
	} >"$src/xen/.config"
	# Debian's patches print its package version and maintainer.
	maint=$(sed -n 's/^Maintainer: //p' "$dsc")
	local mk=(env -u CFLAGS -u CPPFLAGS -u LDFLAGS -u MAKEFLAGS
		DEB_VERSION="$xen_version" DEB_MAINTAINER="$maint"
		WGET=/bin/false GIT=/bin/false
		make -C "$src/xen" XEN_TARGET_ARCH=x86_64)
	"${mk[@]}" olddefconfig >>"$d/build.log" 2>&1 ||
		va_die "xen: olddefconfig failed (log $d/build.log)"
	for line in "${xen_config[@]}"; do
		grep -qx "$line" "$src/xen/.config" ||
			va_die "xen: $line did not survive olddefconfig ($src/xen/.config)"
	done
	"${mk[@]}" -j"$(nproc)" >>"$d/build.log" 2>&1 ||
		va_die "xen: build failed (log $d/build.log)"
	cp "$src/xen/xen" "$src/xen/xen-syms" "$d/"
	cp "$src/xen/.config" "$d/config"
	rm -rf "$src" "$d"/*.orig.tar.*
	echo "$((SECONDS - t0))" >"$d/build.seconds"
	va_note "xen: built in $((SECONDS - t0)) s"
	touch "$d/.complete"
}

xen_ensure() {
	xen_fetch
	xen_dir=$XB/hv-$(xen_key)
	xen_build "$xen_dir"
	xen_image=$xen_dir/xen
}

# ---- dom0's kernel ----

# Debian's kernel ABI (6.1.0-57-amd64) that linux-headers-amd64 points at,
# and the version of its headers package.
kernel_abi() {
	local dep
	dep=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null |
		grep -o 'linux-headers-[^ ,]*-amd64' | head -n1 || true)
	[[ -n $dep ]] || va_die "linux-headers-amd64 is not installed (run scripts/deps.sh)"
	kabi=${dep#linux-headers-}
	kver=$(dpkg-query -W -f='${Version}' "$dep") ||
		va_die "$dep is not installed (run scripts/deps.sh)"
}

kernel_fetch() { # DIR
	local d=$1 deb
	[[ -f $d/.complete ]] && return 0
	rm -rf "$d"
	mkdir -p "$d/dl"
	va_note "kernel: fetching linux-image-$kabi $kver"
	(cd "$d/dl" && apt_try apt-get "${apt_opts[@]}" -q download \
		"linux-image-$kabi=$kver" >&2) ||
		va_die "apt-get download linux-image-$kabi=$kver failed"
	deb=$(echo "$d"/dl/*.deb)
	dpkg-deb -x "$deb" "$d/root"
	rm -rf "$d/dl"
	[[ -f $d/root/boot/vmlinuz-$kabi ]] || va_die "no vmlinuz-$kabi in $deb"
	touch "$d/.complete"
}

kernel_ensure() {
	kernel_abi
	kernel_dir=$XB/kernel-$kabi-$kver
	kernel_fetch "$kernel_dir"
	vmlinuz=$kernel_dir/root/boot/vmlinuz-$kabi
}

# ---- The root file system ----

rootfs_key() {
	{
		echo "$suite"
		printf '%s\n' "${rootfs_pkgs[@]}"
		echo "xen-bed rootfs 1"
	} | va_hash
}

rootfs_build() { # DIR
	local d=$1 t0=$SECONDS proxy='' incl
	[[ -f $d/.complete ]] && return 0
	rm -rf "$d"
	mkdir -p "$d"
	# debootstrap does not read apt's configuration: pass its proxy on.
	eval "$(apt-config shell proxy Acquire::http::Proxy)"
	incl=$(
		IFS=,
		echo "${rootfs_pkgs[*]}"
	)
	va_note "rootfs: debootstrap $suite from $mirror (log $d/debootstrap.log)"
	env ${proxy:+http_proxy="$proxy"} debootstrap --variant=minbase \
		--include="$incl" "$suite" "$d/root" "$mirror" \
		>"$d/debootstrap.log" 2>&1 ||
		va_die "debootstrap failed (log $d/debootstrap.log)"
	rm -rf "$d/root/var/cache/apt/archives/"*.deb "$d/root/var/lib/apt/lists/"*
	echo "$((SECONDS - t0))" >"$d/build.seconds"
	va_note "rootfs: built in $((SECONDS - t0)) s"
	touch "$d/.complete"
}

rootfs_ensure() {
	rootfs_dir=$XB/rootfs-$(rootfs_key)
	rootfs_build "$rootfs_dir"
}

# ---- dom0's initramfs ----
#
# base-<key>.cpio: the root file system and the kernel's modules (pruned,
# depmod run again), as a newc archive; a run will append a second archive
# (the kernel unpacks both, the later one winning).

base_key() {
	{
		basename "$rootfs_dir"
		basename "$kernel_dir"
		printf '%s\n' "${kmod_prune[@]}"
		echo "xen-bed base 1"
	} | va_hash
}

base_build() { # CPIO
	local cpio=$1 stage ex=() p
	[[ -f $cpio ]] && return 0
	stage=$(mktemp -d "$XB/stage.XXXXXX")
	va_note "initramfs: building $cpio"
	for p in "${kmod_prune[@]}"; do
		ex+=(--exclude="/$kabi/kernel/$p/")
	done
	# depmod looks in lib/modules; Debian 12's root has /lib -> usr/lib.
	mkdir -p "$stage/lib/modules" "$stage/usr/lib"
	rsync -a "${ex[@]}" "$kernel_dir/root/lib/modules/$kabi" "$stage/lib/modules/"
	depmod -b "$stage" "$kabi" ||
		va_die "depmod for $kabi failed"
	mv "$stage/lib/modules" "$stage/usr/lib/modules"
	# Documentation, manuals and translations are not needed in dom0.
	(cd "$rootfs_dir/root" && find . \
		-path ./usr/share/doc -prune -o -path ./usr/share/man -prune -o \
		-path ./usr/share/locale -prune -o -path ./usr/share/info -prune -o \
		-print | cpio -o -H newc --quiet) >"$cpio.tmp"
	(cd "$stage" && find usr/lib/modules | cpio -o -H newc --quiet) >>"$cpio.tmp"
	rm -rf "$stage"
	mv "$cpio.tmp" "$cpio"
}

base_ensure() {
	base_cpio=$XB/base-$(base_key).cpio
	base_build "$base_cpio"
}

# ---- Build everything ----

# One run builds at a time; the others wait and find it in the cache.
build_all() {
	apt_setup
	xen_ensure
	kernel_ensure
	rootfs_ensure
	base_ensure
}
t_all=$SECONDS
with_lock "$XB/build.lock" build_all
va_note "xen: $xen_image"
va_note "dom0 kernel: $vmlinuz"
va_note "dom0 initramfs base: $base_cpio ($(du -m "$base_cpio" | cut -f1) MiB)"
va_note "built in $((SECONDS - t_all)) s"
