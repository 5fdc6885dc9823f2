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
#                           disk there within 10 s, fio verifies on the
#                           four disks, both rngs read
#   durability_*            ext4 with files synced (syncfs + fsync), more
#                           written with fsync, SIGKILL: the writes fail
#                           within 10 s, the file system unmounts (lazily
#                           if need be), the backend again, e2fsck -fy
#                           then e2fsck -fn clean, every synced file there
#                           with its checksum
#   quick_restart_*         SIGKILL and start the backend at once while
#                           idle: I/O works again within 15 s
#   hung_backend_*          SIGSTOP under fio: the requests fail within
#                           10 s (2 * keepalive_ms + timeout_ms = 4 s, and
#                           margin), every device "lost"; SIGCONT: the
#                           devices come back within 10 s and work
#   rmmod_under_io_*        rmmod virtio_argo under fio on the four disks:
#                           done within 15 s, fio fails, no kernel report,
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
#                           areas exactly, slab within 8 MiB)
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

t0=$SECONDS
rc=0
if [[ $prep_ok -eq 1 ]]; then
	va_note "booting UML"
	rm -rf "${out:?}/guest"
	"$VA_ROOT/scripts/uml-run.sh" -t 480 -m 1G "$build" \
		"$VA_ROOT/tests/e2e/guest/recovery.sh" "$out/guest" \
		va_recovery=1 "va_kodir=$snap" \
		"va_backend=$snap/virtio-argo-backend" \
		>"$out/uml-run.log" 2>&1 || rc=$?
fi
secs=$((SECONDS - t0))

tsv=$out/guest/results.tsv
echo "KTAP version 1"
echo "1..$((${#cases[@]} + 1))"
if [[ $prep_ok -eq 1 ]]; then
	echo "# boot took $secs s, uml-run.sh exit $rc; results in $out"
else
	echo "# $prep_note"
fi
bad=0
n=0
for c in "${cases[@]}"; do
	n=$((n + 1))
	line=$(awk -F'\t' -v c="$c" '$2 == c { print; exit }' "$tsv" \
		2>/dev/null || true)
	if [[ -z $line ]]; then
		echo "# $c: no result (log $out/guest/console.log)"
		echo "not ok $n $c"
		bad=1
		continue
	fi
	IFS=$'\t' read -r status _ note <<<"$line"
	echo "# $c: ${note//#/_}"
	if [[ $status == ok ]]; then
		echo "ok $n $c"
	else
		[[ -f $out/guest/cases/$c.log ]] &&
			tail -n 15 "$out/guest/cases/$c.log" | tr -d '#' |
			sed 's/^/# | /'
		echo "not ok $n $c"
		bad=1
	fi
done
n=$((n + 1))
if [[ -f $out/guest/console.log ]] &&
	"$VA_ROOT/scripts/console-check.sh" "$out/guest/console.log" console \
		>"$out/console.ktap"; then
	echo "ok $n console_clean"
else
	grep '# report:' "$out/console.ktap" 2>/dev/null | head -n 10 |
		sed 's/^ *//' || true
	echo "not ok $n console_clean"
	bad=1
fi
exit "$bad"
