# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# scripts/lib.sh: helpers shared by the virtio-argo build and test scripts.
# Sourced, never run.  Defines the cache layout:
#
#   $VA_CACHE                    ~/.cache/virtio-argo (or $VIRTIO_ARGO_CACHE)
#   $VA_CACHE/src/linux-source-6.1          extracted kernel source (fixed path)
#   $VA_CACHE/src/linux-source-6.1.version  package version it came from
#   $VA_CACHE/uml/<flavor>-<key>            UML kernel build dirs (O=)
#   $VA_CACHE/arm64-<key>                   arm64 defconfig+xen.config (O=)
#   $VA_CACHE/build/<target>/src            per-target copies for M= builds
#   $VA_CACHE/ccache                        CCACHE_DIR
#   $VA_CACHE/logs/<timestamp>              logs of scripts/test.sh runs

VA_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VA_CACHE=${VIRTIO_ARGO_CACHE:-$HOME/.cache/virtio-argo}
VA_SRC_PKG=linux-source-6.1
VA_SRC_TARBALL=/usr/src/linux-source-6.1.tar.xz
VA_SRC=$VA_CACHE/src/$VA_SRC_PKG
export VA_ROOT VA_CACHE VA_SRC

export CCACHE_DIR=${CCACHE_DIR:-$VA_CACHE/ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}

va_die() {
	echo "${0##*/}: error: $*" >&2
	exit 1
}

va_note() {
	echo "${0##*/}: $*" >&2
}

# Version of the installed linux-source package.
va_src_version() {
	local v
	v=$(dpkg-query -W -f='${Version}' "$VA_SRC_PKG" 2>/dev/null) ||
		va_die "$VA_SRC_PKG is not installed (run scripts/deps.sh)"
	# The patches applied to it are part of what it is.
	echo "$v+patches-$(cat "$VA_ROOT"/scripts/uml/patches/*.patch | va_hash)"
}

# Make sure $VA_SRC holds the kernel source of the installed package with
# scripts/uml/patches/*.patch applied: extract it once, again only when the
# package version or the patches change.  The path
# never changes, because O= build dirs refer to it by absolute path.
va_ensure_src() {
	local want have="" lockfd
	want=$(va_src_version)
	mkdir -p "$VA_CACHE/src"
	exec {lockfd}>"$VA_CACHE/src/.lock"
	flock "$lockfd"
	if [[ -f $VA_SRC.version ]]; then
		have=$(cat "$VA_SRC.version")
	fi
	if [[ $have != "$want" || ! -f $VA_SRC/Makefile ]]; then
		[[ -f $VA_SRC_TARBALL ]] || va_die "$VA_SRC_TARBALL missing"
		va_note "extracting $VA_SRC_TARBALL ($want)"
		rm -rf "$VA_SRC" "$VA_SRC.version" "$VA_CACHE/src/.extract"
		mkdir -p "$VA_CACHE/src/.extract"
		tar -C "$VA_CACHE/src/.extract" -xf "$VA_SRC_TARBALL"
		mv "$VA_CACHE/src/.extract/$VA_SRC_PKG" "$VA_SRC"
		rmdir "$VA_CACHE/src/.extract"
		# Fixes to UML itself, for the test kernels (see each patch).
		local p
		for p in "$VA_ROOT"/scripts/uml/patches/*.patch; do
			patch -s -p1 -d "$VA_SRC" <"$p" ||
				va_die "${p##*/} does not apply to $want"
		done
		echo "$want" >"$VA_SRC.version"
	fi
	flock -u "$lockfd"
	exec {lockfd}>&-
}

# Short hash of stdin, for cache keys.
va_hash() {
	sha256sum | cut -c1-16
}

# Compiler identity, part of every cache key.
va_gcc_id() {
	"${1:-gcc}" --version | head -n1
}

# For tests/e2e/*.sh: set build, kodir and out from VA_UML_DEBUG, VA_KODIR
# and VA_OUT as scripts/test.sh passes them, building or making what is
# missing when a script runs alone.  $1 names the test for its temp dir.
va_e2e_env() {
	build=${VA_UML_DEBUG:-}
	kodir=${VA_KODIR:-}
	out=${VA_OUT:-}
	if [[ -z $build ]]; then
		build=$("$VA_ROOT/scripts/build-uml.sh" debug | tail -n1)
	fi
	if [[ -z $kodir ]]; then
		kodir=$("$VA_ROOT/scripts/build-modules.sh" uml | tail -n1)
	fi
	if [[ -z $out ]]; then
		out=$(mktemp -d "${TMPDIR:-/tmp}/e2e-$1.XXXXXX")
		va_note "results in $out"
	fi
	mkdir -p "$out"
	out=$(realpath "$out")
}
