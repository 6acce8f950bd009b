#!/usr/bin/env bash
# Producer batching study: linger.ms x batch.size x acks -> throughput and
# latency, with a real client (sluice-perf's librdkafka engine, 1 KiB
# values, one producer, a default broker). Each cell runs twice: flat out
# for throughput, then at a fixed rate below saturation for the
# send -> delivery report latency (at saturation the latency is only the
# client's queue). Writes batching.csv and batching.png.
#
#   bash tuning/batching.sh [--quick] [--out DIR] [--linger "0 2 10 50"]
#       [--batch "16384 131072 1048576"] [--acks "1 all"] [--rate MSG_PER_S] [--seconds S]
STUDY=batching
STUDY_FLAGS='[--linger LIST] [--batch LIST] [--acks LIST] [--rate MSG_PER_S]'
source "$(dirname "$0")/lib.sh"

LINGER="0 2 10 50"
BATCH="16384 131072 1048576"
ACKS="1 all"
RATE=5000
RUN_S=3
QUICK_RUN_S=1
SIZE=1024
study_flag() {
  case "$1" in
    --linger) LINGER=$2 ;;
    --batch) BATCH=$2 ;;
    --acks) ACKS=$2 ;;
    --rate) RATE=$2 ;;
    *) return 1 ;;
  esac
}
tuning_parse "$@"
if ((QUICK)); then LINGER="0 10"; BATCH="16384 1048576"; fi
tuning_setup

CSV="$OUT/$STUDY.csv"
echo "linger_ms,batch_bytes,acks,fixed_rate,load1,$PERF_HEADER,rate_p50_us,rate_p99_us,rate_p999_us" >"$CSV"
start_broker batching
# One topic for every cell: created once, so no cell pays for it.
perf_json "$TUNING_WORK/warm.json" produce --brokers "$B" --topic batching --partitions 1 \
  --size "$SIZE" --acks 1 --count 1000
for acks in $ACKS; do
  for batch in $BATCH; do
    for linger in $LINGER; do
      flags=(--brokers "$B" --topic batching --size "$SIZE" --acks "$acks" --linger-ms "$linger"
             --batch-bytes "$batch")
      load=$(load1)
      perf_json "$TUNING_WORK/max.json" produce "${flags[@]}" --duration "$RUN_S"
      perf_json "$TUNING_WORK/rate.json" produce "${flags[@]}" --rate "$RATE" --duration "$RUN_S"
      row="$linger,$batch,$acks,$RATE,$load,$(json_fields "$TUNING_WORK/max.json" "${PERF_FIELDS[@]}")"
      row+=",$(json_fields "$TUNING_WORK/rate.json" latency_us.p50 latency_us.p99 latency_us.p99.9)"
      echo "$row" >>"$CSV"; echo "$row"
    done
  done
done
stop_broker
tuning_plot
