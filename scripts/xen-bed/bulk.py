#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# scripts/xen-bed/bulk.py: a bulk TCP transfer for the Xen test bed's
# virtio-net case (scripts/xen-bed/domu.sh, domu-guest.sh).  The bytes are
# random.Random(SEED).randbytes(N), so that the receiver knows what it must
# get without the sender's help.
#
#   bulk.py recv PORT BYTES SECONDS   listen, take one connection, check
#   bulk.py send HOST PORT BYTES SECONDS
#
# Exit status 0 if all BYTES went through, equal, within SECONDS.
import hashlib
import random
import socket
import sys
import time

SEED = 4711


def data(n):
    return random.Random(SEED).randbytes(n)


# Listen first: making the expected bytes takes a minute and more under TCG
# on a busy machine, and the sender waits for this line.  SECONDS bounds
# the wait for the sender and, from its connection on, the transfer.
def recv(port, n, secs):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(1)
    print("listening on port %d" % port, flush=True)
    ls.settimeout(secs)
    s, peer = ls.accept()
    t0 = time.time()
    end = t0 + secs
    h = hashlib.sha256()
    got = 0
    while got < n and time.time() < end:
        s.settimeout(max(0.1, end - time.time()))
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if not d:
            break
        h.update(d)
        got += len(d)
    dt = time.time() - t0
    ok = got == n and h.hexdigest() == hashlib.sha256(data(n)).hexdigest()
    print("received %d of %d bytes from %s in %.1f s (%.2f MiB/s), sha256 %s"
          % (got, n, peer[0], dt, got / max(dt, 0.001) / 1048576,
             "equal" if ok else "DIFFERENT or incomplete"), flush=True)
    return 0 if ok else 1


# The bytes are made before SECONDS start: they bound the connection and
# the transfer.
def send(host, port, n, secs):
    buf = data(n)
    end = time.time() + secs
    while True:
        try:
            s = socket.create_connection((host, port), timeout=5)
            break
        except OSError as e:
            if time.time() >= end:
                print("connect: %s" % e, flush=True)
                return 1
            time.sleep(0.5)
    t0 = time.time()
    s.settimeout(max(0.1, end - time.time()))
    try:
        s.sendall(buf)
        s.shutdown(socket.SHUT_WR)
        s.recv(1)
    except OSError as e:
        print("send: %s" % e, flush=True)
        return 1
    dt = time.time() - t0
    print("sent %d bytes to %s in %.1f s (%.2f MiB/s), sha256 %s"
          % (n, host, dt, n / max(dt, 0.001) / 1048576,
             hashlib.sha256(buf).hexdigest()[:16]), flush=True)
    return 0


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) == 4 and a[0] == "recv":
        sys.exit(recv(int(a[1]), int(a[2]), float(a[3])))
    if len(a) == 5 and a[0] == "send":
        sys.exit(send(a[1], int(a[2]), int(a[3]), float(a[4])))
    print(__doc__ or "usage: bulk.py recv|send ...", file=sys.stderr)
    sys.exit(2)
