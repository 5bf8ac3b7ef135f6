#!/usr/bin/env bash
# sandbox.sh up|down|status: the whole callrec sandbox (docs/architecture.md, "The sandbox").
#
#   up      install deps (skip with CALLREC_SKIP_DEPS=1), start PostgreSQL
#           (scripts/pg-sandbox.sh, when present) and both Asterisk instances
#           (scripts/asterisk-sandbox.sh). Idempotent: a second `up` is a fast no-op.
#   down    stop them all.
#   status  report; exit status 0 only when everything is up and healthy.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PG="$HERE/pg-sandbox.sh"
AST="$HERE/asterisk-sandbox.sh"

have_pg() { [[ -f $PG ]]; }

print_endpoints() {
  local dsn="postgresql://callrec@127.0.0.1:55432/callrec"
  if have_pg; then dsn=$(bash "$PG" dsn); fi
  cat <<EOF
callrec sandbox is up:
  PostgreSQL DSN   $dsn
  pbx ARI          http://127.0.0.1:8088/ari  (callrec/callrec)
  pbx AMI          127.0.0.1:5038             (callrec/callrec)
  pbx SIP          udp 127.0.0.1:5060
  phones AMI       127.0.0.1:5039             (phones/phones)
  phones ARI       http://127.0.0.1:8089/ari  (phones/phones)
  phones SIP       udp 127.0.0.1:5070
  recordings       ${CALLREC_ROOTFS:-/var/tmp/callrec/rootfs}/var/spool/asterisk/callrec
EOF
}

cmd_up() {
  if [[ ${CALLREC_SKIP_DEPS:-0} != 1 ]]; then bash "$HERE/install-deps.sh"; fi
  if have_pg; then bash "$PG" up; fi
  bash "$AST" up
  print_endpoints
}

cmd_down() {
  local rc=0
  bash "$AST" down || rc=1
  if have_pg; then bash "$PG" down || rc=1; fi
  return "$rc"
}

cmd_status() {
  local rc=0
  echo "== Asterisk"
  bash "$AST" status || rc=$?
  if have_pg; then
    echo "== PostgreSQL"
    bash "$PG" status || rc=$?
  fi
  return "$rc"
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
