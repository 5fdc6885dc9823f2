#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/e2e/blk.sh: virtio-blk end to end over virtio_argo, in the debug
# UML kernel with the loopback provider.
#
# The backend (tools/virtio-argo-backend) runs as virtual domain 0 and
# serves two images from tmpfs, one read-only; virtio_argo.ko acts as
# domain 1 and the UML kernel's own, unmodified virtio_blk binds to the
# disks.  Inside (tests/e2e/guest/blk.sh, one KTAP case per behaviour):
# the disks appear with the images' sizes; ext4 with files of many sizes
# read back after drop_caches and after a remount, e2fsck -fn clean; fio
# with crc32c verification (sequential and random, 512 B to 1 MiB, queue
# depths 1 to 64); discard punches holes, write-zeroes reads back zeros;
# the read-only disk refuses writes and reads its image; the transport's
# counters agree; the transport unloads; the backend exits 0 on SIGTERM,
# with nothing logged above info.  Then a second backend is stopped with
# SIGTERM under fio while the transport waits for space on its ring: it
# exits 0, fio ends with I/O errors within 40 s, the transport says the
# device is lost, a later read fails promptly and the transport unloads
# (backend_gone_*).  With the small rings, the same with SIGKILL and the
# transport's keepalive slowed to a minute, which only the argo core's
# poll of blocked senders can end in time (backend_killed_*).
#
# All of it runs twice, in two boots: "default" (default ring sizes) and
# "small" (16 KiB rings, the protocol's minimum, on both sides, so that
# sends meet a full ring all the time; the transport's tx_eagain counter
# must show it).  Each boot's console must be clean
# (scripts/console-check.sh).
#
# Run by scripts/test.sh with VA_ROOT, VA_CACHE, VA_UML_DEBUG, VA_KODIR
# and VA_OUT in the environment; alone, it builds what it needs:
#
#   bash tests/e2e/blk.sh            # results in a new temporary dir
#
# VA_FIO_SCALE multiplies the fio sizes (default 1).  Prints one KTAP
# document; exits non-zero if a case failed.

set -euo pipefail
exec </dev/null

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
# shellcheck source=scripts/e2e-lib.sh
. "$VA_ROOT/scripts/e2e-lib.sh"

# The cases each boot reports, in order (guest/blk.sh).
cases_common=(
	backend_serves_two_disks
	virtio_blk_binds_unmodified
	ext4_files_read_back_after_drop_caches
	e2fsck_clean_after_umount
	ext4_files_read_back_after_remount
	fio_write_512b_qd1_crc32c_verified
	fio_randwrite_4k_qd8_crc32c_verified
	fio_randrw_64k_qd64_crc32c_verified
	fio_write_1m_qd8_crc32c_verified
	fio_randwrite_1m_qd64_crc32c_verified
	fio_randwrite_512b_to_1m_qd64_crc32c_verified
	fio_4_jobs_randrw_512b_to_256k_qd16_crc32c_verified
	discard_punches_holes_and_reads_zeros
	write_zeroes_reads_zeros
	readonly_disk_refuses_writes
	readonly_disk_reads_its_image
	counters_consistent
)
cases_end=(
	transport_unloads
	backend_sigterm_exits_0
	backend_log_has_no_warnings
	backend_gone_fio_running
	backend_gone_sigterm_exits_0
	backend_gone_fio_fails_promptly
	backend_gone_transport_reports_lost
	backend_gone_read_fails_promptly
	backend_gone_transport_unloads
)
cases_killed=(
	backend_killed_fio_running
	backend_killed_fio_fails_promptly
	backend_killed_transport_reports_lost
	backend_killed_read_fails_promptly
	backend_killed_transport_unloads
)

va_e2e_env blk

va_e2e_snapshot virtio-argo-backend/virtio-argo-backend

echo "KTAP version 1"
echo "1..2"
rc=0
i=0
for mode in default small; do
	i=$((i + 1))
	cases=("${cases_common[@]}")
	[[ $mode == small ]] && cases+=(small_ring_sends_wait_for_space)
	cases+=("${cases_end[@]}")
	[[ $mode == small ]] && cases+=("${cases_killed[@]}")
	if [[ $prep_ok -eq 1 ]]; then
		va_note "booting UML: $mode rings"
		va_e2e_boot "$out/$mode" 900 1G blk.sh "va_blk_mode=$mode" \
			"va_kodir=$snap" "va_backend=$snap/virtio-argo-backend" \
			"va_fio_scale=${VA_FIO_SCALE:-1}"
	else
		mkdir -p "$out/$mode"
		echo "# $prep_note"
	fi
	if va_e2e_subtest "blk_$mode" "$out/$mode" "${cases[@]}"; then
		echo "ok $i blk_$mode"
	else
		echo "not ok $i blk_$mode"
		rc=1
	fi
done
exit "$rc"
