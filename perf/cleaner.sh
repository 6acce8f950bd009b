#!/usr/bin/env bash
# Produce latency while the log cleaner works, against the same run without
# it: a fixed-rate 1 KiB producer (acks=1) on a plain topic, measured by
# sluice-perf's delivery-report latency, while a second producer churns
# keyed records into a compacted topic with small segments, so that the
# cleaner (log.cleaner.enable=true, backoff 100 ms, min.cleanable.dirty.ratio
# 0.01) rewrites its log over and over; the baseline run writes the same
# churn with log.cleaner.enable=false. Prints p50/p99/p99.9 of both and the
# ratio, and the cleaner's passes and bytes from the metrics.
#
#   perf/cleaner.sh [--duration S] [--rate MSG_PER_S] [--churn-rate MSG_PER_S]
#
# Builds what it needs in build-rel/. Servers listen on 127.0.0.1 only and are
# stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=20
RATE=5000
CHURN_RATE=20000
while (($#)); do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --churn-rate) CHURN_RATE=$2; shift 2 ;;
    *) echo "cleaner.sh: unknown flag $1 (--duration S, --rate N, --churn-rate N)" >&2; exit 2 ;;
  esac
done

cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release -DSLUICE_BENCH=OFF >/dev/null
cmake --build build-rel -j"$(nproc)" --target sluice sluice-perf >/dev/null

WORK=$(mktemp -d /tmp/sluice-cleaner-XXXXXX)
BROKER=""
CHURN=""
cleanup() {
  [[ -n $CHURN ]] && kill "$CHURN" 2>/dev/null || true
  [[ -n $BROKER ]] && kill "$BROKER" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

source perf/common.sh
metric() {
  python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
    "http://127.0.0.1:$MPORT/metrics" | awk -v m="$1" '$1 ~ "^"m"[{]" || $1 == m { s += $2 } END { print s + 0 }'
}
quantile() { sed -nE "s/^latency.* $1 ([0-9]+) .*/\1/p" <<<"$2"; }

# run ENABLE: prints the measured producer's latency line.
run() {
  PORT=$(free_port); MPORT=$(free_port)
  rm -rf "$WORK/data"
  local log="$WORK/broker-$1.log"
  build-rel/sluice --set "listeners=PLAINTEXT://127.0.0.1:$PORT" --set "log.dirs=$WORK/data" \
    --set "sluice.metrics.port=$MPORT" --set "log.cleaner.enable=$1" \
    --set "log.cleaner.backoff.ms=100" >"$log" 2>&1 & BROKER=$!
  for _ in $(seq 100); do grep -q "sluice ready" "$log" && break; sleep 0.1; done
  /usr/bin/python3 - "127.0.0.1:$PORT" <<'PY'
import sys
from confluent_kafka.admin import AdminClient, NewTopic
a = AdminClient({"bootstrap.servers": sys.argv[1]})
cfg = {"cleanup.policy": "compact", "segment.bytes": str(1 << 20), "min.cleanable.dirty.ratio": "0.01"}
for f in a.create_topics([NewTopic("churn", 1, 1, config=cfg), NewTopic("load", 1, 1)]).values():
    f.result(30)
PY
  build-rel/perf/sluice-perf produce --brokers "127.0.0.1:$PORT" --topic churn --size 200 \
    --keys 10000 --rate "$CHURN_RATE" --duration $((DURATION + 5)) --acks 1 >/dev/null 2>&1 & CHURN=$!
  sleep 3
  local out
  out=$(build-rel/perf/sluice-perf produce --brokers "127.0.0.1:$PORT" --topic load --size 1024 \
    --rate "$RATE" --duration "$DURATION" --acks 1 2>/dev/null)
  wait "$CHURN" || true; CHURN=""
  RUNS[$1]=$(metric sluice_log_cleaner_runs_total)
  READ[$1]=$(metric sluice_log_cleaner_bytes_read_total)
  kill "$BROKER"; wait "$BROKER" 2>/dev/null || true; BROKER=""
  LAT[$1]=$(grep '^latency' <<<"$out")
}

declare -A LAT RUNS READ
for enable in false true; do
  echo "== log.cleaner.enable=$enable"
  run "$enable"
  echo "${LAT[$enable]}"
  echo "cleaner passes ${RUNS[$enable]}, bytes read ${READ[$enable]}"
done

echo
echo "| 1 KiB produce at $RATE msg/s, acks=1 (us) | cleaner off | cleaner on | on ÷ off |"
echo "| --- | --- | --- | --- |"
for q in p50 p99 p99.9; do
  off=$(quantile "$q" "${LAT[false]}"); on=$(quantile "$q" "${LAT[true]}")
  echo "| $q | $off | $on | $(ratio "$on" "$off") |"
done
echo "| cleaner passes / bytes read | ${RUNS[false]} / ${READ[false]} | ${RUNS[true]} / ${READ[true]} | |"
