#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/e2e/hostile.sh: virtio_argo survives a hostile backend, end to end,
# in the debug UML kernel with the loopback provider.
#
# tests/e2e/hostile_backend (built here from hostile_backend.c with
# libargo) runs as virtual domain 0 and serves one fake virtio-rng device;
# virtio_argo.ko acts as domain 1 and the kernel's own virtio_rng binds to
# it.  Every control reply comes with decoys (unknown tag, another type,
# the reply twice); every request of the driver is answered first by one
# hostile variant (malformed completions of every kind, completions of an
# old session or for chains not in flight, garbage and oversized messages
# on the control ring, a third domain trying the rings) and then by a
# valid completion.  Malformed messages carry poison bytes, valid ones
# letters only.  Inside (tests/e2e/guest/hostile.sh):
#
#   backend_ready, transport_takes_only_matching_replies, virtio_rng_binds
#   config_read_after_attach   (the backend's) the transport read the whole
#                              configuration space again (CONFIG_READ)
#                              after ATTACH, before the driver started
#   config_read_answered       and logged no error about it
#   ev_config_before_registration_not_counted
#                              (the backend's) an EV_CONFIG sent before
#                              ATTACH's reply, the device not registered
#                              yet, was counted nowhere
#   one case per variant (hostile_backend --list), reported by the backend:
#     the transport's counters (the device's malformed, stale, messages
#     received, chains and bytes completed; the control channel's
#     ctrl_malformed and ctrl_stale) moved by exactly what the protocol
#     says for what it sent, and the valid completion after it was taken
#   hwrng_reads_complete       every read of /dev/hwrng finished (no lost
#                              completion), until every variant had run
#   hwrng_never_returns_poison every byte read is one of 'A'..'Z' (what
#                              userspace reads; the hwrng kthread takes
#                              some into the entropy pool: the exact
#                              rx_bytes and rx_chains of every case are
#                              the proof that no poison was applied)
#   counters_match_backend     the totals equal the backend's (the decoy
#                              replies included: each one is ctrl_stale)
#   device_survives            never broken or lost; chains sent = done
#   virtio_rng_unbinds, transport_unloads, backend_sigterm_exits_0
#
# Then three scenarios, each a backend of its own (hostile_backend
# --scenario: honest virtio-rng and virtio-blk RAM disks behind the same
# decoys, each misbehaving in one way) and the transport loaded again:
#
#   config  ev_config_before_registration_reaches_driver: an EV_CONFIG
#           sent before ATTACH's reply reaches virtio_blk (the disk's
#           size and its "new size" notice), and an older CONFIG_READ
#           reply does not take it back
#           ev_config_before_publish_covered_by_config_read: one sent right
#           after DEV_INFO's reply too, through CONFIG_READ
#           data_ring_over_hypervisor_limit_io_works: DEV_INFO states a
#           1 MiB data ring over a 16 KiB one: 64 KiB O_DIRECT writes and
#           reads go through, and the transport warns
#   readd   dev_removed_and_added_again: EV_DEV_REMOVED and EV_DEV_ADDED of
#           index 0 while the transport adds another device, then again
#           right after the new device's ATTACH: device 0 comes back and
#           /dev/hwrng reads from it
#   many    timeout_ms_bounds: 0, 50, 700000 refused (insmod and sysfs,
#           EINVAL), 100, 600000, 2000 taken
#           refusal_longer_than_reply_buffer: a 64-byte refusal of ATTACH
#           is -EIO, not a malformed reply
#           rmmod_dead_backend_one_timeout: with the backend stopped
#           (SIGSTOP) and three devices, rmmod takes one timeout_ms
#   scenario_backends_exit_0   no malformed request reached them
#   console_clean              scripts/console-check.sh: no oops, KASAN,
#                              UBSAN, lockdep or WARNING
#
# Run by scripts/test.sh with VA_ROOT, VA_CACHE, VA_UML_DEBUG, VA_KODIR and
# VA_OUT in the environment; alone, it builds what it needs:
#
#   bash tests/e2e/hostile.sh        # results in a new temporary dir
#
# Prints one KTAP document; exits non-zero if a case failed.

set -euo pipefail
exec </dev/null

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
# shellcheck source=scripts/e2e-lib.sh
. "$VA_ROOT/scripts/e2e-lib.sh"

cases_pre=(
	backend_ready
	transport_takes_only_matching_replies
	config_read_after_attach
	config_read_answered
	virtio_rng_binds
	ev_config_before_registration_not_counted
)
cases_post=(
	hwrng_reads_complete
	hwrng_never_returns_poison
	counters_match_backend
	device_survives
	virtio_rng_unbinds
	transport_unloads
	backend_sigterm_exits_0
	ev_config_before_registration_reaches_driver
	ev_config_before_publish_covered_by_config_read
	data_ring_over_hypervisor_limit_io_works
	dev_removed_and_added_again
	timeout_ms_bounds
	refusal_longer_than_reply_buffer
	rmmod_dead_backend_one_timeout
	scenario_backends_exit_0
)

va_e2e_env hostile

va_e2e_snapshot_begin
variants=()
if ! make -s -C "$VA_ROOT/tools" lib/libargo.a >"$out/build.log" 2>&1; then
	va_e2e_prep_failed "make -C tools lib/libargo.a failed (see $out/build.log)"
elif ! gcc -O2 -g -Wall -Wextra -Werror -std=gnu11 \
	-I"$VA_ROOT/include/uapi" -I"$VA_ROOT/tools/lib" \
	-o "$snap/hostile_backend" "$VA_ROOT/tests/e2e/hostile_backend.c" \
	"$VA_ROOT/tools/lib/libargo.a" >>"$out/build.log" 2>&1; then
	va_e2e_prep_failed "hostile_backend.c did not build (see $out/build.log)"
elif va_e2e_snapshot_modules; then
	mapfile -t variants < <("$snap/hostile_backend" --list)
fi
cases=("${cases_pre[@]}" "${variants[@]}" "${cases_post[@]}")

if [[ $prep_ok -eq 1 ]]; then
	va_note "booting UML"
	va_e2e_boot "$out/guest" 900 512M hostile.sh \
		"va_kodir=$snap" "va_hostile=$snap/hostile_backend"
fi
va_e2e_ktap --worst "$out/guest" "${cases[@]}"
