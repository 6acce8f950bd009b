#!/usr/bin/env bash
# One run, side by side: this machine's limits (loopback TCP with iperf3,
# buffered sequential writes with fio), sluice with sluice-perf (produce, hot
# fetch, cold fetch after dropping the segments from the page cache), the same
# produce against librdkafka's mock broker, and the broker's CPU seconds per GB
# from /proc. Every figure is also printed as a ratio to its limit or peer.
#
#   perf/compare.sh [--messages N] [--size BYTES] [--partitions N]
#
# Builds what it needs in build-rel/. Servers listen on 127.0.0.1 only and are
# stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

MESSAGES=300000
SIZE=1024
PARTITIONS=6
while (($#)); do
  case "$1" in
    --messages) MESSAGES=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --partitions) PARTITIONS=$2; shift 2 ;;
    *) echo "compare.sh: unknown flag $1 (--messages N, --size BYTES, --partitions N)" >&2; exit 2 ;;
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
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks_per_s=$(getconf CLK_TCK)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }
mbps() { sed -E 's/.* ([0-9.]+) MB\/s.*/\1/' <<<"$1"; }

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
build-rel/mock_broker -n 1 -P "$MOCK_PORT" -t "bench:$PARTITIONS" -f "$WORK/mock.txt" >"$WORK/mock.log" 2>&1 & PIDS+=($!)
for _ in $(seq 100); do grep -q "sluice ready" "$WORK/sluice.log" && [[ -s $WORK/mock.txt ]] && break; sleep 0.1; done

perf_run() { build-rel/perf/sluice-perf "$@" 2>/dev/null | head -1; }
GB=$(awk -v n="$MESSAGES" -v s="$SIZE" 'BEGIN { printf "%.3f", n * s / 1e9 }')

echo "== produce ($MESSAGES x $SIZE B, acks=1, $PARTITIONS partitions)"
t0=$(cpu_ticks $SLUICE)
S_PRODUCE=$(perf_run produce --brokers "127.0.0.1:$SLUICE_PORT" --topic bench --size "$SIZE" --count "$MESSAGES" --acks 1)
t1=$(cpu_ticks $SLUICE)
M_PRODUCE=$(perf_run produce --brokers "127.0.0.1:$MOCK_PORT" --topic bench --size "$SIZE" --count "$MESSAGES" --acks 1)
echo "sluice: $S_PRODUCE"
echo "mock:   $M_PRODUCE"

echo "== fetch"
t2=$(cpu_ticks $SLUICE)
S_HOT=$(perf_run consume --brokers "127.0.0.1:$SLUICE_PORT" --topic bench --count "$MESSAGES")
t3=$(cpu_ticks $SLUICE)
python3 - "$WORK/data" <<'EOF'
import os, sys
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        if f.endswith(".log"):
            fd = os.open(os.path.join(root, f), os.O_RDONLY)
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(fd)
EOF
S_COLD=$(perf_run consume --brokers "127.0.0.1:$SLUICE_PORT" --topic bench --count "$MESSAGES")
echo "hot:  $S_HOT"
echo "cold: $S_COLD"

PRODUCE_CPU=$(awk -v t=$((t1 - t0)) -v hz="$ticks_per_s" -v gb="$GB" 'BEGIN { printf "%.2f", t / hz / gb }')
FETCH_CPU=$(awk -v t=$((t3 - t2)) -v hz="$ticks_per_s" -v gb="$GB" 'BEGIN { printf "%.2f", t / hz / gb }')

echo
echo "| figure | MB/s | ratio |"
echo "| --- | --- | --- |"
echo "| loopback TCP (iperf3) | $LOOPBACK | |"
echo "| buffered write (fio) | $DISK | |"
echo "| sluice produce | $(mbps "$S_PRODUCE") | $(ratio "$(mbps "$S_PRODUCE")" "$LIMIT") of the lower limit; $(ratio "$(mbps "$S_PRODUCE")" "$(mbps "$M_PRODUCE")") of the mock |"
echo "| mock produce | $(mbps "$M_PRODUCE") | |"
echo "| sluice hot fetch | $(mbps "$S_HOT") | $(ratio "$(mbps "$S_HOT")" "$LOOPBACK") of loopback |"
echo "| sluice cold fetch | $(mbps "$S_COLD") | $(ratio "$(mbps "$S_COLD")" "$(mbps "$S_HOT")") of hot |"
echo "| broker CPU per GB produced | ${PRODUCE_CPU} s | |"
echo "| broker CPU per GB fetched (hot) | ${FETCH_CPU} s | |"
