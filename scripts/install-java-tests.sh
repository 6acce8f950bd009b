#!/usr/bin/env bash
# Fills the Maven cache the Java client tests (tests/java) run from offline:
# kafka-clients, JUnit and the build's plugins. Surefire resolves its JUnit
# provider only when it starts a test JVM, so the fill runs one test class with
# a method filter that selects nothing (no broker needed). Idempotent: a filled
# cache passes the offline check and nothing is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."

M2="${XDG_CACHE_HOME:-$HOME/.cache}/sluice/java/m2"
mkdir -p "$M2"
MVN=(mvn -B -q -Dstyle.color=never -Dmaven.repo.local="$M2" -f tests/java/pom.xml)
NO_TEST=(test -Dtest='AdminTest#noSuchMethod' -Dsurefire.failIfNoSpecifiedTests=false)

if "${MVN[@]}" -o dependency:go-offline "${NO_TEST[@]}" >/dev/null 2>&1; then
  echo "java tests: Maven cache ready (offline) in $M2"
  exit 0
fi
echo "java tests: filling the Maven cache in $M2"
"${MVN[@]}" dependency:go-offline "${NO_TEST[@]}"
"${MVN[@]}" -o dependency:go-offline "${NO_TEST[@]}"
echo "java tests: Maven cache ready (offline) in $M2"
