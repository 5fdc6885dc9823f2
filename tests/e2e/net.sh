#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/e2e/net.sh: virtio-net end to end over virtio_argo, in the debug
# UML kernel with the loopback provider.
#
# The backend (tools/virtio-argo-backend) runs as virtual domain 0 and
# serves three virtio-net devices: one for domain 1 and one for domain 2
# on its built-in switch, and one more for domain 1 on a tap it makes in
# its own network namespace.  virtio_argo.ko acts as domains 1 and 2 at
# once (domain=1,2) and the UML kernel's own, unmodified virtio_net binds
# to the devices.  Inside (tests/e2e/guest/net.sh, one KTAP case per
# behaviour), with each frontend's interfaces in a network namespace of
# its own so that frames can only go through Argo and the backend: the
# devices appear with their MACs, on their frontend's platform devices,
# and their links come up; pings both ways over the switch (IPv4 up to
# fragmented 8000-byte packets, IPv6); a TCP transfer each way between
# the two frontends with matching sha256 on both ends (100 MiB each,
# throughput in the note), and one more over IPv6; the tap comes up in
# the backend's namespace and domain 1 reaches an address there and is
# reached from it: pings, and a TCP transfer each way with matching
# sha256; through the backend's control socket a switch port's link goes
# down and comes back up in the frontend; deleting the tap takes its
# device's link down while the switch ports keep working; no malformed or
# stale message on any device or control channel, no interface errors,
# nothing malformed in the backend's own counters, nothing in its log
# above info but the tap's loss; the transport unloads and the backend
# exits 0 on SIGTERM.  The console must be clean
# (scripts/console-check.sh).  With a backend that has no control socket
# (--control) the two cases that need it are skipped.
#
# Run by scripts/test.sh with VA_ROOT, VA_CACHE, VA_UML_DEBUG, VA_KODIR
# and VA_OUT in the environment; alone, it builds what it needs:
#
#   bash tests/e2e/net.sh            # results in a new temporary dir
#
# VA_NET_MIB sets the MiB moved by each TCP transfer (default 100).
# Prints one KTAP document; exits non-zero if a case failed.

set -euo pipefail
exec </dev/null

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

# The cases the boot reports, in order (guest/net.sh).
cases=(
	backend_serves_two_frontends_and_a_tap
	virtio_net_binds_with_configured_macs
	links_up_in_namespaces
	switch_ping_both_ways
	switch_tcp_ns1_to_ns2_sha256
	switch_tcp_ns2_to_ns1_sha256
	switch_tcp_ipv6_ns1_to_ns2_sha256
	tap_up_in_backend_namespace
	tap_ping_both_ways
	tap_tcp_ns1_to_backend_sha256
	tap_tcp_backend_to_ns1_sha256
	link_down_up_at_run_time
	link_down_when_tap_goes
	counters_clean
	backend_counters_clean
	transport_unloads
	backend_sigterm_exits_0
	backend_log_clean
)

va_e2e_env net

# Copies of what the boot uses, so that a rebuild meanwhile changes
# nothing.
snap=$out/snapshot
rm -rf "$snap"
mkdir -p "$snap"
prep_ok=1
prep_note=''
if ! make -s -C "$VA_ROOT/tools" >"$out/tools-build.log" 2>&1; then
	prep_ok=0 prep_note="make -C tools failed (see $out/tools-build.log)"
elif ! cp "$VA_ROOT/tools/virtio-argo-backend/virtio-argo-backend" "$snap/"; then
	prep_ok=0 prep_note="no backend binary"
elif ! cp "$kodir/argo.ko" "$kodir/virtio_argo.ko" "$snap/" 2>/dev/null; then
	prep_ok=0 prep_note="argo.ko or virtio_argo.ko missing in $kodir"
fi

dir=$out/net
rm -rf "$dir"
mkdir -p "$dir"

# One UML boot; its results in $dir.
boot() {
	local t0=$SECONDS rc=0
	"$VA_ROOT/scripts/uml-run.sh" -t 600 -m 1G "$build" \
		"$VA_ROOT/tests/e2e/guest/net.sh" "$dir" \
		"va_kodir=$snap" "va_backend=$snap/virtio-argo-backend" \
		"va_net_mib=${VA_NET_MIB:-100}" >"$dir/uml-run.log" 2>&1 ||
		rc=$?
	echo "$rc" >"$dir/uml-run.status"
	echo "$((SECONDS - t0))" >"$dir/seconds"
}

# subtest CASE...: the KTAP subtest of the boot; every expected case that
# did not report is a failure, and so is a console with reports.
subtest() {
	local n=0 bad=0 c line status note
	local tsv=$dir/results.tsv
	echo "    KTAP version 1"
	echo "    # Subtest: net"
	echo "    1..$(($# + 1))"
	echo "    # boot took $(cat "$dir/seconds" 2>/dev/null || echo '?') s, uml-run.sh exit $(cat "$dir/uml-run.status" 2>/dev/null || echo '?')"
	for c in "$@"; do
		n=$((n + 1))
		line=$(awk -F'\t' -v c="$c" '$2 == c { print; exit }' "$tsv" 2>/dev/null || true)
		if [[ -z $line ]]; then
			echo "    # $c: no result (log $dir/console.log)"
			echo "    not ok $n $c"
			bad=1
			continue
		fi
		IFS=$'\t' read -r status _ note <<<"$line"
		note=${note//#/_}
		case $status in
		ok)
			echo "    # $c: $note"
			echo "    ok $n $c"
			;;
		skip)
			echo "    ok $n $c # SKIP $note"
			;;
		*)
			echo "    # $c: $note"
			[[ -f $dir/cases/$c.log ]] &&
				tail -n 15 "$dir/cases/$c.log" | tr -d '#' | sed 's/^/    # | /'
			echo "    not ok $n $c"
			bad=1
			;;
		esac
	done
	n=$((n + 1))
	if [[ -f $dir/console.log ]] &&
		"$VA_ROOT/scripts/console-check.sh" "$dir/console.log" console \
			>"$dir/console.ktap"; then
		echo "    ok $n console_clean"
	else
		grep '# report:' "$dir/console.ktap" 2>/dev/null | head -n 10 |
			sed 's/^ */    /' || true
		echo "    not ok $n console_clean"
		bad=1
	fi
	return "$bad"
}

echo "KTAP version 1"
echo "1..1"
rc=0
if [[ $prep_ok -eq 1 ]]; then
	va_note "booting UML"
	boot
else
	echo "# $prep_note"
fi
if subtest "${cases[@]}"; then
	echo "ok 1 net"
else
	echo "not ok 1 net"
	rc=1
fi
exit "$rc"
