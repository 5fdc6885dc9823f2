#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/ktap.sh: merge KTAP documents and count their results with the
# kernel's own parser (tools/testing/kunit/kunit.py parse).
#
#   ktap.sh merge NAME=FILE ...       merged document on stdout
#   ktap.sh count OUTDIR NAME=FILE ...
#        merge into OUTDIR/NAME-less results.ktap, parse it into
#        OUTDIR/results.txt and OUTDIR/results.json, print
#        "PASSED FAILED SKIPPED" (failed includes crashed, and parse errors
#        if nothing else failed)
#   ktap.sh suite-from-console LOG SUITE
#        the KTAP of one KUnit suite as printed on a UML console
#
# Why merge: kunit.py reads concatenated documents only up to the first
# plan, so every document goes under one top-level plan, renumbered.
# A KUnit debugfs results file (plan 1..1, one suite) is spliced in as
# that suite; any other document (e.g. a flat one printed by a userspace
# test) is nested as a subtest named NAME.  A missing or empty FILE becomes
# a failed subtest NAME, never silence.

set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

merge() {
	local n=$# arg name file i=0
	echo "KTAP version 1"
	echo "1..$n"
	for arg in "$@"; do
		i=$((i + 1))
		name=${arg%%=*}
		file=${arg#*=}
		if [[ ! -s $file ]]; then
			echo "    # $name: no results (${file})"
			echo "not ok $i $name"
			continue
		fi
		tr -d '\r' <"$file" | awk -v num="$i" -v name="$name" '
		{ line[++nl] = $0 }
		/^(K?TAP version [0-9]+)$/ { next }
		/^1\.\.[0-9]+/ { plan = $0; sub(/^1\.\./, "", plan); plan += 0
				 haveplan = 1; next }
		/^(not )?ok [0-9]+/ { nres++; if ($0 ~ /^not ok/ &&
				 $0 !~ /# *SKIP/) bad = 1 }
		END {
			if (haveplan && plan == 1 && nres == 1) {
				# A KUnit suite document: splice, renumbered.
				for (k = 1; k <= nl; k++) {
					l = line[k]
					if (l ~ /^K?TAP version [0-9]+$/ || l ~ /^1\.\.[0-9]+/)
						continue
					if (l ~ /^(not )?ok [0-9]+/)
						sub(/ok [0-9]+/, "ok " num, l)
					print l
				}
				exit
			}
			# Anything else: nested as subtest "name".
			print "    KTAP version 1"
			print "    # Subtest: " name
			for (k = 1; k <= nl; k++) {
				if (line[k] ~ /^K?TAP version [0-9]+$/)
					continue
				print "    " line[k]
			}
			if (!haveplan || nres != plan)
				bad = 1
			print (bad ? "not ok " : "ok ") num " " name
		}'
	done
}

count() {
	local out=$1 rc=0 summary
	shift
	mkdir -p "$out"
	merge "$@" >"$out/results.ktap"
	python3 "$VA_SRC/tools/testing/kunit/kunit.py" parse \
		--json="$out/results.json" "$out/results.ktap" \
		>"$out/results.txt" 2>&1 || rc=$?
	summary=$(sed 's/\x1b\[[0-9;]*m//g' "$out/results.txt" |
		grep -Eo 'Ran [0-9]+ tests?:.*' | tail -n1 || true)
	awk -v s="$summary" -v rc="$rc" 'BEGIN {
		n = split(s, f, /[:,] */)
		for (k = 1; k < n; k++) v[f[k]] = f[k + 1] + 0
		# A parse error usually comes with the crashed test it is
		# about: count errors only when nothing else failed.
		failed = v["failed"] + v["crashed"]
		if (failed == 0)
			failed = v["errors"] + 0
		if (s == "" || (rc != 0 && failed == 0))
			failed++	# parser failure without a count
		print v["passed"] + 0, failed, v["skipped"] + 0
	}'
}

suite_from_console() {
	local log=$1 suite=$2
	tr -d '\r' <"$log" | awk -v suite="$suite" '
	/^    KTAP version [0-9]+$/ { hdr = $0; next }
	$0 == "    # Subtest: " suite { on = 1; print "KTAP version 1"
		print "1.." 1; print (hdr ? hdr : "    KTAP version 1"); print
		next }
	on && /^    +(KTAP version|# |1\.\.|ok |not ok )/ { print; next }
	on && $0 ~ ("^(not )?ok [0-9]+ " suite "$") { print; exit }
	{ hdr = "" }'
}

case ${1:-} in
merge)
	shift
	merge "$@"
	;;
count)
	shift
	[[ $# -ge 1 ]] || va_die "usage: ktap.sh count OUTDIR NAME=FILE..."
	va_ensure_src
	count "$@"
	;;
suite-from-console)
	[[ $# -eq 3 ]] || va_die "usage: ktap.sh suite-from-console LOG SUITE"
	suite_from_console "$2" "$3"
	;;
*)
	sed -n '4,14s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
	;;
esac
