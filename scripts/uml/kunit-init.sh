# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# scripts/uml/kunit-init.sh: init script for scripts/run-kunit.sh, run inside
# UML by scripts/uml-run.sh.  Loads argo.ko (loopback provider), loads each
# KUnit module (its suites run at load), copies each suite's debugfs results,
# unloads it, runs the userspace tests tests/user/*_test, unloads argo.ko.
# It only records; the host judges.  Layout of $va_result:
#
#   harness.tsv              STEP<TAB>STATUS<TAB>DETAIL, one line per action
#   kunit/MODULE.suites      suites that appeared when MODULE was loaded
#   kunit/SUITE.ktap         /sys/kernel/debug/kunit/SUITE/results
#   user/NAME.ktap, .err     stdout and stderr of tests/user/NAME
#   user/NAME.rc             its exit status
#
# Environment: va_kodir (where argo.ko and tests/kunit/*.ko are),
# va_usertests (dir of *_test programs, may be empty), va_user_timeout.

# shellcheck source=scripts/uml/init-common.sh
. "${va_root:?}/scripts/uml/init-common.sh"
set -uo pipefail

out=${va_result:?}
kodir=${va_kodir:?}
kunitfs=/sys/kernel/debug/kunit
mkdir -p "$out/kunit" "$out/user"
: >"$out/harness.tsv"

step() { # STEP STATUS DETAIL
	printf '%s\t%s\t%s\n' "$1" "$2" "${3:-}" >>"$out/harness.tsv"
	echo "va-kunit: $1: $2 ${3:-}"
}

suites() {
	find "$kunitfs" -mindepth 1 -maxdepth 1 -printf "%f\n" 2>/dev/null | sort
}

if ! insmod "$kodir/argo.ko" provider=loopback 2>"$out/insmod-argo.err"; then
	step "insmod argo.ko provider=loopback" fail "$(tr '\n' ' ' <"$out/insmod-argo.err")"
	# Nothing else can work; the host reports the missing results.
	exit 0
fi
step "insmod argo.ko provider=loopback" ok

for ko in "$kodir"/tests/kunit/*_kunit.ko; do
	[[ -f $ko ]] || continue
	mod=$(basename "$ko" .ko)
	before=$(suites)
	if ! insmod "$ko" 2>"$out/kunit/$mod.err"; then
		step "insmod $mod" fail "$(tr '\n' ' ' <"$out/kunit/$mod.err")"
		continue
	fi
	step "insmod $mod" ok
	comm -13 <(echo "$before") <(suites) >"$out/kunit/$mod.suites"
	while read -r s; do
		[[ -n $s ]] || continue
		cp "$kunitfs/$s/results" "$out/kunit/$s.ktap" ||
			step "results of $s" fail "cannot read $kunitfs/$s/results"
	done <"$out/kunit/$mod.suites"
	if rmmod "$mod" 2>"$out/kunit/$mod.rmmod.err"; then
		step "rmmod $mod" ok
	else
		step "rmmod $mod" fail "$(tr '\n' ' ' <"$out/kunit/$mod.rmmod.err")"
	fi
done

if [[ -n ${va_usertests:-} && -d $va_usertests ]]; then
	for t in "$va_usertests"/*_test; do
		[[ -f $t && -x $t ]] || continue
		name=$(basename "$t")
		echo "va-kunit: running $t"
		rc=0
		(cd /tmp && timeout -k 5 "${va_user_timeout:-120}" "$t") \
			>"$out/user/$name.ktap" 2>"$out/user/$name.err" || rc=$?
		echo "$rc" >"$out/user/$name.rc"
		step "run $name" "$([[ $rc -eq 0 ]] && echo ok || echo fail)" "exit $rc"
	done
fi

if rmmod argo 2>"$out/rmmod-argo.err"; then
	step "rmmod argo" ok
else
	step "rmmod argo" fail "$(tr '\n' ' ' <"$out/rmmod-argo.err")"
fi
echo "done" >"$out/kunit-init.done"
