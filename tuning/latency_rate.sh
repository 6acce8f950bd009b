#!/usr/bin/env bash
# Latency vs rate: end-to-end latency (intended send time -> consumer, so no
# coordinated omission) of 1 KiB messages on one partition at fixed rates
# from 1k msg/s up to the highest rate the broker sustains (a rate is
# sustained when at least 95% of it arrived without errors; the sweep stops
# at the first that is not), for the broker's default layout and for the
# best other layout of the core layout study. Writes latency_rate.csv and
# latency_rate.png.
#
#   bash tuning/latency_rate.sh [--quick] [--out DIR] [--best N+M]
#       [--rates "1000 2000 5000 ..."] [--seconds S]
#
# --best defaults to the layout other than the default (one network and one
# io shard per CPU) with the highest median throughput in DIR/layout.csv
# (tuning/layout.sh), else 1+1: when the default layout is the best, the
# comparison is with the runner-up.
STUDY=latency_rate
STUDY_FLAGS='[--best N+M] [--rates LIST] [--seconds S]'
source "$(dirname "$0")/lib.sh"

BEST=""
RATES="1000 2000 5000 10000 20000 50000 100000 200000 500000"
RUN_S=5
SIZE=1024
study_flag() {
  case "$1" in
    --best) BEST=$2 ;;
    --rates) RATES=$2 ;;
    --seconds) RUN_S=$2 ;;
    *) return 1 ;;
  esac
}
tuning_parse "$@"
if ((QUICK)); then RATES="1000 5000 20000 50000"; RUN_S=1.5; fi
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
echo "layout,target_rate,load1,$PERF_HEADER,p9999_us" >"$CSV"
for layout in default "$BEST"; do
  if [[ $layout == default ]]; then
    start_broker default
    label="default ($(sed -nE 's/.*num.network.threads=([0-9]+) num.io.threads=([0-9]+).*/\1+\2/p' "$BROKER_LOG"))"
  else
    start_broker best --set "num.network.threads=${layout%+*}" --set "num.io.threads=${layout#*+}"
    label="best ($layout)"
  fi
  for rate in $RATES; do
    load=$(load1)
    perf_json "$TUNING_WORK/run.json" e2e --brokers "$B" --topic "r$rate" --partitions 1 \
      --size "$SIZE" --rate "$rate" --duration "$RUN_S"
    fields=$(json_fields "$TUNING_WORK/run.json" "${PERF_FIELDS[@]}" latency_us.p99.99)
    echo "$label,$rate,$load,$fields" >>"$CSV"; echo "$label,$rate,$load,$fields"
    achieved=${fields%%,*}
    errors=$(cut -d, -f3 <<<"$fields")
    awk -v a="${achieved:-0}" -v r="$rate" -v e="${errors:-1}" 'BEGIN { exit !(a >= 0.95 * r && e == 0) }' || break
  done
  stop_broker
done
tuning_plot
