#!/usr/bin/env bash
# Core layout study: num.network.threads x num.io.threads x connections x
# partitions -> produce throughput and request p99 (raw engine: pre-encoded
# 1 KiB-record Produce requests at saturation, acks=1, so the broker and not
# the client is measured). One broker per layout, a fresh topic per cell.
# Writes layout.csv and heat maps layout_throughput.png / layout_p99.png.
#
#   bash tuning/layout.sh [--quick] [--out DIR] [--network "1 2"] [--io "1 2"]
#       [--connections "1 4 16"] [--partitions "1 6 24"] [--seconds S]
#
# The thread lists default to 1, 2, 4 ... up to this machine's CPU count, so
# the grid grows with the machine; give longer lists on a bigger one.
STUDY=layout
STUDY_FLAGS='[--network LIST] [--io LIST] [--connections LIST] [--partitions LIST]'
source "$(dirname "$0")/lib.sh"

powers_to_cpus() { local n=1 out=""; while ((n <= $(nproc))); do out+="$n "; n=$((n * 2)); done; echo "${out% }"; }
NETWORK=$(powers_to_cpus)
IO=$NETWORK
CONNECTIONS="1 4 16"
PARTITIONS="1 6 24"
RUN_S=3
QUICK_RUN_S=1
SIZE=1024
REQUEST_BYTES=65536
INFLIGHT=2
study_flag() {
  case "$1" in
    --network) NETWORK=$2 ;;
    --io) IO=$2 ;;
    --connections) CONNECTIONS=$2 ;;
    --partitions) PARTITIONS=$2 ;;
    *) return 1 ;;
  esac
}
tuning_parse "$@"
if ((QUICK)); then CONNECTIONS="1 8"; PARTITIONS="1 8"; fi
tuning_setup

CSV="$OUT/$STUDY.csv"
echo "network_threads,io_threads,connections,partitions,load1,$PERF_HEADER" >"$CSV"
for net in $NETWORK; do
  for io in $IO; do
    start_broker "n$net-io$io" --set "num.network.threads=$net" --set "num.io.threads=$io"
    for c in $CONNECTIONS; do
      for p in $PARTITIONS; do
        topic="c$c-p$p"
        # A short unmeasured run creates the topic and warms the connections.
        perf_json "$TUNING_WORK/warm.json" produce --engine raw --brokers "$B" --topic "$topic" \
          --partitions "$p" --size "$SIZE" --request-bytes "$REQUEST_BYTES" --connections "$c" \
          --inflight "$INFLIGHT" --acks 1 --duration 0.3
        load=$(load1)
        perf_json "$TUNING_WORK/run.json" produce --engine raw --brokers "$B" --topic "$topic" \
          --partitions "$p" --size "$SIZE" --request-bytes "$REQUEST_BYTES" --connections "$c" \
          --inflight "$INFLIGHT" --acks 1 --duration "$RUN_S"
        row="$net,$io,$c,$p,$load,$(json_fields "$TUNING_WORK/run.json" "${PERF_FIELDS[@]}")"
        echo "$row" >>"$CSV"; echo "$row"
      done
    done
    stop_broker
  done
done
tuning_plot
