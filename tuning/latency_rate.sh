#!/usr/bin/env bash
# Latency vs rate: `sluice-perf sweep` (end-to-end and produce-ack latency
# of 1 KiB messages on one partition, timed from each message's intended
# send time, so no coordinated omission) at fixed rates from 1k msg/s up to
# the highest rate the broker sustains (sweep's rule: produced and consumed
# >= 95% of the target, nothing lost), for the broker's default layout and
# for the best other layout of the core layout study. Writes
# latency_rate.csv (a layout column, then sweep's columns) and
# latency_rate.png.
#
#   bash tuning/latency_rate.sh [--quick] [--out DIR] [--best N+M]
#       [--rates "1000 2000 5000 ..."] [--seconds S]
#
# Without --rates the sweep climbs from 1000 msg/s along 1, 1.5, 2, 3, 5,
# 7 x 10^k until a step is not sustained. --seconds is each step's length
# (whole seconds). --best defaults to the layout other than the default (one
# network and one io shard per CPU) with the highest median throughput in
# DIR/layout.csv (tuning/layout.sh), else 1+1: when the default layout is
# the best, the comparison is with the runner-up.
STUDY=latency_rate
STUDY_FLAGS='[--best N+M] [--rates LIST]'
source "$(dirname "$0")/lib.sh"

BEST=""
RATES=""
RUN_S=5
QUICK_RUN_S=1
SIZE=1024
study_flag() {
  case "$1" in
    --best) BEST=$2 ;;
    --rates) RATES=$2 ;;
    *) return 1 ;;
  esac
}
tuning_parse "$@"
if ((QUICK)); then RATES="1000 5000 20000 50000"; fi
tuning_setup

# The layout ("N+M") other than $2 with the highest median MB/s over the
# cells of a layout.csv.
best_of_layout_csv() {
  /usr/bin/python3 - "$1" "$2" <<'EOF'
import csv, statistics, sys
by = {}
for r in csv.DictReader(open(sys.argv[1])):
    layout = f'{r["network_threads"]}+{r["io_threads"]}'
    if r["mb_per_s"] and layout != sys.argv[2]:
        by.setdefault(layout, []).append(float(r["mb_per_s"]))
print(max(by, key=lambda k: statistics.median(by[k])) if by else "1+1")
EOF
}
if [[ -z $BEST ]]; then
  if [[ -s $OUT/layout.csv ]]; then BEST=$(best_of_layout_csv "$OUT/layout.csv" "$(nproc)+$(nproc)"); else BEST=1+1; fi
fi
[[ $BEST =~ ^[0-9]+\+[0-9]+$ ]] || { echo "$STUDY.sh: --best takes N+M (network+io threads)" >&2; exit 2; }

CSV="$OUT/$STUDY.csv"
if [[ -n $RATES ]]; then RATE_FLAGS=(--rates "$(tr -s ' ' ',' <<<"$RATES")"); else RATE_FLAGS=(--from 1000); fi
header_written=0
for layout in default "$BEST"; do
  if [[ $layout == default ]]; then
    start_broker default
    label="default ($(sed -nE 's/.*num.network.threads=([0-9]+) num.io.threads=([0-9]+).*/\1+\2/p' "$BROKER_LOG"))"
  else
    start_broker best --set "num.network.threads=${layout%+*}" --set "num.io.threads=${layout#*+}"
    label="best other ($layout)"
  fi
  "$PERF" sweep --brokers "$B" --topic rate --partitions 1 --size "$SIZE" "${RATE_FLAGS[@]}" \
    --step-seconds "$RUN_S" --csv "$TUNING_WORK/sweep.csv" 2>/dev/null | grep -v '^ ' || true
  [[ -s $TUNING_WORK/sweep.csv ]] || { echo "$STUDY.sh: sluice-perf sweep wrote no CSV" >&2; exit 1; }
  ((header_written)) || { echo "layout,$(head -1 "$TUNING_WORK/sweep.csv")" >"$CSV"; header_written=1; }
  tail -n +2 "$TUNING_WORK/sweep.csv" | sed "s/^/$label,/" >>"$CSV"
  stop_broker
done
tuning_plot
