#!/usr/bin/env bash
# perf/compare.sh's report: reading the figure files of one run (a median and
# the min-max of its runs, percentiles of the e2e runs) and printing the two
# tables, sluice beside Kafka and sluice beside the machine's limits and the
# mock broker, with the flag on a figure above its limit. Kept apart from the
# measuring so that the tables' shape and the flag rule are checked on fixed
# figures (tests/perf/test_compare_report.py), in CI, while the measured run
# stays a benchmark.
#
#   perf/compare_report.sh FIG_DIR VARS_FILE
#
# FIG_DIR holds one summary line per run of each figure, in NAME.I (a
# sluice-perf summary or latency line, "iperf3: N MB/s", "fio: N MB/s", or
# "failed: why"); VARS_FILE (bash assignments) the run's parameters and CPU
# figures, the variables report_tables names below. Sourced (compare.sh
# does), it only defines the functions, reading figures from $FIG.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# The MB/s of each run of a figure, one a line.
runs_mbps() { for f in "$FIG/$1".*; do mbps "$(<"$f")"; done | grep -v n/a || true; }
med() { runs_mbps "$1" | median; }
# "median MB/s (min-max)" of a figure.
spread() {
  local v; v=$(runs_mbps "$1")
  [[ -n $v ]] || { echo "failed: $(head -c 200 "$FIG/$1.1" | sed 's/^failed: //')"; return; }
  echo "$(median <<<"$v") MB/s ($(sort -n <<<"$v" | head -1)-$(sort -n <<<"$v" | tail -1))"
}
# A figure measured against a limit: "RATIO of WHAT", flagged above 1.0.
of_limit() {
  local r; r=$(ratio "$1" "$2")
  awk -v r="$r" -v what="$3" 'BEGIN { printf "%s of %s", r, what
    if (r != "-" && r > 1.0) printf " (MEASUREMENT PROBLEM: above the limit)" }'
}
largest() { printf '%s\n' "$@" | { grep -v n/a || true; } | sort -n | tail -1; }
pct() { sed -nE "s/.* $1 ([0-9]+) .*/\1/p" <<<"$2"; }
# The median of percentile Q (p50, p99, ...) over a figure's runs, in us; and
# "median ms (min-max)".
pct_med() { for f in "$FIG/$1".*; do pct "$2" "$(<"$f")"; done | median; }
pct_spread() {
  local v; v=$(for f in "$FIG/$1".*; do pct "$2" "$(<"$f")"; done)
  [[ -n $v ]] || { echo "-"; return; }
  awk -v m="$(median <<<"$v")" -v lo="$(sort -n <<<"$v" | head -1)" -v hi="$(sort -n <<<"$v" | tail -1)" \
    'BEGIN { printf "%.2f ms (%.2f-%.2f)", m / 1000, lo / 1000, hi / 1000 }'
}

# The limits a figure is measured against: produce's is the lower of the
# loopback (copying, as produce clients do) and the disk; a fetch's is the
# largest of the copying, the sendfile and the perf/loopback.py loopback
# figures for its stream count.
report_limits() {
  LOOPBACK_FETCH=$(largest "$(med loopback-fetch)" "$(med loopback-copy-fetch)" "$(med loopback-splice)")
  LOOPBACK_FETCH_ONE=$(largest "$(med loopback-fetch-1)" "$(med loopback-1)" "$(med loopback-splice-1)")
  LIMIT=$(awk -v a="$(med loopback-raw)" -v b="$(med disk)" 'BEGIN { print (a < b) ? a : b }')
  LIMIT_ONE=$(awk -v a="$(med loopback-1)" -v b="$(med disk)" 'BEGIN { print (a < b) ? a : b }')
}

# sluice and Kafka side by side: MB/s where higher is better, latency and
# CPU where lower is; the ratio is always sluice / Kafka, of the medians.
# Throughput and latency cells are "median (min-max of the runs)".
report_kafka_table() {
  echo "| figure | sluice | Kafka $KAFKA_VERSION | sluice / Kafka |"
  echo "| --- | --- | --- | --- |"
  row() { echo "| $1 | $(spread "s-$2") | $(spread "k-$2") | $(ratio "$(med "s-$2")" "$(med "k-$2")") |"; }
  prow() { echo "| e2e $1 at $E2E_RATE msg/s | $(pct_spread s-e2e "$1") | $(pct_spread k-e2e "$1") | $(ratio "$(pct_med s-e2e "$1")" "$(pct_med k-e2e "$1")") |"; }
  crow() { echo "| $1 | $2 s | $3 s | $(ratio "$2" "$3") |"; }
  row "raw produce, 1 MiB requests, acks=1" raw
  row "rdkafka produce, $SIZE B messages" produce
  row "raw hot fetch" raw-hot
  row "rdkafka hot fetch" hot
  row "raw cold fetch" raw-cold
  row "rdkafka cold fetch" cold
  prow p50
  prow p99
  prow p99.9
  crow "broker CPU per GB produced (rdkafka)" "$PRODUCE_CPU" "$K_PRODUCE_CPU"
  crow "broker CPU per GB produced (raw)" "$RAW_PRODUCE_CPU" "$K_RAW_PRODUCE_CPU"
  crow "broker user CPU per GB fetched (raw, hot)" "$RAW_FETCH_USER" "$K_RAW_FETCH_USER"
  crow "broker system CPU per GB fetched (raw, hot)" "$RAW_FETCH_SYS" "$K_RAW_FETCH_SYS"
}

# sluice against the machine's limits and the mock broker. A ratio above 1.0
# of a limit cannot be a real figure: it is flagged as a measurement problem.
report_limit_table() {
  local s_raw s_produce s_raw_hot s_hot
  s_raw=$(med s-raw); s_produce=$(med s-produce); s_raw_hot=$(med s-raw-hot); s_hot=$(med s-hot)
  echo "| figure | sluice | limit or peer | ratio | target |"
  echo "| --- | --- | --- | --- | --- |"
  echo "| loopback TCP (iperf3 -l $LOOPBACK_BLOCK, copying, 1 / $RAW_CONNECTIONS / $PARTITIONS streams) | | $(spread loopback-1) / $(spread loopback-raw) / $(spread loopback-copy-fetch) | | |"
  echo "| loopback TCP (iperf3 -l $LOOPBACK_BLOCK -Z, sendfile, 1 / $PARTITIONS streams) | | $(spread loopback-fetch-1) / $(spread loopback-fetch) | | |"
  echo "| loopback TCP (perf/loopback.py, sendfile of $FETCH_REQUEST_BYTES B to recv_into, 1 / $PARTITIONS streams) | | $(spread loopback-splice-1) / $(spread loopback-splice) | | |"
  echo "| buffered sequential write (fio, $FIO_MIB MiB) | | $(spread disk) | | |"
  echo "| raw produce, 1 MiB requests, acks=1, $RAW_CONNECTIONS connections | $(spread s-raw) | lower limit $LIMIT MB/s; mock $(med m-raw) MB/s | $(of_limit "$s_raw" "$LIMIT" limit); $(ratio "$s_raw" "$(med m-raw)") of mock | >= 0.70 of limit |"
  echo "| rdkafka produce, $SIZE B messages | $(spread s-produce) | lower limit $LIMIT_ONE MB/s; mock $(med m-produce) MB/s | $(of_limit "$s_produce" "$LIMIT_ONE" limit); $(ratio "$s_produce" "$(med m-produce)") of mock | >= 2.0 of mock |"
  echo "| raw hot fetch, $PARTITIONS connections | $(spread s-raw-hot) | loopback $LOOPBACK_FETCH MB/s ($PARTITIONS streams, the largest of the three) | $(of_limit "$s_raw_hot" "$LOOPBACK_FETCH" loopback) | >= 0.80 |"
  echo "| rdkafka hot fetch | $(spread s-hot) | loopback $LOOPBACK_FETCH_ONE MB/s (1 stream, the largest of the three) | $(of_limit "$s_hot" "$LOOPBACK_FETCH_ONE" loopback) | |"
  echo "| raw cold fetch | $(spread s-raw-cold) | raw hot | $(ratio "$(med s-raw-cold)" "$s_raw_hot") of hot | |"
  echo "| rdkafka cold fetch | $(spread s-cold) | rdkafka hot | $(ratio "$(med s-cold)" "$s_hot") of hot | |"
  echo "| e2e p99 at $E2E_RATE msg/s | $(pct_spread s-e2e p99) | mock $(pct_spread m-e2e p99) | $(ratio "$(pct_med s-e2e p99)" "$(pct_med m-e2e p99)") of mock | < 1 ms |"
  echo "| e2e p99.9 at $E2E_RATE msg/s | $(pct_spread s-e2e p99.9) | mock $(pct_spread m-e2e p99.9) | $(ratio "$(pct_med s-e2e p99.9)" "$(pct_med m-e2e p99.9)") of mock | < 2 ms |"
  echo "| broker CPU per GB produced (rdkafka) | ${PRODUCE_CPU} s | | | |"
  echo "| broker CPU per GB produced (raw) | ${RAW_PRODUCE_CPU} s | | | <= 0.4 s |"
  echo "| broker CPU per GB fetched (raw, hot) | user ${RAW_FETCH_USER} s, system ${RAW_FETCH_SYS} s | | | user near 0 |"
}

report_tables() {
  report_limits
  report_kafka_table
  echo
  report_limit_table
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  (($# == 2)) || { echo "usage: perf/compare_report.sh FIG_DIR VARS_FILE" >&2; exit 2; }
  FIG=$1
  source "$2"
  report_tables
fi
