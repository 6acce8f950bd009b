#!/usr/bin/env bash
# One run, side by side: this machine's limits (loopback TCP with iperf3,
# buffered sequential writes with fio); sluice with both sluice-perf engines
# (produce, hot fetch, cold fetch after dropping the segments from the page
# cache, end-to-end latency at a fixed rate); the same loads against Apache
# Kafka (scripts/kafka-peer.sh: its default version, its default
# configuration but num.partitions, its own start script's JVM settings with
# a 1 GiB heap, data on the same disk) and against librdkafka's mock broker;
# and each broker's CPU seconds per GB (user and system, from /proc). Every
# figure is also printed as a ratio to its limit or peer, beside the target it
# is checked against.
#
#   perf/compare.sh [--messages N] [--size BYTES] [--partitions N] [--e2e-rate MSG_PER_S]
#
# Builds what it needs in build-rel/. Servers listen on 127.0.0.1 only and are
# stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

MESSAGES=300000
SIZE=1024
PARTITIONS=6
E2E_RATE=10000
E2E_SECONDS=10
RAW_REQUEST_BYTES=$((1 << 20))
while (($#)); do
  case "$1" in
    --messages) MESSAGES=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --partitions) PARTITIONS=$2; shift 2 ;;
    --e2e-rate) E2E_RATE=$2; shift 2 ;;
    *) echo "compare.sh: unknown flag $1 (--messages N, --size BYTES, --partitions N, --e2e-rate R)" >&2; exit 2 ;;
  esac
done

for tool in iperf3 fio; do
  command -v "$tool" >/dev/null || { echo "compare.sh: $tool missing: apt-get install $tool" >&2; exit 2; }
done

cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release -DSLUICE_BENCH=OFF >/dev/null
cmake --build build-rel -j"$(nproc)" --target sluice sluice-perf >/dev/null
MOCK_SRC=../shared/tools/mock-broker/mock_broker.c
[[ -f $MOCK_SRC ]] || { echo "compare.sh: $MOCK_SRC not found" >&2; exit 2; }
gcc -O2 -o build-rel/mock_broker "$MOCK_SRC" -lrdkafka -ldl

WORK=$(mktemp -d /tmp/sluice-compare-XXXXXX)
PIDS=()
cleanup() {
  bash scripts/kafka-peer.sh stop --dir "$WORK/kafka" >/dev/null 2>&1 || true
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

source perf/common.sh

echo "== limits"
IPERF_PORT=$(free_port)
iperf3 -s -B 127.0.0.1 -p "$IPERF_PORT" >/dev/null 2>&1 & PIDS+=($!)
sleep 0.5
LOOPBACK=$(iperf3 -c 127.0.0.1 -p "$IPERF_PORT" -t 5 -J | python3 -c 'import json,sys; print("%.0f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 8e6))')
DISK=$(fio --name=seqwrite --directory="$WORK" --rw=write --bs=1M --size=1G --ioengine=psync \
  --end_fsync=0 --output-format=json 2>/dev/null | python3 -c 'import json,sys; print("%.0f" % (json.load(sys.stdin)["jobs"][0]["write"]["bw_bytes"] / 1e6))')
rm -f "$WORK"/seqwrite*
LIMIT=$((LOOPBACK < DISK ? LOOPBACK : DISK))
echo "loopback TCP: $LOOPBACK MB/s; buffered sequential write: $DISK MB/s"

SLUICE_PORT=$(free_port)
build-rel/sluice --set "listeners=PLAINTEXT://127.0.0.1:$SLUICE_PORT" --set "log.dirs=$WORK/data" \
  --set "num.partitions=$PARTITIONS" >"$WORK/sluice.log" 2>&1 & SLUICE=$!; PIDS+=($SLUICE)
MOCK_PORT=$(free_port)
build-rel/mock_broker -n 1 -P "$MOCK_PORT" -t "bench:$PARTITIONS" -t "raw:$PARTITIONS" -t "e2e:1" \
  -f "$WORK/mock.txt" >"$WORK/mock.log" 2>&1 & PIDS+=($!)
for _ in $(seq 100); do grep -q "sluice ready" "$WORK/sluice.log" && [[ -s $WORK/mock.txt ]] && break; sleep 0.1; done
S="127.0.0.1:$SLUICE_PORT"
M="127.0.0.1:$MOCK_PORT"
K=$(bash scripts/kafka-peer.sh start --dir "$WORK/kafka" --set "num.partitions=$PARTITIONS" |
  sed -n 's/^KAFKA_BOOTSTRAP=//p')
KAFKA=$(<"$WORK/kafka/kafka.pid")
KAFKA_VERSION=$(<"$WORK/kafka/version")
echo "Apache Kafka $KAFKA_VERSION at $K (JVM heap 1 GiB, Kafka's defaults but num.partitions=$PARTITIONS)"
# Kafka elects a new topic's leader a moment after the Metadata that made it:
# the topics are made first, with Kafka's own tool, and used once each has a
# leader (the raw engine sends no Metadata between its Produce requests).
KAFKA_CP=$(bash scripts/kafka-peer.sh classpath --version "$KAFKA_VERSION")
for t in bench:$PARTITIONS raw:$PARTITIONS e2e:1; do
  java -Xmx256M -cp "$KAFKA_CP" org.apache.kafka.tools.TopicCommand --bootstrap-server "$K" \
    --create --topic "${t%%:*}" --partitions "${t##*:}" >/dev/null 2>&1
done
for _ in $(seq 100); do
  kcat -b "$K" -L 2>/dev/null | grep -Eq 'leader -1|Leader not available' || break
  sleep 0.1
done

# The first line of sluice-perf's summary, or "failed: <why>". No run may
# take longer than PERF_RUN_MAX_S (it then reports what it moved by then).
PERF_RUN_MAX_S=120
perf_run() {
  local out
  if out=$(build-rel/perf/sluice-perf "$@" --duration "$PERF_RUN_MAX_S" 2>"$WORK/perf.err"); then
    head -1 <<<"$out"
  else echo "failed: $(grep -v '^ *[0-9.]*s ' "$WORK/perf.err" | tail -1)"; fi
}
latency_of() { build-rel/perf/sluice-perf "$@" --duration "$PERF_RUN_MAX_S" 2>/dev/null | sed -n 2p; }
pct() { sed -nE "s/.* $1 ([0-9]+) .*/\1/p" <<<"$2"; }

echo "== rdkafka engine: produce ($MESSAGES x $SIZE B, acks=1, $PARTITIONS partitions)"
u0=$(user_ticks $SLUICE); s0=$(sys_ticks $SLUICE)
S_PRODUCE=$(perf_run produce --brokers "$S" --topic bench --size "$SIZE" --count "$MESSAGES" --acks 1)
u1=$(user_ticks $SLUICE); s1=$(sys_ticks $SLUICE)
ku0=$(user_ticks $KAFKA); ks0=$(sys_ticks $KAFKA)
K_PRODUCE=$(perf_run produce --brokers "$K" --topic bench --size "$SIZE" --count "$MESSAGES" --acks 1)
ku1=$(user_ticks $KAFKA); ks1=$(sys_ticks $KAFKA)
M_PRODUCE=$(perf_run produce --brokers "$M" --topic bench --size "$SIZE" --count "$MESSAGES" --acks 1)
echo "sluice: $S_PRODUCE"; echo "kafka:  $K_PRODUCE"; echo "mock:   $M_PRODUCE"
PRODUCE_CPU=$(per_gb $((u1 - u0 + s1 - s0)) "$(bytes_of "$S_PRODUCE")")
K_PRODUCE_CPU=$(per_gb $((ku1 - ku0 + ks1 - ks0)) "$(bytes_of "$K_PRODUCE")")

echo "== raw engine: produce (1 MiB requests, acks=1, $PARTITIONS partitions, 4 connections x 2 in flight)"
RAW_COUNT=$((MESSAGES * 3))
u0=$(user_ticks $SLUICE); s0=$(sys_ticks $SLUICE)
S_RAW=$(perf_run produce --engine raw --brokers "$S" --topic raw --partitions "$PARTITIONS" --size "$SIZE" \
  --count "$RAW_COUNT" --request-bytes "$RAW_REQUEST_BYTES" --acks 1)
u1=$(user_ticks $SLUICE); s1=$(sys_ticks $SLUICE)
ku0=$(user_ticks $KAFKA); ks0=$(sys_ticks $KAFKA)
K_RAW=$(perf_run produce --engine raw --brokers "$K" --topic raw --partitions "$PARTITIONS" --size "$SIZE" \
  --count "$RAW_COUNT" --request-bytes "$RAW_REQUEST_BYTES" --acks 1)
ku1=$(user_ticks $KAFKA); ks1=$(sys_ticks $KAFKA)
M_RAW=$(perf_run produce --engine raw --brokers "$M" --topic raw --size "$SIZE" --count "$RAW_COUNT" \
  --request-bytes "$RAW_REQUEST_BYTES" --acks 1)
echo "sluice: $S_RAW"; echo "kafka:  $K_RAW"; echo "mock:   $M_RAW"
RAW_PRODUCE_CPU=$(per_gb $((u1 - u0 + s1 - s0)) "$(bytes_of "$S_RAW")")
K_RAW_PRODUCE_CPU=$(per_gb $((ku1 - ku0 + ks1 - ks0)) "$(bytes_of "$K_RAW")")

echo "== fetch from the page cache"
S_HOT=$(perf_run consume --brokers "$S" --topic bench --count "$MESSAGES")
u0=$(user_ticks $SLUICE); s0=$(sys_ticks $SLUICE)
S_RAW_HOT=$(perf_run consume --engine raw --brokers "$S" --topic raw --count "$RAW_COUNT" \
  --request-bytes $((8 << 20)) --connections "$PARTITIONS")
u1=$(user_ticks $SLUICE); s1=$(sys_ticks $SLUICE)
RAW_FETCH_USER=$(per_gb $((u1 - u0)) "$(bytes_of "$S_RAW_HOT")")
RAW_FETCH_SYS=$(per_gb $((s1 - s0)) "$(bytes_of "$S_RAW_HOT")")
K_HOT=$(perf_run consume --brokers "$K" --topic bench --count "$MESSAGES")
ku0=$(user_ticks $KAFKA); ks0=$(sys_ticks $KAFKA)
K_RAW_HOT=$(perf_run consume --engine raw --brokers "$K" --topic raw --count "$RAW_COUNT" \
  --request-bytes $((8 << 20)) --connections "$PARTITIONS")
ku1=$(user_ticks $KAFKA); ks1=$(sys_ticks $KAFKA)
K_RAW_FETCH_USER=$(per_gb $((ku1 - ku0)) "$(bytes_of "$K_RAW_HOT")")
K_RAW_FETCH_SYS=$(per_gb $((ks1 - ks0)) "$(bytes_of "$K_RAW_HOT")")
echo "rdkafka hot: sluice $S_HOT"; echo "             kafka  $K_HOT"
echo "raw hot:     sluice $S_RAW_HOT"; echo "             kafka  $K_RAW_HOT"

echo "== fetch after dropping the segments from the page cache"
drop_cache() {
python3 - "$1" <<'EOF'
import os, sys
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        if f.endswith(".log"):
            fd = os.open(os.path.join(root, f), os.O_RDONLY)
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(fd)
EOF
}
drop_cache "$WORK/data"
S_COLD=$(perf_run consume --brokers "$S" --topic bench --count "$MESSAGES")
drop_cache "$WORK/data"
S_RAW_COLD=$(perf_run consume --engine raw --brokers "$S" --topic raw --count "$RAW_COUNT" \
  --request-bytes $((8 << 20)) --connections "$PARTITIONS")
drop_cache "$WORK/kafka/data"
K_COLD=$(perf_run consume --brokers "$K" --topic bench --count "$MESSAGES")
drop_cache "$WORK/kafka/data"
K_RAW_COLD=$(perf_run consume --engine raw --brokers "$K" --topic raw --count "$RAW_COUNT" \
  --request-bytes $((8 << 20)) --connections "$PARTITIONS")
echo "rdkafka cold: sluice $S_COLD"; echo "              kafka  $K_COLD"
echo "raw cold:     sluice $S_RAW_COLD"; echo "              kafka  $K_RAW_COLD"

echo "== end-to-end latency ($E2E_RATE msg/s of $SIZE B, linger 0, ${E2E_SECONDS} s)"
E2E_COUNT=$((E2E_RATE * E2E_SECONDS))
S_E2E=$(latency_of e2e --brokers "$S" --topic e2e --partitions 1 --size "$SIZE" --rate "$E2E_RATE" --count "$E2E_COUNT")
K_E2E=$(latency_of e2e --brokers "$K" --topic e2e --partitions 1 --size "$SIZE" --rate "$E2E_RATE" --count "$E2E_COUNT")
M_E2E=$(latency_of e2e --brokers "$M" --topic e2e --size "$SIZE" --rate "$E2E_RATE" --count "$E2E_COUNT")
echo "sluice: $S_E2E"; echo "kafka:  $K_E2E"; echo "mock:   $M_E2E"

us_to_ms() { awk -v u="$1" 'BEGIN { if (u ~ /^[0-9]+$/) printf "%.2f", u / 1000; else printf "-" }'; }
S_P50=$(pct p50 "$S_E2E"); K_P50=$(pct p50 "$K_E2E")
S_P99=$(pct p99 "$S_E2E"); S_P999=$(pct p99.9 "$S_E2E")
K_P99=$(pct p99 "$K_E2E"); K_P999=$(pct p99.9 "$K_E2E")
M_P99=$(pct p99 "$M_E2E"); M_P999=$(pct p99.9 "$M_E2E")

# sluice and Kafka side by side: MB/s where higher is better, latency and
# CPU where lower is; the ratio is always sluice / Kafka.
echo
echo "| figure | sluice | Kafka $KAFKA_VERSION | sluice / Kafka |"
echo "| --- | --- | --- | --- |"
row() { echo "| $1 | $2 | $3 | $(ratio "$4" "$5") |"; }
row "raw produce, 1 MiB requests, acks=1" "$(mbps "$S_RAW") MB/s" "$(mbps "$K_RAW") MB/s" "$(mbps "$S_RAW")" "$(mbps "$K_RAW")"
row "rdkafka produce, $SIZE B messages" "$(mbps "$S_PRODUCE") MB/s" "$(mbps "$K_PRODUCE") MB/s" "$(mbps "$S_PRODUCE")" "$(mbps "$K_PRODUCE")"
row "raw hot fetch" "$(mbps "$S_RAW_HOT") MB/s" "$(mbps "$K_RAW_HOT") MB/s" "$(mbps "$S_RAW_HOT")" "$(mbps "$K_RAW_HOT")"
row "rdkafka hot fetch" "$(mbps "$S_HOT") MB/s" "$(mbps "$K_HOT") MB/s" "$(mbps "$S_HOT")" "$(mbps "$K_HOT")"
row "raw cold fetch" "$(mbps "$S_RAW_COLD") MB/s" "$(mbps "$K_RAW_COLD") MB/s" "$(mbps "$S_RAW_COLD")" "$(mbps "$K_RAW_COLD")"
row "rdkafka cold fetch" "$(mbps "$S_COLD") MB/s" "$(mbps "$K_COLD") MB/s" "$(mbps "$S_COLD")" "$(mbps "$K_COLD")"
row "e2e p50 at $E2E_RATE msg/s" "$(us_to_ms "$S_P50") ms" "$(us_to_ms "$K_P50") ms" "$S_P50" "$K_P50"
row "e2e p99 at $E2E_RATE msg/s" "$(us_to_ms "$S_P99") ms" "$(us_to_ms "$K_P99") ms" "$S_P99" "$K_P99"
row "e2e p99.9 at $E2E_RATE msg/s" "$(us_to_ms "$S_P999") ms" "$(us_to_ms "$K_P999") ms" "$S_P999" "$K_P999"
row "broker CPU per GB produced (rdkafka)" "${PRODUCE_CPU} s" "${K_PRODUCE_CPU} s" "$PRODUCE_CPU" "$K_PRODUCE_CPU"
row "broker CPU per GB produced (raw)" "${RAW_PRODUCE_CPU} s" "${K_RAW_PRODUCE_CPU} s" "$RAW_PRODUCE_CPU" "$K_RAW_PRODUCE_CPU"
row "broker user CPU per GB fetched (raw, hot)" "${RAW_FETCH_USER} s" "${K_RAW_FETCH_USER} s" "$RAW_FETCH_USER" "$K_RAW_FETCH_USER"
row "broker system CPU per GB fetched (raw, hot)" "${RAW_FETCH_SYS} s" "${K_RAW_FETCH_SYS} s" "$RAW_FETCH_SYS" "$K_RAW_FETCH_SYS"

echo
echo "| figure | sluice | limit or peer | ratio | target |"
echo "| --- | --- | --- | --- | --- |"
echo "| loopback TCP (iperf3) | | $LOOPBACK MB/s | | |"
echo "| buffered sequential write (fio) | | $DISK MB/s | | |"
echo "| raw produce, 1 MiB requests, acks=1 | $(mbps "$S_RAW") MB/s | lower limit $LIMIT MB/s; mock $(mbps "$M_RAW") MB/s | $(ratio "$(mbps "$S_RAW")" "$LIMIT") of limit; $(ratio "$(mbps "$S_RAW")" "$(mbps "$M_RAW")") of mock | >= 0.70 of limit |"
echo "| rdkafka produce, $SIZE B messages | $(mbps "$S_PRODUCE") MB/s | mock $(mbps "$M_PRODUCE") MB/s | $(ratio "$(mbps "$S_PRODUCE")" "$(mbps "$M_PRODUCE")") of mock | >= 2.0 of mock |"
echo "| raw hot fetch | $(mbps "$S_RAW_HOT") MB/s | loopback $LOOPBACK MB/s | $(ratio "$(mbps "$S_RAW_HOT")" "$LOOPBACK") of loopback | >= 0.80 |"
echo "| rdkafka hot fetch | $(mbps "$S_HOT") MB/s | loopback $LOOPBACK MB/s | $(ratio "$(mbps "$S_HOT")" "$LOOPBACK") of loopback | |"
echo "| raw cold fetch | $(mbps "$S_RAW_COLD") MB/s | raw hot | $(ratio "$(mbps "$S_RAW_COLD")" "$(mbps "$S_RAW_HOT")") of hot | |"
echo "| rdkafka cold fetch | $(mbps "$S_COLD") MB/s | rdkafka hot | $(ratio "$(mbps "$S_COLD")" "$(mbps "$S_HOT")") of hot | |"
echo "| e2e p99 at $E2E_RATE msg/s | $(us_to_ms "$S_P99") ms | mock $(us_to_ms "$M_P99") ms | $(ratio "$S_P99" "$M_P99") of mock | < 1 ms |"
echo "| e2e p99.9 at $E2E_RATE msg/s | $(us_to_ms "$S_P999") ms | mock $(us_to_ms "$M_P999") ms | $(ratio "$S_P999" "$M_P999") of mock | < 3 ms |"
echo "| broker CPU per GB produced (rdkafka) | ${PRODUCE_CPU} s | | | |"
echo "| broker CPU per GB produced (raw) | ${RAW_PRODUCE_CPU} s | | | |"
echo "| broker CPU per GB fetched (raw, hot) | user ${RAW_FETCH_USER} s, system ${RAW_FETCH_SYS} s | | | user near 0 |"
