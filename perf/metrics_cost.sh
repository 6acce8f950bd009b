#!/usr/bin/env bash
# What the metrics endpoint costs, in one broker run: the scrape of 10,000
# partitions' series (a topic of 10,000 partitions with a group committed on
# each, timed with curl: median of --scrapes, target < 100 ms), then produce
# throughput with a scrape of /metrics (and of the status page) every second
# against the same without, in pairs of runs whose order alternates (ABBA:
# a drift of the machine falls on both sides), target >= 0.98x for the
# median of the pairs' ratios. The bench topic's retention bounds what the
# runs leave on disk. On a shared machine the load average printed first
# says how far to trust the ratio.
#
#   perf/metrics_cost.sh [--seconds S] [--pairs N] [--scrapes N] [--partitions N]
#
# SLUICE_BIN and SLUICE_PERF_BIN name the binaries (default build/). The
# broker listens on 127.0.0.1 and is stopped by PID; its data lives under a
# temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
source perf/common.sh

SECONDS_PER_RUN=5
PAIRS=6
SCRAPES=9
PARTITIONS=10000
# The bench topic's retention bounds what the runs leave on disk only if it
# is applied while they run: at ~1 GB/s, Kafka's default check every 5
# minutes let twelve pairs fill a 74 GB disk to the log.dirs floor.
RETENTION_CHECK_MS=2000
while (($#)); do
  case "$1" in
    --seconds) SECONDS_PER_RUN=$2; shift 2 ;;
    --pairs) PAIRS=$2; shift 2 ;;
    --scrapes) SCRAPES=$2; shift 2 ;;
    --partitions) PARTITIONS=$2; shift 2 ;;
    *) echo "metrics_cost.sh: unknown flag $1 (--seconds S, --pairs N, --scrapes N, --partitions N)" >&2
       exit 2 ;;
  esac
done
SLUICE_BIN=${SLUICE_BIN:-build/sluice}
SLUICE_PERF_BIN=${SLUICE_PERF_BIN:-build/perf/sluice-perf}
for b in "$SLUICE_BIN" "$SLUICE_PERF_BIN"; do
  [[ -x $b ]] || { echo "metrics_cost.sh: $b missing: build first" >&2; exit 2; }
done
command -v curl >/dev/null || { echo "metrics_cost.sh: curl missing" >&2; exit 2; }

work=$(mktemp -d /tmp/sluice-metrics-cost.XXXXXX)
port=$(free_port)
mport=$(free_port)
broker_pid=""
scraper_pid=""
cleanup() {
  [[ -n $scraper_pid ]] && kill "$scraper_pid" 2>/dev/null || true
  if [[ -n $broker_pid ]]; then
    kill -TERM "$broker_pid" 2>/dev/null || true
    for _ in $(seq 1200); do kill -0 "$broker_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
"$SLUICE_BIN" --set "listeners=PLAINTEXT://127.0.0.1:$port" --set "log.dirs=$work/data" \
  --set "sluice.metrics.port=$mport" --set "num.partitions=1" \
  --set "log.retention.check.interval.ms=$RETENTION_CHECK_MS" >"$work/broker.log" 2>&1 &
broker_pid=$!
for _ in $(seq 300); do grep -q "sluice ready" "$work/broker.log" && break; sleep 0.1; done
grep -q "sluice ready" "$work/broker.log" || { tail "$work/broker.log"; exit 1; }

# The wide topic, one record and a committed offset on every partition: each
# partition then has its log series and a group's lag series.
/usr/bin/python3 - "127.0.0.1:$port" "$PARTITIONS" <<'PY'
import sys
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
bs, n = sys.argv[1], int(sys.argv[2])
admin = AdminClient({"bootstrap.servers": bs, "socket.timeout.ms": 300000})
bounded = {"retention.bytes": str(64 << 20), "segment.bytes": str(16 << 20)}
for t, parts, cfg in (("wide", n, {}), ("bench", 8, bounded)):
    admin.create_topics([NewTopic(t, parts, 1, config=cfg)], request_timeout=300)[t].result(300)
p = Producer({"bootstrap.servers": bs, "linger.ms": 20})
for i in range(n):
    p.produce("wide", value=b"x", partition=i)
assert p.flush(120) == 0
c = Consumer({"bootstrap.servers": bs, "group.id": "wide-readers", "enable.auto.commit": False})
for k in range(0, n, 1000):
    c.commit(offsets=[TopicPartition("wide", i, 1) for i in range(k, min(n, k + 1000))],
             asynchronous=False)
c.close()
PY

url="http://127.0.0.1:$mport/metrics"
curl -s "$url" >"$work/scrape.txt"
series=$(grep -vc '^#' "$work/scrape.txt")
lag_series=$(grep -c '^sluice_consumer_group_lag{' "$work/scrape.txt" || true)
ticks_before=$(( $(user_ticks "$broker_pid") + $(sys_ticks "$broker_pid") ))
scrape_ms=$(for _ in $(seq "$SCRAPES"); do
  curl -s -o /dev/null -w '%{time_total}\n' "$url"; done | awk '{ print $1 * 1000 }' | median)
ticks_after=$(( $(user_ticks "$broker_pid") + $(sys_ticks "$broker_pid") ))
# The broker's CPU time per scrape (all its threads, idle loops included):
# what a loaded machine's wall clock cannot show.
scrape_cpu_ms=$(awk -v t=$((ticks_after - ticks_before)) -v hz="$ticks_per_s" -v n="$SCRAPES" \
  'BEGIN { printf "%.1f", t / hz * 1000 / n }')
page_ms=$(for _ in $(seq "$SCRAPES"); do
  curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$mport/"; done |
  awk '{ print $1 * 1000 }' | median)

produce() {
  "$SLUICE_PERF_BIN" produce --engine raw --brokers "127.0.0.1:$port" --topic bench \
    --duration "$SECONDS_PER_RUN" --size 1024 --acks 1 2>/dev/null | grep -m1 "MB/s" || true
}
scrape_every_second() {
  while true; do
    curl -s -o /dev/null "$url"; curl -s -o /dev/null "http://127.0.0.1:$mport/"; sleep 1
  done
}
with_scrapes() {
  scrape_every_second & scraper_pid=$!
  mbps "$(produce)"
  kill "$scraper_pid"; wait "$scraper_pid" 2>/dev/null || true; scraper_pid=""
}
without=()
with=()
ratios=()
load=$(cut -d' ' -f1-3 /proc/loadavg)
for k in $(seq "$PAIRS"); do
  if ((k % 2)); then
    a=$(mbps "$(produce)"); b=$(with_scrapes)
  else
    b=$(with_scrapes); a=$(mbps "$(produce)")
  fi
  without+=("$a"); with+=("$b"); ratios+=("$(ratio "$b" "$a")")
done
m_without=$(printf '%s\n' "${without[@]}" | median)
m_with=$(printf '%s\n' "${with[@]}" | median)
m_ratio=$(printf '%s\n' "${ratios[@]}" | median)

echo "load average before the runs: $load ($(nproc) CPUs)"
echo "partitions: $PARTITIONS (+8 in bench), series: $series, lag series: $lag_series, exposition: $(wc -c <"$work/scrape.txt") bytes"
echo "scrape /metrics: median $scrape_ms ms of $SCRAPES (target < 100 ms), broker CPU $scrape_cpu_ms ms per scrape; status page: median $page_ms ms"
echo "produce MB/s without scrapes: ${without[*]} (median $m_without)"
echo "produce MB/s with a scrape of /metrics and / every second: ${with[*]} (median $m_with)"
echo "pairs' ratios with/without: ${ratios[*]}; median $m_ratio (target >= 0.98); ratio of medians $(ratio "$m_with" "$m_without")"
