#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/deps.sh: install the Debian 12 packages the virtio-argo build and
# tests need, if any are missing.  Checks with dpkg-query first; runs
# `apt-get update` (once) and `apt-get install` only when something is
# missing, so on a prepared machine it does nothing and needs no network.
# Runs as root, or through sudo otherwise.
#
#   deps.sh [GROUP...]
#
# Without an argument: the packages of the build and the tests (what
# scripts/test.sh and scripts/demo.sh need).  Each GROUP adds the packages
# of a tool that the tests themselves do not need, so that the test run
# never installs them:
#
#   fresh-root   debootstrap, for scripts/fresh-root.sh

set -euo pipefail

pkgs=(
	# UML kernel source, Debian headers, cross compiler, kernel build tools
	linux-source-6.1 linux-headers-amd64 gcc-aarch64-linux-gnu
	# the arm64 C library headers (a Recommends of the cross compiler,
	# left out by --no-install-recommends): tests/abi check-arm64
	libc6-dev-arm64-cross
	gcc make bc flex bison libelf-dev libssl-dev ccache kmod cpio rsync patch
	# checks: sparse; Xen's public headers (xen/argo.h) for the ABI test
	sparse libxen-dev
	# inside UML: host binaries used by tests
	fio e2fsprogs iproute2 busybox-static python3
	# sanitizer/fuzzer builds of the userspace programs
	clang-14 libclang-rt-14-dev
	# the Xen test bed (scripts/xen-bed.sh): QEMU, dom0's Debian root, Xen's
	# source through apt-get source (dpkg-source, xz) and its build
	# (gcc, make, python3, flex, bison above; lsb_release for Debian's
	# version banner); zstd for the domU's initramfs
	qemu-system-x86 debootstrap dpkg-dev xz-utils lsb-release zstd
	# the arm64 Xen test bed (scripts/xen-bed-arm64.sh): qemu-system-aarch64
	# (-M virt,virtualization=on and its guest-loader device)
	qemu-system-arm
)

for group in "$@"; do
	case $group in
	fresh-root)
		# a Debian 12 root to run the README's commands in
		pkgs+=(debootstrap)
		;;
	*)
		echo "deps: unknown group '$group' (known: fresh-root)" >&2
		exit 2
		;;
	esac
done

missing=()
for p in "${pkgs[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	[[ $status == ii* ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
	echo "deps: all ${#pkgs[@]} packages installed"
	exit 0
fi

echo "deps: installing ${missing[*]}"
sudo=()
if [[ $(id -u) -ne 0 ]]; then
	command -v sudo >/dev/null || {
		echo "deps: not root and no sudo; install: ${missing[*]}" >&2
		exit 1
	}
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -q --no-install-recommends "${missing[@]}"
