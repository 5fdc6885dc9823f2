#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/xen-bed-arm64.sh: the Xen test bed for arm64 under QEMU (TCG).
# Builds what is missing, boots Xen with dom0 on qemu-system-aarch64 -M
# virt,virtualization=on and runs scenarios in dom0 (domu creates a domU).
#
#   xen-bed-arm64.sh [-o DIR] [-t SECONDS] [SCENARIO[+SCENARIO...]]
#   xen-bed-arm64.sh --build   build (or find in the cache) everything
#
# SCENARIO     scripts/xen-bed-arm64/SCENARIO.sh (blk, domu), else the x86
#              bed's scripts/xen-bed/SCENARIO.sh (dom0); several, joined
#              by +, run one after the other in the same boot (default:
#              dom0+blk; everything: dom0+blk+domu)
# -o DIR       results: console.log, qemu.log, result.ktap, times (default:
#              a new directory under ${TMPDIR:-/tmp})
# -t SECONDS   ceiling for the whole QEMU run (default 900, or what a
#              scenario asks for); a run that reaches it fails
#
# What it uses, all from Debian 12's archive, cached under
# $VA_CACHE/xen-arm64/ (see Documentation/xen-bed-arm64.rst):
#   apt/                  a private apt directory (APT::Architecture=arm64;
#                         the machine's apt and dpkg configuration untouched)
#   hv-<key>/xen          Xen cross-built for arm64 from Debian's source
#                         package `xen` with CONFIG_UNSUPPORTED and
#                         CONFIG_ARGO; key: source version, configuration,
#                         compiler
#   kernel-<abi>-<ver>/   Debian's linux-image-<abi>-arm64 of the version of
#                         the host's linux-headers-amd64
#   headers-<abi>-<ver>/  linux-headers-<abi>-arm64 and -common, with the
#                         host's linux-kbuild-6.1 (same version) for the
#                         host programs (fixdep, modpost)
#   base-<key>.cpio       dom0's initramfs: busybox-static, bash, the Xen
#                         toolstack and their libraries (arm64 packages
#                         unpacked) and the kernel's modules the scenarios
#                         load; each run appends the init, the scenarios,
#                         the project's modules and its tools (cross-built,
#                         static); the domU's is the same with its own init
#
# Stdout: one KTAP document (the scenarios' cases, printed by dom0 on the
# console, and the host's own).  Exit status non-zero if any failed.
# Needs root (device nodes in the initramfs) and the packages of
# scripts/deps.sh.

set -euo pipefail
exec </dev/null

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	sed -n '8,19s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
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
scenarios=${1:-dom0+blk}
[[ $scenarios =~ ^[a-z0-9_-]+(\+[a-z0-9_-]+)*$ ]] ||
	va_die "scenarios: '$scenarios' is not NAME[+NAME...]"
[[ $(id -u) -eq 0 ]] || va_die "needs root (device nodes in the initramfs)"

# scenario_file NAME: the arm64 bed's scenario, else the x86 bed's.
scenario_file() {
	local f
	for f in "$VA_ROOT/scripts/xen-bed-arm64/$1.sh" "$VA_ROOT/scripts/xen-bed/$1.sh"; do
		if [[ -f $f ]]; then
			echo "$f"
			return 0
		fi
	done
	return 1
}
# A scenario that creates a domU says so in a line "# xen-bed: domu"; one
# may ask for a longer ceiling in a line "# xen-bed: ceiling N" (the
# longest asked for wins).
with_domu=0
if [[ $build_only -eq 0 ]]; then
	IFS=+ read -r -a scenario_list <<<"$scenarios"
	asked=900
	for s in "${scenario_list[@]}"; do
		f=$(scenario_file "$s") || va_die "no scenario '$s'"
		if grep -qx '# xen-bed: domu' "$f"; then
			# The x86 bed's domU scenarios need its Debian root.
			[[ $f == "$VA_ROOT/scripts/xen-bed-arm64/"* ]] ||
				va_die "scenario '$s' is the x86 bed's domU scenario: not on arm64"
			with_domu=1
		fi
		c=$(sed -n 's/^# xen-bed: ceiling \([0-9]\{1,\}\)$/\1/p' "$f" | head -n1)
		[[ -z $c || $c -le $asked ]] || asked=$c
	done
	ceiling=${ceiling:-$asked}
fi

XB=$VA_CACHE/xen-arm64
mkdir -p "$XB"

# The hypervisor: Debian 12's source package, bookworm main, as the x86
# bed.  If the archive no longer has this version, the one it has is used
# (with a warning).
xen_version=${VA_XEN_VERSION:-4.17.5+72-g01140da4e8-1}
xen_config=(
	CONFIG_UNSUPPORTED=y
	CONFIG_ARGO=y
)
suite=bookworm
cross=aarch64-linux-gnu-
# dom0's userland: arm64 packages unpacked (not installed: no maintainer
# script runs), bash for the x86 bed's scenario library, and the toolstack
# (xenstored, xenconsoled, xen-init-dom0, xl) with the libraries it links
# (the list apt-cache depends --recurse gives for them, without what only
# Debian's scripts need: python3, udev, ucf, xen-utils-common); base_build
# checks every library the toolstack's programs need is there.
userland_pkgs=(busybox-static bash libc6 libtinfo6
	xen-utils-4.17 xenstore-utils libxenmisc4.17 libxenstore4 libxencall1
	libxenevtchn1 libxenforeignmemory1 libxengnttab1 libxentoollog1
	libxentoolcore1 libxendevicemodel1 libxenhypfs1 libyajl2 libncurses6
	libfdt1 libext2fs2 libuuid1 zlib1g libgcc-s1 gcc-12-base)
toolstack_bins=(xl xenstored xenconsoled xen-init-dom0)
# The kernel's modules in the initramfs (with what they depend on): the
# toolstack's devices, and what the scenarios load.
dom0_modules=(xenfs xen-evtchn xen-gntdev xen-gntalloc xen-privcmd virtio_blk loop)
# QEMU, Xen's and dom0's command lines.  guest-loader places dom0's kernel
# and initramfs at fixed addresses in RAM (which starts at 0x40000000):
# Xen itself is at 0x40200000, QEMU's device tree at 0x48000000 (RAM + 128
# MiB, where it would put an -initrd), so the kernel (33 MB) goes in
# between and the initramfs above.
qemu_machine=virt,virtualization=on,gic-version=3
qemu_mem=2048
kernel_addr=0x42000000
initrd_addr=0x49000000
xen_cmdline='argo=1 console=dtuart dom0_mem=1024M,max:1024M dom0_max_vcpus=2 loglvl=all guest_loglvl=all'
dom0_cmdline='console=hvc0 earlycon=xenboot printk.devkmsg=on'

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

# ---- A private apt directory, arm64 ----
#
# The host's mirrors, but a sources list, lists and cache of our own, with
# APT::Architecture=arm64 and an empty dpkg status (the host's packages are
# amd64 and would only confuse the resolver); nothing is installed through
# it, only downloaded: the machine's apt and dpkg configuration (its
# architectures) are not touched.

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
	-o "Dir::State::status=$apt_dir/status"
	-o "Dir::Cache=$apt_dir/cache"
	-o APT::Architecture=arm64
	-o APT::Architectures::=arm64
	-o APT::Sandbox::User=root
)

apt_setup() {
	local key=/usr/share/keyrings/debian-archive-keyring.gpg
	mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
	: >"$apt_dir/status"
	cat >"$apt_dir/sources.list.new" <<-EOF
		# written by scripts/xen-bed-arm64.sh from the host's sources
		deb-src [signed-by=$key] $mirror $suite main
		deb [arch=arm64 signed-by=$key] $mirror $suite main
		deb [arch=arm64 signed-by=$key] $mirror $suite-updates main
		deb [arch=arm64 signed-by=$key] $security_mirror $suite-security main
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

# deb_fetch DIR PKG[=VERSION]...: download arm64 packages into DIR.
deb_fetch() {
	local d=$1
	shift
	mkdir -p "$d"
	(cd "$d" && apt_try apt-get "${apt_opts[@]}" -q download "$@" >&2) ||
		va_die "apt-get download $* (arm64) failed"
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
		va_gcc_id "${cross}gcc"
		echo "xen-bed-arm64 hv 1"
	} | va_hash
}

# Cross-build the hypervisor (only xen/) into $XB/hv-<key>/; keeps xen (the
# arm64 Image QEMU loads with -kernel), xen-syms, .config and the log.
xen_build() {
	local d=$1 src dsc t0=$SECONDS line maint
	[[ -f $d/.complete ]] && return 0
	dsc=$(echo "$XB/src/$xen_version"/*.dsc)
	[[ -f $dsc ]] || va_die "no .dsc in $XB/src/$xen_version"
	rm -rf "$d"
	mkdir -p "$d"
	src=$d/src
	va_note "xen: cross-building the hypervisor $xen_version for arm64 in $src (log $d/build.log)"
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
		make -C "$src/xen" XEN_TARGET_ARCH=arm64 CROSS_COMPILE="$cross")
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

# ---- dom0's kernel and its headers ----

# Debian's kernel ABI that linux-headers-amd64 points at (6.1.0-57), and
# the version of its packages; the arm64 flavour of the same.
kernel_abi() {
	local dep
	dep=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null |
		grep -o 'linux-headers-[^ ,]*-amd64' | head -n1 || true)
	[[ -n $dep ]] || va_die "linux-headers-amd64 is not installed (run scripts/deps.sh)"
	kver=$(dpkg-query -W -f='${Version}' "$dep") ||
		va_die "$dep is not installed (run scripts/deps.sh)"
	kabi_base=${dep#linux-headers-}
	kabi_base=${kabi_base%-amd64}
	kabi=$kabi_base-arm64
}

kernel_fetch() { # DIR
	local d=$1 deb
	[[ -f $d/.complete ]] && return 0
	rm -rf "$d"
	va_note "kernel: fetching linux-image-$kabi $kver (arm64)"
	deb_fetch "$d/dl" "linux-image-$kabi=$kver"
	deb=$(echo "$d"/dl/*.deb)
	dpkg-deb -x "$deb" "$d/root"
	rm -rf "$d/dl"
	[[ -f $d/root/boot/vmlinuz-$kabi ]] || va_die "no vmlinuz-$kabi in $deb"
	# Debian's arm64 vmlinuz is an uncompressed Image; were it gzipped,
	# Xen would unpack it, but a plain Image is what guest-loader expects.
	if gzip -t "$d/root/boot/vmlinuz-$kabi" 2>/dev/null; then
		zcat "$d/root/boot/vmlinuz-$kabi" >"$d/Image"
	else
		cp "$d/root/boot/vmlinuz-$kabi" "$d/Image"
	fi
	touch "$d/.complete"
}

# The flavour's Makefile includes -common's by absolute path: make it ours,
# on every run, since the cache may have moved ($VIRTIO_ARGO_CACHE).
headers_point() { # DIR
	sed -i "s|^include .*/usr/src/linux-headers-|include $1/root/usr/src/linux-headers-|" \
		"$1/root/usr/src/linux-headers-$kabi/Makefile"
}

# The arm64 headers (the flavour's and -common), unpacked; their scripts
# and tools are symlinks into linux-kbuild-6.1, the host's own (amd64, so
# fixdep and modpost run here), which must be the same version.
headers_fetch() { # DIR
	local d=$1 kb hdir=$1/root/usr/src/linux-headers-$kabi
	if [[ -f $d/.complete ]]; then
		headers_point "$d"
		return 0
	fi
	kb=$(dpkg-query -W -f='${Version}' linux-kbuild-6.1 2>/dev/null || true)
	[[ $kb == "$kver" ]] ||
		va_die "linux-kbuild-6.1 is '$kb', not $kver as the headers (run scripts/deps.sh)"
	rm -rf "$d"
	va_note "headers: fetching linux-headers-$kabi and -common $kver (arm64)"
	deb_fetch "$d/dl" "linux-headers-$kabi=$kver" "linux-headers-$kabi_base-common=$kver"
	local deb
	for deb in "$d"/dl/*.deb; do
		dpkg-deb -x "$deb" "$d/root"
	done
	rm -rf "$d/dl"
	[[ -f $hdir/Makefile && -f $hdir/Module.symvers ]] ||
		va_die "no Makefile or Module.symvers in $hdir"
	headers_point "$d"
	mkdir -p "$d/root/usr/lib"
	ln -sfn /usr/lib/linux-kbuild-6.1 "$d/root/usr/lib/linux-kbuild-6.1"
	[[ -x $hdir/scripts/basic/fixdep && -x $hdir/scripts/mod/modpost ]] ||
		va_die "no fixdep or modpost through $hdir/scripts"
	touch "$d/.complete"
}

kernel_ensure() {
	kernel_abi
	kernel_dir=$XB/kernel-$kabi-$kver
	kernel_fetch "$kernel_dir"
	image=$kernel_dir/Image
	headers_dir=$XB/headers-$kabi-$kver
	headers_fetch "$headers_dir"
	kdir=$headers_dir/root/usr/src/linux-headers-$kabi
}

# ---- dom0's initramfs ----
#
# base-<key>.cpio: busybox-static, bash and its libraries, unpacked from
# their arm64 packages, and the kernel's modules in dom0_modules with their
# dependencies (depmod run again), as a newc archive; each run appends a
# second archive (the kernel unpacks both, the later one winning).

base_key() {
	{
		basename "$kernel_dir"
		echo "$xen_version"
		printf '%s\n' "${userland_pkgs[@]}"
		printf '%s\n' "${dom0_modules[@]}"
		echo "xen-bed-arm64 base 2"
	} | va_hash
}

base_build() { # CPIO
	local cpio=$1 stage all m f deb p pkgs=()
	[[ -f $cpio ]] && return 0
	stage=$(mktemp -d "$XB/stage.XXXXXX")
	va_note "initramfs: building $cpio"
	# The toolstack of the hypervisor's own version (main), not the
	# security suite's newer one.
	for p in "${userland_pkgs[@]}"; do
		case $p in
		xen-utils-4.17 | xenstore-utils | libxen*) pkgs+=("$p=$xen_version") ;;
		*) pkgs+=("$p") ;;
		esac
	done
	deb_fetch "$stage/dl" "${pkgs[@]}"
	mkdir -p "$stage/root"
	for deb in "$stage"/dl/*.deb; do
		dpkg-deb -x "$deb" "$stage/root"
	done
	rm -rf "$stage/dl" "$stage/root/usr/share/doc" "$stage/root/usr/share/man" \
		"$stage/root/usr/share/locale" "$stage/root/usr/share/info"
	[[ -x $stage/root/bin/busybox && -x $stage/root/bin/bash ]] ||
		va_die "no /bin/busybox or /bin/bash in the unpacked packages"
	# Every library the toolstack's programs link is in the root.
	local b lib
	for b in "${toolstack_bins[@]}"; do
		f=$stage/root/usr/lib/xen-4.17/bin/$b
		[[ -x $f ]] || va_die "no $b in /usr/lib/xen-4.17/bin"
		for lib in $("${cross}readelf" -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			[[ -n $(find "$stage/root/lib" "$stage/root/usr/lib" -name "$lib" -print -quit) ]] ||
				va_die "$b needs $lib, which no package of userland_pkgs has"
		done
	done
	mkdir -p "$stage/root/var/lib/xen" "$stage/root/var/log/xen" "$stage/root/var/run"
	mkdir -p "$stage/root/"{sbin,usr/bin,usr/sbin,proc,sys,dev,run,tmp,root,etc}
	# The modules: depmod over the whole set, then only what dom0_modules
	# need (modprobe --show-depends reads modules.dep, whatever the
	# architecture), depmod again.
	all=$stage/all
	mkdir -p "$all/lib/modules"
	rsync -a "$kernel_dir/root/lib/modules/$kabi" "$all/lib/modules/"
	depmod -b "$all" "$kabi" || va_die "depmod for $kabi failed"
	for m in "${dom0_modules[@]}"; do
		modprobe -d "$all" -S "$kabi" --show-depends "$m" ||
			va_die "no module $m in $kabi"
	done | awk '$1 == "insmod" { print $2 }' | sort -u | while read -r f; do
		f=${f#"$all/lib/modules/$kabi/"}
		mkdir -p "$stage/root/lib/modules/$kabi/$(dirname "$f")"
		cp "$all/lib/modules/$kabi/$f" "$stage/root/lib/modules/$kabi/$f"
	done
	mkdir -p "$stage/root/lib/modules/$kabi"
	cp "$all/lib/modules/$kabi"/modules.{order,builtin,builtin.modinfo} \
		"$stage/root/lib/modules/$kabi/"
	rm -rf "$all"
	depmod -b "$stage/root" "$kabi" || va_die "depmod for $kabi failed"
	(cd "$stage/root" && find . | cpio -o -H newc -R 0:0 --quiet) >"$cpio.tmp"
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
	base_ensure
}
t_all=$SECONDS
with_lock "$XB/build.lock" build_all
va_note "xen: $xen_image"
va_note "dom0 kernel: $image"
va_note "dom0 initramfs base: $base_cpio ($(du -m "$base_cpio" | cut -f1) MiB)"
if [[ $build_only -eq 1 ]]; then
	va_note "built in $((SECONDS - t_all)) s"
	exit 0
fi

# ---- The run ----

if [[ -z $out ]]; then
	out=$(mktemp -d "${TMPDIR:-/tmp}/xen-bed-arm64.XXXXXX")
fi
mkdir -p "$out"
out=$(realpath "$out")
va_note "results in $out"
rm -f "$out/console.log" "$out/qemu.log" "$out/result.ktap" "$out/times"

times() { # WHAT SECONDS|never
	printf '%-28s %s%s\n' "$1" "$2" "$([[ $2 == never ]] || echo ' s')" >>"$out/times"
}
times "build or cache lookup" "$((SECONDS - t_all))"

# The project's modules against Debian's arm64 headers and its tools,
# cross-built statically, in a copy of the repository (kbuild's M= and
# tools/ write next to the sources; the host's own builds stay untouched).
build_project() {
	local w=$XB/build src
	src=$w/src
	mkdir -p "$w"
	rm -rf "$src"
	rsync -a --exclude=.git --exclude=.test-logs \
		--exclude='*.o' --exclude='*.a' --exclude='*.ko' --exclude='*.mod' \
		--exclude='*.mod.c' --exclude='.*.cmd' --exclude=modules.order \
		--exclude=Module.symvers "$VA_ROOT/" "$src/"
	make -C "$kdir" ARCH=arm64 CROSS_COMPILE="$cross" M="$src" \
		-j"$(nproc)" modules >"$out/modules.log" 2>&1 ||
		va_die "the module build against $kdir failed (log $out/modules.log)"
	# modpost checks every symbol against Debian's Module.symvers.
	! grep -E 'WARNING: modpost|undefined!' "$out/modules.log" ||
		va_die "modpost warnings (log $out/modules.log)"
	cp "$src/argo.ko" "$src/virtio_argo.ko" "$overlay/xen-bed/ko/"
	tools_built=$src/tools
	make -s -C "$src/tools" CC="${cross}gcc" AR="${cross}ar" \
		LDFLAGS=-static all >"$out/tools.log" 2>&1 ||
		va_die "cross-building tools/ failed (log $out/tools.log)"
	cp "$tools_built/argo/argo" \
		"$tools_built/virtio-argo-backend/virtio-argo-backend" \
		"$tools_built/virtio-argo-backend/ctl/virtio-argo-ctl" \
		"$overlay/usr/local/bin/"
}

# What this run adds to the initramfs: the init, the scenarios (the x86
# bed's library, this bed's scripts and the scenarios asked for), the
# modules and the tools.
t0=$SECONDS
overlay=$out/overlay
rm -rf "$overlay"
mkdir -p "$overlay/xen-bed/ko" "$overlay/usr/local/bin" "$overlay/dev"
with_lock "$XB/project.lock" build_project
cp "$VA_ROOT/scripts/xen-bed/lib.sh" "$VA_ROOT/scripts/xen-bed/domu-lib.sh" \
	"$VA_ROOT"/scripts/xen-bed-arm64/*.sh "$overlay/xen-bed/"
for s in "${scenario_list[@]}"; do
	cp "$(scenario_file "$s")" "$overlay/xen-bed/$s.sh"
done
mknod -m 600 "$overlay/dev/console" c 5 1
# The domU (scenarios with "# xen-bed: domu"): the same kernel, and the
# same initramfs with the domU's own init, in dom0's in /xen-bed/domu/.
if [[ $with_domu -eq 1 ]]; then
	install -m 755 "$VA_ROOT/scripts/xen-bed-arm64/domu-init" "$overlay/init"
	(cd "$overlay" && find . | cpio -o -H newc -R 0:0 --quiet) >"$out/overlay-domu.cpio"
	mkdir -p "$overlay/xen-bed/domu"
	cp "$image" "$overlay/xen-bed/domu/Image"
	cat "$base_cpio" "$out/overlay-domu.cpio" >"$overlay/xen-bed/domu/initrd.cpio"
	rm -f "$out/overlay-domu.cpio"
fi
install -m 755 "$VA_ROOT/scripts/xen-bed-arm64/init" "$overlay/init"
(cd "$overlay" && find . | cpio -o -H newc -R 0:0 --quiet) >"$out/overlay.cpio"
cat "$base_cpio" "$out/overlay.cpio" >"$out/initrd.cpio"
rm -rf "$overlay" "$out/overlay.cpio"
times "modules, tools, initramfs" "$((SECONDS - t0))"

# Boot.  Xen is QEMU's -kernel (an arm64 Image, entered at EL2 thanks to
# virtualization=on); QEMU's guest-loader devices put dom0's kernel and
# initramfs in RAM and describe them in the device tree's /chosen as
# multiboot modules, which is how Xen on Arm finds dom0.  The run ends when
# dom0 powers the machine off (Xen then asks PSCI to, and QEMU exits).
# Commas in a device's property must be doubled: the command lines have
# none.
qemu=(qemu-system-aarch64 -machine "$qemu_machine"
	-cpu cortex-a57 -smp 2 -m "$qemu_mem"
	-nographic -no-reboot -monitor none -serial "file:$out/console.log"
	-kernel "$xen_image" -append "$xen_cmdline"
	-device "guest-loader,addr=$kernel_addr,kernel=$image,bootargs=$dom0_cmdline xenbed_scenario=$scenarios"
	-device "guest-loader,addr=$initrd_addr,initrd=$out/initrd.cpio")
printf '%q ' "${qemu[@]}" >"$out/qemu.cmd"
echo >>"$out/qemu.cmd"
va_note "booting Xen and dom0 on arm64 (scenarios $scenarios, ceiling $ceiling s)"
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
t_xen='' t_dom0='' t_over='' why=''
# Note when Xen started dom0, when dom0's init started and when the
# scenarios ended.
progress() {
	local now=$((SECONDS - t0))
	if [[ -z $t_xen ]] && grep -aq 'Freed .*init memory' "$out/console.log" 2>/dev/null; then
		t_xen=$now
	fi
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
		why="no power-off 120 s after the end of the scenarios"
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
times "boot to Xen's end of boot" "${t_xen:-never}"
times "boot to dom0's init" "${t_dom0:-never}"
times "dom0 init to scenarios end" "$([[ -n $t_dom0 && -n $t_over ]] && echo $((t_over - t_dom0)) || echo never)"
times "QEMU run in all" "$t_end"
va_note "QEMU exited ($qrc) after $t_end s${why:+: $why}"

# ---- Results ----

tr -d '\r' <"$out/console.log" >"$out/console.txt" 2>/dev/null || : >"$out/console.txt"

# Reports on Xen's console: from "(XEN) " to the end of a line (a line
# of dom0 may have been cut there), one report per line.
xen_reports() {
	sed -n 's/^.*\((XEN) .*\)$/\1/p' "$out/console.txt" |
		grep -aE 'Panic on CPU|BUG|WARN|Assertion .* failed|FATAL|crashed|domain_crash|Xen call trace|Data Abort|Unexpected Trap|Hypervisor Trap' |
		head -n 20 || true
}

# Reports in dom0's kernel log (what is not Xen's) and from its processes.
# The scenarios' own lines are results, not reports, except a process
# killed by a signal.
kernel_reports() {
	grep -aE 'BUG:|WARNING:|Oops|Internal error|Unable to handle|segfault|unhandled|Kernel panic|Call trace:|UBSAN|KASAN|INFO: task .* blocked|soft lockup|hard LOCKUP|rcu_.*stall|killed by signal' || true
}
dom0_reports() {
	sed 's/(XEN) .*$//' "$out/console.txt" | grep -avF 'domu-console: ' |
		kernel_reports | grep -avF 'xen-bed: ' | head -n 20
	grep -avF 'domu-console: ' "$out/console.txt" |
		grep -aE 'xen-bed: .*killed by signal' | head -n 20 || true
}

# The domU's console, as dom0 relayed it line by line into its kernel log
# with the prefix "domu-console: " (scripts/xen-bed-arm64/domu.sh).
sed -n 's/^.*domu-console: //p' "$out/console.txt" >"$out/domu-console.txt"
# Xen's own lines may cut into a relayed line on the serial console.
domu_reports() {
	sed 's/(XEN) .*$//' "$out/domu-console.txt" | kernel_reports |
		grep -avF 'xen-bed: ' | head -n 20
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

# The scenarios' lines, numbered here.
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
	host_case 0 scenario_finished "dom0 never said that the scenarios were over"
fi
r=$(xen_reports)
host_case "$([[ -z $r ]] && echo 1 || echo 0)" console_xen_clean "$r"
r=$(dom0_reports)
host_case "$([[ -z $r ]] && echo 1 || echo 0)" console_dom0_clean "$r"
if [[ $with_domu -eq 1 ]]; then
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
