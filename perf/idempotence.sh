#!/usr/bin/env bash
# Idempotent produce against plain produce, in one run on one broker: the
# same load (sluice-perf's librdkafka engine, acks=all, 1 KiB values,
# PARTITIONS partitions) with enable.idempotence=false and =true, alternated
# ROUNDS times so that the machine's drift hits both alike; prints each
# round's MB/s and the ratio of the medians (issue 14's target: >= 0.95), and
# the broker's CPU seconds per GB for each. Each run's topic is deleted
# after it (Debian's confluent-kafka, under /usr/bin/python3).
#
#   perf/idempotence.sh [--messages N] [--size BYTES] [--partitions N] [--rounds N]
#
# Builds what it needs in build-rel/. The broker listens on 127.0.0.1 only
# and is stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

MESSAGES=500000
SIZE=1024
PARTITIONS=6
ROUNDS=3
while (($#)); do
  case "$1" in
    --messages) MESSAGES=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --partitions) PARTITIONS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    *) echo "idempotence.sh: unknown flag $1 (--messages N, --size BYTES, --partitions N, --rounds N)" >&2; exit 2 ;;
  esac
done

cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release -DSLUICE_BENCH=OFF >/dev/null
cmake --build build-rel -j"$(nproc)" --target sluice sluice-perf >/dev/null

WORK=$(mktemp -d /tmp/sluice-idempotence-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

source perf/common.sh

PORT=$(free_port)
build-rel/sluice --set "listeners=PLAINTEXT://127.0.0.1:$PORT" --set "log.dirs=$WORK/data" \
  --set "num.partitions=$PARTITIONS" >"$WORK/sluice.log" 2>&1 & SLUICE=$!; PIDS+=($SLUICE)
for _ in $(seq 100); do grep -q "sluice ready" "$WORK/sluice.log" && break; sleep 0.1; done
B="127.0.0.1:$PORT"

# MB/s of one run (its summary's first line), each on a topic of its own.
PERF_RUN_MAX_S=120
run_once() {
  local topic=$1 idempotence=$2 out
  out=$(build-rel/perf/sluice-perf produce --brokers "$B" --topic "$topic" --size "$SIZE" \
    --count "$MESSAGES" --acks all --idempotence "$idempotence" --duration "$PERF_RUN_MAX_S" 2>"$WORK/perf.err") ||
    { echo "idempotence.sh: sluice-perf failed: $(tail -1 "$WORK/perf.err")" >&2; exit 1; }
  head -1 <<<"$out"
}

echo "== produce $MESSAGES x $SIZE B, acks=all, $PARTITIONS partitions, $ROUNDS rounds"
PLAIN=() IDEM=() PLAIN_TICKS=0 IDEM_TICKS=0 PLAIN_BYTES=0 IDEM_BYTES=0
for r in $(seq "$ROUNDS"); do
  for mode in false true; do
    t0=$(( $(user_ticks $SLUICE) + $(sys_ticks $SLUICE) ))
    line=$(run_once "bench-$mode-$r" "$mode")
    t1=$(( $(user_ticks $SLUICE) + $(sys_ticks $SLUICE) ))
    echo "round $r, enable.idempotence=$mode: $line"
    delete_topic "$B" "bench-$mode-$r"
    sync
    if [[ $mode == true ]]; then
      IDEM+=("$(mbps "$line")"); IDEM_TICKS=$((IDEM_TICKS + t1 - t0)); IDEM_BYTES=$((IDEM_BYTES + $(bytes_of "$line")))
    else
      PLAIN+=("$(mbps "$line")"); PLAIN_TICKS=$((PLAIN_TICKS + t1 - t0)); PLAIN_BYTES=$((PLAIN_BYTES + $(bytes_of "$line")))
    fi
  done
done
P=$(printf '%s\n' "${PLAIN[@]}" | median)
I=$(printf '%s\n' "${IDEM[@]}" | median)
echo "plain:      median $P MB/s, broker $(per_gb "$PLAIN_TICKS" "$PLAIN_BYTES") CPU s/GB"
echo "idempotent: median $I MB/s, broker $(per_gb "$IDEM_TICKS" "$IDEM_BYTES") CPU s/GB"
echo "idempotent / plain: $(ratio "$I" "$P") (target >= 0.95)"
if grep -q "WARN\|ERROR" "$WORK/sluice.log"; then
  echo "broker warnings:"; grep "WARN\|ERROR" "$WORK/sluice.log" | head -5
fi
