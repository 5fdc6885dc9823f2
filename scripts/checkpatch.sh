#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/checkpatch.sh [FILE...]: run the kernel's checkpatch.pl (from the
# extracted linux-source-6.1) over the project's C sources; fails on any
# ERROR, WARNING or CHECK.
#
# Kernel code (drivers/ include/ tests/kunit/): --strict, nothing ignored.
# Userspace code (tools/ tests/user/ tests/abi/): --strict too, minus the
# rules that only make sense inside the kernel:
#   PREFER_KERNEL_TYPES        uint32_t is right in userspace
#   PREFER_FALLTHROUGH         no `fallthrough` macro outside the kernel
#   PREFER_DEFINED_ATTRIBUTE_MACRO, PREFER_PACKED, PREFER_ALIGNED,
#   PREFER_PRINTF, PREFER_SCANF, PREFER_SECTION
#                              __packed and friends are kernel macros
#   SSCANF_TO_KSTRTO           kstrto*() is kernel-only
#   STRCPY, STRLCPY, STRNCPY   strscpy() is kernel-only
#   LINUX_VERSION_CODE         n/a
#   BIT_MACRO                  BIT() and BIT_ULL() are kernel-only; a
#                              userspace #define says (1ULL << n)
# Without arguments it checks every .c/.h under those directories.

set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

va_ensure_src
cp=$VA_SRC/scripts/checkpatch.pl
[[ -f $cp ]] || va_die "$cp missing"

kernel_dirs=(drivers include tests/kunit)
user_dirs=(tools tests/user tests/abi)
user_ignore=PREFER_KERNEL_TYPES,PREFER_FALLTHROUGH,PREFER_DEFINED_ATTRIBUTE_MACRO
user_ignore+=,PREFER_PACKED,PREFER_ALIGNED,PREFER_PRINTF,PREFER_SCANF
user_ignore+=,PREFER_SECTION,SSCANF_TO_KSTRTO,STRCPY,STRLCPY,STRNCPY
user_ignore+=,LINUX_VERSION_CODE,BIT_MACRO

cd "$VA_ROOT"
# --strict makes checkpatch cache CamelCase names in ./.checkpatch-camelcase.*
trap 'rm -f .checkpatch-camelcase.*' EXIT
files=()
if [[ $# -gt 0 ]]; then
	files=("$@")
else
	for d in "${kernel_dirs[@]}" "${user_dirs[@]}"; do
		[[ -d $d ]] || continue
		while IFS= read -r -d '' f; do
			files+=("$f")
		done < <(find "$d" -type f \( -name '*.c' -o -name '*.h' \) \
			-not -name '*.mod.c' -print0 | sort -z)
	done
fi

if [[ ${#files[@]} -eq 0 ]]; then
	echo "checkpatch: no C files to check"
	exit 0
fi

bad=0
for f in "${files[@]}"; do
	opts=(--strict --no-tree --show-types --quiet --no-summary --file)
	case $f in
	# The ABI check's layout macros take type and member names, which
	# have no side effects however often they are expanded.
	tests/abi/*) opts=(--ignore "$user_ignore,MACRO_ARG_REUSE" "${opts[@]}") ;;
	tools/* | tests/user/*) opts=(--ignore "$user_ignore" "${opts[@]}") ;;
	esac
	if ! out=$(perl "$cp" "${opts[@]}" "$f" 2>&1) || [[ -n $out ]]; then
		echo "$out"
		bad=$((bad + 1))
	fi
done

echo "checkpatch: ${#files[@]} files checked, $bad with problems"
[[ $bad -eq 0 ]]
