# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# scripts/xen-bed/domu-lib.sh: dom0's side of the scenarios that create a
# PV domU (domu.sh, bench.sh).  Sourced after lib.sh, never run.  The
# sourcing scenario sets domu_name first.
#
#   relay_start           the domU's console into dom0's kernel log, line by
#                         line, prefixed "domu-console: "
#   relay_drain           after the domain is gone: every line relayed
#   domain_alive          the domU still exists
#   wait_sync WHAT SECS   wait for the domU's line "# sync: WHAT"
#   load                  cases insmod_argo, dev_argo
#   domu_create CFG       xl create -p (paused) from the file CFG
#   domu_gone [SECS]      the domU powered itself off after its last line
#                         (waited for at most SECS, default 1800)
#   pong_start, pong_stop dom0's argo pong for the domU only, on $port with
#                         a $pong_ring ring; it must have served $count
#                         requests of each of $sizes
#   ping_case SIZE        cases ping_domu_SIZE(_no_loss): $count pings of
#                         SIZE bytes to the domU's pong on $domu_port

# The sourcing scenario sets the variables named above.
# shellcheck disable=SC2154
: "${domu_name:?domu-lib.sh: set domu_name first}"
glog=/var/log/xen/console/guest-$domu_name.log
ko=/xen-bed/ko
# The domU's kernel and initramfs, for the scenario's xl configuration.
# shellcheck disable=SC2034
dd=/xen-bed/domu

relay_start() {
	# tail -F waits for the file, which xenconsoled opens when the
	# domain's console appears.
	# One write per line to /dev/kmsg (mawk, unbuffered).
	tail -F -n +1 "$glog" 2>/dev/null |
		awk -W interactive '{
			sub(/\r$/, "")
			print "<5>domu-console: " $0 >"/dev/kmsg"
			fflush("/dev/kmsg")
			print >>"/tmp/domu-console.log"
			fflush("/tmp/domu-console.log")
		}' &
}

relay_drain() {
	xb_wait 120 bash -c "[[ \$(wc -l <$glog) -le \$(wc -l </tmp/domu-console.log) ]]" || {
		echo "the relay is behind: $(wc -l <"$glog") lines logged, $(wc -l </tmp/domu-console.log) relayed"
		return 1
	}
	echo "$(wc -l </tmp/domu-console.log) lines of the domU's console relayed"
}

domain_alive() {
	xl domid "$domu_name" >/dev/null 2>&1
}

# At most SECS and not after the domain is gone.
wait_sync() { # WHAT SECS
	local end=$(($(xb_now) + $2))
	until grep -qF "xen-bed: # sync: $1" "$glog" 2>/dev/null; do
		if ! domain_alive || [[ $(xb_now) -ge $end ]]; then
			xb_note "no '# sync: $1' from the domU"
			return 1
		fi
		sleep 0.2
	done
}

load() {
	xb_case insmod_argo insmod "$ko/argo.ko" &&
		xb_check dev_argo test -c /dev/argo
}

domu_create() { # CFG
	cat "$1"
	xl create -p "$1" || return 1
	xl list
	xl domid "$domu_name" && xl vcpu-list "$domu_name"
}

# The domain goes away by itself, after the domU said it was over.
domu_gone() { # [SECS]
	xb_wait "${1:-1800}" bash -c "! xl domid $domu_name" || {
		xl list
		return 1
	}
	grep -q 'xen-bed: # domu over' "$glog"
}

# ---- argo, dom0's side ----

pong_pid=''
pong_start() {
	argo pong --port "$port" --partner "$domid" --ring-size "$pong_ring" -q \
		>/tmp/pong.log 2>&1 &
	pong_pid=$!
	xb_wait 120 grep -q '^pong: serving' /tmp/pong.log || {
		cat /tmp/pong.log
		return 1
	}
	cat /tmp/pong.log
	# The ring names its partner: not "any".
	grep -q "(partner $domid)" /tmp/pong.log
}

pong_stop() {
	[[ -n $pong_pid ]] || return 0
	kill -TERM "$pong_pid"
	wait "$pong_pid"
	local rc=$?
	pong_pid=''
	cat /tmp/pong.log
	[[ $rc -eq 0 ]] &&
		grep -q "^pong: $((count * ${#sizes[@]})) requests served" /tmp/pong.log
}

ping() { # SIZE
	argo ping --to "$domid:$domu_port" --size "$1" -c "$count" -i 0.1 -W 60
}

ping_case() { # SIZE
	local n=ping_domu_$1
	xb_case "$n" ping "$1" &&
		xb_check "${n}_no_loss" grep -q \
			"^$count transmitted, $count received, 0% loss, 0 errors" \
			"/tmp/cases/$n.log"
}
