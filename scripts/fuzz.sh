#!/usr/bin/env bash
# Builds the libFuzzer targets (build-fuzz: clang, ASan+UBSan) and runs each
# tests/fuzz/fuzz_<name> in turn for a fixed time over its committed seeds,
# then prints one table: executions, coverage (libFuzzer's cov: edges and ft:
# features at the end of the run), new inputs and peak memory per target.
#
#   scripts/fuzz.sh                      # every target, 60 s each
#   scripts/fuzz.sh --seconds 3600       # long runs
#   scripts/fuzz.sh --only request,config --seconds 600 -- -jobs=1 -dict=my.dict
#
# New inputs libFuzzer finds go to a scratch corpus outside the repository
# (--scratch, kept between runs so long runs build on each other); crashing,
# leaking, hanging or memory-exhausting inputs go to a run's artifacts
# directory, named in the table; the committed seeds are only read. Arguments
# after `--` go to every target. Exits non-zero when any target failed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

seconds=60
only=""
build_dir=build-fuzz
scratch=""
run_dir=""
extra=()
usage() {
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
  echo "options: --seconds N  --only a,b  --build-dir DIR  --scratch DIR  --out DIR  [-- libFuzzer flags]"
}
while (($#)); do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --scratch) scratch=$2; shift 2 ;;
    --out) run_dir=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) usage; exit 0 ;;
    *) echo "fuzz.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { echo "fuzz.sh: --seconds needs a positive number" >&2; exit 2; }
scratch=${scratch:-$ROOT/$build_dir/fuzz-scratch}
run_dir=${run_dir:-$ROOT/$build_dir/fuzz-runs/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$run_dir/artifacts" "$run_dir/logs" "$scratch"

echo "== building $build_dir (clang, -DSLUICE_FUZZ=ON) =="
if ! CC=clang CXX=clang++ cmake -S . -B "$build_dir" -DSLUICE_FUZZ=ON -DSLUICE_BENCH=OFF >/dev/null ||
   ! cmake --build "$build_dir" -j"$(nproc)" >"$run_dir/logs/build.log" 2>&1; then
  tail -30 "$run_dir/logs/build.log"
  echo "fuzz.sh: build failed (log: $run_dir/logs/build.log)" >&2
  exit 1
fi

targets=()
for bin in "$build_dir"/tests/fuzz/fuzz_*; do
  [[ -x $bin && -f $bin ]] || continue
  name=${bin##*/fuzz_}
  if [[ -n $only && ",$only," != *",$name,"* ]]; then
    continue
  fi
  targets+=("$name")
done
if ((${#targets[@]} == 0)); then
  echo "fuzz.sh: no fuzz targets to run${only:+ (--only $only)}" >&2
  exit 2
fi

# The value after `key:` on the last line of a log that has it.
last_field() {
  grep -Eo "$2[: ]+[0-9]+" "$1" | tail -1 | grep -Eo '[0-9]+$'
}

rows=()
failed=0
for name in "${targets[@]}"; do
  log=$run_dir/logs/$name.log
  mkdir -p "$scratch/$name"
  dirs=("$scratch/$name")
  [[ -d tests/fuzz/corpus/$name ]] && dirs+=("tests/fuzz/corpus/$name")
  echo "== fuzz_$name: ${seconds}s (log: $log) =="
  start=$(date +%s)
  "$build_dir/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -print_final_stats=1 \
    -timeout=25 -rss_limit_mb=2048 -artifact_prefix="$run_dir/artifacts/$name-" \
    "${extra[@]}" "${dirs[@]}" >"$log" 2>&1
  rc=$?
  took=$(($(date +%s) - start))
  result=ok
  if ((rc != 0)); then
    failed=$((failed + 1))
    artifact=$(grep -Eo "Test unit written to [^ ]+" "$log" | tail -1 | sed 's/Test unit written to //')
    kind=$(grep -Eo "ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer|libFuzzer): [a-z-]+" "$log" | head -1 | sed 's/ERROR: //')
    result="FAILED rc=$rc ${kind:-}${artifact:+ -> $artifact}"
    grep -m1 -A12 -E "^==[0-9]+==ERROR|runtime error:|ALARM|out-of-memory" "$log" | sed 's/^/    /'
  fi
  execs=$(last_field "$log" 'stat::number_of_executed_units')
  rate=$(last_field "$log" 'stat::average_exec_per_sec')
  added=$(last_field "$log" 'stat::new_units_added')
  rss=$(last_field "$log" 'stat::peak_rss_mb')
  cov=$(last_field "$log" 'cov')
  ft=$(last_field "$log" 'ft')
  rows+=("$(printf '%-18s %8s %14s %10s %8s %8s %8s %8s  %s' "fuzz_$name" "$took" "${execs:--}" \
            "${rate:--}" "${cov:--}" "${ft:--}" "${added:--}" "${rss:--}" "$result")")
done

echo
echo "== fuzz summary: ${#targets[@]} targets, ${seconds}s each =="
printf '%-18s %8s %14s %10s %8s %8s %8s %8s  %s\n' target seconds executions exec/s cov ft new rss_mb result
printf '%s\n' "${rows[@]}"
echo "new inputs: $scratch/<target>; crashes: $run_dir/artifacts; logs: $run_dir/logs"
((failed == 0))
