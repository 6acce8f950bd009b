#!/usr/bin/env bash
# Scaling with shards, in one run on this machine: the same raw-engine produce
# and hot fetch, and rdkafka-engine produce, against a broker with 1 shard and
# with 2 (num.network.threads = num.io.threads = 1, then 2: connections and
# partitions both spread), with the broker's CPU seconds per GB; then the cost
# of a cross-shard hop: 1 KiB Produce requests one at a time on a single
# connection to a one-partition topic, classified by whether the kernel gave
# the connection to the partition's shard (local) or to the other one (the
# partition's part goes there and its answer comes back); and the cost of
# fetching across shards: with one network shard and two io shards, one
# connection consumes a topic on its own shard and one on the other (the plan
# crosses, the bytes are spliced by the socket's shard either way).
#
#   perf/shards.sh [--messages N] [--trials N]
#
# Builds what it needs in build-rel/. Servers listen on 127.0.0.1 only and are
# stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

MESSAGES=300000
TRIALS=16
while (($#)); do
  case "$1" in
    --messages) MESSAGES=$2; shift 2 ;;
    --trials) TRIALS=$2; shift 2 ;;
    *) echo "shards.sh: unknown flag $1 (--messages N, --trials N)" >&2; exit 2 ;;
  esac
done

cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release -DSLUICE_BENCH=OFF >/dev/null
cmake --build build-rel -j"$(nproc)" --target sluice sluice-perf >/dev/null

WORK=$(mktemp -d /tmp/sluice-shards-XXXXXX)
BROKER=""
cleanup() {
  [[ -n $BROKER ]] && kill "$BROKER" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

source perf/common.sh
ticks() { echo $(($(user_ticks "$1") + $(sys_ticks "$1"))); }
perf() { build-rel/perf/sluice-perf "$@" 2>/dev/null | head -1; }
metric() {
  python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
    "http://127.0.0.1:$MPORT/metrics" | sed -nE "s/^$1 ([0-9]+)$/\1/p"
}

# start_broker NETWORK [IO]: IO defaults to NETWORK.
start_broker() {
  PORT=$(free_port); MPORT=$(free_port)
  rm -rf "$WORK/data"
  local log="$WORK/broker-$1-${2:-$1}.log"
  build-rel/sluice --set "listeners=PLAINTEXT://127.0.0.1:$PORT" --set "log.dirs=$WORK/data" \
    --set "sluice.metrics.port=$MPORT" --set "num.network.threads=$1" --set "num.io.threads=${2:-$1}" \
    >"$log" 2>&1 & BROKER=$!
  for _ in $(seq 100); do grep -q "sluice ready" "$log" && break; sleep 0.1; done
}
stop_broker() { kill "$BROKER"; wait "$BROKER" 2>/dev/null || true; BROKER=""; }

declare -A RAW_P RAW_F RD_P CPU_P CPU_F
RAW_COUNT=$((MESSAGES * 3))
for n in 1 2; do
  echo "== num.network.threads=$n num.io.threads=$n"
  start_broker "$n"
  S="127.0.0.1:$PORT"
  t0=$(ticks "$BROKER")
  out=$(perf produce --engine raw --brokers "$S" --topic raw --partitions 6 --size 1024 \
    --count "$RAW_COUNT" --request-bytes $((1 << 20)) --connections 4 --inflight 2 --acks 1)
  t1=$(ticks "$BROKER")
  RAW_P[$n]=$(mbps "$out"); CPU_P[$n]=$(per_gb $((t1 - t0)) "$(bytes_of "$out")"); echo "raw produce: $out"
  out=$(perf consume --engine raw --brokers "$S" --topic raw --count "$RAW_COUNT" \
    --request-bytes $((8 << 20)) --connections 6)
  t2=$(ticks "$BROKER")
  RAW_F[$n]=$(mbps "$out"); CPU_F[$n]=$(per_gb $((t2 - t1)) "$(bytes_of "$out")"); echo "raw fetch:   $out"
  out=$(perf produce --brokers "$S" --topic rd --partitions 6 --size 1024 --count "$MESSAGES" --acks 1)
  RD_P[$n]=$(mbps "$out"); echo "rdkafka produce: $out"
  stop_broker
done

echo "== cross-shard hop (2 shards, $TRIALS single-connection trials)"
start_broker 2
S="127.0.0.1:$PORT"
build-rel/perf/sluice-perf produce --brokers "$S" --topic hop --partitions 1 --size 100 --count 1 >/dev/null 2>&1
LOCAL=(); HOP=()
for _ in $(seq "$TRIALS"); do
  f0=$(metric 'sluice_shard_calls_total\{shard="1"\}')
  line=$(build-rel/perf/sluice-perf produce --engine raw --brokers "$S" --topic hop --size 1000 \
    --request-bytes 1001 --connections 1 --inflight 1 --count 2000 2>/dev/null | sed -n 2p)
  f1=$(metric 'sluice_shard_calls_total\{shard="1"\}')
  p50=$(sed -nE 's/.* p50 ([0-9]+) .*/\1/p' <<<"$line")
  if (( f1 - f0 > 1000 )); then HOP+=("$p50"); else LOCAL+=("$p50"); fi
done
stop_broker
echo "== fetch across shards (1 network shard, 2 io shards, one connection)"
start_broker 1 2
S="127.0.0.1:$PORT"
# Created in this order on a fresh broker: "near" on io shard 0, which also
# owns the only connection; "far" on io shard 1.
for topic in near far; do
  perf produce --engine raw --brokers "$S" --topic "$topic" --partitions 1 --size 1024 \
    --count "$RAW_COUNT" --request-bytes $((1 << 20)) --connections 1 --inflight 2 --acks 1 >/dev/null
done
declare -A XF XCPU
for topic in near far near far; do
  t0=$(ticks "$BROKER")
  out=$(perf consume --engine raw --brokers "$S" --topic "$topic" --count "$RAW_COUNT" \
    --request-bytes $((8 << 20)) --connections 1)
  t1=$(ticks "$BROKER")
  XF[$topic]=$(mbps "$out"); XCPU[$topic]=$(per_gb $((t1 - t0)) "$(bytes_of "$out")")
  echo "$topic: $out"
done
stop_broker
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END { if (NR) print a[int((NR+1)/2)]; else print "-" }'; }
L=$(median "${LOCAL[@]}"); H=$(median "${HOP[@]}")

echo
echo "| figure | 1 shard | 2 shards | 2 ÷ 1 |"
echo "| --- | --- | --- | --- |"
echo "| raw produce, 1 MiB requests (MB/s) | ${RAW_P[1]} | ${RAW_P[2]} | $(ratio "${RAW_P[2]}" "${RAW_P[1]}") |"
echo "| raw hot fetch (MB/s) | ${RAW_F[1]} | ${RAW_F[2]} | $(ratio "${RAW_F[2]}" "${RAW_F[1]}") |"
echo "| rdkafka produce, 1 KiB (MB/s) | ${RD_P[1]} | ${RD_P[2]} | $(ratio "${RD_P[2]}" "${RD_P[1]}") |"
echo "| broker CPU s per GB produced (raw) | ${CPU_P[1]} | ${CPU_P[2]} | |"
echo "| broker CPU s per GB fetched (raw) | ${CPU_F[1]} | ${CPU_F[2]} | |"
echo
echo "| 1 KiB Produce, one in flight | p50 latency (median of trials) | trials |"
echo "| --- | --- | --- |"
echo "| connection on the partition's shard (local) | ${L} us | ${#LOCAL[@]} |"
echo "| connection on the other shard (hop there and back) | ${H} us | ${#HOP[@]} |"
echo "| cost of the hop | $(awk -v h="$H" -v l="$L" 'BEGIN { if (h ~ /^[0-9]+$/ && l ~ /^[0-9]+$/) print h - l " us"; else print "-" }') | |"
echo
echo "| raw fetch, one connection, 1 partition (second of two runs) | MB/s | broker CPU s per GB |"
echo "| --- | --- | --- |"
echo "| partition on the connection's shard | ${XF[near]} | ${XCPU[near]} |"
echo "| partition on the other io shard | ${XF[far]} | ${XCPU[far]} |"
echo "| across ÷ local | $(ratio "${XF[far]}" "${XF[near]}") | |"
