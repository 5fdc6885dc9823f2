#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/e2e/hotplug.sh: devices added to and removed from a running
# backend, end to end over virtio_argo, in the debug UML kernel with the
# loopback provider.
#
# The backend (tools/virtio-argo-backend) runs as virtual domain 0 with a
# control socket (--control) and a configuration file (--config), serving
# two disks to domain 1, where virtio_argo.ko and the UML kernel's own,
# unmodified virtio_blk use them.  Inside (tests/e2e/guest/hotplug.sh, one
# KTAP case per behaviour), while fio writes and verifies disk A:
# virtio-argo-ctl adds a third disk, which appears and passes fio's
# verification; removing disk B under fio (1 MiB writes over a 16 KiB
# ring, so that one is being received) fails fio with I/O errors and the
# disk disappears (virtio_blk unbinds); disk A's fio passes; B added again
# takes index 1 again and works; SIGHUP with a disk new in the file adds
# it, a file with an error changes nothing, SIGHUP with the disk gone from
# the file removes it under fio (which fails); the transport unloaded, the
# backend
# finds its frontend gone, and serves it again when it is loaded; SIGTERM
# ends the backend with status 0 and the guest sees every device removed
# by the backend at once; nothing above info in the backend's log but the
# rejected file's lines.  The console must be clean
# (scripts/console-check.sh).
#
# Run by scripts/test.sh with VA_ROOT, VA_CACHE, VA_UML_DEBUG, VA_KODIR
# and VA_OUT in the environment; alone, it builds what it needs:
#
#   bash tests/e2e/hotplug.sh        # results in a new temporary dir
#
# Prints one KTAP document; exits non-zero if a case failed.

set -euo pipefail
exec </dev/null

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
# shellcheck source=scripts/e2e-lib.sh
. "$VA_ROOT/scripts/e2e-lib.sh"

cases=(
	backend_serves_control_socket
	two_disks_appear
	fio_runs_on_disk_a
	added_disk_appears
	added_disk_passes_fio_verify
	removed_disk_fails_fio_with_io_errors
	removed_disk_disappears
	disk_a_unaffected_fio_verify_passes
	readded_at_same_index_works
	config_reload_adds_disk
	config_with_error_rejected
	config_reload_removes_disk_under_fio
	frontend_gone_and_back
	backend_sigterm_removes_devices
	transport_unloads
	backend_log_has_no_warnings
)

va_e2e_env hotplug

va_e2e_snapshot virtio-argo-backend/virtio-argo-backend \
	virtio-argo-backend/ctl/virtio-argo-ctl

if [[ $prep_ok -eq 1 ]]; then
	va_note "booting UML"
	va_e2e_boot "$out/guest" 1200 1G hotplug.sh \
		"va_hotplug_e2e=1" "va_kodir=$snap" \
		"va_backend=$snap/virtio-argo-backend" \
		"va_ctl=$snap/virtio-argo-ctl"
fi
va_e2e_ktap "$out/guest" "${cases[@]}"
