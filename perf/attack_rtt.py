"""How long other clients wait while the broker is attacked: starts a built
broker (one shard unless --layout says otherwise) on a free loopback port, runs
one attack for --seconds, and meanwhile times Metadata round trips, each on a
fresh connection (connect, request, whole response). Prints p50/p99/max of the
round trips for the attack and for a quiet broker measured just before it, so
the figure reads as a ratio within one run.

Attacks:
  produce-bombs   two connections produce gzip batches that inflate just past
                  sluice.batch.inflated.max.bytes (--bound), each refused
  slowloris       six connections declare 100 MB frames and trickle a byte a
                  connection every 200 ms
  idle            1000 idle connections held open

Run with Debian's python3 from the repository root, e.g.
  /usr/bin/python3 perf/attack_rtt.py --attack produce-bombs --bound 67108864
SLUICE_BIN names the broker (default build/sluice)."""
import argparse
import os
import shutil
import socket
import struct
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "tests", "integration"))
from conftest import Broker  # noqa: E402
from kafka_wire import Conn, produce_v3  # noqa: E402
from test_bad_batches import batch, compress, record  # noqa: E402

SLOWLORIS_CONNECTIONS = 6
SLOWLORIS_DECLARED_BYTES = 100_000_000
IDLE_CONNECTIONS = 1000
BOMBERS = 2
PAUSE_S = 0.01
CONNECT_TIMEOUT_S = 30


def metadata_round_trip_s(port):
    t0 = time.perf_counter()
    c = Conn(f"127.0.0.1:{port}", timeout=CONNECT_TIMEOUT_S)
    body = struct.pack(">i", -1)
    corr = c.request(3, 1, body)
    r = c.response()
    c.close()
    assert struct.unpack(">i", r[:4])[0] == corr
    return time.perf_counter() - t0


def sample(port, seconds):
    rtts = []
    end = time.time() + seconds
    while time.time() < end:
        rtts.append(metadata_round_trip_s(port))
        time.sleep(PAUSE_S)
    rtts.sort()
    return rtts


def summary(name, rtts):
    ms = [x * 1000 for x in rtts]
    return (f"{name}: {len(ms)} round trips, p50 {ms[len(ms) // 2]:.2f} ms, "
            f"p99 {ms[min(len(ms) - 1, int(len(ms) * 0.99))]:.2f} ms, max {ms[-1]:.2f} ms")


def start_attack(kind, port, bound, stop):
    socks = []
    if kind == "produce-bombs":
        bomb = batch("gzip", compress("gzip", record(0, b"\x00" * (bound + 1))), 1)

        def bomber():
            c = Conn(f"127.0.0.1:{port}", timeout=CONNECT_TIMEOUT_S)
            while not stop.is_set():
                produce_v3(c, "bombs", 0, bomb)
            c.close()
        threads = [threading.Thread(target=bomber) for _ in range(BOMBERS)]
    elif kind == "slowloris":
        for _ in range(SLOWLORIS_CONNECTIONS):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(struct.pack(">i", SLOWLORIS_DECLARED_BYTES))
            socks.append(s)

        def trickle():
            while not stop.is_set():
                for s in socks:
                    try:
                        s.send(b"x")
                    except OSError:
                        pass
                stop.wait(0.2)
        threads = [threading.Thread(target=trickle)]
    else:
        socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(IDLE_CONNECTIONS)]
        threads = []
    for t in threads:
        t.start()
    return threads, socks


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--attack", choices=["produce-bombs", "slowloris", "idle"], required=True)
    ap.add_argument("--bound", type=int, default=16 << 20,
                    help="sluice.batch.inflated.max.bytes for the broker")
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--layout", default="1+1", help="num.network.threads+num.io.threads")
    args = ap.parse_args()
    net, io = args.layout.split("+")
    data = tempfile.mkdtemp(prefix="sluice-attack-")
    b = Broker(os.path.join(data, "data"), {
        "num.network.threads": net, "num.io.threads": io, "max.connections": 5000,
        "sluice.batch.inflated.max.bytes": args.bound}).start()
    try:
        quiet = sample(b.port, args.seconds / 2)
        stop = threading.Event()
        threads, socks = start_attack(args.attack, b.port, args.bound, stop)
        time.sleep(0.5)
        attacked = sample(b.port, args.seconds)
        stop.set()
        for t in threads:
            t.join(CONNECT_TIMEOUT_S)
        for s in socks:
            s.close()
    finally:
        b.stop()
        shutil.rmtree(data, ignore_errors=True)
    print(summary("quiet", quiet))
    print(summary(args.attack, attacked))
    print(f"max under attack / max quiet: {attacked[-1] / quiet[-1]:.1f}")


if __name__ == "__main__":
    main()
