#!/usr/bin/env bash
# The KAFKA-7504 test: does a consumer catching up on old segments, which are
# not in the page cache, slow the producers of hot traffic? Kafka's sendfile
# blocks a network thread on each page-cache miss, and its produce p99 went
# from under 20 ms to 50-200 ms while a consumer caught up.
#
# One broker (default layout). First `--backfill-bytes` (2 GiB) are written
# to topic `backfill` (2 partitions, so that every io shard owns one), synced
# and dropped from the page cache with posix_fadvise(DONTNEED) on each segment
# file (not drop_caches: the machine is shared). Then, twice: a fixed-rate
# e2e run (sluice-perf e2e --rate 10000 --size 1024 --partitions 1, topic
# `hot`), first alone, then while `sluice-perf consume` reads the dropped
# backfill from the earliest offset. Prints both p99s (end to end: from the
# intended send time through the produce acknowledgement to the consumer,
# so the hot fetch path is in it too), their ratio (target <= 1.5), what the
# backfill read, the broker's context switches and io_uring hand-offs to its
# kernel workers (io-wq) per 1000 Fetch requests in each run (perf stat, when
# /usr/bin/perf can count the tracepoints), the major page faults the shards'
# threads took (each one a loop waiting on the disk), and the cold-read
# metrics.
#
#   perf/backfill.sh [--seconds S] [--rate R] [--backfill-bytes B] [--build DIR]
#
# --build DIR uses DIR/sluice and DIR/perf/sluice-perf as they are (e.g. a
# build of another commit) instead of building build-rel/. The broker listens
# on 127.0.0.1 and is stopped by PID; its data lives in a temporary directory
# on the disk /tmp is on (2 GiB free needed).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=10
RATE=10000
BACKFILL_BYTES=$((2 << 30))
BUILD=
while (($#)); do
  case "$1" in
    --seconds) SECONDS_PER_RUN=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --backfill-bytes) BACKFILL_BYTES=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    *) echo "backfill.sh: unknown flag $1 (--seconds S, --rate R, --backfill-bytes B, --build DIR)" >&2
       exit 2 ;;
  esac
done
if [[ -z $BUILD ]]; then
  cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release -DSLUICE_BENCH=OFF >/dev/null
  cmake --build build-rel -j"$(nproc)" --target sluice sluice-perf >/dev/null
  BUILD=build-rel
fi
PERF_TOOL=$BUILD/perf/sluice-perf

WORK=$(mktemp -d /tmp/sluice-backfill-XXXXXX)
BROKER=
BACKFILL=
cleanup() {
  [[ -n $BACKFILL ]] && kill "$BACKFILL" 2>/dev/null && wait "$BACKFILL" 2>/dev/null
  [[ -n $BROKER ]] && kill "$BROKER" 2>/dev/null && wait "$BROKER" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
source perf/common.sh

PORT=$(free_port)
METRICS_PORT=$(free_port)
B="127.0.0.1:$PORT"
# 256 MiB segments: the backfill spans several files per partition, as a
# real catch-up does.
"$BUILD/sluice" --set "listeners=PLAINTEXT://127.0.0.1:$PORT" --set "log.dirs=$WORK/data" \
  --set "sluice.metrics.port=$METRICS_PORT" --set log.segment.bytes=268435456 \
  >"$WORK/broker.log" 2>&1 &
BROKER=$!
for _ in $(seq 100); do grep -q "sluice ready" "$WORK/broker.log" && break; sleep 0.1; done
grep -q "sluice ready" "$WORK/broker.log" || { echo "backfill.sh: the broker did not start" >&2; cat "$WORK/broker.log" >&2; exit 1; }

metric() { curl -s "http://127.0.0.1:$METRICS_PORT/metrics" |
  awk -v m="$1" '$1 ~ "^"m"({|$)" { s += $2 } END { printf "%d", s }'; }
# Major page faults (a read from the disk) taken by the shards' threads
# (named "sluice"; helpers and io_uring's workers have other names): each
# one is a loop stalled on the disk.
shard_major_faults() {
  local n=0 t
  for t in /proc/"$BROKER"/task/*; do
    [[ $(cat "$t/comm" 2>/dev/null) == sluice ]] && n=$((n + $(awk '{print $12}' "$t/stat")))
  done
  echo "$n"
}
fetches() { curl -s "http://127.0.0.1:$METRICS_PORT/metrics" |
  awk '$1 == "sluice_requests_total{api=\"Fetch\"}" { s += $2 } END { printf "%d", s }'; }

echo "== load: $(uptime | sed 's/.*load/load/')"
echo "== writing $((BACKFILL_BYTES >> 20)) MiB to topic backfill (2 partitions)"
"$PERF_TOOL" produce --engine raw --brokers "$B" --topic backfill --partitions 2 --size 1024 \
  --acks 1 --count $((BACKFILL_BYTES / 1024)) 2>/dev/null | head -1
sync
# Every segment file of the backfill out of the page cache.
/usr/bin/python3 - "$WORK/data" <<'EOF'
import glob, os, sys
n = 0
for path in glob.glob(os.path.join(sys.argv[1], "backfill-*", "*.log")):
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
    n += 1
print(f"dropped {n} segment files from the page cache")
EOF
echo "resident after the drop: $(fincore -b -n -o RES "$WORK"/data/backfill-*/*.log 2>/dev/null |
  awk '{ s += $1 } END { printf "%d MiB", s / 1048576 }')"

# Runs the e2e load for SECONDS_PER_RUN, under perf stat when it can count
# the broker's context switches and io-wq hand-offs. Prints the result line
# of sluice-perf's JSON (p99s), then the counts per 1000 Fetch requests.
E2E_EVENTS=context-switches,io_uring:io_uring_queue_async_work
run_e2e() { # name
  local name=$1 stat_pid=
  # A short warm-up creates the topic and joins the consumer first.
  "$PERF_TOOL" e2e --brokers "$B" --topic hot --partitions 1 --size 1024 --rate "$RATE" \
    --duration 2 >/dev/null 2>&1
  local f0; f0=$(fetches)
  local m0; m0=$(shard_major_faults)
  if perf stat -e "$E2E_EVENTS" -x, -p "$BROKER" -o "$WORK/$name.stat" -- sleep 0.1 >/dev/null 2>&1; then
    perf stat -e "$E2E_EVENTS" -x, -p "$BROKER" -o "$WORK/$name.stat" -- sleep "$SECONDS_PER_RUN" &
    stat_pid=$!
  fi
  "$PERF_TOOL" e2e --brokers "$B" --topic hot --partitions 1 --size 1024 --rate "$RATE" \
    --duration "$SECONDS_PER_RUN" --json "$WORK/$name.json" >/dev/null 2>"$WORK/$name.err"
  [[ -n $stat_pid ]] && wait "$stat_pid"
  local f1; f1=$(fetches)
  echo "$((f1 - f0))" >"$WORK/$name.fetches"
  echo "$(( $(shard_major_faults) - m0 ))" >"$WORK/$name.majflt"
}
p99_of() { /usr/bin/python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["latency_us"]["p99"])' "$WORK/$1.json"; }
summary_of() { /usr/bin/python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
print("%.0f msg/s; %s (us): %s" % (j["msgs_per_s"], j["latency"],
      " ".join("%s %s" % kv for kv in j["latency_us"].items())))' "$WORK/$1.json"; }
per_1000_fetches() { # name
  local f; f=$(cat "$WORK/$1.fetches")
  [[ -s $WORK/$1.stat ]] || { echo "perf stat unavailable"; return; }
  awk -F, -v f="$f" '$3 == "context-switches" { cs = $1 } $3 ~ /io_uring_queue_async_work/ { wq = $1 }
    END { if (f > 0) printf "%d Fetch requests; per 1000: %.0f context switches, %.0f io-wq hand-offs", f, cs * 1000 / f, wq * 1000 / f }' \
    "$WORK/$1.stat"
}
echo "== $SECONDS_PER_RUN s at $RATE msg/s of 1 KiB, no backfill"
run_e2e alone
echo "alone:         $(summary_of alone)"
echo "               $(per_1000_fetches alone); $(cat "$WORK/alone.majflt") major faults on the shards"

COLD0=$(metric sluice_fetch_cold_bytes_total)
"$PERF_TOOL" consume --engine raw --brokers "$B" --topic backfill --from earliest \
  --duration $((SECONDS_PER_RUN + 4)) >"$WORK/backfill.out" 2>/dev/null &
BACKFILL=$!
echo "== the same while a consumer reads the backfill from the earliest offset"
run_e2e backfill
wait "$BACKFILL" || true
BACKFILL=
COLD1=$(metric sluice_fetch_cold_bytes_total)
echo "with backfill: $(summary_of backfill)"
echo "               $(per_1000_fetches backfill); $(cat "$WORK/backfill.majflt") major faults on the shards"
echo "backfill consumer: $(head -1 "$WORK/backfill.out")"
echo "cold reads: $(( (COLD1 - COLD0) >> 20 )) MiB read in off the loop" \
  "($(metric sluice_fetch_cold_reads_total) reads, $(metric sluice_fetch_cold_queued_total) queued" \
  "behind sluice.fetch.cold.reads.max, $(metric sluice_fetch_cold_unwaited_total) cold fetches that" \
  "could not wait, $(metric sluice_fetch_splices_offloaded_total) sends spliced in io-wq)"
A=$(p99_of alone)
W=$(p99_of backfill)
echo "end-to-end p99 (produce -> consumer): alone $A us, with backfill $W us:" \
  "ratio $(ratio "$W" "$A") (target <= 1.5)"
echo "== load: $(uptime | sed 's/.*load/load/')"
