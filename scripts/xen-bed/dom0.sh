# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# scripts/xen-bed/dom0.sh: the scenario "dom0 alone" of the Xen test bed,
# run by dom0's init (scripts/xen-bed/init).  argo.ko on the real
# hypervisor: it loads with the xen provider, `argo info` says so, `argo
# ping` reaches dom0 itself at sizes from 16 B to 1 MiB, and argo.ko
# unloads and loads again twice, pinging each time.  The host checks the
# console of Xen and of dom0 afterwards.

# shellcheck source=scripts/xen-bed/lib.sh
. /xen-bed/lib.sh

ko=/xen-bed/ko
port=7000
# pong's ring: room for the largest request (1 MiB) several times over.
pong_ring=4194304
sizes=(16 56 4096 65536 1048576)
loads=0

# The provider's line in dmesg, once per load so far.
enabled_lines() {
	local n
	n=$(dmesg | grep -c 'argo: Xen Argo is enabled (domid 0)')
	echo "Xen Argo is enabled: $n line(s), $loads load(s)"
	[[ $n -eq $loads ]]
}

load() { # SUFFIX
	xb_case "insmod_argo$1" insmod "$ko/argo.ko" || return 1
	loads=$((loads + 1))
	xb_case "xen_argo_enabled$1" enabled_lines
	xb_check "dev_argo$1" test -c /dev/argo
}

info() { # SUFFIX
	local log=/tmp/argo-info.log
	argo info >"$log" 2>&1 || {
		cat "$log"
		return 1
	}
	cat "$log"
	grep -Eq '^provider: +xen$' "$log" && grep -Eq '^domain: +0$' "$log"
}

pong_pid=''
pong_start() {
	argo pong --port "$port" --partner 0 --ring-size "$pong_ring" -q \
		>/tmp/pong.log 2>&1 &
	pong_pid=$!
	xb_wait 120 grep -q '^pong: serving' /tmp/pong.log || {
		cat /tmp/pong.log
		return 1
	}
	cat /tmp/pong.log
}

pong_stop() {
	[[ -n $pong_pid ]] || return 0
	kill -TERM "$pong_pid"
	wait "$pong_pid"
	local rc=$?
	pong_pid=''
	cat /tmp/pong.log
	[[ $rc -eq 0 ]]
}

# A ring open to any partner needs Xen's mac-permissive=1, which the bed
# does not give: refused, with the tool's hint.
pong_any_refused() {
	local o rc=0
	o=$(timeout 60 argo pong --port $((port + 1)) -c 1 2>&1) || rc=$?
	echo "$o"
	echo "exit status $rc"
	[[ $rc -eq 2 && $o == *"Operation not permitted"* && $o == *mac-permissive* ]]
}

# ping SIZE COUNT: every request answered.
ping() {
	argo ping --to "0:$port" --size "$1" -c "$2" -i 0.1 -W 60 || return 1
}

ping_case() { # SIZE COUNT SUFFIX
	local name=ping_$1$3
	xb_case "$name" ping "$1" "$2" &&
		xb_check "${name}_no_loss" \
			grep -q "^$2 transmitted, $2 received, 0% loss, 0 errors" \
			"/tmp/cases/$name.log"
}

load ''
xb_case argo_info info
xb_case pong_any_partner_refused pong_any_refused
if xb_case pong_start pong_start; then
	for s in "${sizes[@]}"; do
		ping_case "$s" 3 ''
	done
	xb_case pong_stop pong_stop
fi
xb_case rmmod_argo rmmod argo
xb_check dev_argo_gone test ! -e /dev/argo

for i in 2 3; do
	load "_$i"
	xb_case "argo_info_$i" info
	if xb_case "pong_start_$i" pong_start; then
		ping_case 56 3 "_$i"
		ping_case 1048576 2 "_$i"
		xb_case "pong_stop_$i" pong_stop
	fi
	xb_case "rmmod_argo_$i" rmmod argo
done
xb_check no_argo_module bash -c '! grep -q "^argo " /proc/modules'
xb_end
