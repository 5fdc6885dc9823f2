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
# shellcheck source=scripts/e2e-lib.sh
. "$VA_ROOT/scripts/e2e-lib.sh"

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

va_e2e_snapshot virtio-argo-backend/virtio-argo-backend
dir=$out/net

echo "KTAP version 1"
echo "1..1"
rc=0
if [[ $prep_ok -eq 1 ]]; then
	va_note "booting UML"
	va_e2e_boot "$dir" 1200 1G net.sh "va_kodir=$snap" \
		"va_backend=$snap/virtio-argo-backend" \
		"va_net_mib=${VA_NET_MIB:-100}"
else
	echo "# $prep_note"
fi
if va_e2e_subtest --skip net "$dir" "${cases[@]}"; then
	echo "ok 1 net"
else
	echo "not ok 1 net"
	rc=1
fi
exit "$rc"
