# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# $out, $kodir and $build come from va_e2e_env (scripts/lib.sh):
# shellcheck disable=SC2154
#
# scripts/e2e-lib.sh: what the host side of the end-to-end tests
# (tests/e2e/*.sh) shares.  Source it after scripts/lib.sh and call
# va_e2e_env first; the helpers use its $build, $kodir and $out.
#
#   va_e2e_snapshot [FILE...]     build tools/, copy FILEs (under tools/)
#                                 and the modules to $snap
#   va_e2e_boot DIR SECS MEM GUEST [PARAM...]
#                                 one UML boot, results in DIR
#   va_e2e_ktap [OPT...] DIR CASE...
#                                 the whole KTAP document of a one-boot test
#   va_e2e_subtest [OPT...] NAME DIR CASE...
#                                 one boot as a KTAP subtest
#
# A boot's init script (tests/e2e/guest/) writes DIR/results.tsv, one
# "STATUS<TAB>CASE<TAB>NOTE" line per case, and DIR/cases/CASE.log (see
# scripts/uml/e2e-guest.sh).

# va_e2e_snapshot_begin: an empty $snap ($out/snapshot), prep_ok=1.
# Copies of what the boots use, so that a rebuild meanwhile changes
# nothing.  On a failure, va_e2e_prep_failed sets prep_ok=0 and prep_note
# (reported instead of booting).
va_e2e_snapshot_begin() {
	snap=$out/snapshot
	rm -rf "$snap"
	mkdir -p "$snap"
	prep_ok=1
	prep_note=''
}

va_e2e_prep_failed() { # NOTE
	prep_ok=0
	prep_note=$1
}

# va_e2e_snapshot_modules: argo.ko and virtio_argo.ko from $kodir; returns
# 1 (and sets prep_ok=0) if they are missing.
va_e2e_snapshot_modules() {
	if ! cp "$kodir/argo.ko" "$kodir/virtio_argo.ko" "$snap/" 2>/dev/null; then
		va_e2e_prep_failed "argo.ko or virtio_argo.ko missing in $kodir"
		return 1
	fi
}

# va_e2e_snapshot [FILE...]: builds tools/ (make -C tools) and copies
# FILEs (paths under tools/, e.g. virtio-argo-backend/virtio-argo-backend)
# and the modules.  Never fails: see prep_ok.
va_e2e_snapshot() {
	local f srcs=()
	va_e2e_snapshot_begin
	for f in "$@"; do
		srcs+=("$VA_ROOT/tools/$f")
	done
	if ! make -s -C "$VA_ROOT/tools" >"$out/tools-build.log" 2>&1; then
		va_e2e_prep_failed "make -C tools failed (see $out/tools-build.log)"
	elif [[ $# -gt 0 ]] && ! cp "${srcs[@]}" "$snap/"; then
		va_e2e_prep_failed "missing in tools/: $*"
	else
		va_e2e_snapshot_modules || true
	fi
}

# va_e2e_boot DIR SECS MEM GUEST [PARAM...]: one boot of the debug UML
# kernel ($build), at most SECS seconds with MEM of memory, running
# tests/e2e/guest/GUEST as init with the kernel parameters PARAMs.  DIR is
# emptied first; it gets the results, console.log, uml-run.log,
# uml-run.status (uml-run.sh's exit status) and seconds.
va_e2e_boot() {
	local dir=$1 secs=$2 mem=$3 guest=$4 t0=$SECONDS rc=0
	shift 4
	rm -rf "${dir:?}"
	mkdir -p "$dir"
	"$VA_ROOT/scripts/uml-run.sh" -t "$secs" -m "$mem" "$build" \
		"$VA_ROOT/tests/e2e/guest/$guest" "$dir" "$@" \
		>"$dir/uml-run.log" 2>&1 || rc=$?
	echo "$rc" >"$dir/uml-run.status"
	echo "$((SECONDS - t0))" >"$dir/seconds"
}

# va_e2e_cases [--skip] [--worst] INDENT DIR CASE...: one KTAP line per
# CASE from DIR/results.tsv, then console_clean (scripts/console-check.sh
# on DIR/console.log), numbered from 1 and indented by INDENT.  A case
# without a result fails; so does a failed case, with the end of its log.
# --skip: a "skip" status is a KTAP SKIP (otherwise a failure).
# --worst: a case's first line not "ok" decides, not its first line.
# Returns 1 if anything failed.
va_e2e_cases() {
	local skip=0 worst=0 indent dir tsv n=0 bad=0 c line status note
	while [[ ${1-} == --* ]]; do
		case $1 in
		--skip) skip=1 ;;
		--worst) worst=1 ;;
		*) va_die "va_e2e_cases: unknown option $1" ;;
		esac
		shift
	done
	indent=$1 dir=$2
	shift 2
	tsv=$dir/results.tsv
	for c in "$@"; do
		n=$((n + 1))
		line=$(awk -F'\t' -v c="$c" '$2 == c { print; exit }' "$tsv" \
			2>/dev/null || true)
		if [[ -z $line ]]; then
			echo "$indent# $c: no result (log $dir/console.log)"
			echo "${indent}not ok $n $c"
			bad=1
			continue
		fi
		# With --worst a later "not ok" (e.g. a lost completion after
		# a variant that counted right) fails the case too.
		if [[ $worst -eq 1 ]] &&
			awk -F'\t' -v c="$c" '$2 == c && $1 != "ok" { f = 1 } END { exit !f }' \
				"$tsv"; then
			line=$(awk -F'\t' -v c="$c" '$2 == c && $1 != "ok" { print; exit }' \
				"$tsv")
		fi
		IFS=$'\t' read -r status _ note <<<"$line"
		note=${note//#/_}
		if [[ $status == ok ]]; then
			echo "$indent# $c: $note"
			echo "${indent}ok $n $c"
		elif [[ $status == skip && $skip -eq 1 ]]; then
			echo "${indent}ok $n $c # SKIP $note"
		else
			echo "$indent# $c: $note"
			[[ -f $dir/cases/$c.log ]] &&
				tail -n 15 "$dir/cases/$c.log" | tr -d '#' |
				sed "s/^/$indent# | /"
			echo "${indent}not ok $n $c"
			bad=1
		fi
	done
	n=$((n + 1))
	if [[ -f $dir/console.log ]] &&
		"$VA_ROOT/scripts/console-check.sh" "$dir/console.log" console \
			>"$dir/console.ktap"; then
		echo "${indent}ok $n console_clean"
	else
		grep '# report:' "$dir/console.ktap" 2>/dev/null | head -n 10 |
			sed "s/^ */$indent/" || true
		echo "${indent}not ok $n console_clean"
		bad=1
	fi
	return "$bad"
}

va_e2e_boot_note() { # DIR
	echo "boot took $(cat "$1/seconds" 2>/dev/null || echo '?') s, uml-run.sh exit $(cat "$1/uml-run.status" 2>/dev/null || echo '?')"
}

# va_e2e_ktap [OPT...] DIR CASE...: the KTAP document of a test of one
# boot (va_e2e_boot DIR ...): its cases and console_clean.  OPTs as for
# va_e2e_cases.  Returns 1 if anything failed.
va_e2e_ktap() {
	local opts=() dir
	while [[ ${1-} == --* ]]; do
		opts+=("$1")
		shift
	done
	dir=$1
	shift
	echo "KTAP version 1"
	echo "1..$(($# + 1))"
	if [[ $prep_ok -eq 1 ]]; then
		echo "# $(va_e2e_boot_note "$dir"); results in $out"
	else
		echo "# $prep_note"
	fi
	va_e2e_cases "${opts[@]}" "" "$dir" "$@"
}

# va_e2e_subtest [OPT...] NAME DIR CASE...: the same as the KTAP subtest
# NAME of a test of several boots; the caller prints the "ok N NAME" line.
va_e2e_subtest() {
	local opts=() name dir
	while [[ ${1-} == --* ]]; do
		opts+=("$1")
		shift
	done
	name=$1 dir=$2
	shift 2
	echo "    KTAP version 1"
	echo "    # Subtest: $name"
	echo "    1..$(($# + 1))"
	echo "    # $(va_e2e_boot_note "$dir")"
	va_e2e_cases "${opts[@]}" "    " "$dir" "$@"
}
