#!/usr/bin/env bash
# Draws tuning/status-page.png: starts the built broker on free loopback
# ports with a temporary data directory, gives it some topics, traffic and
# two consumer groups (one consuming, one idle with lag), and has headless
# Chromium (Debian's chromium) screenshot the status page at / on the
# metrics port. Stops the broker by PID.
#
#   scripts/status-screenshot.sh [OUT.png]     (default tuning/status-page.png)
#
# SLUICE_BIN names the broker (default build/sluice).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${1:-tuning/status-page.png}
SLUICE_BIN=${SLUICE_BIN:-build/sluice}
[[ -x $SLUICE_BIN ]] || { echo "status-screenshot.sh: $SLUICE_BIN missing: build first" >&2; exit 2; }
command -v chromium >/dev/null || { echo "status-screenshot.sh: chromium missing: scripts/install-deps.sh --tests" >&2; exit 2; }

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work=$(mktemp -d /tmp/sluice-status-shot.XXXXXX)
port=$(free_port)
mport=$(free_port)
broker_pid=""
cleanup() {
  if [[ -n $broker_pid ]]; then
    kill -TERM "$broker_pid" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$broker_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT

"$SLUICE_BIN" --set "listeners=PLAINTEXT://127.0.0.1:$port" --set "log.dirs=$work/data" \
  --set "sluice.metrics.port=$mport" >"$work/broker.log" 2>&1 &
broker_pid=$!
for _ in $(seq 300); do grep -q "sluice ready" "$work/broker.log" && break; sleep 0.1; done
grep -q "sluice ready" "$work/broker.log" || { tail "$work/broker.log"; exit 1; }

/usr/bin/python3 - "127.0.0.1:$port" "http://127.0.0.1:$mport/" "$OUT" "$work" <<'PY'
import subprocess, sys, threading, time, urllib.request
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
bs, url, out, work = sys.argv[1:5]
admin = AdminClient({"bootstrap.servers": bs})
topics = {"orders": 6, "payments": 3, "clickstream": 12}
for f in admin.create_topics([NewTopic(t, n, 1) for t, n in topics.items()]).values():
    f.result(30)
p = Producer({"bootstrap.servers": bs, "linger.ms": 5})
for i in range(30000):
    t = ("orders", "payments", "clickstream")[i % 3]
    p.produce(t, value=b"%06d" % i * 40)
assert p.flush(60) == 0
# An idle group with lag: half of orders committed.
idle = Consumer({"bootstrap.servers": bs, "group.id": "billing-reports", "enable.auto.commit": False})
idle.commit(offsets=[TopicPartition("orders", i, 800) for i in range(6)], asynchronous=False)
idle.close()
# A live group: subscribed, consuming clickstream while the page is drawn.
stop = threading.Event()
def consume():
    c = Consumer({"bootstrap.servers": bs, "group.id": "clickstream-etl",
                  "auto.offset.reset": "earliest", "auto.commit.interval.ms": 200})
    c.subscribe(["clickstream"])
    while not stop.is_set():
        c.poll(0.2)
    c.close()
t = threading.Thread(target=consume)
t.start()
def produce_some():
    while not stop.is_set():
        for _ in range(200):
            p.produce("payments", value=b"p" * 300)
        p.poll(0)
        time.sleep(0.05)
    p.flush(30)
feeder = threading.Thread(target=produce_some)
feeder.start()
time.sleep(6)
urllib.request.urlopen(url, timeout=10).read()  # the rates need a previous rendering
time.sleep(2)
subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-dev-shm-usage", f"--user-data-dir={work}/chromium", "--hide-scrollbars",
                "--window-size=1200,900", f"--screenshot={out}", url],
               check=True, timeout=90, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
stop.set()
t.join(30)
feeder.join(30)
PY
echo "wrote $OUT"
