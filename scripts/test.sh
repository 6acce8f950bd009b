#!/usr/bin/env bash
# Fresh machine -> every test: installs what is missing, builds the broker
# twice (optimised, and with AddressSanitizer + UndefinedBehaviorSanitizer),
# runs the unit and integration tests against each (the default core layout:
# one network and one io shard per CPU), the compat tests (other projects'
# clients and tools) and the differential tests against Apache Kafka once,
# in the sanitizer build, where a client's odd request also meets the
# sanitizers, runs the integration tests again under other layouts (1 shard;
# 1 network + 2 io; 4 + 4, more shards than CPUs),
# runs each libFuzzer target briefly (SLUICE_FUZZ_SECONDS, default 15; long
# runs: scripts/fuzz.sh), and closes with one summary line. One Apache Kafka
# peer (scripts/kafka-peer.sh) serves the whole suite from before the
# optimised run to the end of the sanitizer run; the tests that compare with
# Kafka find it in SLUICE_KAFKA_BOOTSTRAP. It runs with
# group.initial.rebalance.delay.ms=0, as the differential suite's sluice does,
# so that group scenarios do not wait 3 s per join on either side.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --tests || exit 1

JOBS=$(nproc)
total_pass=0
total_fail=0

# run_suite DIR CMAKE_ARGS... [-- CTEST_ARGS...]
run_suite() {
  local dir=$1; shift
  local cmake_args=() ctest_args=()
  while [[ $# -gt 0 && $1 != -- ]]; do cmake_args+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  ctest_args=("$@")
  if ! cmake -S . -B "$dir" "${cmake_args[@]}" >/dev/null || ! cmake --build "$dir" -j"$JOBS"; then
    echo "BUILD FAILED in $dir"
    total_fail=$((total_fail + 1))
    return 1
  fi
  run_ctest "$dir" "$dir/ctest.log" "${ctest_args[@]}"
}

# Runs ctest in a built tree (extra ctest flags after the log path) and adds
# its counts to the totals.
run_ctest() {
  local dir=$1 log=$2; shift 2
  (cd "$dir" && ctest --output-on-failure --timeout 900 "$@" 2>&1) | tee "$log"
  local pass fail
  pass=$(grep -Eo '[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -1)
  if [[ -z "$pass" ]]; then
    total_fail=$((total_fail + 1))
    return 1
  fi
  fail=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+)/\1/' <<<"$pass")
  local all
  all=$(sed -E 's/.* out of ([0-9]+)/\1/' <<<"$pass")
  total_pass=$((total_pass + all - fail))
  total_fail=$((total_fail + fail))
}

KAFKA_PEER_DIR=build-test/kafka-peer
stop_kafka_peer() {
  if [[ -d "$KAFKA_PEER_DIR" ]]; then
    bash scripts/kafka-peer.sh stop --dir "$KAFKA_PEER_DIR"
  fi
  unset SLUICE_KAFKA_BOOTSTRAP SLUICE_KAFKA_VERSION SLUICE_KAFKA_CLASSPATH
}
trap stop_kafka_peer EXIT

echo "== Apache Kafka peer =="
stop_kafka_peer
rm -rf "$KAFKA_PEER_DIR"
if peer=$(bash scripts/kafka-peer.sh start --dir "$KAFKA_PEER_DIR" \
            --set group.initial.rebalance.delay.ms=0 \
            --set transaction.abort.timed.out.transaction.cleanup.interval.ms=500); then
  SLUICE_KAFKA_BOOTSTRAP=${peer#KAFKA_BOOTSTRAP=}
  SLUICE_KAFKA_VERSION=$(<"$KAFKA_PEER_DIR/version")
  SLUICE_KAFKA_CLASSPATH=$(bash scripts/kafka-peer.sh classpath --version "$SLUICE_KAFKA_VERSION")
  export SLUICE_KAFKA_BOOTSTRAP SLUICE_KAFKA_VERSION SLUICE_KAFKA_CLASSPATH
  echo "Kafka $SLUICE_KAFKA_VERSION at $SLUICE_KAFKA_BOOTSTRAP (logs in $KAFKA_PEER_DIR)"
else
  echo "KAFKA PEER FAILED TO START (tests that need it start their own)"
  total_fail=$((total_fail + 1))
fi

echo "== optimised build =="
run_suite build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_BENCH=ON \
  -- -E '^(compat|differential)/'
for layout in 1+1 1+2 4+4; do
  echo "== integration tests, num.network.threads+num.io.threads = $layout =="
  SLUICE_TEST_LAYOUT=$layout run_ctest build-test "build-test/ctest-$layout.log" -R '^integration/'
done
echo "== sanitizer build (ASan + UBSan) =="
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
SLUICE_TEST_SANITIZED=1 \
  run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON -DSLUICE_BENCH=OFF
stop_kafka_peer

echo "== fuzz targets (clang libFuzzer, ASan + UBSan; ${SLUICE_FUZZ_SECONDS:-15}s each over the seeds) =="
CC=clang CXX=clang++ run_suite build-fuzz -DSLUICE_FUZZ=ON -DSLUICE_BENCH=OFF \
  -DSLUICE_FUZZ_SECONDS="${SLUICE_FUZZ_SECONDS:-15}"

echo "${total_pass} passed, ${total_fail} failed"
[[ $total_fail -eq 0 ]]
