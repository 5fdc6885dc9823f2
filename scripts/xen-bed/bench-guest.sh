# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# scripts/xen-bed/bench-guest.sh: the domU's part of the block benchmark
# (scripts/xen-bed/bench.sh), run by the domU's init.  Finds the two disks
# (virtio-blk over Argo by its serial, Xen's blkfront as xvdb), runs each
# fio job on each, interleaved and repeated, and prints one line per run:
#
#   # bench: JOB DISK REP IOPS KIB_S LAT_MEAN_US LAT_MAX_US IOS TX_MSGS
#            TX_HYPERCALLS TX_EAGAIN RX_MSGS RESCUED
#
# the last five counters over the run (virtio-argo only; "-" for
# blkfront): the transport's DATA_REQ messages sent, send hypercalls
# (EAGAIN included), sends refused for a full ring, messages received, and
# the domU's space waits that argo.ko's poll ended (lost wake-ups).

# shellcheck source=scripts/xen-bed/lib.sh
. /xen-bed/lib.sh

ko=/xen-bed/ko
serial=bench-argo
secs=${xenbed_bench_secs:-10}
reps=${xenbed_bench_reps:-3}
# NAME:RW:BS:DEPTH
all_jobs=(
	seqread-1m-qd1:read:1m:1 seqread-1m-qd4:read:1m:4
	seqread-1m-qd16:read:1m:16
	seqwrite-1m-qd1:write:1m:1 seqwrite-1m-qd4:write:1m:4
	seqwrite-1m-qd16:write:1m:16
	randread-4k-qd1:randread:4k:1 randread-4k-qd4:randread:4k:4
	randread-4k-qd16:randread:4k:16
)
jobs=()
if [[ ${xenbed_bench_jobs:-all} == all ]]; then
	jobs=("${all_jobs[@]}")
else
	IFS=+ read -ra want <<<"$xenbed_bench_jobs"
	for j in "${all_jobs[@]}"; do
		for w in "${want[@]}"; do
			[[ ${j%%:*} == "$w" ]] && jobs+=("$j")
		done
	done
fi

argo_dev=''
find_argo() {
	local b
	for b in /sys/block/vd*; do
		[[ -e $b/serial && $(cat "$b/serial") == "$serial" ]] || continue
		argo_dev=/dev/${b##*/}
		return 0
	done
	return 1
}

disks() {
	insmod "$ko/argo.ko" || return 1
	modprobe -a virtio virtio_ring || return 1
	insmod "$ko/virtio_argo.ko" backend=0 || return 1
	modprobe -a virtio_blk xen-blkfront || return 1
	xb_wait 300 find_argo || return 1
	xb_wait 300 test -b /dev/xvdb || return 1
	echo "virtio-argo: $argo_dev $(blockdev --getsize64 "$argo_dev") bytes"
	echo "blkfront: /dev/xvdb $(blockdev --getsize64 /dev/xvdb) bytes"
	[[ $(blockdev --getsize64 "$argo_dev") -eq $(blockdev --getsize64 /dev/xvdb) ]]
}

# The transport's counters that say what a request cost.
counters() {
	local d f
	d=$(echo /sys/devices/platform/virtio-argo.*/stats)
	for f in tx_msgs tx_hypercalls tx_eagain rx_msgs; do
		printf '%s ' "$(cat "$d/$f")"
	done
	argo info | sed -n 's/^space waits ended by the poll: //p'
}

run() { # JOB DISK REP
	local name rw bs depth dev before after
	IFS=: read -r name rw bs depth <<<"$1"
	if [[ $2 == argo ]]; then
		dev=$argo_dev
		before=$(counters)
	else
		dev=/dev/xvdb
	fi
	fio --name="$name" --filename="$dev" --direct=1 --ioengine=libaio \
		--rw="$rw" --bs="$bs" --iodepth="$depth" --time_based \
		--runtime="$secs" --output-format=json >/tmp/fio.json 2>/tmp/fio.err || {
		xb_note "bench: $name on $2: fio failed: $(tail -n 3 /tmp/fio.err | tr '\n' ' ')"
		return 1
	}
	if [[ $2 == argo ]]; then
		after=$(counters)
	else
		before='0 0 0 0 0' after='- - - - -'
	fi
	python3 - /tmp/fio.json "$1" "$2" "$3" "$before" "$after" <<-'EOP'
		import json, sys
		path, job, disk, rep, before, after = sys.argv[1:]
		name, rw = job.split(":")[:2]
		with open(path) as f:
		    j = json.load(f)["jobs"][0]
		d = j["write" if rw == "write" else "read"]
		lat = d["lat_ns"]
		if after.startswith("-"):
		    c = "- - - - -"
		else:
		    c = " ".join(str(int(a) - int(b))
		                 for a, b in zip(after.split(), before.split()))
		print("%s %s %s %.1f %d %.0f %.0f %d %s" % (
		    name, disk, rep, d["iops"], d["bw"], lat["mean"] / 1000,
		    lat["max"] / 1000, d["total_ios"], c))
	EOP
}

bench() {
	local r j first second line
	for ((r = 1; r <= reps; r++)); do
		# Alternate which disk goes first, so that a drift in the
		# machine's load does not favour one side.
		if ((r % 2)); then
			first=argo second=xbd
		else
			first=xbd second=argo
		fi
		for j in "${jobs[@]}"; do
			for d in $first $second; do
				line=$(run "$j" "$d" "$r") || return 1
				xb_note "bench: $line"
			done
		done
	done
}

xb_note "bench: secs $secs reps $reps jobs ${#jobs[@]}"
if xb_case bench_disks disks; then
	xb_case bench_ran bench
fi
xb_end
