#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/xen-bed.sh: a real Xen test bed under QEMU (x86_64, TCG).  Builds
# what is missing, boots Xen with dom0 and runs one scenario in it.
#
#   xen-bed.sh [-o DIR] [-t SECONDS] [SCENARIO]
#   xen-bed.sh --build      build (or find in the cache) everything, boot nothing
#
# SCENARIO     scripts/xen-bed/SCENARIO.sh, run in dom0 by its init
#              (default: dom0)
# -o DIR       results: console.log (Xen's and dom0's serial console),
#              qemu.log, result.ktap, times (default: a new directory under
#              ${TMPDIR:-/tmp})
# -t SECONDS   ceiling for the whole QEMU run (default 900, or what the
#              scenario asks for); a run that reaches it fails
#
# VA_XEN_BED_ARGS="xenbed_NAME=VALUE ..." passes parameters to the scenario
# (on dom0's kernel command line; see the scenario for its own).
#
# What it uses, all from Debian 12's archive, cached under
# $VA_CACHE/xen/ (see Documentation/xen-bed.rst):
#   hv-<key>/xen          Xen built from Debian's source package `xen`
#                         (fetched with apt-get source through a private apt
#                         directory) with CONFIG_UNSUPPORTED and CONFIG_ARGO;
#                         key: source version, configuration, compiler
#   kernel-<abi>-<ver>/   Debian's linux-image matching linux-headers-amd64
#   rootfs-<key>/root     debootstrap bookworm with the Xen toolstack
#   base-<key>.cpio       that root with the kernel's modules: dom0's
#                         initramfs, to which each run appends scripts/xen-bed/
#                         (the init and the scenarios), the project's
#                         modules built against Debian's headers
#                         (scripts/build-modules.sh debian) and tools/
#
# Stdout: one KTAP document, the scenario's cases (printed by dom0 on the
# console) and the host's own (the scenario finished, Xen's and dom0's
# console clean, QEMU powered off).  Exit status non-zero if any failed.
# Needs root (debootstrap, device nodes in the initramfs) and the packages
# of scripts/deps.sh.

set -euo pipefail
exec </dev/null

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	sed -n '6,15s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

out=''
ceiling=''
build_only=0
while [[ $# -gt 0 ]]; do
	case $1 in
	-o)
		[[ $# -ge 2 ]] || usage
		out=$2
		shift 2
		;;
	-t)
		[[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage
		ceiling=$2
		shift 2
		;;
	--build)
		build_only=1
		shift
		;;
	-h | --help) usage ;;
	-*) usage ;;
	*) break ;;
	esac
done
[[ $# -le 1 ]] || usage
scenario=${1:-dom0}
[[ $build_only -eq 1 || -f $VA_ROOT/scripts/xen-bed/$scenario.sh ]] ||
	va_die "no scenario '$scenario' (scripts/xen-bed/$scenario.sh)"
[[ $(id -u) -eq 0 ]] || va_die "needs root (debootstrap, device nodes)"
# A scenario may ask for a longer ceiling in a line "# xen-bed: ceiling N".
if [[ -z $ceiling ]]; then
	ceiling=$(sed -n 's/^# xen-bed: ceiling \([0-9]\{1,\}\)$/\1/p' \
		"$VA_ROOT/scripts/xen-bed/$scenario.sh" 2>/dev/null | head -n1)
	ceiling=${ceiling:-900}
fi

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
# QEMU and Xen's and dom0's command lines.
qemu_mem=3072
xen_cmdline='argo=1 console=com1 com1=115200,8n1 dom0_mem=1536M,max:1536M dom0_max_vcpus=2 loglvl=all guest_loglvl=all'
dom0_cmdline='console=hvc0 earlyprintk=xen printk.devkmsg=on'

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
# depmod run again), as a newc archive; each run appends a second archive
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

# ---- The domU's initramfs ----
#
# domu-<key>.cpio: a smaller root for the PV domU of the scenarios that
# create one: the same root file system without documentation, translations,
# the toolstack and the hardware database, and only the modules the domU
# loads (with what they depend on).  Each run appends the domU's init, the
# scenarios, the project's modules and tools (as for dom0).
domu_modules=(virtio_blk virtio_net virtio_console ext4 xen_blkfront xen_netfront)

domu_key() {
	{
		basename "$rootfs_dir"
		basename "$kernel_dir"
		printf '%s\n' "${domu_modules[@]}"
		echo "xen-bed domu 1"
	} | va_hash
}

domu_build() { # CPIO
	local cpio=$1 stage all m f
	[[ -f $cpio ]] && return 0
	stage=$(mktemp -d "$XB/stage.XXXXXX")
	all=$stage/all
	va_note "initramfs: building the domU's $cpio"
	mkdir -p "$all/lib/modules" "$stage/lib/modules/$kabi"
	rsync -a "$kernel_dir/root/lib/modules/$kabi" "$all/lib/modules/"
	depmod -b "$all" "$kabi" || va_die "depmod for $kabi failed"
	for m in "${domu_modules[@]}"; do
		modprobe -d "$all" -S "$kabi" --show-depends "$m" ||
			va_die "no module $m in $kabi"
	done | awk '$1 == "insmod" { print $2 }' | sort -u | while read -r f; do
		f=${f#"$all/lib/modules/$kabi/"}
		mkdir -p "$stage/lib/modules/$kabi/$(dirname "$f")"
		cp "$all/lib/modules/$kabi/$f" "$stage/lib/modules/$kabi/$f"
	done
	cp "$all/lib/modules/$kabi"/modules.{order,builtin,builtin.modinfo} \
		"$stage/lib/modules/$kabi/"
	rm -rf "$all"
	depmod -b "$stage" "$kabi" || va_die "depmod for $kabi failed"
	mkdir -p "$stage/usr/lib"
	mv "$stage/lib/modules" "$stage/usr/lib/modules"
	rmdir "$stage/lib"
	(cd "$rootfs_dir/root" && find . \
		-path ./usr/share/doc -prune -o -path ./usr/share/man -prune -o \
		-path ./usr/share/locale -prune -o -path ./usr/share/info -prune -o \
		-path ./usr/lib/xen-4.17 -prune -o -path ./usr/lib/udev/hwdb.bin -prune -o \
		-path ./usr/lib/udev/hwdb.d -prune -o -path ./usr/share/zoneinfo -prune -o \
		-path ./var/cache -prune -o -path ./usr/lib/x86_64-linux-gnu/gconv -prune -o \
		-print | cpio -o -H newc --quiet) >"$cpio.tmp"
	(cd "$stage" && find usr/lib/modules | cpio -o -H newc --quiet) >>"$cpio.tmp"
	rm -rf "$stage"
	mv "$cpio.tmp" "$cpio"
}

domu_ensure() {
	domu_cpio=$XB/domu-$(domu_key).cpio
	domu_build "$domu_cpio"
}

# ---- Build everything ----

# One run builds at a time; the others wait and find it in the cache.
build_all() {
	apt_setup
	xen_ensure
	kernel_ensure
	rootfs_ensure
	base_ensure
	domu_ensure
}
t_all=$SECONDS
with_lock "$XB/build.lock" build_all
va_note "xen: $xen_image"
va_note "dom0 kernel: $vmlinuz"
va_note "dom0 initramfs base: $base_cpio ($(du -m "$base_cpio" | cut -f1) MiB)"
if [[ $build_only -eq 1 ]]; then
	va_note "built in $((SECONDS - t_all)) s"
	exit 0
fi

# ---- The run ----

if [[ -z $out ]]; then
	out=$(mktemp -d "${TMPDIR:-/tmp}/xen-bed-$scenario.XXXXXX")
fi
mkdir -p "$out"
out=$(realpath "$out")
va_note "results in $out"
rm -f "$out/console.log" "$out/qemu.log" "$out/result.ktap" "$out/times"

times() { # WHAT SECONDS|never
	printf '%-28s %s%s\n' "$1" "$2" "$([[ $2 == never ]] || echo ' s')" >>"$out/times"
}
times "build or cache lookup" "$((SECONDS - t_all))"

# What this run adds to the initramfs: the init, the scenarios, the
# project's modules (built against Debian's headers) and tools.
t0=$SECONDS
overlay=$out/overlay
rm -rf "$overlay"
mkdir -p "$overlay/xen-bed/ko" "$overlay/usr/local/bin" "$overlay/dev"
kodir=$("$VA_ROOT/scripts/build-modules.sh" debian 2>"$out/modules.log" | tail -n1) ||
	va_die "the module build against Debian's headers failed (log $out/modules.log)"
cp "$kodir/argo.ko" "$kodir/virtio_argo.ko" "$overlay/xen-bed/ko/" ||
	va_die "argo.ko or virtio_argo.ko missing in $kodir"
make -s -C "$VA_ROOT/tools" >"$out/tools.log" 2>&1 ||
	va_die "make -C tools failed (log $out/tools.log)"
cp "$VA_ROOT/tools/argo/argo" \
	"$VA_ROOT/tools/virtio-argo-backend/virtio-argo-backend" \
	"$VA_ROOT/tools/virtio-argo-backend/ctl/virtio-argo-ctl" \
	"$overlay/usr/local/bin/"
cp "$VA_ROOT/scripts/xen-bed/init" "$overlay/init"
cp "$VA_ROOT"/scripts/xen-bed/*.sh "$VA_ROOT"/scripts/xen-bed/*.py "$overlay/xen-bed/"
chmod 755 "$overlay/init"
mknod -m 600 "$overlay/dev/console" c 5 1
# A scenario that creates a domU says so in a line "# xen-bed: domu": its
# kernel and initramfs (the domU's root, then the same additions with the
# domU's own init) go into dom0's in /xen-bed/domu/.
if grep -qx '# xen-bed: domu' "$VA_ROOT/scripts/xen-bed/$scenario.sh"; then
	mkdir -p "$overlay/xen-bed/domu"
	cp "$vmlinuz" "$overlay/xen-bed/domu/vmlinuz"
	cp "$VA_ROOT/scripts/xen-bed/domu-init" "$overlay/init"
	(cd "$overlay" && find . ! -path ./xen-bed/domu ! -path './xen-bed/domu/*' |
		cpio -o -H newc -R 0:0 --quiet) >"$out/overlay-domu.cpio"
	# Compressed, as one archive: it travels inside dom0's initramfs,
	# whose unpacking needs room for both the archive and its contents.
	# zstd: not gzip, which Xen's domain builder would unpack itself, not
	# xz, which takes the domU 90 s to unpack under TCG; and one frame,
	# since the kernel did not find the archive appended to a zstd one.
	cat "$domu_cpio" "$out/overlay-domu.cpio" |
		zstd -q -T0 >"$overlay/xen-bed/domu/initrd.cpio.zst"
	rm -f "$out/overlay-domu.cpio"
	cp "$VA_ROOT/scripts/xen-bed/init" "$overlay/init"
fi
(cd "$overlay" && find . | cpio -o -H newc -R 0:0 --quiet) >"$out/overlay.cpio"
cat "$base_cpio" "$out/overlay.cpio" >"$out/initrd.cpio"
rm -rf "$overlay" "$out/overlay.cpio"
times "modules, tools, initramfs" "$((SECONDS - t0))"

# VA_XEN_BED_ARGS: more parameters for the scenario, xenbed_NAME=VALUE
# each, on dom0's command line (so in its init's environment).  QEMU
# splits -initrd at commas, so none may hold one.
extra_args=''
for a in ${VA_XEN_BED_ARGS:-}; do
	[[ $a =~ ^xenbed_[a-z0-9_]+=[A-Za-z0-9_+.-]*$ ]] ||
		va_die "VA_XEN_BED_ARGS: '$a' is not xenbed_NAME=VALUE (letters, digits, _ + . -)"
	extra_args+=" $a"
done

# Boot.  The QEMU run ends when dom0 powers the machine off (or reboots it:
# -no-reboot); the ceiling only catches a hang.  Once dom0 has said that the
# scenario is over, the power-off gets a grace period of its own.
qemu=(qemu-system-x86_64 -machine pc -cpu qemu64 -smp 2 -m "$qemu_mem"
	-nographic -no-reboot -monitor none -serial "file:$out/console.log"
	-kernel "$xen_image" -append "$xen_cmdline"
	-initrd "$vmlinuz $dom0_cmdline xenbed_scenario=$scenario${extra_args},$out/initrd.cpio")
printf '%q ' "${qemu[@]}" >"$out/qemu.cmd"
echo >>"$out/qemu.cmd"
va_note "booting Xen and dom0 (scenario $scenario, ceiling $ceiling s)"
t0=$SECONDS
"${qemu[@]}" >"$out/qemu.log" 2>&1 &
qpid=$!
kill_qemu() {
	kill -TERM "$qpid" 2>/dev/null || true
}
trap 'kill_qemu; rm -f "$out/initrd.cpio"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
t_dom0='' t_over='' why=''
# Note when dom0's init started and when the scenario ended.
progress() {
	local now=$((SECONDS - t0))
	if [[ -z $t_dom0 ]] && grep -aq 'xen-bed: # init: dom0 up' "$out/console.log" 2>/dev/null; then
		t_dom0=$now
	fi
	if [[ -z $t_over ]] && grep -aq 'xen-bed: # scenario over' "$out/console.log" 2>/dev/null; then
		t_over=$now
	fi
}
while kill -0 "$qpid" 2>/dev/null; do
	progress
	now=$((SECONDS - t0))
	if [[ -n $t_over && $now -gt $((t_over + 120)) ]]; then
		why="no power-off 120 s after the end of the scenario"
		kill_qemu
	elif [[ $now -ge $ceiling ]]; then
		why="QEMU still running at the ceiling of $ceiling s"
		kill_qemu
	fi
	sleep 1
done
progress
qrc=0
wait "$qpid" || qrc=$?
trap - EXIT HUP INT TERM
rm -f "$out/initrd.cpio"
t_end=$((SECONDS - t0))
times "boot to dom0's init" "${t_dom0:-never}"
times "dom0 init to scenario end" "$([[ -n $t_dom0 && -n $t_over ]] && echo $((t_over - t_dom0)) || echo never)"
times "QEMU run in all" "$t_end"
va_note "QEMU exited ($qrc) after $t_end s${why:+: $why}"

# ---- Results ----

tr -d '\r' <"$out/console.log" >"$out/console.txt" 2>/dev/null || : >"$out/console.txt"

# Reports on Xen's console: from "(XEN) " to the end of a line (a line
# of dom0 may have been cut there), one report per line.
xen_reports() {
	sed -n 's/^.*\((XEN) .*\)$/\1/p' "$out/console.txt" |
		grep -aE 'Panic on CPU|BUG|WARN|Assertion .* failed|FATAL|DOUBLE FAULT|crashed|domain_crash|Xen call trace|general protection' |
		head -n 20 || true
}

# Reports in dom0's kernel log (what is not Xen's) and from its processes.
# The scenario's own lines are results, not reports, except a process
# killed by a signal.
kernel_reports() {
	grep -aE 'BUG:|WARNING:|Oops|general protection|segfault at|traps:|Kernel panic|Call Trace|UBSAN|KASAN|INFO: task .* blocked|soft lockup|hard LOCKUP|rcu_.*stall|killed by signal' || true
}
dom0_reports() {
	sed 's/(XEN) .*$//' "$out/console.txt" | grep -avF 'domu-console: ' |
		kernel_reports | grep -avF 'xen-bed: ' | head -n 20
	grep -avF 'domu-console: ' "$out/console.txt" |
		grep -aE 'xen-bed: .*killed by signal' | head -n 20 || true
}

# The domU's console, as dom0 relayed it line by line into its kernel log
# with the prefix "domu-console: " (scripts/xen-bed/domu.sh).
sed -n 's/^.*domu-console: //p' "$out/console.txt" >"$out/domu-console.txt"
domu_reports() {
	kernel_reports <"$out/domu-console.txt" | grep -avF 'xen-bed: ' | head -n 20
	grep -aE 'xen-bed: .*killed by signal' "$out/domu-console.txt" | head -n 20 || true
}

n=0
failed=0
ktap=$out/result.ktap
body=$out/result.body
: >"$body"
host_case() { # OK NAME [DIAGNOSTIC]
	local ok=$1 name=$2 d=${3:-}
	n=$((n + 1))
	if [[ -n $d ]]; then
		while IFS= read -r l; do
			echo "# $l"
		done <<<"$d" >>"$body"
	fi
	if [[ $ok -eq 1 ]]; then
		echo "ok $n $name" >>"$body"
	else
		echo "not ok $n $name" >>"$body"
		failed=$((failed + 1))
	fi
}

if [[ -n $t_dom0 ]]; then
	host_case 1 dom0_booted "dom0's init ran after $t_dom0 s"
else
	host_case 0 dom0_booted "dom0's init never said it was up; the console's end:
$(tail -n 30 "$out/console.txt")"
fi

# The scenario's lines, numbered here.
while IFS= read -r l; do
	if [[ $l =~ ^(ok|not\ ok)\ -\ (.*)$ ]]; then
		n=$((n + 1))
		echo "${BASH_REMATCH[1]} $n ${BASH_REMATCH[2]}" >>"$body"
		[[ ${BASH_REMATCH[1]} == ok ]] || failed=$((failed + 1))
	else
		echo "$l" >>"$body"
	fi
done < <(awk '{ i = index($0, "xen-bed: "); if (i) print substr($0, i + 9) }' \
	"$out/console.txt")

if [[ -n $t_over ]]; then
	host_case 1 scenario_finished
else
	host_case 0 scenario_finished "dom0 never said that the scenario was over"
fi
r=$(xen_reports)
host_case "$([[ -z $r ]] && echo 1 || echo 0)" console_xen_clean "$r"
r=$(dom0_reports)
host_case "$([[ -z $r ]] && echo 1 || echo 0)" console_dom0_clean "$r"
if grep -qx '# xen-bed: domu' "$VA_ROOT/scripts/xen-bed/$scenario.sh"; then
	if [[ -s $out/domu-console.txt ]]; then
		r=$(domu_reports)
		host_case "$([[ -z $r ]] && echo 1 || echo 0)" console_domu_clean "$r"
	else
		host_case 0 console_domu_clean "no line of the domU's console reached dom0's"
	fi
fi
if [[ -z $why && $qrc -eq 0 ]]; then
	host_case 1 powered_off
else
	host_case 0 powered_off "${why:-QEMU exited $qrc}; see $out/qemu.log"
fi

{
	echo "KTAP version 1"
	echo "1..$n"
	cat "$body"
} >"$ktap"
rm -f "$body"
cat "$ktap"
cat "$out/times" >&2
va_note "$((n - failed)) passed, $failed failed (console $out/console.txt)"
[[ $failed -eq 0 ]]
