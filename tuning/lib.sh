# What the tuning/*.sh studies share (sourced, not run): the common flags
# (--quick, --out DIR), the Release build, matplotlib, one broker at a time
# on free loopback ports (stopped by PID), sluice-perf runs that leave their
# JSON summary, CSV rows, the broker's CPU ticks and the plots.
#
# SLUICE_BIN and SLUICE_PERF_BIN (both, as ctest sets them) name binaries to
# use instead of building the Release ones in build-rel/.
#
# A study sets STUDY, its run length RUN_S and the shorter QUICK_RUN_S of
# --quick, and calls `tuning_parse "$@"` with its own flags handled by a
# function `study_flag` (returns 1 for a flag it does not know), then
# `tuning_setup`. The flags every study has (--quick, --out DIR, --seconds S)
# are parsed here only.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source perf/common.sh

QUICK=0
OUT=""
# No sluice-perf run may last longer than this (it then reports what it moved).
TUNING_RUN_MAX_S=120
BROKER=""
BROKER_DATA=""
BROKER_LOG=""
TUNING_WORK=""
if [[ -n ${SLUICE_BIN:-} && -n ${SLUICE_PERF_BIN:-} ]]; then
  SLUICE=$SLUICE_BIN PERF=$SLUICE_PERF_BIN TUNING_BUILD=0
else
  SLUICE=build-rel/sluice PERF=build-rel/perf/sluice-perf TUNING_BUILD=1
fi

tuning_usage() {
  echo "usage: bash tuning/$STUDY.sh [--quick] [--out DIR] [--seconds S] $STUDY_FLAGS" >&2
  exit 2
}

# Parses --quick, --out and --seconds; every other flag goes to study_flag
# NAME VALUE. --quick shortens the runs to QUICK_RUN_S unless --seconds
# says how long they last.
tuning_parse() {
  local seconds=""
  while (($#)); do
    case "$1" in
      --quick) QUICK=1; shift ;;
      --out) [[ $# -ge 2 ]] || tuning_usage; OUT=$2; shift 2 ;;
      --seconds)
        [[ $# -ge 2 && $2 =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "$STUDY.sh: --seconds takes a number of seconds" >&2; tuning_usage; }
        seconds=$2; shift 2 ;;
      --help|-h) tuning_usage ;;
      *) [[ $# -ge 2 ]] || tuning_usage
         study_flag "$1" "$2" || { echo "$STUDY.sh: unknown flag $1" >&2; tuning_usage; }
         shift 2 ;;
    esac
  done
  OUT=${OUT:-tuning/results}
  if [[ -n $seconds ]]; then RUN_S=$seconds; elif ((QUICK)); then RUN_S=$QUICK_RUN_S; fi
}

# Debian's matplotlib, for /usr/bin/python3; installed when missing. Returns
# 1 when it cannot be had (the smoke test then skips).
tuning_matplotlib() {
  /usr/bin/python3 -c 'import matplotlib' 2>/dev/null && return 0
  echo "$STUDY.sh: installing python3-matplotlib (apt-get)" >&2
  if ! { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-matplotlib >/dev/null; }; then
    echo "$STUDY.sh: python3-matplotlib could not be installed" >&2
    return 1
  fi
  /usr/bin/python3 -c 'import matplotlib' 2>/dev/null
}

tuning_setup() {
  tuning_matplotlib || exit 3
  if ((TUNING_BUILD)); then
    cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release -DSLUICE_BENCH=OFF >/dev/null
    cmake --build build-rel -j"$(nproc)" --target sluice sluice-perf >/dev/null
  fi
  mkdir -p "$OUT"
  TUNING_WORK=$(mktemp -d "/tmp/sluice-tuning-$STUDY-XXXXXX")
  trap tuning_cleanup EXIT
  {
    echo "study: $STUDY$( ((QUICK)) && echo ' (--quick)')"
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "cpus: $(nproc)"
    echo "broker: $SLUICE"
    echo "load average at start: $(load_average)"
  } >"$OUT/$STUDY.meta"
}

tuning_cleanup() {
  [[ -n $BROKER ]] && kill "$BROKER" 2>/dev/null && wait "$BROKER" 2>/dev/null
  [[ -n $TUNING_WORK ]] && rm -rf "$TUNING_WORK"
  return 0
}

load_average() { cut -d' ' -f1-3 /proc/loadavg; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# start_broker NAME [--set k=v | --config FILE]...: a broker on a fresh data
# directory; B is its bootstrap address.
start_broker() {
  local name=$1; shift
  local port; port=$(free_port)
  BROKER_DATA="$TUNING_WORK/$name"
  BROKER_LOG="$TUNING_WORK/$name.log"
  rm -rf "$BROKER_DATA"
  "$SLUICE" --set "listeners=PLAINTEXT://127.0.0.1:$port" --set "log.dirs=$BROKER_DATA" \
    "$@" >"$BROKER_LOG" 2>&1 &
  BROKER=$!
  local _
  for _ in $(seq 100); do grep -q "sluice ready" "$BROKER_LOG" && break; sleep 0.1; done
  grep -q "sluice ready" "$BROKER_LOG" || { echo "$STUDY.sh: broker $name not ready:" >&2; tail "$BROKER_LOG" >&2; exit 1; }
  B="127.0.0.1:$port"
}

stop_broker() {
  kill "$BROKER"; wait "$BROKER" 2>/dev/null || true; BROKER=""
  rm -rf "$BROKER_DATA"
}

broker_ticks() { echo $(($(user_ticks "$BROKER") + $(sys_ticks "$BROKER"))); }

# perf_json FILE ARGS...: runs sluice-perf ARGS with its summary in FILE
# (an empty object when the run failed, so that its row says so).
perf_json() {
  local file=$1; shift
  if ! "$PERF" "$@" --json "$file" >/dev/null 2>"$TUNING_WORK/perf.err" ||
     [[ ! -s $file ]]; then
    echo "$STUDY.sh: sluice-perf $1 failed: $(tail -1 "$TUNING_WORK/perf.err")" >&2
    echo '{}' >"$file"
  fi
}

# json_fields FILE KEY...: the values of KEYs (dotted for nested ones) in the
# JSON file, comma-separated ("" for a missing one).
json_fields() {
  /usr/bin/python3 - "$@" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
out = []
for key in sys.argv[2:]:
    v = doc
    for part in key.split(".") if not key.startswith("latency_us.") else ["latency_us", key[11:]]:
        v = v.get(part) if isinstance(v, dict) else None
    out.append("" if v is None else str(v))
print(",".join(out))
EOF
}

# The fields every study's row ends with, in this order.
PERF_FIELDS=(msgs_per_s mb_per_s errors latency_us.p50 latency_us.p99 latency_us.p99.9 latency_us.max)
PERF_HEADER="msgs_per_s,mb_per_s,errors,p50_us,p99_us,p999_us,max_us"

# Plots the study's CSV with tuning/plot.py.
tuning_plot() {
  echo "load average at end: $(load_average)" >>"$OUT/$STUDY.meta"
  /usr/bin/python3 tuning/plot.py "$STUDY" "$OUT/$STUDY.csv" "$OUT"
  echo "$STUDY.sh: $OUT/$STUDY.csv, $OUT/$STUDY*.png ($(load_average | cut -d' ' -f1) load at end)"
}
