#!/usr/bin/env bash
# Installs the modern Kafka clients that tests/integration/test_modern_clients.py
# drives, into caches outside the repository (SLUICE_CLIENTS_DIR, default
# ${XDG_CACHE_HOME:-$HOME/.cache}/sluice/clients):
#   python/venv      confluent-kafka 2.x and kafka-python 3.x (tests/clients/python/requirements.txt)
#   go/bin           franz-go and sarama drivers built from tests/clients/go (go.mod, go.sum)
#   node/app         kafkajs and its codecs (tests/clients/node/package-lock.json)
# Each part is redone only when its inputs changed (a stamp file holds their
# hash); with the downloads cached it tries offline first and needs no network.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DIR=${SLUICE_CLIENTS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice/clients}
PYTHON=${SLUICE_CLIENTS_PYTHON:-/usr/bin/python3}
mkdir -p "$DIR"

# stamp_of FILE... : one hash over the inputs and the tool versions given in $TOOLS.
stamp_of() {
  { cat "$@"; echo "$TOOLS"; } | sha256sum | cut -d' ' -f1
}

# up_to_date STAMPFILE HASH : whether that part was installed from these inputs.
up_to_date() {
  [[ -f "$1" && "$(cat "$1")" == "$2" ]]
}

install_python() {
  local req=$ROOT/tests/clients/python/requirements.txt venv=$DIR/python/venv wheels=$DIR/python/wheels
  TOOLS=$("$PYTHON" --version 2>&1)
  local hash
  hash=$(stamp_of "$req")
  if up_to_date "$venv/.stamp" "$hash"; then
    echo "python clients: up to date ($venv)"
    return
  fi
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
  mkdir -p "$wheels"
  if ! "$venv/bin/pip" install -q --no-index --find-links "$wheels" -r "$req" 2>/dev/null; then
    "$venv/bin/pip" download -q -d "$wheels" -r "$req"
    "$venv/bin/pip" install -q --no-index --find-links "$wheels" -r "$req"
  fi
  echo "$hash" >"$venv/.stamp"
  echo "python clients: $("$venv/bin/pip" freeze | grep -E '^(confluent-kafka|kafka-python)=' | tr '\n' ' ')"
}

install_go() {
  local src=$ROOT/tests/clients/go bin=$DIR/go/bin
  TOOLS=$(go version)
  local hash
  hash=$(stamp_of "$src/go.mod" "$src/go.sum" $(find "$src" -name '*.go' | sort))
  if up_to_date "$bin/.stamp" "$hash"; then
    echo "go clients: up to date ($bin)"
    return
  fi
  export GOMODCACHE=$DIR/go/mod GOCACHE=$DIR/go/build GOFLAGS=-mod=mod GOTOOLCHAIN=local
  mkdir -p "$bin"
  if ! (cd "$src" && GOPROXY=off go build -o "$bin/" ./cmd/... 2>/dev/null); then
    (cd "$src" && go mod download && GOPROXY=off go build -o "$bin/" ./cmd/...)
  fi
  echo "$hash" >"$bin/.stamp"
  echo "go clients: $(cd "$src" && GOPROXY=off go list -m github.com/twmb/franz-go github.com/IBM/sarama | tr '\n' ' ')"
}

install_node() {
  local src=$ROOT/tests/clients/node app=$DIR/node/app cache=$DIR/node/npm-cache
  TOOLS="node $(node --version) npm $(npm --version)"
  local hash
  hash=$(stamp_of "$src/package.json" "$src/package-lock.json")
  if up_to_date "$app/.stamp" "$hash"; then
    echo "node clients: up to date ($app)"
    return
  fi
  rm -rf "$app"
  mkdir -p "$app"
  cp "$src/package.json" "$src/package-lock.json" "$app/"
  local npm_ci=(npm ci --cache "$cache" --no-audit --no-fund --loglevel=error)
  if ! (cd "$app" && "${npm_ci[@]}" --offline >/dev/null 2>&1); then
    (cd "$app" && "${npm_ci[@]}" >/dev/null)
  fi
  echo "$hash" >"$app/.stamp"
  echo "node clients: kafkajs $(node -p 'require(process.argv[1]).version' "$app/node_modules/kafkajs/package.json")"
}

install_python
install_go
install_node
