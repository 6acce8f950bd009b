#!/usr/bin/env bash
# Apache Kafka as a peer on loopback: fetches the broker's jars from Maven
# Central into a cache outside the repository, starts one single-node broker
# (Kafka 4.x in KRaft mode as one combined broker+controller, or Kafka 3.9.x in
# ZooKeeper mode beside Debian's ZooKeeper) with its data in a directory of its
# own and the JVM settings of Kafka's own start scripts, and stops it by PID.
#
#   kafka-peer.sh fetch [--version V]       fill the cache (both defaults without
#                                           --version); idempotent, offline once filled
#   kafka-peer.sh start --dir DIR [--version V] [--mode kraft|zookeeper] [--set k=v ...]
#       -> prints `KAFKA_BOOTSTRAP=127.0.0.1:PORT`, writes DIR/kafka.pid,
#          DIR/bootstrap and DIR/version, returns once the broker answers Metadata
#   kafka-peer.sh stop --dir DIR            SIGTERM by PID file, bounded, then SIGKILL
#   kafka-peer.sh classpath [--version V]   the jar classpath (tools, Java clients)
#
# Environment: SLUICE_KAFKA_HEAP (default "-Xmx1G -Xms1G", as kafka-server-start.sh),
# XDG_CACHE_HOME (cache in ${XDG_CACHE_HOME:-$HOME/.cache}/sluice/).
set -euo pipefail

KAFKA_DEFAULT_VERSION=4.4.0
KAFKA_ZOOKEEPER_DEFAULT_VERSION=3.9.1
# The Maven plugin is pinned so that a filled cache resolves it without asking
# Maven Central for the newest one.
DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.6.1
READY_TIMEOUT_S=60
FETCH_LOCK_TIMEOUT_S=600
STOP_TIMEOUT_S=30
ZOOKEEPER_HEAP=-Xmx256m
ZOOKEEPER_JAR=/usr/share/java/zookeeper.jar
# Debian's ZooKeeper has slf4j-api only; the simple binding makes it log to stderr.
ZOOKEEPER_SLF4J_BINDING=/usr/share/java/slf4j-simple.jar
# Below Linux's ephemeral range (as tests/integration/conftest.py), so no
# client's outgoing connection holds a port the peer is about to bind.
PORT_MIN=20000
PORT_MAX=32000

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/sluice"
M2="$CACHE/m2"

die() { echo "kafka-peer: $*" >&2; exit 1; }

major_of() { echo "${1%%.*}"; }

libs_dir() { echo "$CACHE/kafka/$1/libs"; }

# The logging binding Kafka's distribution ships beside its jars but its POM
# does not declare: log4j2 for 4.x, reload4j (log4j 1.x) for 3.x.
logging_dependencies() {
  if (($(major_of "$1") >= 4)); then
    echo "org.apache.logging.log4j log4j-slf4j-impl 2.24.3"
  else
    echo "org.slf4j slf4j-reload4j 1.7.36"
  fi
}

write_pom() {
  local version=$1 pom=$2 deps="" g a v
  for ga in "org.apache.kafka kafka_2.13 $version" "org.apache.kafka kafka-tools $version" \
            "$(logging_dependencies "$version")"; do
    read -r g a v <<<"$ga"
    deps+="    <dependency><groupId>$g</groupId><artifactId>$a</artifactId><version>$v</version></dependency>
"
  done
  cat >"$pom" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <!-- Written by scripts/kafka-peer.sh: only to copy Kafka $version's jars. -->
  <modelVersion>4.0.0</modelVersion>
  <groupId>sluice</groupId><artifactId>kafka-peer</artifactId><version>$version</version>
  <packaging>pom</packaging>
  <dependencies>
$deps  </dependencies>
</project>
EOF
}

# Copies Kafka's jars into the cache; does nothing when they are there. Maven
# runs offline first, so a filled local repository needs no network.
fetch_version() {
  local version=$1 dir="$CACHE/kafka/$1"
  local libs="$dir/libs"
  [[ -f "$libs/.complete" ]] && return 0
  mkdir -p "$dir" "$M2"
  # Two fetches of one version (tests starting peers at once) take turns.
  local lock
  exec {lock}>"$dir/.lock"
  flock -w "$FETCH_LOCK_TIMEOUT_S" "$lock" || die "another fetch of Kafka $version holds $dir/.lock"
  if [[ -f "$libs/.complete" ]]; then
    exec {lock}>&-
    return 0
  fi
  write_pom "$version" "$dir/pom.xml"
  rm -rf "$libs.partial"
  local mvn=(mvn -B -q -f "$dir/pom.xml" -Dmaven.repo.local="$M2"
             "$DEPENDENCY_PLUGIN:copy-dependencies" -DincludeScope=runtime
             -DoutputDirectory="$libs.partial")
  if ! "${mvn[@]}" -o >"$dir/mvn.log" 2>&1; then
    echo "kafka-peer: fetching Kafka $version from Maven Central" >&2
    "${mvn[@]}" >"$dir/mvn.log" 2>&1 || { tail -20 "$dir/mvn.log" >&2; die "Maven could not fetch Kafka $version (log: $dir/mvn.log)"; }
  fi
  [[ -f "$libs.partial/kafka_2.13-$version.jar" ]] || die "no kafka_2.13-$version.jar after the fetch"
  touch "$libs.partial/.complete"
  rm -rf "$libs"
  mv "$libs.partial" "$libs"
  exec {lock}>&-
}

classpath_of() {
  local libs
  libs=$(libs_dir "$1")
  [[ -f "$libs/.complete" ]] || die "Kafka $1 is not fetched: run scripts/kafka-peer.sh fetch --version $1"
  echo "$libs/*"
}

# Ports free on 127.0.0.1 now, chosen at random in [PORT_MIN, PORT_MAX).
free_ports() {
  /usr/bin/python3 - "$1" "$PORT_MIN" "$PORT_MAX" <<'EOF'
import random, socket, sys
count, lo, hi = (int(a) for a in sys.argv[1:])
ports = []
while len(ports) < count:
    port = random.randrange(lo, hi)
    if port in ports:
        continue
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
    ports.append(port)
print(" ".join(map(str, ports)))
EOF
}

# Exit 0 once the listener answers a Metadata request (v1, all topics) that
# names at least one broker; any failure exits non-zero.
metadata_answered() {
  /usr/bin/python3 - "$1" <<'EOF'
import socket, struct, sys
port = int(sys.argv[1])
with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
    client = b"kafka-peer"
    header = struct.pack(">hhih", 3, 1, 1, len(client)) + client
    body = struct.pack(">i", -1)
    s.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
    def read(n):
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                sys.exit(1)
            buf += chunk
        return buf
    size, = struct.unpack(">i", read(4))
    resp = read(size)
    correlation, brokers = struct.unpack(">ii", resp[:8])
    sys.exit(0 if correlation == 1 and brokers >= 1 else 1)
EOF
}

# The java command line of Kafka's bin/kafka-run-class.sh (G1 flags, JMX,
# headless; its default heap for tools) logging to DIR/kafka.log, in JAVA_ARGS.
# MaxInlineLevel=15 is JDK 17's default; kept as the scripts pass it.
kafka_tool_args() {
  local version=$1 dir=$2
  JAVA_ARGS=(-Xmx256M -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent
    -XX:MaxInlineLevel=15 -Djava.awt.headless=true
    -Dcom.sun.management.jmxremote -Dcom.sun.management.jmxremote.authenticate=false
    -Dcom.sun.management.jmxremote.ssl=false "-Dkafka.logs.dir=$dir")
  if (($(major_of "$version") >= 4)); then
    JAVA_ARGS+=("-Dlog4j2.configurationFile=$dir/log4j2.properties")
  else
    JAVA_ARGS+=("-Dlog4j.configuration=file:$dir/log4j.properties")
  fi
  JAVA_ARGS+=(-cp "$(classpath_of "$version")")
}

# As kafka_tool_args, with what bin/kafka-server-start.sh adds for the broker:
# its heap (SLUICE_KAFKA_HEAP overrides) and the GC log (-loggc).
kafka_server_args() {
  local version=$1 dir=$2
  kafka_tool_args "$version" "$dir"
  # shellcheck disable=SC2206
  local heap=(${SLUICE_KAFKA_HEAP:--Xmx1G -Xms1G})
  JAVA_ARGS=("${heap[@]}" "${JAVA_ARGS[@]:1}"
    "-Xlog:gc*:file=$dir/kafkaServer-gc.log:time,tags:filecount=10,filesize=100M")
}

write_logging_config() {
  local version=$1 dir=$2
  if (($(major_of "$version") >= 4)); then
    cat >"$dir/log4j2.properties" <<EOF
# Written by scripts/kafka-peer.sh: everything at INFO to one file.
appender.file.type = File
appender.file.name = file
appender.file.fileName = $dir/kafka.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
EOF
  else
    cat >"$dir/log4j.properties" <<EOF
# Written by scripts/kafka-peer.sh: everything at INFO to one file.
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$dir/kafka.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
  fi
}

# server.properties: Kafka's defaults except what a single node on loopback
# needs. Every override is listed in the file's comment.
write_server_properties() {
  local version=$1 mode=$2 dir=$3 port=$4 second_port=$5
  {
    echo "# Written by scripts/kafka-peer.sh. Kafka's defaults except:"
    echo "#  - listeners on 127.0.0.1 (free ports), log.dirs in this directory;"
    echo "#  - replication factor 1 and min ISR 1 for the internal topics (the"
    echo "#    defaults, 3 and 2, cannot be met by one node);"
    if [[ $mode == kraft ]]; then
      echo "#  - KRaft: this node is broker and controller (id 1, the only voter),"
      echo "#    with a CONTROLLER listener mapped to PLAINTEXT."
      echo "process.roles=broker,controller"
      echo "node.id=1"
      echo "controller.quorum.voters=1@127.0.0.1:$second_port"
      echo "listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$second_port"
      echo "controller.listener.names=CONTROLLER"
      echo "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
    else
      echo "#  - ZooKeeper mode: broker id 1, ZooKeeper on 127.0.0.1 (this directory)."
      echo "broker.id=1"
      echo "zookeeper.connect=127.0.0.1:$second_port"
      echo "listeners=PLAINTEXT://127.0.0.1:$port"
    fi
    echo "advertised.listeners=PLAINTEXT://127.0.0.1:$port"
    echo "log.dirs=$dir/data"
    echo "offsets.topic.replication.factor=1"
    echo "transaction.state.log.replication.factor=1"
    echo "transaction.state.log.min.isr=1"
    if (($(major_of "$version") >= 4)); then
      echo "share.coordinator.state.topic.replication.factor=1"
      echo "share.coordinator.state.topic.min.isr=1"
    fi
    if ((${#SETTINGS[@]})); then
      echo "# The caller's --set overrides (the last of a key wins, as in Kafka's loader):"
      printf '%s\n' "${SETTINGS[@]}"
    fi
  } >"$dir/server.properties"
}

pid_alive() {
  local pid=$1
  [[ -d /proc/$pid ]] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null
}

# Stops the process named by a PID file if it is still the one this script
# started there (its command line names DIR), then removes the file.
stop_pidfile() {
  local pidfile=$1 dir=$2 pid waited=0
  [[ -f "$pidfile" ]] || return 0
  pid=$(<"$pidfile")
  if [[ "$pid" =~ ^[0-9]+$ ]] && pid_alive "$pid" &&
     tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$dir/"; then
    kill -TERM "$pid" 2>/dev/null || true
    while pid_alive "$pid" && ((waited < STOP_TIMEOUT_S * 10)); do
      sleep 0.1
      waited=$((waited + 1))
    done
    if pid_alive "$pid"; then
      echo "kafka-peer: $pid did not stop within ${STOP_TIMEOUT_S}s, SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      while pid_alive "$pid"; do sleep 0.1; done
    fi
  fi
  rm -f "$pidfile"
}

stop_peer() {
  local dir=$1
  stop_pidfile "$dir/kafka.pid" "$dir"
  stop_pidfile "$dir/zookeeper.pid" "$dir"
}

fail_start() {
  local dir=$1; shift
  echo "kafka-peer: $*" >&2
  for log in kafka.log kafka.out zookeeper.log; do
    [[ -s "$dir/$log" ]] && { echo "--- tail of $dir/$log" >&2; tail -20 "$dir/$log" >&2; }
  done
  stop_peer "$dir"
  exit 1
}

start_zookeeper() {
  local dir=$1 port=$2 zk="$dir/zookeeper"
  [[ -f "$ZOOKEEPER_JAR" ]] || die "no $ZOOKEEPER_JAR: apt-get install -y zookeeper zookeeper-bin"
  mkdir -p "$zk/data"
  cat >"$zk/zoo.cfg" <<EOF
# Written by scripts/kafka-peer.sh: one standalone server on loopback.
tickTime=2000
dataDir=$zk/data
clientPort=$port
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,stat,mntr
EOF
  java $ZOOKEEPER_HEAP -cp "$zk:$ZOOKEEPER_JAR:$ZOOKEEPER_SLF4J_BINDING" \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$zk/zoo.cfg" \
    >"$dir/zookeeper.log" 2>&1 </dev/null &
  echo $! >"$dir/zookeeper.pid"
  local deadline=$((SECONDS + READY_TIMEOUT_S))
  until /usr/bin/python3 -c '
import socket, sys
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2) as s:
    s.sendall(b"srvr")
    sys.exit(0 if b"Mode: standalone" in s.recv(4096) else 1)' "$port" 2>/dev/null; do
    pid_alive "$(<"$dir/zookeeper.pid")" || fail_start "$dir" "ZooKeeper exited"
    ((SECONDS < deadline)) || fail_start "$dir" "ZooKeeper not serving within ${READY_TIMEOUT_S}s"
    sleep 0.2
  done
}

start_peer() {
  local version=$1 mode=$2 dir=$3
  [[ -f "$dir/kafka.pid" ]] && pid_alive "$(<"$dir/kafka.pid")" && die "a peer already runs in $dir"
  fetch_version "$version"
  trap 'fail_start "$dir" "interrupted"' INT TERM
  mkdir -p "$dir/data"
  rm -f "$dir/kafka.log" "$dir/kafka.out" "$dir/bootstrap"
  local port second_port
  read -r port second_port <<<"$(free_ports 2)"
  write_server_properties "$version" "$mode" "$dir" "$port" "$second_port"
  write_logging_config "$version" "$dir"
  if [[ $mode == kraft ]]; then
    kafka_tool_args "$version" "$dir"
    if [[ ! -f "$dir/data/meta.properties" ]]; then
      local cluster_id
      cluster_id=$(java "${JAVA_ARGS[@]}" kafka.tools.StorageTool random-uuid 2>>"$dir/kafka.out") ||
        fail_start "$dir" "StorageTool random-uuid failed"
      java "${JAVA_ARGS[@]}" kafka.tools.StorageTool format --config "$dir/server.properties" \
        --cluster-id "$cluster_id" >>"$dir/kafka.out" 2>&1 || fail_start "$dir" "StorageTool format failed"
    fi
  else
    start_zookeeper "$dir" "$second_port"
  fi
  kafka_server_args "$version" "$dir"
  java "${JAVA_ARGS[@]}" kafka.Kafka "$dir/server.properties" >>"$dir/kafka.out" 2>&1 </dev/null &
  echo $! >"$dir/kafka.pid"
  local deadline=$((SECONDS + READY_TIMEOUT_S))
  until metadata_answered "$port" 2>/dev/null; do
    pid_alive "$(<"$dir/kafka.pid")" || fail_start "$dir" "Kafka $version exited before serving"
    ((SECONDS < deadline)) || fail_start "$dir" "Kafka $version did not answer Metadata within ${READY_TIMEOUT_S}s"
    sleep 0.5
  done
  trap - INT TERM
  echo "127.0.0.1:$port" >"$dir/bootstrap"
  echo "$version" >"$dir/version"
  echo "KAFKA_BOOTSTRAP=127.0.0.1:$port"
}

SETTINGS=()

main() {
  local cmd=${1:-} version="" mode="" dir=""
  [[ $# -gt 0 ]] && shift
  while [[ $# -gt 0 ]]; do
    case $1 in
      --version) version=${2:?--version needs a value}; shift 2 ;;
      --mode) mode=${2:?--mode needs a value}; shift 2 ;;
      --dir) dir=${2:?--dir needs a value}; shift 2 ;;
      --set)
        [[ ${2:-} == *=* ]] || die "--set needs key=value"
        SETTINGS+=("$2"); shift 2 ;;
      *) die "unknown argument: $1" ;;
    esac
  done
  [[ -z $mode || $mode == kraft || $mode == zookeeper ]] || die "--mode is kraft or zookeeper"
  if [[ $cmd == fetch && -z $version && -z $mode ]]; then
    fetch_version "$KAFKA_DEFAULT_VERSION"
    fetch_version "$KAFKA_ZOOKEEPER_DEFAULT_VERSION"
    return
  fi
  if [[ -z $version ]]; then
    [[ $mode == zookeeper ]] && version=$KAFKA_ZOOKEEPER_DEFAULT_VERSION || version=$KAFKA_DEFAULT_VERSION
  fi
  if [[ -z $mode ]]; then
    (($(major_of "$version") >= 4)) && mode=kraft || mode=zookeeper
  fi
  [[ $mode == zookeeper && $(major_of "$version") -ge 4 ]] && die "Kafka $version has no ZooKeeper mode"
  if [[ -n $dir ]]; then
    [[ $cmd == start ]] && mkdir -p "$dir"
    [[ $cmd == stop && ! -d $dir ]] && return 0
    [[ -d $dir ]] || die "no directory $dir"
    dir=$(cd "$dir" && pwd)
  fi
  case $cmd in
    fetch) fetch_version "$version" ;;
    start) [[ -n $dir ]] || die "start needs --dir DIR"; start_peer "$version" "$mode" "$dir" ;;
    stop) [[ -n $dir ]] || die "stop needs --dir DIR"; stop_peer "$dir" ;;
    classpath) classpath_of "$version" ;;
    *) die "usage: kafka-peer.sh fetch|start|stop|classpath [--version V] [--mode kraft|zookeeper] [--dir DIR] [--set k=v]" ;;
  esac
}

main "$@"
