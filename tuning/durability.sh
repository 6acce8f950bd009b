#!/usr/bin/env bash
# Durability study: no flush policy (Kafka's default: the page cache, then
# the kernel's writeback) vs log.flush.interval.messages=1 (flush.messages=1:
# an fdatasync before each acknowledgement, group-committed) -> throughput
# and ack p99 vs producer count. Producers are the raw engine's connections,
# each with up to 5 requests of 16 KiB in flight (as the Java producer's
# max.in.flight.requests.per.connection and batch.size make them), acks=all,
# 1 KiB records, one partition. Writes durability.csv and durability.png.
#
#   bash tuning/durability.sh [--quick] [--out DIR] [--producers "1 2 4 8 16"] [--seconds S]
STUDY=durability
STUDY_FLAGS='[--producers LIST]'
source "$(dirname "$0")/lib.sh"

PRODUCERS="1 2 4 8 16"
RUN_S=4
QUICK_RUN_S=1.5
SIZE=1024
REQUEST_BYTES=16384
INFLIGHT=5
study_flag() {
  case "$1" in
    --producers) PRODUCERS=$2 ;;
    *) return 1 ;;
  esac
}
tuning_parse "$@"
if ((QUICK)); then PRODUCERS="1 4 16"; fi
tuning_setup

CSV="$OUT/$STUDY.csv"
echo "policy,producers,load1,$PERF_HEADER" >"$CSV"
for policy in default flush.messages=1; do
  settings=()
  [[ $policy == default ]] || settings=(--set log.flush.interval.messages=1)
  # Each broker starts with nothing of the last one's left dirty in the
  # page cache: its writeback would slow this one's fsyncs.
  sync
  start_broker "${policy//[.=]/-}" "${settings[@]}"
  for n in $PRODUCERS; do
    flags=(--engine raw --brokers "$B" --topic "d$n" --partitions 1 --size "$SIZE" --acks all
           --connections "$n" --inflight "$INFLIGHT" --request-bytes "$REQUEST_BYTES")
    # The first fdatasyncs of a new segment file (its allocation and
    # directory entry) are slow: a warm-up takes them.
    perf_json "$TUNING_WORK/warm.json" produce "${flags[@]}" --duration 0.5
    load=$(load1)
    perf_json "$TUNING_WORK/run.json" produce "${flags[@]}" --duration "$RUN_S"
    row="$policy,$n,$load,$(json_fields "$TUNING_WORK/run.json" "${PERF_FIELDS[@]}")"
    echo "$row" >>"$CSV"; echo "$row"
  done
  stop_broker
done
tuning_plot
