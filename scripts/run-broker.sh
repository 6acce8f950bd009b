#!/usr/bin/env bash
# Fresh machine -> a running broker: installs what is missing, builds, and
# starts sluice with its embedded defaults (single node, 127.0.0.1:9092, data
# in the directory it prints). Extra arguments go to sluice (e.g. --set k=v).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSLUICE_BENCH=OFF >/dev/null
cmake --build build -j"$(nproc)" --target sluice
DATA_DIR="${SLUICE_DATA_DIR:-/tmp/sluice-logs}"
echo "sluice: data in $DATA_DIR, listening on 127.0.0.1:9092 (Ctrl-C or SIGTERM stops it)"
exec build/sluice --set log.dirs="$DATA_DIR" "$@"
