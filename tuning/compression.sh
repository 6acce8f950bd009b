#!/usr/bin/env bash
# Compression codec study: none, gzip, snappy, lz4, zstd -> produce
# throughput (librdkafka engine, 1 KiB values, acks=1, linger 5 ms, 1 MiB
# batches), the broker's CPU seconds per GB of values (utime + stime from
# /proc/PID/stat over the run) and the bytes the topic takes on disk (du of
# its partition directories, after the broker stopped) per value byte.
# sluice-perf's values are one repeated byte, so the ratios on disk are the
# best case any codec can reach, not what user data gets. The codec the
# broker stored (the first batch's attributes) is a column: librdkafka
# before 2.8 sends gzip, snappy and lz4 batches uncompressed to a broker
# whose ApiVersions lists Produce from v3 only (librdkafka issue 4956,
# KAFKA-18659). Writes compression.csv and compression.png.
#
#   bash tuning/compression.sh [--quick] [--out DIR] [--codecs "none gzip snappy lz4 zstd"]
#       [--seconds S] [--partitions N]
STUDY=compression
STUDY_FLAGS='[--codecs LIST] [--partitions N]'
source "$(dirname "$0")/lib.sh"

CODECS="none gzip snappy lz4 zstd"
RUN_S=5
QUICK_RUN_S=2
PARTITIONS=6
SIZE=1024
study_flag() {
  case "$1" in
    --codecs) CODECS=$2 ;;
    --partitions) PARTITIONS=$2 ;;
    *) return 1 ;;
  esac
}
tuning_parse "$@"
tuning_setup

# The codec of a segment's first batch (attributes, bits 0-2, at byte 22 of
# the v2 batch header).
stored_codec() {
  /usr/bin/python3 -c 'import sys
head = open(sys.argv[1], "rb").read(23)
names = ["none", "gzip", "snappy", "lz4", "zstd"]
print(names[head[22] & 7] if len(head) == 23 and head[22] & 7 < 5 else "unknown")' "$1"
}

CSV="$OUT/$STUDY.csv"
echo "codec,load1,$PERF_HEADER,bytes,broker_cpu_s_per_gb,disk_bytes,disk_bytes_per_value_byte,stored_codec" >"$CSV"
for codec in $CODECS; do
  # One broker per codec: the disk figure is that codec's topic alone.
  start_broker "$codec"
  flags=(--brokers "$B" --topic "z-$codec" --partitions "$PARTITIONS" --size "$SIZE" --acks 1
         --compression "$codec" --linger-ms 5 --batch-bytes 1048576)
  perf_json "$TUNING_WORK/warm.json" produce "${flags[@]}" --count 1000
  load=$(load1)
  t0=$(broker_ticks)
  perf_json "$TUNING_WORK/run.json" produce "${flags[@]}" --duration "$RUN_S"
  t1=$(broker_ticks)
  fields=$(json_fields "$TUNING_WORK/run.json" "${PERF_FIELDS[@]}" bytes)
  bytes=${fields##*,}
  warm_bytes=$(json_fields "$TUNING_WORK/warm.json" bytes)
  kill "$BROKER"; wait "$BROKER" 2>/dev/null || true; BROKER=""
  disk=$(du -sb "$BROKER_DATA"/z-"$codec"-* | awk '{ s += $1 } END { print s + 0 }')
  per_byte=$(awk -v d="$disk" -v b="$bytes" -v w="${warm_bytes:-0}" 'BEGIN { if (b + w > 0) printf "%.4f", d / (b + w); }')
  stored=$(stored_codec "$BROKER_DATA/z-$codec-0/00000000000000000000.log")
  row="$codec,$load,$fields,$(per_gb $((t1 - t0)) "$bytes"),$disk,$per_byte,$stored"
  echo "$row" >>"$CSV"; echo "$row"
  rm -rf "$BROKER_DATA"
done
tuning_plot
