#!/usr/bin/env bash
# dockerd.sh start|stop|install|check: a docker engine for the docker tests and the
# demo.
#
#   start    prints the DOCKER_HOST of a reachable engine on stdout: the one
#            `docker info` already reaches, else a private dockerd this script
#            starts (root only) with its data, socket and pid file in
#            NV2_DOCKERD_STATE (default $NV2_CACHE/dockerd): vfs storage, no
#            bridge, no iptables, so it changes nothing on the machine and runs
#            FROM scratch images with --network none. It installs Debian's
#            docker.io package first when dockerd is missing and it runs as
#            root on Debian, unless NV2_DOCKERD_INSTALL=0. Exits 3, saying
#            why, when no engine can be had.
#   stop     stops the dockerd that `start` started (by its pid) and removes
#            its state; an engine it did not start is left alone.
#   install  installs docker.io when dockerd is missing (root, Debian).
#   check    exits 0 when `start` would find or start an engine without
#            installing anything; otherwise says so, and how to get one.
set -euo pipefail

cache=${NV2_CACHE:-$HOME/.cache/nv2}
state=${NV2_DOCKERD_STATE:-$cache/dockerd}
sock=$state/docker.sock

say() { echo "dockerd.sh: $*" >&2; }

reachable() { docker ${1:+-H "$1"} info >/dev/null 2>&1; }

install() {
  command -v dockerd >/dev/null && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    say "dockerd is missing; install Debian's docker.io package as root (sudo apt-get install docker.io)"
    return 3
  fi
  say "installing Debian's docker.io package (dockerd, containerd, runc)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq docker.io >&2
}

start() {
  if ! command -v docker >/dev/null; then
    say "no docker client on PATH"; return 3
  fi
  if [ -f "$state/dockerd.pid" ] && kill -0 "$(cat "$state/dockerd.pid")" 2>/dev/null && reachable "unix://$sock"; then
    echo "unix://$sock"; return 0
  fi
  if reachable; then
    echo "${DOCKER_HOST:-unix:///var/run/docker.sock}"; return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    say "no docker engine is reachable and starting one needs root: run 'sudo $0 start' and export the DOCKER_HOST it prints"
    return 3
  fi
  if [ "${NV2_DOCKERD_INSTALL:-1}" = 1 ]; then install || return 3; fi
  if ! command -v dockerd >/dev/null; then
    say "dockerd is missing: run 'sudo $0 install' (Debian's docker.io package)"; return 3
  fi
  mkdir -p "$state"
  dockerd --data-root "$state/data" --exec-root "$state/exec" --host "unix://$sock" \
    --pidfile "$state/dockerd.pid" --storage-driver vfs --bridge none \
    --iptables=false --ip6tables=false >"$state/dockerd.log" 2>&1 &
  echo $! >"$state/started.pid"
  for _ in $(seq 1 120); do
    if reachable "unix://$sock"; then
      say "dockerd (pid $(cat "$state/started.pid")) on unix://$sock"
      echo "unix://$sock"; return 0
    fi
    if ! kill -0 "$(cat "$state/started.pid")" 2>/dev/null; then break; fi
    sleep 0.5
  done
  say "dockerd did not start; its log:"; tail -20 "$state/dockerd.log" >&2 || true
  stop; return 3
}

stop() {
  [ -f "$state/started.pid" ] || return 0
  pid=$(cat "$state/started.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  # dockerd can leave its network namespace mounted under the exec root.
  grep -o " $state/[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  rm -rf "$state" 2>/dev/null || true
}

check() {
  if command -v docker >/dev/null && { reachable || { [ "$(id -u)" = 0 ] && command -v dockerd >/dev/null; }; }; then
    return 0
  fi
  say "no docker engine is reachable or can be started here, so the docker engine tests skip;"
  say "  to run them: as root, 'scripts/dockerd.sh install' (Debian's docker.io), or export the DOCKER_HOST that 'sudo scripts/dockerd.sh start' prints"
  return 3
}

case "${1:-}" in
  start) start ;;
  check) check ;;
  stop) stop ;;
  install) install ;;
  *) echo "usage: $0 start|stop|install|check" >&2; exit 2 ;;
esac
