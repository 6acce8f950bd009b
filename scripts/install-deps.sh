#!/usr/bin/env bash
# Installs the Debian packages sluice builds with and tests against, only when
# one is missing (apt-get update runs once, and only then). With --tests, also
# fills the caches outside the repository (Apache Kafka's jars from Maven
# Central, the newer clients) that the suite needs, so later runs need no network.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config python3
  liburing-dev libjemalloc-dev libisal-dev libzstd-dev liblz4-dev libsnappy-dev
  zlib1g-dev libssl-dev libbenchmark-dev libcmocka-dev libzookeeper-mt-dev librdkafka-dev
  libxxhash-dev
)
if [[ "${1:-}" == "--tests" ]]; then
  PACKAGES+=(kcat python3-kafka python3-confluent-kafka python3-pytest iperf3 fio golang-go golang-github-shopify-sarama-dev clang libfuzzer-14-dev libclang-rt-14-dev e2fsprogs
             openjdk-17-jdk-headless maven zookeeper zookeeper-bin prometheus chromium)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ "${1:-}" == "--tests" ]]; then
  bash "$(dirname "$0")/kafka-peer.sh" fetch
  bash "$(dirname "$0")/install-java-tests.sh"
  if [[ -f "$(dirname "$0")/install-clients.sh" ]]; then
    bash "$(dirname "$0")/install-clients.sh"
  fi
fi
