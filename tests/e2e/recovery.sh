#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/e2e/recovery.sh: several frontends, and virtio_argo surviving the
# loss of either side, end to end in the debug UML kernel with the
# loopback provider.
#
# The backend (tools/virtio-argo-backend) runs as virtual domain 0 and
# serves frontend domains 1 and 2 two disks (serials f1d0, f1d1, f2d0,
# f2d1, images in tmpfs) and a virtio-rng each; virtio_argo.ko acts as
# both domains at once (domain=1,2 keepalive_ms=1000 timeout_ms=2000) and
# the kernel's own virtio_blk and virtio_rng bind to the six devices.
# Inside (tests/e2e/guest/recovery.sh, one KTAP case per behaviour):
#
#   several_frontends_*     the six devices appear (virtio-argo.0-2 and
#                           .256-258), both rngs read, fio with crc32c
#                           verification on the four disks at once
#   backend_sigkill_*       SIGKILL the backend under fio (qd 16, a disk
#                           of each domain): every job ends with EIO
#                           within 10 s, every device reads "lost", the
#                           kernel logs "backend domain 0 gone" for both
#   backend_restart_*       start it again: every device live and every
#                           disk there within 20 s, fio verifies on the
#                           four disks, both rngs read
#   durability_*            ext4 with files synced (syncfs + fsync), more
#                           written with fsync, SIGKILL: the writes fail
#                           within 10 s, the file system unmounts (lazily
#                           if need be), the backend again, e2fsck -fy
#                           then e2fsck -fn clean, every synced file there
#                           with its checksum
#   quick_restart_*         SIGKILL and start the backend at once while
#                           idle: I/O works again within 30 s, fio
#                           verifies
#   hung_backend_*          SIGSTOP under fio: the requests fail within
#                           10 s (2 * keepalive_ms + timeout_ms = 4 s, and
#                           margin), every device "lost"; SIGCONT: the
#                           devices come back within 20 s and work
#   rmmod_under_io_*        rmmod virtio_argo under fio on the four disks:
#                           done within 60 s, fio fails, no kernel report,
#                           the backend keeps running and logs every
#                           device detached and both frontends gone;
#                           loaded again, fio verifies
#   forged_handles_refused  domain 3 (an rng of its own) names the
#                           devices of domains 1 and 2 in every device
#                           request through /dev/argo: each is refused
#                           with NODEV and logged as an unknown handle, a
#                           forged DATA_REQ on its own ring is dropped,
#                           another data ring is refused by the
#                           hypervisor; domains 1 and 2 see nothing
#   load_unload_*           20 loads and unloads; nothing left behind
#                           (devices, module, the argo modules' vmalloc
#                           areas exactly, slab within 8 MiB), counted
#                           once the backend, asked through its control
#                           socket (virtio-argo-ctl list), is done with
#                           the frontends gone
#   backend_sigterm_exits_0
#   console_clean           scripts/console-check.sh on the boot's console
#
# Run by scripts/test.sh with VA_ROOT, VA_CACHE, VA_UML_DEBUG, VA_KODIR
# and VA_OUT in the environment; alone, it builds what it needs:
#
#   bash tests/e2e/recovery.sh       # results in a new temporary dir
#
# Prints one KTAP document; exits non-zero if a case failed.

set -euo pipefail
exec </dev/null

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
# shellcheck source=scripts/e2e-lib.sh
. "$VA_ROOT/scripts/e2e-lib.sh"

# The cases the boot reports, in order (guest/recovery.sh).
cases=(
	several_frontends_devices_appear
	several_frontends_hwrng_reads
	several_frontends_fio_4_disks_crc32c_verified
	backend_sigkill_fio_fails_promptly
	backend_sigkill_devices_lost
	backend_restart_devices_back
	backend_restart_fio_4_disks_crc32c_verified
	backend_restart_hwrng_reads
	durability_ext4_files_synced
	durability_sigkill_fails_writes_promptly
	durability_umount_after_loss
	durability_e2fsck_clean_after_restart
	durability_synced_files_intact
	quick_restart_io_works_again
	hung_backend_requests_fail_promptly
	hung_backend_sigcont_devices_back
	rmmod_under_io_completes
	rmmod_under_io_fio_fails
	rmmod_under_io_backend_keeps_serving
	rmmod_reload_fio_4_disks_crc32c_verified
	forged_handles_refused
	load_unload_20_times
	load_unload_leaves_nothing
	backend_sigterm_exits_0
)

va_e2e_env recovery

va_e2e_snapshot virtio-argo-backend/virtio-argo-backend \
	virtio-argo-backend/ctl/virtio-argo-ctl

if [[ $prep_ok -eq 1 ]]; then
	va_note "booting UML"
	va_e2e_boot "$out/guest" 1500 1G recovery.sh \
		va_recovery=1 "va_kodir=$snap" \
		"va_backend=$snap/virtio-argo-backend" \
		"va_ctl=$snap/virtio-argo-ctl"
fi
va_e2e_ktap "$out/guest" "${cases[@]}"
