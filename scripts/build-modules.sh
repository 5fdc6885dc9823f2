#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/build-modules.sh {uml|debian|arm64}: build the project's modules
# out of tree with W=1 and sparse (C=2), failing on any warning or error
# about the project's own files.
#
#   uml     against the debug UML kernel (scripts/build-uml.sh debug),
#           ARCH=um; KUnit is on there, so tests/kunit/*_kunit.ko are built
#   debian  against Debian's x86_64 headers (linux-headers-amd64; Xen on,
#           KUnit off)
#   arm64   cross, against $VA_CACHE/arm64-<key>: defconfig + xen.config +
#           modules_prepare (no vmlinux, so KBUILD_MODPOST_WARN=1 and
#           "undefined!" symbol warnings are expected and ignored)
#
# kbuild's M= builds write their objects next to the sources, so each target
# builds in its own fresh copy of the repo: $VA_CACHE/build/<target>/src
# (made with rsync, rebuilt from scratch every time so that every warning is
# seen on every run).  The full output is in $VA_CACHE/build/<target>/build.log;
# warnings in kernel headers are reported but do not fail.  The .ko files
# of a successful build are copied to $VA_CACHE/build/<target>/ko-<time>/
# (same layout: argo.ko, tests/kunit/*.ko), and the symlink
# $VA_CACHE/build/<target>/ko points at the newest; the three newest are kept.
#
# VIRTIO_ARGO_SRC=DIR builds another tree instead of this repo (to try the
# harness on a throwaway module).
#
# The last stdout line is that ko-<time> directory (scripts/run-kunit.sh -k
# takes it).

set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 1 ]] || {
	echo "usage: ${0##*/} {uml|debian|arm64}" >&2
	exit 2
}
target=$1
work=$VA_CACHE/build/$target
src=$work/src
log=$work/build.log
# The tree to build: this repo, or another one to try the harness on.
modsrc=${VIRTIO_ARGO_SRC:-$VA_ROOT}

# Debian's x86_64 headers: the package linux-headers-amd64 points at.
debian_kdir() {
	local dep d
	dep=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null |
		grep -o 'linux-headers-[^ ,]*-amd64' | head -n1 || true)
	d=/usr/src/$dep
	if [[ -z $dep || ! -f $d/Makefile ]]; then
		d=$(find /usr/src -maxdepth 1 -name 'linux-headers-*-amd64' | sort -V | tail -n1)
	fi
	[[ -n $d && -f $d/Makefile ]] ||
		va_die "no Debian amd64 kernel headers (run scripts/deps.sh)"
	echo "$d"
}

# arm64 tree prepared for external modules, cached by source + compiler.
arm64_kdir() {
	local key o lockfd
	va_ensure_src
	key=$({
		cat "$VA_SRC.version"
		va_gcc_id aarch64-linux-gnu-gcc
		echo "defconfig xen.config"
	} | va_hash)
	o=$VA_CACHE/arm64-$key
	exec {lockfd}>"$o.lock"
	flock "$lockfd"
	if [[ ! -f $o/.virtio-argo-complete ]]; then
		mkdir -p "$o"
		make -C "$VA_SRC" O="$o" ARCH=arm64 \
			CROSS_COMPILE=aarch64-linux-gnu- \
			CC="ccache aarch64-linux-gnu-gcc" \
			defconfig xen.config >&2
		grep -qx 'CONFIG_XEN=y' "$o/.config" ||
			va_die "arm64: CONFIG_XEN not set after xen.config"
		make -C "$VA_SRC" O="$o" ARCH=arm64 \
			CROSS_COMPILE=aarch64-linux-gnu- \
			CC="ccache aarch64-linux-gnu-gcc" \
			-j"$(nproc)" modules_prepare >&2
		touch "$o/.virtio-argo-complete"
	fi
	exec {lockfd}>&-
	echo "$o"
}

case $target in
uml)
	kdir=$("$VA_ROOT/scripts/build-uml.sh" debug | tail -n1)
	mk=(make ARCH=um SUBARCH=x86_64 -C "$kdir")
	;;
debian)
	kdir=$(debian_kdir)
	mk=(make -C "$kdir")
	;;
arm64)
	kdir=$(arm64_kdir)
	mk=(make ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- -C "$kdir"
		KBUILD_MODPOST_WARN=1)
	;;
*)
	echo "usage: ${0##*/} {uml|debian|arm64}" >&2
	exit 2
	;;
esac

# A fresh copy of the sources, without git metadata and build products;
# one build per target at a time.
mkdir -p "$work"
exec {lockfd}>"$work/.lock"
flock "$lockfd"
rm -rf "$src"
rsync -a --exclude=.git --exclude=.test-logs \
	--exclude='*.o' --exclude='*.ko' --exclude='*.mod' --exclude='*.mod.c' \
	--exclude='.*.cmd' --exclude=modules.order --exclude=Module.symvers \
	"$modsrc/" "$src/"

va_note "$target: building in $src against $kdir (log $log)"
rc=0
"${mk[@]}" M="$src" W=1 C=2 -j"$(nproc)" modules >"$log" 2>&1 || rc=$?

# Classify diagnostics: the project's files (paths in the copy, or relative
# ones kbuild may print) fail the build; anything else is reported only.
diag='(warning|error|Error|WARNING)[: ]'
ours=$(grep -E "$diag" "$log" | grep -E "^($src/|drivers/|include/|tests/|tools/)|\\[$src/|modpost: .*$src/" |
	{ if [[ $target == arm64 ]]; then grep -v 'undefined!$'; else cat; fi; } || true)
theirs=$(grep -E "^[^ ]*: *(warning|error):" "$log" | grep -vF "$src/" || true)

if [[ -n $theirs ]]; then
	va_note "$target: diagnostics located in kernel files (not fatal by themselves):"
	sort -u <<<"$theirs" | head -n 20 >&2
fi
if [[ -n $ours ]]; then
	va_note "$target: warnings/errors in the project's files:"
	echo "${ours//"$src"\//}" >&2
	[[ $rc -ne 0 ]] || rc=1
fi
if [[ $rc -eq 0 && ! -f $src/argo.ko ]]; then
	va_note "$target: build produced no argo.ko"
	rc=1
fi
if [[ $rc -ne 0 ]]; then
	va_note "$target: module build FAILED (log $log); errors and where:"
	grep -E "error:|^$src/[^ ]*: In function|^$src/[^ ]*:[0-9]+:[0-9]+: note: in expansion|\*\*\*" \
		"$log" | sed "s|$src/||g; s|^|  |" | head -n 30 >&2 || true
	exit 1
fi

# Publish the modules: a fresh directory per build, with the symlink
# $work/ko switched to it atomically, so that a test run that is using the
# previous build is not pulled from under it by the next one.
pub=$(mktemp -d "$work/ko-$(date +%Y%m%d-%H%M%S)-XXXX")
(cd "$src" && find . -name '*.ko' -print0 | xargs -0 cp --parents -t "$pub")
chmod 755 "$pub"
ln -sfn "$(basename "$pub")" "$work/ko.tmp"
mv -Tf "$work/ko.tmp" "$work/ko"
# Keep the three newest.
find "$work" -mindepth 1 -maxdepth 1 -type d -name 'ko-*' | sort -r |
	tail -n +4 | xargs -r rm -rf
va_note "$target: modules built: $(cd "$pub" && find . -name '*.ko' | sort | tr '\n' ' ')"
echo "$pub"
