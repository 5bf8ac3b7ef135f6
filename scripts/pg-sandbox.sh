#!/usr/bin/env bash
# Throwaway PostgreSQL 15 cluster for callrec development and tests.
#
#   scripts/pg-sandbox.sh up       create (first time) and start; no-op when already up
#   scripts/pg-sandbox.sh down     stop (fast mode: rolls back open transactions, no waiting for clients)
#   scripts/pg-sandbox.sh status   print state; exit 0 when accepting connections, 3 otherwise
#   scripts/pg-sandbox.sh dsn      print the application DSN
#
# Environment: CALLREC_PG_DIR (default /var/tmp/callrec/pg), CALLREC_PG_PORT (default 55432),
#              CALLREC_PG_BIN (default /usr/lib/postgresql/15/bin).
#
# The cluster is owned by the `postgres` OS user because initdb/pg_ctl refuse to run as root.
# fsync stays ON on purpose: this is an evidence store and tests should see its real durability.
set -euo pipefail

PG_BIN="${CALLREC_PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_DIR="${CALLREC_PG_DIR:-/var/tmp/callrec/pg}"
PG_PORT="${CALLREC_PG_PORT:-55432}"
PG_OS_USER="postgres"
DATA_DIR="$PG_DIR/data"
RUN_DIR="$PG_DIR/run"
LOG_FILE="$PG_DIR/postgresql.log"
APP_ROLE="callrec"
APP_DB="callrec"
START_TIMEOUT_S=60

die() { echo "pg-sandbox: $*" >&2; exit 1; }
say() { echo "pg-sandbox: $*" >&2; }

# Run a command as the cluster owner (root -> runuser; already postgres -> directly).
as_pg() {
    if [[ "$(id -un)" == "$PG_OS_USER" ]]; then
        "$@"
    elif [[ "$(id -u)" == 0 ]]; then
        runuser -u "$PG_OS_USER" -- "$@"
    else
        die "must run as root or as the '$PG_OS_USER' user"
    fi
}

# Superuser psql over the private unix socket, script on stdin.
psql_admin() {
    as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN_DIR" -p "$PG_PORT" -U postgres -d postgres
}

dsn() { echo "postgresql://$APP_ROLE@127.0.0.1:$PG_PORT/$APP_DB"; }

is_initialised() { [[ -f "$DATA_DIR/PG_VERSION" ]]; }

# Our postmaster is alive (not proof that it serves; see is_accepting). Not via `pg_ctl status`:
# after a kill -9 the dead postmaster can linger as a zombie (this box's PID 1 reaps lazily) and
# pg_ctl would call it running.
is_running() {
    local pid state
    [[ -f "$DATA_DIR/postmaster.pid" ]] || return 1
    pid="$(head -n 1 "$DATA_DIR/postmaster.pid")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    state="$(ps -o stat= -p "$pid" 2>/dev/null)" || return 1
    [[ -n "$state" && "$state" != Z* ]]
}

is_accepting() {
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -t 2 >/dev/null 2>&1
}

prepare_dirs() {
    [[ -x "$PG_BIN/initdb" ]] || die "PostgreSQL binaries not found in $PG_BIN (apt-get install postgresql-15)"
    mkdir -p "$PG_DIR" "$RUN_DIR"
    chown "$PG_OS_USER:" "$PG_DIR" "$RUN_DIR"
    chmod 0755 "$PG_DIR" "$RUN_DIR"
}

initialise() {
    say "initialising cluster in $DATA_DIR"
    # --auth trust: local socket and loopback TCP only (listen_addresses below), throwaway test data.
    as_pg "$PG_BIN/initdb" -D "$DATA_DIR" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
        --no-instructions >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
    echo "include_if_exists = 'callrec-sandbox.conf'" | as_pg tee -a "$DATA_DIR/postgresql.conf" >/dev/null
}

# Rewritten on every start so CALLREC_PG_PORT / CALLREC_PG_DIR changes take effect.
write_settings() {
    as_pg tee "$DATA_DIR/callrec-sandbox.conf" >/dev/null <<EOF
# Managed by scripts/pg-sandbox.sh -- rewritten on every 'up'.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$RUN_DIR'
max_connections = 100
shared_buffers = 64MB
timezone = 'UTC'
log_timezone = 'UTC'
fsync = on
log_line_prefix = '%m [%p] %q%u@%d '
log_min_messages = warning
log_min_error_statement = error
EOF
}

port_taken_by_other() {
    # Something answers on our port but it is not our postmaster.
    ! is_running && is_accepting
}

# After a crash (kill -9) the postmaster may stay a zombie for a while; postgres itself then refuses
# to start because kill(pid, 0) succeeds on zombies. Once its children (backends, which exit on
# postmaster death) are gone, the lock file protects nothing and can go.
clear_stale_pidfile() {
    local pid_file="$DATA_DIR/postmaster.pid" pid deadline=$((SECONDS + 10))
    [[ -f "$pid_file" ]] || return 0
    pid="$(head -n 1 "$pid_file")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 0
    while [[ -n "$(ps -o pid= --ppid "$pid" 2>/dev/null)" ]]; do
        ((SECONDS < deadline)) || die "orphaned backends of dead postmaster $pid still alive"
        sleep 0.2
    done
    say "removing stale lock files of dead postmaster $pid"
    rm -f "$pid_file"
    # The socket lock names the same PID and blocks the restart just the same.
    local sock_lock="$RUN_DIR/.s.PGSQL.$PG_PORT.lock"
    if [[ -f "$sock_lock" && "$(head -n 1 "$sock_lock")" == "$pid" ]]; then
        rm -f "$sock_lock"
    fi
}

start_server() {
    port_taken_by_other && die "port $PG_PORT already serves another PostgreSQL; set CALLREC_PG_PORT"
    clear_stale_pidfile
    write_settings
    say "starting on 127.0.0.1:$PG_PORT (log: $LOG_FILE)"
    touch "$LOG_FILE" && chown "$PG_OS_USER:" "$LOG_FILE"
    # WHY in a subshell with descriptors closed: the postmaster must not inherit (and hold for as
    # long as it runs) a lock our caller took with flock(1).
    ( for fd in $(ls /proc/$BASHPID/fd); do
          if (( fd > 2 )); then eval "exec $fd>&-" 2>/dev/null || true; fi
      done
      as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" -l "$LOG_FILE" -w -t "$START_TIMEOUT_S" start >/dev/null ) \
        || { tail -n 30 "$LOG_FILE" >&2; die "server failed to start"; }
}

wait_accepting() {
    local deadline=$((SECONDS + START_TIMEOUT_S))
    until is_accepting; do
        ((SECONDS < deadline)) || die "server did not accept connections on port $PG_PORT within" \
            "${START_TIMEOUT_S}s (port changed? run 'down' then 'up'; log: $LOG_FILE)"
        sleep 0.2
    done
}

# Idempotent: creates only what is missing. CREATEDB lets the test suite make per-session databases.
ensure_role_and_db() {
    psql_admin <<EOF
SELECT format('CREATE ROLE %I LOGIN CREATEDB', '$APP_ROLE')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$APP_ROLE') \\gexec
SELECT format('CREATE DATABASE %I OWNER %I', '$APP_DB', '$APP_ROLE')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$APP_DB') \\gexec
EOF
}

cmd_up() {
    if is_running && is_accepting; then
        ensure_role_and_db
        say "already running: $(dsn)"
        return 0
    fi
    prepare_dirs
    is_initialised || initialise
    is_running || start_server
    wait_accepting
    ensure_role_and_db
    say "up: $(dsn)"
}

cmd_down() {
    if ! is_running; then
        say "not running"
        return 0
    fi
    as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" -m fast -w -t "$START_TIMEOUT_S" stop >/dev/null
    say "stopped"
}

cmd_status() {
    if is_running && is_accepting; then
        echo "running: $(dsn) (data: $DATA_DIR, log: $LOG_FILE)"
        return 0
    fi
    if is_running; then
        echo "starting or unhealthy: postmaster alive but not accepting connections on port $PG_PORT"
    elif is_initialised; then
        echo "stopped (data: $DATA_DIR)"
    else
        echo "absent (no cluster in $DATA_DIR)"
    fi
    return 3
}

main() {
    case "${1:-}" in
        up) cmd_up ;;
        down) cmd_down ;;
        status) cmd_status ;;
        dsn) dsn ;;
        *) echo "usage: $0 up|down|status|dsn" >&2; exit 2 ;;
    esac
}

main "$@"
