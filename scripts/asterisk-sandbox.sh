#!/usr/bin/env bash
# asterisk-sandbox.sh up|down|status|build|restart pbx|phones
#
# Two Asterisk 22 instances in one Debian sid chroot (docs/architecture.md, "The sandbox"):
#   pbx     the Asterisk under test   SIP 5060, ARI 8088 (callrec/callrec), AMI 5038
#   phones  callers/agents/targets    SIP 5070, ARI 8089 (phones/phones),   AMI 5039
#
# WHY a chroot and not the host's Asterisk: Debian 12 has no Asterisk package; sid has 22.x.
# WHY mmdebstrap into DIR.tmp + rename: an interrupted build must never look like a good
# rootfs to the next run.
#
# Environment: CALLREC_ROOTFS (default /var/tmp/callrec/rootfs), CALLREC_STATE (default
# /var/tmp/callrec/state: daemon stdout logs, pid files, config hashes, lock),
# CALLREC_ASTERISK_WAIT (seconds `up` waits for health, default 30).
#
# Files written by Asterisk inside the chroot belong to the chroot's "asterisk" user, uid 101
# (on the host that uid may have another name, e.g. postgres).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOTFS=${CALLREC_ROOTFS:-/var/tmp/callrec/rootfs}
STATE=${CALLREC_STATE:-/var/tmp/callrec/state}
WAIT_SECS=${CALLREC_ASTERISK_WAIT:-30}
INSTANCES=(pbx phones)

log() { echo "asterisk-sandbox: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------------------- instances
conf_dir() { [[ $1 == pbx ]] && echo /etc/asterisk || echo /etc/asterisk-phones; }
src_dir() { echo "$REPO/asterisk-conf/$1"; }
ami_port() { [[ $1 == pbx ]] && echo 5038 || echo 5039; }
ami_user() { [[ $1 == pbx ]] && echo callrec || echo phones; }
# Endpoints whose presence in 'pjsip show endpoints' proves the config was loaded.
endpoints() { [[ $1 == pbx ]] && echo "phones agent1 agent2 agent3 agent4" || echo pbx; }

# Extra asterisk(8) arguments selecting the instance. The pbx uses the stock path.
conf_args() {
  if [[ $1 == phones ]]; then echo "-C /etc/asterisk-phones/asterisk.conf"; fi
}

ast_rx() { # INSTANCE COMMAND: run a CLI command against a running instance
  # shellcheck disable=SC2046  # conf_args is deliberately word-split
  timeout 10 chroot "$ROOTFS" asterisk $(conf_args "$1") -rx "$2" 2>/dev/null
}

# The daemon's pid, found by looking for it rather than trusting a pid file: a stale pid
# file (reboot, wiped state dir) must not make us kill or trust an unrelated process.
find_pid() {
  local inst=$1 root proc comm cmd
  root=$(realpath -e "$ROOTFS" 2>/dev/null) || return 1
  for proc in /proc/[0-9]*; do
    { read -r comm <"$proc/comm"; } 2>/dev/null || continue
    [[ $comm == asterisk ]] || continue
    [[ $(readlink "$proc/root" 2>/dev/null) == "$root" ]] || continue
    cmd=$(tr '\0' ' ' <"$proc/cmdline" 2>/dev/null) || continue
    [[ " $cmd " == *" -f "* ]] || continue # skip 'asterisk -rx' clients
    if [[ $inst == phones && $cmd == *asterisk-phones* ]] \
      || [[ $inst == pbx && $cmd != *asterisk-phones* ]]; then
      echo "${proc#/proc/}"
      return 0
    fi
  done
  return 1
}

# ---------------------------------------------------------------------------- rootfs
build_rootfs() {
  if [[ -x $ROOTFS/usr/sbin/asterisk ]]; then return 0; fi
  [[ -e $ROOTFS ]] && die "$ROOTFS exists but has no usr/sbin/asterisk; remove it"
  local tmp="${ROOTFS:?}.tmp"
  log "building rootfs $ROOTFS with mmdebstrap (about a minute)"
  remove_partial "$tmp"
  mkdir -p "$(dirname "$ROOTFS")"
  mmdebstrap --variant=minbase --aptopt='Acquire::Check-Valid-Until "false"' \
    --include=asterisk,asterisk-core-sounds-en-wav sid "$tmp" </dev/null
  mv "$tmp" "$ROOTFS"
}

# An interrupted mmdebstrap (killed, machine reset) can leave proc/sys/dev mounted inside
# its target: unmount them first and never let rm cross into another filesystem.
remove_partial() {
  local tmp=$1 m
  [[ -e $tmp ]] || return 0
  log "removing partial build $tmp"
  findmnt -rn -o TARGET | grep -F "$tmp/" | sort -r | while read -r m; do
    umount -l "$m" || true
  done
  rm -rf --one-file-system "${tmp:?}"
}

mount_proc() {
  mountpoint -q "$ROOTFS/proc" || mount -t proc proc "$ROOTFS/proc"
}

umount_proc() {
  if mountpoint -q "$ROOTFS/proc"; then
    umount "$ROOTFS/proc" 2>/dev/null || umount -l "$ROOTFS/proc"
  fi
}

# Directories are created from INSIDE the chroot: /var/run is an absolute symlink (-> /run)
# that, followed from the host, would point at the host's /run.
make_dirs() {
  chroot "$ROOTFS" install -d -o asterisk -g asterisk -m 0755 /var/lib/asterisk/keys \
    /var/run/asterisk /var/lib/asterisk /var/log/asterisk /var/cache/asterisk \
    /var/run/asterisk-phones /var/lib/asterisk-phones /var/spool/asterisk-phones \
    /var/log/asterisk-phones /var/cache/asterisk-phones
  chroot "$ROOTFS" install -d -o asterisk -g asterisk -m 0775 /var/spool/asterisk/callrec
  chroot "$ROOTFS" chmod 0775 /var/spool/asterisk /var/spool/asterisk/callrec
}

make_prompts() {
  "$REPO/scripts/make-prompts.sh" "$ROOTFS/usr/share/asterisk/sounds/callrec" \
    "$ROOTFS/usr/share/asterisk/callrec-moh"
}

src_hash() {
  (cd "$(src_dir "$1")" && find . -type f -print0 | sort -z | xargs -0 sha256sum) \
    | sha256sum | cut -d' ' -f1
}

# The config directory is REPLACED wholesale, not merged: the package ships ~100 stock
# files, and stock pjsip.conf/extensions.conf/manager.conf etc. would add endpoints,
# demo dialplan and listeners we did not ask for. What is in asterisk-conf/<instance> is
# exactly what the instance reads. (Stock samples stay in /usr/share/asterisk/conf.)
sync_configs() {
  local inst=$1 dest
  dest="$ROOTFS$(conf_dir "$inst")"
  if [[ -d $dest ]] && diff -rq "$(src_dir "$inst")" "$dest" >/dev/null 2>&1; then
    return 0
  fi
  rm -rf "${dest:?}.new"
  cp -r "$(src_dir "$inst")" "$dest.new"
  chmod 0755 "$dest.new" && chmod 0644 "$dest.new"/*
  rm -rf "${dest:?}"
  mv "$dest.new" "$dest"
  log "$inst: configs copied to $(conf_dir "$inst")"
}

# ---------------------------------------------------------------------------- health
ami_login() { # PORT USER SECRET
  # shellcheck disable=SC2016  # the inner script expands its own positional arguments
  timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
    printf "Action: Login\r\nUsername: %s\r\nSecret: %s\r\nEvents: off\r\n\r\n" "$1" "$2" >&3
    while IFS= read -r line <&3; do
      case $line in
        "Response: Success"*) printf "Action: Logoff\r\n\r\n" >&3; exit 0 ;;
        "Response: Error"*) exit 1 ;;
      esac
    done
    exit 1' "$1" "$2" "$3" 2>/dev/null
}

ari_ok() {
  [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 3 -u callrec:callrec \
    http://127.0.0.1:8088/ari/asterisk/info) == 200 ]]
}

endpoints_ok() {
  local inst=$1 out ep
  out=$(ast_rx "$inst" 'pjsip show endpoints') || return 1
  for ep in $(endpoints "$inst"); do
    grep -Eq "Endpoint:[[:space:]]+$ep([[:space:]/]|$)" <<<"$out" || return 1
  done
}

healthy() {
  local inst=$1 user
  find_pid "$inst" >/dev/null || return 1
  if [[ $inst == pbx ]]; then ari_ok || return 1; fi
  user=$(ami_user "$inst")
  ami_login "$(ami_port "$inst")" "$user" "$user" || return 1
  endpoints_ok "$inst"
}

wait_healthy() { # INSTANCE SECONDS
  local deadline=$((SECONDS + $2))
  until healthy "$1"; do
    if ((SECONDS >= deadline)) || ! find_pid "$1" >/dev/null; then return 1; fi
    sleep 0.2
  done
}

# ---------------------------------------------------------------------------- start/stop
# Close every descriptor above stderr in the current (sub)shell.
close_inherited_fds() {
  local fd
  for fd in $(ls /proc/$BASHPID/fd); do
    if (( fd > 2 )); then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
}

start_instance() {
  local inst=$1
  log "$inst: starting"
  # shellcheck disable=SC2046
  # WHY close_inherited_fds: the daemon must not inherit (and so hold for as long as it runs) any
  # lock its caller holds: our own (fd 9) or one a test harness took with flock(1).
  ( close_inherited_fds
    exec setsid nohup chroot "$ROOTFS" asterisk -f -U asterisk -G asterisk $(conf_args "$inst") \
      >>"$STATE/$inst.log" 2>&1 </dev/null ) &
  echo $! >"$STATE/$inst.pid" # informational only, see find_pid
  src_hash "$inst" >"$STATE/$inst.confhash"
}

stop_instance() {
  local inst=$1 pid deadline
  pid=$(find_pid "$inst") || { rm -f "$STATE/$inst.pid"; return 0; }
  log "$inst: stopping (pid $pid)"
  ast_rx "$inst" 'core stop now' >/dev/null || true
  deadline=$((SECONDS + 10))
  while kill -0 "$pid" 2>/dev/null && find_pid "$inst" >/dev/null; do
    if ((SECONDS >= deadline)); then
      log "$inst: did not stop in 10 s, killing"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$STATE/$inst.pid" "$STATE/$inst.confhash"
}

# Start, or keep a running instance if it runs the current configs and is healthy.
# WHY restart instead of 'core reload' on changes: PJSIP transports (bind address/port)
# and several modules' settings are only applied at load time.
ensure_instance() {
  local inst=$1 running_hash=""
  [[ -f $STATE/$inst.confhash ]] && running_hash=$(cat "$STATE/$inst.confhash")
  if find_pid "$inst" >/dev/null; then
    if [[ $running_hash == "$(src_hash "$inst")" ]] && wait_healthy "$inst" "$WAIT_SECS"; then
      return 0
    fi
    log "$inst: configs changed or unhealthy, restarting"
    stop_instance "$inst"
  fi
  start_instance "$inst"
}

report_failure() {
  local inst=$1
  log "$inst: not healthy after ${WAIT_SECS}s; last log lines:"
  tail -n 30 "$STATE/$inst.log" >&2 || true
  tail -n 30 "$ROOTFS/var/log/$( [[ $inst == pbx ]] && echo asterisk || echo asterisk-phones)/messages.log" >&2 || true
}

prepare() {
  [[ $EUID -eq 0 ]] || die "must run as root (chroot, mount)"
  mkdir -p "$STATE"
  exec 9>"$STATE/lock"
  flock -w 300 9 || die "another asterisk-sandbox.sh holds $STATE/lock"
}

provision() {
  build_rootfs
  mount_proc
  make_dirs
  make_prompts
  local inst
  for inst in "${INSTANCES[@]}"; do sync_configs "$inst"; done
}

wait_all() {
  local inst rc=0
  for inst in "$@"; do
    wait_healthy "$inst" "$WAIT_SECS" || { report_failure "$inst"; rc=1; }
  done
  return "$rc"
}

# ---------------------------------------------------------------------------- commands
cmd_up() {
  prepare
  provision
  local inst
  for inst in "${INSTANCES[@]}"; do ensure_instance "$inst"; done
  wait_all "${INSTANCES[@]}" || exit 1
  log "up: pbx (SIP 5060, ARI 8088, AMI 5038) and phones (SIP 5070, AMI 5039) healthy"
}

cmd_down() {
  prepare
  local inst
  for inst in "${INSTANCES[@]}"; do stop_instance "$inst"; done
  umount_proc
  log "down"
}

cmd_restart() {
  local inst=${1:-}
  [[ $inst == pbx || $inst == phones ]] || die "usage: $0 restart pbx|phones"
  prepare
  provision
  stop_instance "$inst"
  start_instance "$inst"
  wait_all "$inst" || exit 1
  log "$inst restarted"
}

cmd_status() {
  local inst pid rc=0
  echo "rootfs:  $ROOTFS ($([[ -x $ROOTFS/usr/sbin/asterisk ]] && echo present || echo missing))"
  echo "/proc:   $(mountpoint -q "$ROOTFS/proc" 2>/dev/null && echo mounted || echo not mounted)"
  for inst in "${INSTANCES[@]}"; do
    if pid=$(find_pid "$inst"); then
      if healthy "$inst"; then echo "$inst: running (pid $pid), healthy"
      else echo "$inst: running (pid $pid), NOT healthy"; rc=3; fi
    else
      echo "$inst: stopped"; rc=3
    fi
  done
  echo "logs:    $STATE/{pbx,phones}.log, $ROOTFS/var/log/asterisk{,-phones}/messages.log"
  echo "records: $ROOTFS/var/spool/asterisk/callrec"
  return "$rc"
}

main() {
  case ${1:-} in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    build) prepare; build_rootfs ;;
    restart) cmd_restart "${2:-}" ;;
    *) echo "usage: $0 up|down|status|build|restart pbx|phones" >&2; exit 2 ;;
  esac
}

main "$@"
