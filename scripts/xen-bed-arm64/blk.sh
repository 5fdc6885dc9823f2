# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# scripts/xen-bed-arm64/blk.sh: the scenario "virtio-blk in dom0 alone" of
# the arm64 Xen test bed, run by dom0's init (scripts/xen-bed-arm64/init).
# Both ends in dom0, over the real hypervisor: virtio-argo-backend serves a
# 64 MiB image on tmpfs to frontend 0, and virtio_argo.ko backend=0 (with
# its control ring on a port of its own) in the same kernel finds its
# disk, to which the unmodified virtio_blk binds (its size and serial
# checked).  Data written and read back with and without
# O_DIRECT (4 KiB and 1 MiB blocks, at an offset), compared by SHA-256
# after the page cache is dropped; the transport unloaded (the disk goes),
# loaded again (the disk is back with the data), unloaded; the backend
# stopped with SIGTERM (exit status 0); argo.ko unloaded.  busybox's tools
# only (no mkfs.ext4, no fio in this initramfs).

# shellcheck source=scripts/xen-bed/lib.sh
. /xen-bed/lib.sh

ko=/xen-bed/ko
img=/run/blk.img
img_bytes=$((64 << 20))
serial=xenbed-arm64-blk

# Both ends in one domain: an Argo ring is named by (domain, port,
# partner), so the transport's control ring cannot be on the backend's
# port, VIRTIO_ARGO_PORT_CTRL (0x76a10000).  The transport sees that the
# backend is its own domain and takes 0x76a18000 by itself (its data
# rings follow it, clear of the backend's at 0x76a20000 + N); the backend
# learns the port from the transport's HELLO.  No ctrl_port here: this is
# the check that it does.
transport_args=(backend=0)

# ---- the backend ----

be_pid=''
backend_start() { # LOG
	virtio-argo-backend --log-level info \
		--blk "frontend=0,file=$img,serial=$serial" 2>"$1" &
	be_pid=$!
	# Serving, or dead.
	xb_wait 120 bash -c "grep -q 'info: serving 1 frontend' $1 || ! kill -0 $be_pid"
	cat "$1"
	grep -q 'info: serving 1 frontend' "$1" && kill -0 "$be_pid"
}

backend_stop() { # LOG
	kill -TERM "$be_pid"
	wait "$be_pid"
	local rc=$?
	be_pid=''
	echo "exit status $rc"
	tail -n 20 "$1"
	[[ $rc -eq 0 ]]
}

# shellcheck source=scripts/xen-bed-arm64/blk-lib.sh
. /xen-bed/blk-lib.sh

# The backend's image file holds what the disk was given.
read_image() {
	local want have
	want=$(sha256sum <"/run/pat-1m_direct" | cut -d' ' -f1)
	have=$(dd if="$img" bs=1048576 count=8 skip=4 2>/dev/null |
		sha256sum | cut -d' ' -f1)
	echo "written $want"
	echo "in $img $have"
	[[ -n $want && $want == "$have" ]]
}

# ---- the scenario ----

if ! grep -q '^argo ' /proc/modules; then
	xb_case blk_insmod_argo insmod "$ko/argo.ko"
fi
xb_case blk_image truncate -s "$img_bytes" "$img"
if xb_case blk_backend_start backend_start /tmp/backend.log; then
	if xb_case blk_transport_load transport_load; then
		xb_case blk_vda_size_serial disk_right
		xb_case blk_4k_direct write_read 4k_direct 4096 256 0 1
		xb_case blk_1m_direct write_read 1m_direct 1048576 8 4 1
		xb_case blk_4k_buffered write_read 4k_buffered 4096 512 8192 0
		xb_case blk_1m_buffered write_read 1m_buffered 1048576 16 32 0
		xb_case blk_transport_unload transport_unload
		xb_case blk_transport_reload transport_load
		xb_case blk_vda_after_reload disk_right
		xb_case blk_data_after_reload read_check 1m_direct 1048576 8 4
		xb_case blk_transport_unload_2 transport_unload
	fi
	xb_case blk_backend_sigterm backend_stop /tmp/backend.log
fi
xb_case blk_rmmod_argo rmmod argo
xb_check blk_image_has_the_data read_image
xb_end
