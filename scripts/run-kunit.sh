#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/run-kunit.sh: run the KUnit suites and the userspace tests in the
# debug UML kernel and report them with the kernel's KTAP parser.
#
#   run-kunit.sh [-b UML_BUILD] [-k KO_DIR] [-s SRC_DIR] [-u USER_DIR] [-o OUT] [-t SECS]
#
# -b  UML build dir (default: `scripts/build-uml.sh debug`, built if needed)
# -k  dir with argo.ko and tests/kunit/*_kunit.ko (default:
#     `scripts/build-modules.sh uml`, built if needed)
# -s  source tree whose tests/kunit/*_kunit.c must all have a module in
#     KO_DIR (default: this repository); a missing one is a failure
# -u  dir of userspace test programs *_test (default: tests/user of the
#     repo; each prints one KTAP document on stdout; build them first)
# -o  output dir (default: $VA_CACHE/logs/kunit-<timestamp>)
# -t  timeout of the whole UML run in seconds (default 900)
#
# Inside UML (scripts/uml/kunit-init.sh): insmod argo.ko provider=loopback,
# then each KUnit module (its suites run at load; results are copied from
# /sys/kernel/debug/kunit/SUITE/results), then each userspace test, then
# rmmod.  On the host every document is merged under one plan and parsed
# by tools/testing/kunit/kunit.py; a missing result, a module that fails to
# load or unload, a test program's non-zero exit and every kernel report on
# the console (scripts/console-check.sh) count as failures.
#
# Output: OUT/results.txt (parser), OUT/results.ktap, OUT/guest/ (raw),
# OUT/guest/console.log, OUT/ko and OUT/user-bin (what was run).  Last stdout line: "P passed, F failed, S skipped".
# Exit status 0 only if nothing failed and something passed.

set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	sed -n '6,16s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

build='' kodir='' srcdir=$VA_ROOT userdir=$VA_ROOT/tests/user out=''
timeout_s=900
while getopts b:k:s:u:o:t:h opt; do
	case $opt in
	b) build=$OPTARG ;;
	k) kodir=$OPTARG ;;
	s) srcdir=$OPTARG ;;
	u) userdir=$OPTARG ;;
	o) out=$OPTARG ;;
	t) timeout_s=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[[ $# -eq 0 ]] || usage

if [[ -z $build ]]; then
	build=$("$VA_ROOT/scripts/build-uml.sh" debug | tail -n1)
fi
if [[ -z $kodir ]]; then
	kodir=$("$VA_ROOT/scripts/build-modules.sh" uml | tail -n1)
fi
out=${out:-$VA_CACHE/logs/kunit-$(date +%Y%m%d-%H%M%S)}
build=$(realpath "$build")
kodir=$(realpath "$kodir")
va_ensure_src

rm -rf "$out/guest"
mkdir -p "$out/guest"
out=$(realpath "$out")
guest=$out/guest
log=$guest/console.log

# Run on snapshots of the modules and test programs, so that a rebuild
# running meanwhile (another run, someone's make) cannot change what this
# run loads, nor what it then expects results for.
rm -rf "$out/ko" "$out/user-bin"
mkdir -p "$out/ko" "$out/user-bin"
(cd "$kodir" && find . -name '*.ko' -print0 | xargs -0 -r cp --parents -t "$out/ko")
kodir=$out/ko
[[ -f $kodir/argo.ko ]] || va_note "no argo.ko in $kodir: the run will fail"
usertests=
if [[ -d $userdir ]]; then
	find "$userdir" -maxdepth 1 -type f -name '*_test' -perm -u+x \
		-exec cp -t "$out/user-bin" {} +
	usertests=$out/user-bin
fi

boot_rc=0
"$VA_ROOT/scripts/uml-run.sh" -t "$timeout_s" -l "$log" "$build" \
	"$VA_ROOT/scripts/uml/kunit-init.sh" "$guest" \
	"va_kodir=$kodir" "va_usertests=$usertests" || boot_rc=$?

# The harness's own checks, as one flat KTAP document.
harness=$guest/harness.ktap
{
	steps=()
	if [[ -f $guest/harness.tsv ]]; then
		while IFS=$'\t' read -r s st detail; do
			detail=${detail//#/_}
			if [[ $st == ok ]]; then
				steps+=("ok %d $s")
			else
				steps+=("not ok %d $s   (${detail})")
			fi
		done <"$guest/harness.tsv"
	fi
	case $boot_rc in
	0) steps+=("ok %d uml run") ;;
	124) steps+=("not ok %d uml run   (timeout after ${timeout_s}s)") ;;
	*) steps+=("not ok %d uml run   (init did not finish; see console.log)") ;;
	esac
	if [[ ! -f $guest/kunit-init.done ]]; then
		steps+=("not ok %d kunit-init.sh completed")
	fi
	# Every suite in the source must have been built and run: a module
	# missing from the build would otherwise pass by saying nothing.
	for c in "$srcdir"/tests/kunit/*_kunit.c; do
		[[ -f $c ]] || continue
		mod=$(basename "$c" .c)
		[[ -f $kodir/tests/kunit/$mod.ko ]] ||
			steps+=("not ok %d $mod.ko was not built")
	done
	for ko in "$kodir"/tests/kunit/*_kunit.ko; do
		[[ -f $ko ]] || continue
		mod=$(basename "$ko" .ko)
		if [[ ! -f $guest/kunit/$mod.suites ]]; then
			grep -q "^insmod $mod	" "$guest/harness.tsv" 2>/dev/null ||
				steps+=("not ok %d $mod not loaded")
		elif [[ ! -s $guest/kunit/$mod.suites ]]; then
			steps+=("not ok %d $mod registered no KUnit suite")
		fi
	done
	echo "KTAP version 1"
	echo "1..${#steps[@]}"
	i=0
	for s in "${steps[@]}"; do
		i=$((i + 1))
		# shellcheck disable=SC2059
		printf "$s\n" "$i"
	done
} >"$harness"

docs=("uml_harness=$harness")

# KUnit suites.  Their debugfs documents are not always right in 6.1: at
# most KUNIT_LOG_SIZE (512) bytes of log are kept per test case, and a
# parameterised case keeps only its last parameter's line (the log is reset
# per parameter).  A document the parser finds errors in is replaced by the
# same suite taken from the console, if that one parses cleanly.
ktap_ok() { # FILE: parses without errors
	local o
	o=$(python3 "$VA_SRC/tools/testing/kunit/kunit.py" parse "$1" 2>&1 |
		sed 's/\x1b\[[0-9;]*m//g') || true
	! grep -qE '\[ERROR\]|errors: [1-9]|\[CRASHED\]' <<<"$o"
}
for ko in "$kodir"/tests/kunit/*_kunit.ko; do
	[[ -f $ko ]] || continue
	mod=$(basename "$ko" .ko)
	[[ -s $guest/kunit/$mod.suites ]] || continue
	while read -r s; do
		f=$guest/kunit/$s.ktap
		if [[ -f $f ]] && ! ktap_ok "$f"; then
			c=$guest/kunit/$s.console.ktap
			"$VA_ROOT/scripts/ktap.sh" suite-from-console "$log" "$s" >"$c" || true
			if [[ -s $c ]] && ktap_ok "$c"; then
				va_note "$s: debugfs results malformed (6.1 KUnit log" \
					"limits); using the console's"
				f=$c
			fi
		fi
		docs+=("$s=$f")
	done <"$guest/kunit/$mod.suites"
done

# Userspace tests: every executable *_test must have left a document.
if [[ -n $usertests ]]; then
	for t in "$usertests"/*_test; do
		[[ -f $t && -x $t ]] || continue
		name=$(basename "$t")
		docs+=("$name=$guest/user/$name.ktap")
	done
fi

"$VA_ROOT/scripts/console-check.sh" "$log" uml_console >"$guest/console.ktap" || true
docs+=("uml_console=$guest/console.ktap")

read -r passed failed skipped < <("$VA_ROOT/scripts/ktap.sh" count "$out" "${docs[@]}")

grep -v '^\[' "$out/results.txt" | sed 's/\x1b\[[0-9;]*m//g' >&2 || true
sed 's/\x1b\[[0-9;]*m//g' "$out/results.txt" | grep -E '\[(FAILED|CRASHED|ERROR)\]' >&2 || true
va_note "results: $out/results.txt, console: $log"
echo "$passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 && $passed -gt 0 ]]
