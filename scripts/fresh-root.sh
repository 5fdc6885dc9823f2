#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/fresh-root.sh: check the README's install steps on a fresh Debian
# 12: run its "Try it" commands, as root, in a new bookworm root.
#
#   fresh-root.sh [-c COMMIT] [-m MIRROR] [-o LOGDIR] [-r] DIR
#
# Installs debootstrap on the host (scripts/deps.sh fresh-root), then:
#  1. debootstraps bookworm into DIR (which must not exist, or be empty);
#  2. gives the root what the host uses to reach Debian's archive: its apt
#     sources (and the keyrings they name, if the root lacks them), the
#     apt.conf.d files that set Acquire:: options (a proxy, the validity
#     checks of a snapshot mirror), resolv.conf and /etc/hosts;
#  3. clones COMMIT of this repository (default HEAD, resolved when the
#     script starts) from the host with git into DIR/root/virtio-argo: the
#     root itself has no git, and uncommitted changes are not in it;
#  4. bind-mounts /proc, /sys, /dev, /dev/pts and /dev/shm (UML's memory
#     files) into DIR;
#  5. runs, in a chroot, with an empty environment but HOME=/root (inside
#     DIR: no cache of the host is used), PATH and TERM=dumb, stdin from
#     /dev/null, each command of the "Try it" block of the clone's README.md
#     (bash scripts/demo.sh, then bash scripts/test.sh) in the clone, one
#     after the other even if one fails, logging each and its duration;
#  6. always, also on failure or interrupt: ends the processes left
#     running inside DIR and unmounts everything mounted below DIR.
#
# -c  the commit to clone (default HEAD)
# -m  the archive for debootstrap (default http://deb.debian.org/debian;
#     apt inside the root then uses the host's sources)
# -o  where the logs go (default .test-logs/fresh-root-<time> in this
#     repository): summary (also on stdout), debootstrap.log, one log per
#     command; test.sh's own logs stay in DIR/root/virtio-argo/.test-logs
# -r  remove DIR first (refused while anything is mounted below it)
#
# DIR is kept afterwards, for inspection: remove it with -r next time, or
# with rm -rf --one-file-system once nothing is mounted below it.  Runs as
# root.  Exit status: 0 if every command exited 0.  A cold run builds the
# UML kernel: see Documentation/testing.rst for how long it takes.

set -euo pipefail
exec </dev/null

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	sed -n '6,8s/^# \{0,1\}//p; 28,39s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

rev=HEAD mirror=http://deb.debian.org/debian logdir='' remove=0
while getopts c:m:o:rh opt; do
	case $opt in
	c) rev=$OPTARG ;;
	m) mirror=$OPTARG ;;
	o) logdir=$OPTARG ;;
	r) remove=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[[ $# -eq 1 ]] || usage

[[ $(id -u) -eq 0 ]] || va_die "must run as root (debootstrap, mount, chroot)"
dir=$(realpath -m "$1")
[[ $dir != / && $dir =~ ^/[A-Za-z0-9._/+-]+$ ]] ||
	va_die "DIR: '$dir': not a plain path, or /"
commit=$(git -C "$VA_ROOT" rev-parse --verify -q "$rev^{commit}") ||
	va_die "$rev: no such commit in $VA_ROOT"
repo=/root/virtio-argo

stamp=$(date +%Y%m%d-%H%M%S)
logdir=$(realpath -m "${logdir:-$VA_ROOT/.test-logs/fresh-root-$stamp}")
mkdir -p "$logdir"
summary=$logdir/summary
: >"$summary"

say() {
	echo "fresh-root: $*" | tee -a "$summary"
}

# Mount points below DIR, deepest first.
mounts_below() {
	awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' \
		/proc/self/mountinfo | sort -r
}

# Processes whose root is DIR: started inside the chroot.
procs_inside() {
	local p
	for p in /proc/[0-9]*; do
		[[ $(readlink "$p/root" 2>/dev/null) == "$dir" ]] && echo "${p#/proc/}"
	done
	return 0
}

cleanup() {
	local rc=$? pids m left
	set +e
	trap - EXIT HUP INT TERM
	mapfile -t pids < <(procs_inside)
	if [[ ${#pids[@]} -gt 0 ]]; then
		say "ending ${#pids[@]} processes left inside $dir: ${pids[*]}"
		kill -TERM "${pids[@]}" 2>/dev/null
		sleep 2
		mapfile -t pids < <(procs_inside)
		[[ ${#pids[@]} -eq 0 ]] || kill -KILL "${pids[@]}" 2>/dev/null
	fi
	for m in $(mounts_below); do
		umount "$m" 2>/dev/null || umount -l "$m" ||
			say "cannot unmount $m"
	done
	left=$(mounts_below)
	if [[ -n $left ]]; then
		say "still mounted below $dir: $left"
		[[ $rc -ne 0 ]] || rc=1
	fi
	exit "$rc"
}

# 0. The host's tools; DIR.
say "commit $commit ($(git -C "$VA_ROOT" log -1 --format=%s "$commit"))"
say "root $dir; logs in $logdir"
bash "$VA_ROOT/scripts/deps.sh" fresh-root
if [[ -e $dir ]]; then
	[[ -z $(mounts_below) ]] || va_die "$dir: something is mounted below it"
	if [[ $remove -eq 1 ]]; then
		say "removing the previous $dir"
		rm -rf --one-file-system "$dir"
	elif [[ -n $(ls -A "$dir") ]]; then
		va_die "$dir exists and is not empty (-r removes it)"
	fi
fi
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
t_all=$SECONDS

# 1. A Debian 12 root, as debootstrap makes it (its default variant).
# debootstrap fetches with wget: tell it apt's proxy, if the host has one.
eval "$(apt-config shell http_proxy Acquire::http::Proxy)"
[[ -z ${http_proxy:-} ]] || export http_proxy
t0=$SECONDS
say "debootstrap bookworm $dir $mirror (log $logdir/debootstrap.log)"
debootstrap bookworm "$dir" "$mirror" >"$logdir/debootstrap.log" 2>&1 || {
	tail -n 20 "$logdir/debootstrap.log"
	va_die "debootstrap failed"
}
say "debootstrap: $((SECONDS - t0)) s"

# 2. How the host reaches Debian's archive.
rm -f "$dir/etc/apt/sources.list"
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
	/etc/apt/sources.list.d/*.sources; do
	[[ -f $f ]] || continue
	cp "$f" "$dir$f"
	say "copied $f"
	for k in $(sed -n 's/^[[:space:]]*Signed-By:[[:space:]]*//p; s/.*\[.*signed-by=\([^] ]*\).*/\1/p' "$f"); do
		[[ $k == /* && -f $k && ! -e $dir$k ]] || continue
		mkdir -p "$(dirname "$dir$k")"
		cp "$k" "$dir$k"
		say "copied $k (named by $f)"
	done
done
for f in /etc/apt/apt.conf /etc/apt/apt.conf.d/*; do
	[[ -f $f ]] && grep -qi '^[^/#]*acquire' "$f" || continue
	cp "$f" "$dir$f"
	say "copied $f"
done
cp -L /etc/resolv.conf "$dir/etc/resolv.conf"
cp /etc/hosts "$dir/etc/hosts"
say "copied /etc/resolv.conf, /etc/hosts"

# 3. The repository, as a user of a fresh machine clones it.
git clone -q --no-local --no-checkout "$VA_ROOT" "$dir$repo"
git -C "$dir$repo" -c advice.detachedHead=false checkout -q --detach "$commit"
say "cloned $commit into $dir$repo"

# 4. The kernel's file systems.
for m in /proc /sys /dev /dev/pts /dev/shm; do
	[[ -d $dir$m ]] || va_die "$dir$m: no such directory"
	mount --bind "$m" "$dir$m"
done
say "bind-mounted /proc /sys /dev /dev/pts /dev/shm"

# 5. The README's commands, from its "Try it" block.
mapfile -t cmds < <(awk '
	/^## / { sect = ($0 == "## Try it") }
	sect && /^```/ { if (inblk) exit; inblk = 1; next }
	sect && inblk { sub(/#.*/, ""); gsub(/^[ \t]+|[ \t]+$/, ""); if ($0 != "") print }
' "$dir$repo/README.md")
[[ ${#cmds[@]} -gt 0 ]] || va_die "no commands in README.md's \"Try it\" block"
say "README.md's commands: $(printf '[%s] ' "${cmds[@]}")"

failed=0
n=0
for c in "${cmds[@]}"; do
	n=$((n + 1))
	name=$c
	[[ $c =~ ([A-Za-z0-9_-]+)\.sh ]] && name=${BASH_REMATCH[1]}
	log=$logdir/$n-$name.log
	say "$c: started $(date '+%F %T') (log $log)"
	t0=$SECONDS rc=0
	chroot "$dir" /usr/bin/env -i HOME=/root USER=root LOGNAME=root \
		SHELL=/bin/bash TERM=dumb \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		/bin/bash -c "cd $repo && $c" >"$log" 2>&1 &
	# In the background, so that a signal to this script is acted on now.
	wait "$!" || rc=$?
	dt=$((SECONDS - t0))
	say "$c: exit $rc after $dt s ($((dt / 60)) min $((dt % 60)) s); last lines:"
	tail -n 3 "$log" | sed 's/^/  | /' | tee -a "$summary"
	[[ $rc -eq 0 ]] || failed=$((failed + 1))
done
latest=$(readlink -f "$dir$repo/.test-logs/latest" 2>/dev/null || true)
[[ -z $latest ]] || say "test.sh's logs: $latest"
dt=$((SECONDS - t_all))
say "done: ${#cmds[@]} commands, $failed failed, $dt s in all ($((dt / 60)) min $((dt % 60)) s)"
[[ $failed -eq 0 ]]
