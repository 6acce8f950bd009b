"""The loopback TCP limit of a fetch as the broker serves one: each of
--streams senders sendfile()s a file from the page cache in --block-byte
pieces (as the broker splices a segment's bytes, no copy in user space) to a
receiver that recv_into()s them into one --block-byte buffer (as a client's
fetch response lands), for --seconds. iperf3 cannot say this: its writes are
at most 1 MiB, where fetches move 8 MiB, and on this machine its figure was
below what brokers fetched. Prints "loopback: N MB/s" (all streams together).

    python3 perf/loopback.py --streams P --seconds S --block BYTES --dir DIR
"""
import argparse
import os
import socket
import struct
import sys
import time

# A sender stops this long after the run when its receiver does not read.
SEND_TIMEOUT_S = 10


def receive(listener, block, out_fd):
    conn, _ = listener.accept()
    buf = bytearray(block)
    view = memoryview(buf)
    total = 0
    while True:
        n = conn.recv_into(view)
        if n == 0:
            break
        total += n
    os.write(out_fd, b"%d\n" % total)


def send(port, path, block, seconds):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", SEND_TIMEOUT_S, 0))
    size = os.path.getsize(path)
    end = time.monotonic() + seconds
    with open(path, "rb") as f:
        while time.monotonic() < end:
            offset = 0
            while offset < size:
                n = os.sendfile(s.fileno(), f.fileno(), offset, min(block, size - offset))
                if n == 0:
                    break
                offset += n
    s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--streams", type=int, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--block", type=int, required=True)
    ap.add_argument("--dir", required=True)
    a = ap.parse_args()
    path = os.path.join(a.dir, "loopback.bin")
    with open(path, "wb") as f:
        f.write(os.urandom(a.block) * 4)  # in the page cache from here on
    rd, wr = os.pipe()
    children = []
    ports = []
    for _ in range(a.streams):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        ports.append(listener.getsockname()[1])
        pid = os.fork()
        if pid == 0:
            receive(listener, a.block, wr)
            os._exit(0)
        listener.close()
        children.append(pid)
    start = time.monotonic()
    for port in ports:
        pid = os.fork()
        if pid == 0:
            send(port, path, a.block, a.seconds)
            os._exit(0)
        children.append(pid)
    os.close(wr)
    for pid in children:
        os.waitpid(pid, 0)
    elapsed = time.monotonic() - start
    with os.fdopen(rd) as r:
        total = sum(int(line) for line in r)
    os.remove(path)
    print("loopback: %.0f MB/s" % (total / elapsed / 1e6))
    return 0


if __name__ == "__main__":
    sys.exit(main())
