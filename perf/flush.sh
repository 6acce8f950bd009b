#!/usr/bin/env bash
# The durable acknowledgement's cost, in one run: this machine's fdatasync
# latency (fio: 4 KiB appends, an fdatasync after each, on the data disk);
# then sluice with flush.messages=1 (group commit: log.flush.interval.messages=1)
# against the same broker without a flush policy, acks=all, 1 KiB messages,
# with 16 producers (the raw engine's 16 connections, each with up to 5
# requests in flight as the Java producer's max.in.flight.requests.per.connection
# allows, 16 KiB requests as its batch.size makes them) and with 1 (raw,
# then librdkafka). Prints throughput ratios (target >= 0.5 with 16
# producers) and the ack p99 beside fio's fdatasync p99 (target <= 2x), and
# the fsync metric's appends per fsync.
#
#   perf/flush.sh [--seconds S] [--size BYTES] [--request-bytes B] [--inflight N]
#
# Builds what it needs in build-rel/. fio comes from scripts/install-deps.sh
# (apt-get install fio). The broker listens on 127.0.0.1 and is stopped by
# PID; its data lives under a temporary directory on the disk /tmp is on.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=10
SIZE=1024
REQUEST_BYTES=16384
PRODUCERS=16
INFLIGHT=5
# The acknowledgement's latency is measured below saturation, where it is
# the disk's and not a queue's: one producer at this rate, linger 0.
LATENCY_RATE=2000
while (($#)); do
  case "$1" in
    --seconds) SECONDS_PER_RUN=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --request-bytes) REQUEST_BYTES=$2; shift 2 ;;
    --inflight) INFLIGHT=$2; shift 2 ;;
    *) echo "flush.sh: unknown flag $1 (--seconds S, --size BYTES, --request-bytes B, --inflight N)" >&2
       exit 2 ;;
  esac
done
command -v fio >/dev/null || { echo "flush.sh: fio missing: apt-get install fio" >&2; exit 2; }

cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release -DSLUICE_BENCH=OFF >/dev/null
cmake --build build-rel -j"$(nproc)" --target sluice sluice-perf >/dev/null

WORK=$(mktemp -d /tmp/sluice-flush-XXXXXX)
BROKER=
cleanup() {
  [[ -n $BROKER ]] && kill "$BROKER" 2>/dev/null && wait "$BROKER" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
source perf/common.sh

sync
# As the log does: each 4 KiB write appends (no preallocation, so the file
# grows and each fdatasync commits its new size and blocks, as the log's do);
# overwriting a preallocated file would measure a cheaper fdatasync.
echo "== fdatasync on this disk (fio: 4 KiB appends, fdatasync after each, ${SECONDS_PER_RUN} s)"
read -r FIO_P50 FIO_P99 FIO_MAX FIO_IOPS < <(fio --name=fdatasync --directory="$WORK" --rw=write --bs=4k \
  --size=1G --fallocate=none --ioengine=sync --fdatasync=1 --runtime="$SECONDS_PER_RUN" \
  --output-format=json 2>/dev/null | python3 -c '
import json, sys
j = json.load(sys.stdin)["jobs"][0]
p = j["sync"]["lat_ns"]["percentile"]
print(int(p["50.000000"] / 1000), int(p["99.000000"] / 1000), int(j["sync"]["lat_ns"]["max"] / 1000),
      int(j["write"]["iops"]))')
rm -f "$WORK"/fdatasync*
echo "fdatasync: p50 $FIO_P50 us, p99 $FIO_P99 us, max $FIO_MAX us ($FIO_IOPS writes+fdatasyncs/s)"

METRICS_PORT=
start_broker() { # name, then --set arguments
  local name=$1; shift
  local port; port=$(free_port); METRICS_PORT=$(free_port)
  build-rel/sluice --set "listeners=PLAINTEXT://127.0.0.1:$port" --set "log.dirs=$WORK/$name" \
    --set "sluice.metrics.port=$METRICS_PORT" --set num.partitions=1 "$@" >"$WORK/$name.log" 2>&1 &
  BROKER=$!
  for _ in $(seq 100); do grep -q "sluice ready" "$WORK/$name.log" && break; sleep 0.1; done
  B="127.0.0.1:$port"
}
stop_broker() { kill "$BROKER"; wait "$BROKER" || true; BROKER=; }
metric() { curl -s "http://127.0.0.1:$METRICS_PORT/metrics" |
  awk -v m="$1" '$1 ~ "^"m"({|$)" { s += $2 } END { printf "%d", s }'; }

# Two lines per run: the summary, then the latency percentiles.
runs() { # broker name
  local b=$1
  # First, while the page cache is clean: the throughput runs leave
  # gigabytes dirty, and the kernel throttles writers while it writes them.
  # A warm-up creates the topic: the first fdatasyncs of a new segment file
  # (its allocation and directory entry in the journal) took up to 0.5 s here.
  build-rel/perf/sluice-perf produce --brokers "$B" --topic "lat" --size "$SIZE" --acks all \
    --rate "$LATENCY_RATE" --duration 3 --linger-ms 0 >/dev/null 2>&1
  build-rel/perf/sluice-perf produce --brokers "$B" --topic "lat" --size "$SIZE" --acks all \
    --rate "$LATENCY_RATE" --linger-ms 0 --duration "$SECONDS_PER_RUN" 2>/dev/null |
    head -2 >"$WORK/$b.lat"
  # Closed loop as fio's: one request of one message at a time, so each
  # acknowledgement is a write, an fdatasync and a round trip (warmed up too).
  build-rel/perf/sluice-perf produce --engine raw --brokers "$B" --topic "one" --size "$SIZE" \
    --acks all --connections 1 --inflight 1 --request-bytes "$SIZE" --duration 2 >/dev/null 2>&1
  build-rel/perf/sluice-perf produce --engine raw --brokers "$B" --topic "one" --size "$SIZE" \
    --acks all --connections 1 --inflight 1 --request-bytes "$SIZE" \
    --duration "$SECONDS_PER_RUN" 2>/dev/null | head -2 >"$WORK/$b.one"
  build-rel/perf/sluice-perf produce --engine raw --brokers "$B" --topic "p16" --size "$SIZE" \
    --acks all --connections "$PRODUCERS" --inflight "$INFLIGHT" --request-bytes "$REQUEST_BYTES" \
    --duration "$SECONDS_PER_RUN" 2>/dev/null | head -2 >"$WORK/$b.raw16"
  build-rel/perf/sluice-perf produce --engine raw --brokers "$B" --topic "p1" --size "$SIZE" \
    --acks all --connections 1 --inflight "$INFLIGHT" --request-bytes "$REQUEST_BYTES" \
    --duration "$SECONDS_PER_RUN" 2>/dev/null | head -2 >"$WORK/$b.raw1"
  build-rel/perf/sluice-perf produce --brokers "$B" --topic "k1" --size "$SIZE" --acks all \
    --duration "$SECONDS_PER_RUN" 2>/dev/null | head -2 >"$WORK/$b.rdk1"
}

# Each broker starts with nothing dirty in the page cache: the writeback of
# one run's gigabytes must not slow the next run's fsyncs. The flush run
# goes first. The data stays until the end: on a filesystem mounted with
# `discard` (as here) deleting gigabytes makes the next journal commits, and
# with them the fdatasyncs, wait for the discards.
settle_disk() { sync; }
sync
echo "== flush.messages=1 (group commit), acks=all"
start_broker flush --set log.flush.interval.messages=1
runs flush
FSYNCS=$(metric sluice_log_fsyncs_total)
APPENDS=$(metric sluice_log_fsync_appends_total)
# fsyncs slower than 100 ms: rare stalls that a closed-loop fio p99 hides
# but that hold every acknowledgement arriving meanwhile.
SLOW_FSYNCS=$(( FSYNCS - $(curl -s "http://127.0.0.1:$METRICS_PORT/metrics" |
  awk '$1 ~ /^sluice_log_fsync_seconds_bucket\{.*le="0.1"\}/ { s += $2 } END { printf "%d", s }') ))
stop_broker
settle_disk flush
echo "== no flush policy (Kafka's default), acks=all"
start_broker noflush
runs noflush
stop_broker
settle_disk noflush
for r in one lat raw16 raw1 rdk1; do
  echo "$r no flush:  $(paste -sd' ' "$WORK/noflush.$r")"
  echo "$r flush=1:   $(paste -sd' ' "$WORK/flush.$r")"
done
echo "group commit: $APPENDS appends in $FSYNCS fsyncs ($(ratio "$APPENDS" "$FSYNCS") per fsync); $SLOW_FSYNCS fsyncs took over 100 ms"

pct() { sed -nE "s/.* $1 ([0-9]+) .*/\1/p" "$2"; }
echo
echo "| figure | no flush | flush.messages=1 | ratio | target |"
echo "| --- | --- | --- | --- | --- |"
for r in raw16:"$PRODUCERS producers (raw, 16 KiB requests, $INFLIGHT in flight each)" \
         raw1:"1 producer (raw, 16 KiB requests, $INFLIGHT in flight)" rdk1:"1 producer (librdkafka)"; do
  key=${r%%:*} what=${r#*:}
  a=$(mbps "$(head -1 "$WORK/noflush.$key")") f=$(mbps "$(head -1 "$WORK/flush.$key")")
  target=-; [[ $key == raw16 ]] && target=">= 0.5"
  echo "| throughput, $what, $SIZE B | $a MB/s | $f MB/s | $(ratio "$f" "$a") | $target |"
  echo "| ack p99 at saturation, $what | $(pct p99 "$WORK/noflush.$key") us | $(pct p99 "$WORK/flush.$key") us | - | - |"
done
p=$(pct p99 "$WORK/flush.one")
echo "| ack p99, 1 producer, one message in flight (raw; closed loop as fio's) | $(pct p99 "$WORK/noflush.one") us | $p us | $(ratio "$p" "$FIO_P99") x fdatasync p99 ($FIO_P99 us) | <= 2 x fdatasync p99 |"
echo "| ack p50, the same | $(pct p50 "$WORK/noflush.one") us | $(pct p50 "$WORK/flush.one") us | $(ratio "$(pct p50 "$WORK/flush.one")" "$FIO_P50") x fdatasync p50 ($FIO_P50 us) | - |"
p=$(pct p99 "$WORK/flush.lat")
echo "| ack p99, 1 producer at $LATENCY_RATE msg/s (librdkafka, linger 0; open loop) | $(pct p99 "$WORK/noflush.lat") us | $p us | $(ratio "$p" "$FIO_P99") x fdatasync p99 | - |"
