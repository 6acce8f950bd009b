#!/usr/bin/env bash
# Produce latency while segments of 1 GiB are deleted, against the same load
# without deletions, in one run: a topic `bulk` is filled with GIB closed
# segments of 1 GiB (segment.bytes 1 GiB, raw engine); then a fixed-rate
# load (sluice-perf e2e, 1 KiB, linger 0: each record's intended send time to
# its arrival at a consumer, so a stalled append shows; sluice-perf produce's
# own delivery-report latency has second-long tails at any rate here, which
# would hide the effect) to another topic runs twice for SECONDS:
# once as it is, once with the bulk segments deleted a third of the way in
# (DeleteRecords to the end: the same path retention takes, with
# log.segment.delete.delay.ms=0 so that the unlinks and closes land inside the
# window). Prints both p99s and their ratio (target: within 1.2x).
#
#   perf/retention.sh [--gib N] [--seconds S] [--rate MSG_PER_S]
#
# Builds what it needs in build-rel/. The broker listens on 127.0.0.1 only and
# is stopped by PID on exit; its data directory (GIB GiB and more) is removed.
set -euo pipefail
cd "$(dirname "$0")/.."

GIB=2
SECONDS_RUN=9
RATE=10000
while (($#)); do
  case "$1" in
    --gib) GIB=$2; shift 2 ;;
    --seconds) SECONDS_RUN=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    *) echo "retention.sh: unknown flag $1 (--gib N, --seconds S, --rate R)" >&2; exit 2 ;;
  esac
done

cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release -DSLUICE_BENCH=OFF >/dev/null
cmake --build build-rel -j"$(nproc)" --target sluice sluice-perf >/dev/null
source perf/common.sh

WORK=$(mktemp -d /tmp/sluice-retention-XXXXXX)
PID=
cleanup() {
  [[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(free_port)
B=127.0.0.1:$PORT
build-rel/sluice --set "listeners=PLAINTEXT://$B" --set "log.dirs=$WORK/data" \
  --set sluice.metrics.port=0 --set log.segment.delete.delay.ms=0 \
  --set log.retention.check.interval.ms=1000 >"$WORK/broker.log" 2>&1 &
PID=$!
for _ in $(seq 100); do grep -q "sluice ready" "$WORK/broker.log" && break; sleep 0.1; done

# DeleteRecords v0 of partition 0 to the high watermark (-1), over the wire.
delete_to_end() {
  python3 - "$PORT" "$1" <<'EOF'
import socket, struct, sys
port, topic = int(sys.argv[1]), sys.argv[2].encode()
body = struct.pack(">i", 1) + struct.pack(">h", len(topic)) + topic
body += struct.pack(">iiq", 1, 0, -1) + struct.pack(">i", 30000)
frame = struct.pack(">hhi", 21, 0, 1) + struct.pack(">h", 2) + b"rt" + body
s = socket.create_connection(("127.0.0.1", port))
s.sendall(struct.pack(">i", len(frame)) + frame)
n = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))[0]
r = s.recv(n, socket.MSG_WAITALL)
pos = 12 + 2 + len(topic) + 4
_, low, err = struct.unpack(">iqh", r[pos:pos + 14])
print(f"DeleteRecords {topic.decode()}: error {err}, low watermark {low}")
EOF
}

p99_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["latency_us"]["p99"])' "$1"; }

# A fresh topic per run (sluice-perf e2e warms up on it itself).
measure() {
  build-rel/perf/sluice-perf e2e --brokers "$B" --topic "lat-$1" --partitions 1 --size 1024 \
    --rate "$RATE" --duration "$SECONDS_RUN" --json "$WORK/$1.json" >/dev/null 2>&1
  p99_of "$WORK/$1.json"
}

echo "== filling bulk with $GIB GiB in 1 GiB segments"
BULK_BYTES=$(( (GIB << 30) + (16 << 20) ))
build-rel/perf/sluice-perf produce --engine raw --brokers "$B" --topic bulk --partitions 1 \
  --size 65536 --count $(( BULK_BYTES / 65536 )) --request-bytes 1048576 --connections 1 \
  --inflight 4 | head -1
ls -l "$WORK/data/bulk-0/" | grep '\.log$'
# The fill's dirty pages are written back now, not during the measurements.
sync

# An unmeasured run first: the first load after the fill pays for things
# (client start, the fill's page cache) that neither measured run should.
measure warmup >/dev/null
echo "== e2e p99 at $RATE msg/s for $SECONDS_RUN s, no deletion"
BASE=$(measure base)
echo "== the same, with bulk's segments deleted after $(( SECONDS_RUN / 3 )) s"
( sleep $(( SECONDS_RUN / 3 + 1 )); delete_to_end bulk ) &
DELETER=$!
DURING=$(measure deleting)
wait "$DELETER"
sleep 1
grep -E "deleted [0-9]+ segment" "$WORK/broker.log" | tail -1
ls "$WORK/data/bulk-0/" | grep -c '\.deleted$' | sed 's/^/.deleted files left: /' || true

echo
echo "| figure | value |"
echo "| --- | --- |"
echo "| e2e p99, no deletion | $BASE us |"
echo "| e2e p99, deleting $GIB x 1 GiB segments | $DURING us |"
echo "| ratio (target <= 1.2) | $(ratio "$DURING" "$BASE") |"
