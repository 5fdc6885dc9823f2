#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/e2e/console.sh: virtio-console and virtio-rng end to end over
# virtio_argo, in the debug UML kernel with the loopback provider.
#
# The backend (tools/virtio-argo-backend) runs as virtual domain 0 and
# serves a virtio-console on a unix socket and a virtio-rng; virtio_argo.ko
# acts as domain 1 (16 KiB data rings on both sides) and the UML kernel's
# own, unmodified virtio_console and virtio_rng bind to them.  Inside
# (tests/e2e/guest/console.sh, one KTAP case per behaviour): hvc0 appears
# and virtio_rng becomes the current hwrng; /dev/hwrng gives random bytes;
# a line and a 1 MiB burst of every byte value sent by a client of the
# socket arrive on hvc0 (raw) unchanged; the backend accepted the protocol
# feature OUT_NOCOMP; a line and 1 MiB written to hvc0 reach the client
# unchanged, the transport having used every transmit buffer itself
# (stats/tx_early) with no completion from the backend; 1 MiB sent by the
# client comes back whole through an echo on hvc0, both ways at once; 1 MiB
# written to hvc0 in one unpaced write while the backend is stopped
# (SIGSTOP) for several seconds ends meanwhile, with a heartbeat process
# printing throughout, and once the backend goes on, what reaches the
# client is that output less exactly the bytes the transport counted as
# dropped (stats/tx_dropped_bytes), in order; a root login on hvc0 (agetty --autologin) runs a command the client types
# and its output comes back; everything unloads; the backend exits 0 on
# SIGTERM, with nothing logged above info, and removes its socket.  The
# console must be clean (scripts/console-check.sh).
#
# Output works because of OUT_NOCOMP: Linux's hvc console busy-waits,
# interrupts off, for the device to use each transmit buffer, and in this
# single-CPU kernel the backend, a process of the same kernel, never runs
# meanwhile; the transport uses the buffer itself once sent, or, when the
# backend's ring is full, once it has copied it to the device's backlog or
# dropped it (see Documentation/virtio-argo.rst, The backlog).  Where every
# byte must arrive, output is written 2 KiB at a time with pauses, so that
# the backend runs.
#
# Run by scripts/test.sh with VA_ROOT, VA_CACHE, VA_UML_DEBUG, VA_KODIR
# and VA_OUT in the environment; alone, it builds what it needs:
#
#   bash tests/e2e/console.sh        # results in a new temporary dir
#
# Prints one KTAP document; exits non-zero if a case failed.

set -euo pipefail
exec </dev/null

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
# shellcheck source=scripts/e2e-lib.sh
. "$VA_ROOT/scripts/e2e-lib.sh"

cases=(
	backend_serves_console_and_rng
	virtio_console_and_virtio_rng_bind
	hwrng_gives_random_bytes
	input_reaches_hvc0
	input_burst_larger_than_ring_reaches_hvc0
	backend_accepts_out_nocomp
	output_reaches_socket
	output_burst_larger_than_ring_reaches_socket
	output_buffers_used_by_transport
	both_ways_at_once
	unpaced_output_backend_stopped
	login_console_runs_a_command
	drivers_and_transport_unload
	backend_sigterm_exits_0
	backend_log_has_no_warnings
)

va_e2e_env console

va_e2e_snapshot virtio-argo-backend/virtio-argo-backend

if [[ $prep_ok -eq 1 ]]; then
	va_note "booting UML"
	va_e2e_boot "$out/guest" 400 512M console.sh \
		"va_console_e2e=1" "va_kodir=$snap" \
		"va_backend=$snap/virtio-argo-backend"
fi
va_e2e_ktap "$out/guest" "${cases[@]}"
