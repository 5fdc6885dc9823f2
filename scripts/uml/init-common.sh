# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# scripts/uml/init-common.sh: prelude for init scripts run inside UML by
# scripts/uml-run.sh.  Source it at the top of an init script:
#
#	. "$va_root/scripts/uml/init-common.sh"
#
# It is idempotent (uml-run.sh's own init wrapper sources it before the
# script) and:
#  - sets PATH/HOME, mounts proc, sys, devtmpfs on /dev, devpts, tmpfs on
#    /dev/shm, /run and /tmp, debugfs, and the result dir ($va_result)
#    writable over hostfs at the same path it has on the host;
#  - defines va_poweroff (sync, unmount the result dir, power off; never
#    returns) and, when the shell is PID 1, traps EXIT to call it, so init
#    never exits (which would panic the kernel);
#  - defines va_modprobe NAME (modules of the UML build, from $va_moddir)
#    and va_insmod FILE [PARAMS] (out-of-tree modules, by path).
#
# Environment (kernel parameters set by uml-run.sh): va_root (the repo),
# va_result (host dir for results), va_moddir (modules_install root of the
# UML build), va_build (the UML build dir).

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp TERM=dumb LC_ALL=C

va_is_mounted() {
	local mp=$1
	[[ -r /proc/mounts ]] || return 1
	awk -v mp="$mp" '$2 == mp { found = 1 } END { exit !found }' /proc/mounts
}

va_mount() { # TYPE SOURCE MOUNTPOINT [OPTIONS]
	local type=$1 src=$2 mp=$3 opts=${4:-}
	va_is_mounted "$mp" && return 0
	mkdir -p "$mp" 2>/dev/null || true
	if [[ -n $opts ]]; then
		mount -n -t "$type" -o "$opts" "$src" "$mp"
	else
		mount -n -t "$type" "$src" "$mp"
	fi
}

va_poweroff() {
	trap - EXIT
	sync
	if [[ -n ${va_result:-} ]] && va_is_mounted "$va_result"; then
		umount -n "$va_result" 2>/dev/null || sync
	fi
	echo o >/proc/sysrq-trigger 2>/dev/null ||
		busybox poweroff -f 2>/dev/null || poweroff -f -f
	while :; do sleep 1; done
}

va_modprobe() {
	modprobe -d "${va_moddir:?}" "$@"
}

va_insmod() {
	insmod "$@"
}

# Also for scripts run from this one (the wrapper runs the init script in
# a child bash).
export -f va_is_mounted va_mount va_poweroff va_modprobe va_insmod

if [[ -z ${VA_INIT_DONE:-} ]]; then
	# /proc first: va_is_mounted needs it.
	mount -n -t proc proc /proc 2>/dev/null || true
	[[ $$ -eq 1 ]] && trap va_poweroff EXIT
	va_mount sysfs sysfs /sys
	va_mount devtmpfs devtmpfs /dev
	va_mount devpts devpts /dev/pts
	# What udev would add: /dev/fd (bash process substitution) and co.
	[[ -e /dev/fd ]] || ln -s /proc/self/fd /dev/fd
	[[ -e /dev/stdin ]] || ln -s /proc/self/fd/0 /dev/stdin
	[[ -e /dev/stdout ]] || ln -s /proc/self/fd/1 /dev/stdout
	[[ -e /dev/stderr ]] || ln -s /proc/self/fd/2 /dev/stderr
	va_mount tmpfs tmpfs /dev/shm
	# /run before anything from util-linux writes there (it is the host's).
	va_mount tmpfs tmpfs /run
	# A private /tmp, unless the repo, the script or the results live
	# under the host's /tmp: then that, writable, so they stay visible.
	case " ${va_root:-} ${va_init:-} ${va_result:-} ${va_build:-} " in
	*" /tmp/"*) va_mount hostfs hostfs /tmp /tmp ;;
	*) va_mount tmpfs tmpfs /tmp ;;
	esac
	va_mount debugfs debugfs /sys/kernel/debug
	if [[ -n ${va_result:-} ]]; then
		va_mount hostfs hostfs "$va_result" "$va_result"
	fi
	export VA_INIT_DONE=1
fi
