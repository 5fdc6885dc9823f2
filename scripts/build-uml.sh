#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/build-uml.sh {base|debug}: build a User-Mode Linux kernel
# (ARCH=um SUBARCH=x86_64) from Debian's linux-source-6.1 for the tests.
#
#   base   scripts/uml/base.config
#   debug  scripts/uml/base.config + scripts/uml/debug.config
#          (KASAN, UBSAN, lockdep)
#
# The build dir is $VA_CACHE/uml/<flavor>-<key>, key = hash of the source
# package version, the fragments and the gcc version, so a changed fragment
# or compiler gets a fresh dir and an unchanged one is reused as is (a stamp
# file marks a complete build).  Compiles go through ccache.
#
# Besides the kernel ($O/linux) the =m virtio drivers are built and
# installed under $O/modinst/lib/modules/<release>; inside UML they are
# loaded with `modprobe -d $O/modinst NAME` (see scripts/uml/init-common.sh).
#
# All build output goes to stderr; the last line on stdout is the build dir.

set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	echo "usage: ${0##*/} {base|debug}" >&2
	exit 2
}

[[ $# -eq 1 ]] || usage
flavor=$1
frags=("$VA_ROOT/scripts/uml/base.config")
case $flavor in
base) ;;
debug) frags+=("$VA_ROOT/scripts/uml/debug.config") ;;
*) usage ;;
esac

command -v ccache >/dev/null || va_die "ccache missing (run scripts/deps.sh)"
va_ensure_src

key=$({
	cat "$VA_SRC.version"
	cat "${frags[@]}"
	va_gcc_id gcc
} | va_hash)
O=$VA_CACHE/uml/$flavor-$key
stamp=$O/.virtio-argo-complete

# One build per dir at a time (test.sh and someone's demo may race).
mkdir -p "$VA_CACHE/uml"
exec {lockfd}>"$O.lock"
flock "$lockfd"

if [[ -f $stamp ]]; then
	va_note "$flavor UML kernel up to date"
	echo "$O"
	exit 0
fi

mkdir -p "$O"
mk=(make -C "$VA_SRC" O="$O" ARCH=um SUBARCH=x86_64
	CC="ccache gcc" HOSTCC="ccache gcc")

# Fragment, then olddefconfig fills in the rest.
cat "${frags[@]}" >"$O/.config"
cat "${frags[@]}" >"$O/virtio-argo.fragment"
"${mk[@]}" olddefconfig >&2

# Kconfig silently drops what it cannot satisfy: every setting of the
# fragment (the last one for a symbol wins) must be in the result.
missing=$(awk '
	FNR == NR {
		if ($0 ~ /^CONFIG_[A-Za-z0-9_]+=/) {
			sym = $0; sub(/=.*/, "", sym); want[sym] = $0
		} else if ($0 ~ /^# CONFIG_[A-Za-z0-9_]+ is not set$/) {
			sym = $2; want[sym] = ""
		}
		next
	}
	/^CONFIG_[A-Za-z0-9_]+=/ { sym = $0; sub(/=.*/, "", sym); have[sym] = $0 }
	END {
		for (sym in want) {
			if (want[sym] == "" && (sym in have))
				printf "  # %s is not set   (got %s)\n", sym, have[sym]
			else if (want[sym] != "" && !(sym in have))
				printf "  %s   (got: not set)\n", want[sym]
			else if (want[sym] != "" && have[sym] != want[sym])
				printf "  %s   (got %s)\n", want[sym], have[sym]
		}
	}' "$O/virtio-argo.fragment" "$O/.config" | sort)
if [[ -n $missing ]]; then
	echo "${0##*/}: $flavor: Kconfig dropped options of the fragment:" >&2
	echo "$missing" >&2
	exit 1
fi

"${mk[@]}" -j"$(nproc)" linux modules >&2
rm -rf "$O/modinst"
"${mk[@]}" INSTALL_MOD_PATH="$O/modinst" modules_install >&2
"${mk[@]}" -s kernelrelease >"$O/kernelrelease"

touch "$stamp"
va_note "$flavor UML kernel built in $O"
echo "$O"
