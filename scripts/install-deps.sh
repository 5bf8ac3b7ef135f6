#!/usr/bin/env bash
# install-deps.sh: everything callrec needs on a fresh Debian 12 machine. Idempotent and
# fast when nothing is missing (no apt, no pip), because every CI run and every
# `scripts/sandbox.sh up` calls it.
#
#   1. Debian packages: mmdebstrap (builds the Asterisk chroot), sox + espeak-ng (prompts),
#      ffmpeg (audio inspection), PostgreSQL 15 (evidence store), libsndfile1 (soundfile),
#      iproute2/procps/curl/util-linux (sandbox health checks), python3-venv.
#   2. A venv at ${VENV:-.venv} (relative to the repo root) with `pip install -e '.[test]'`,
#      skipped when a stamp file in the venv holds the current pyproject.toml hash.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VENV:-.venv}
[[ $VENV == /* ]] || VENV="$REPO/$VENV"
PYTHON=${PYTHON:-python3}

log() { echo "install-deps: $*" >&2; }

PACKAGES=(mmdebstrap debian-archive-keyring ffmpeg sox espeak-ng libsndfile1 iproute2 procps
  curl util-linux python3 python3-venv)

# PostgreSQL only when no 15 server binaries exist: a machine may carry them from another
# source, and apt would then fight over the cluster.
[[ -x /usr/lib/postgresql/15/bin/initdb ]] || PACKAGES+=(postgresql-15)

is_installed() {
  [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

missing_packages() {
  local pkg
  for pkg in "${PACKAGES[@]}"; do is_installed "$pkg" || echo "$pkg"; done
}

install_packages() {
  local missing
  mapfile -t missing < <(missing_packages)
  ((${#missing[@]} == 0)) && return 0
  [[ $EUID -eq 0 ]] || { log "ERROR: need root to apt-get install ${missing[*]}"; exit 1; }
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q "${missing[@]}"
}

pyproject_hash() {
  sha256sum "$REPO/pyproject.toml" | cut -d' ' -f1
}

install_venv() {
  local stamp="$VENV/.callrec-install.stamp" want
  want=$(pyproject_hash)
  if [[ -x $VENV/bin/python && -f $stamp && $(cat "$stamp") == "$want" ]]; then
    return 0
  fi
  if [[ ! -x $VENV/bin/python ]]; then
    log "creating venv $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  log "pip install -e '.[test]' into $VENV"
  "$VENV/bin/pip" install -q -e "${REPO}[test]"
  echo "$want" >"$stamp"
}

main() {
  install_packages
  install_venv
}

main "$@"
