#!/usr/bin/env bash
# Transactional produce on sluice and on Apache Kafka (scripts/kafka-peer.sh,
# its default version) in one run: sluice-perf's librdkafka transactional
# producer (--transactional-id; TXN_RECORDS records of SIZE bytes per
# transaction, acks=all, PARTITIONS partitions, each transaction committed),
# for DURATION seconds on each broker (after an unmeasured WARMUP_S-second
# run on each), alternated ROUNDS times so that the machine's drift hits both
# alike. Prints each run's MB/s, commit latency
# (begin -> commit_transaction returned) p50/p99 and EndTxn p99
# (commit_transaction once the records are delivered), then the medians side
# by side with sluice / Kafka ratios (issue 14's target: EndTxn p99 under
# 5 ms on sluice). Each run's topic is deleted after it (Debian's
# confluent-kafka, under /usr/bin/python3).
#
#   perf/transactions.sh [--duration S] [--size BYTES] [--txn-records N] [--partitions N] [--rounds N]
#
# Builds what it needs in build-rel/. Both brokers listen on 127.0.0.1 only
# and are stopped by PID on exit. A broker whose runs fail is reported as
# such and the script exits 1 after the summary.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=10
SIZE=1024
TXN_RECORDS=100
PARTITIONS=6
ROUNDS=3
WARMUP_S=5
while (($#)); do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --txn-records) TXN_RECORDS=$2; shift 2 ;;
    --partitions) PARTITIONS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    *) echo "transactions.sh: unknown flag $1 (--duration S, --size BYTES, --txn-records N, --partitions N, --rounds N)" >&2; exit 2 ;;
  esac
done

cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release -DSLUICE_BENCH=OFF >/dev/null
cmake --build build-rel -j"$(nproc)" --target sluice sluice-perf >/dev/null

WORK=$(mktemp -d /tmp/sluice-transactions-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  bash scripts/kafka-peer.sh stop --dir "$WORK/kafka" >/dev/null 2>&1 || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

source perf/common.sh

PORT=$(free_port)
build-rel/sluice --set "listeners=PLAINTEXT://127.0.0.1:$PORT" --set "log.dirs=$WORK/data" \
  >"$WORK/sluice.log" 2>&1 & SLUICE=$!; PIDS+=($SLUICE)
for _ in $(seq 100); do grep -q "sluice ready" "$WORK/sluice.log" && break; sleep 0.1; done
K=$(bash scripts/kafka-peer.sh start --dir "$WORK/kafka" | sed -n 's/^KAFKA_BOOTSTRAP=//p')
KAFKA_VERSION=$(<"$WORK/kafka/version")
declare -A BOOTSTRAP=([sluice]="127.0.0.1:$PORT" [kafka]="$K")

# One run on one broker: its summary as "MB/s commit_p50_us commit_p99_us
# endtxn_p99_us", or "failed" (the reason on stderr).
PERF_RUN_MAX_S=$((DURATION * 3 + 60))
run_once() {
  local side=$1 topic=$2 json=$WORK/$2.json
  if ! timeout "$PERF_RUN_MAX_S" build-rel/perf/sluice-perf produce --brokers "${BOOTSTRAP[$side]}" \
      --topic "$topic" --partitions "$PARTITIONS" --size "$SIZE" --acks all --duration "$DURATION" \
      --transactional-id "$topic" --txn-records "$TXN_RECORDS" --json "$json" \
      >/dev/null 2>"$WORK/perf.err" || [[ ! -s $json ]]; then
    echo "transactions.sh: $side: sluice-perf failed: $(tail -1 "$WORK/perf.err")" >&2
    echo failed
    return
  fi
  /usr/bin/python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(r["mb_per_s"], r["latency_us"]["p50"], r["latency_us"]["p99"], r["second_latency_us"]["p99"])' "$json"
}
ms() { awk -v u="$1" 'BEGIN { if (u == "n/a") print u; else printf "%.2f", u / 1000 }'; }

echo "== transactional produce: $TXN_RECORDS records x $SIZE B per transaction, acks=all, $PARTITIONS partitions,"
echo "   ${DURATION} s per run, $ROUNDS rounds; sluice at ${BOOTSTRAP[sluice]}, Kafka $KAFKA_VERSION at $K"
# An unmeasured run on each broker first: Kafka's JVM compiles its hot paths
# in the first seconds (measured: its first 10 s run had about 4x the commit
# p50 of its third).
for side in sluice kafka; do
  DURATION=$WARMUP_S run_once "$side" "txn-warmup-$side" >/dev/null 2>&1 || true
  delete_topic "${BOOTSTRAP[$side]}" "txn-warmup-$side" 2>/dev/null || true
done
declare -A MBPS=() P50=() P99=() END99=() FAILED=()
for r in $(seq "$ROUNDS"); do
  for side in sluice kafka; do
    topic="txn-$side-$r"
    line=$(run_once "$side" "$topic")
    delete_topic "${BOOTSTRAP[$side]}" "$topic" 2>/dev/null || true
    sync
    if [[ $line == failed ]]; then
      echo "round $r, $side: failed"
      FAILED[$side]=1
      continue
    fi
    read -r mb p50 p99 end99 <<<"$line"
    echo "round $r, $side: $mb MB/s, commit p50 $(ms "$p50") ms p99 $(ms "$p99") ms, EndTxn p99 $(ms "$end99") ms"
    MBPS[$side]+="$mb "; P50[$side]+="$p50 "; P99[$side]+="$p99 "; END99[$side]+="$end99 "
  done
done

med() { tr ' ' '\n' <<<"${1:-}" | grep . | median; }
echo
echo "| figure (median of $ROUNDS) | sluice | Kafka $KAFKA_VERSION | sluice / Kafka |"
echo "| --- | --- | --- | --- |"
row() {
  local name=$1 s=$2 k=$3
  echo "| $name | $s | $k | $( [[ $s == n/a || $k == n/a ]] && echo - || ratio "$s" "$k") |"
}
row "throughput MB/s" "$(med "${MBPS[sluice]:-}")" "$(med "${MBPS[kafka]:-}")"
row "commit p50 ms" "$(ms "$(med "${P50[sluice]:-}")")" "$(ms "$(med "${P50[kafka]:-}")")"
row "commit p99 ms" "$(ms "$(med "${P99[sluice]:-}")")" "$(ms "$(med "${P99[kafka]:-}")")"
row "EndTxn p99 ms (target < 5 on sluice)" "$(ms "$(med "${END99[sluice]:-}")")" "$(ms "$(med "${END99[kafka]:-}")")"
if grep -q "WARN\|ERROR" "$WORK/sluice.log"; then
  echo "sluice warnings:"; grep "WARN\|ERROR" "$WORK/sluice.log" | head -5
fi
((${#FAILED[@]} == 0)) || { echo "failed on: ${!FAILED[*]}" >&2; exit 1; }
