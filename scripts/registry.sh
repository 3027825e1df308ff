#!/usr/bin/env bash
# registry.sh start|stop|status: run a real CNCF distribution 3.x registry on a
# loopback port, with its storage in a temporary folder.
#
#   start  builds the registry once into $NV2_CACHE (go install from the Go
#          module proxy), starts it, waits until /v2/ answers, and prints the
#          host:port to stdout. NV2_REGISTRY_PORT picks the port (default 5000).
#   stop   stops the registry started by `start` (by its pid) and removes its
#          storage.
#
# NV2_REGISTRY_RUNNER=docker runs the same registry from the nv2-registry image
# (make registry-image) in the docker engine instead, with --network host and
# REGISTRY_HTTP_ADDR=127.0.0.1:PORT so that it listens on loopback only; stop
# removes that container by its id.
set -euo pipefail
cd "$(dirname "$0")/.."

version=v3.1.2
cache=${NV2_CACHE:-$HOME/.cache/nv2}
bin=$cache/bin/registry-$version
state=${NV2_REGISTRY_STATE:-$cache/run}
port=${NV2_REGISTRY_PORT:-5000}
runner=${NV2_REGISTRY_RUNNER:-native}
image=${NV2_REGISTRY_IMAGE:-nv2-registry:latest}

build() {
  [ -x "$bin" ] && return 0
  echo "registry.sh: building CNCF distribution $version into $cache (once)" >&2
  mkdir -p "$cache/bin" "$cache/gobin"
  GOBIN="$cache/gobin" GOFLAGS=-buildvcs=false go install "github.com/distribution/distribution/v3/cmd/registry@$version"
  mv "$cache/gobin/registry" "$bin"
}

# in_use reports whether something listens on 127.0.0.1:$port.
in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

# wait_v2 waits until /v2/ answers on the port, while alive (a command) succeeds.
wait_v2() {
  local alive=$1
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && return 0
    $alive || return 1
    sleep 0.1
  done
  return 1
}

container_alive() { [ "$(docker inspect -f '{{.State.Running}}' "$(cat "$state/container")" 2>/dev/null)" = true ]; }

start_docker() {
  mkdir -p "$state"
  if [ -f "$state/container" ] && container_alive; then
    echo "registry.sh: a registry container is already running ($(cat "$state/container")) on $(cat "$state/addr")" >&2
    cat "$state/addr"; return 0
  fi
  docker info >/dev/null 2>&1 || { echo "registry.sh: NV2_REGISTRY_RUNNER=docker, but no docker engine answers (docker info failed)" >&2; return 1; }
  docker image inspect "$image" >/dev/null 2>&1 || { echo "registry.sh: the engine has no image $image: run make registry-image" >&2; return 1; }
  docker run -d --network host -e "REGISTRY_HTTP_ADDR=127.0.0.1:$port" "$image" >"$state/container"
  echo "127.0.0.1:$port" >"$state/addr"
  if wait_v2 container_alive; then
    echo "registry.sh: $image on 127.0.0.1:$port (container $(cut -c1-12 "$state/container"))" >&2
    echo "127.0.0.1:$port"; return 0
  fi
  echo "registry.sh: the registry container did not answer on 127.0.0.1:$port; its log:" >&2
  docker logs "$(cat "$state/container")" >&2 || true
  stop; return 1
}

start() {
  [ "$runner" = docker ] && { start_docker; return; }
  mkdir -p "$state"
  if [ -f "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null; then
    echo "registry.sh: a registry is already running (pid $(cat "$state/pid")) on $(cat "$state/addr")" >&2
    cat "$state/addr"; return 0
  fi
  # Never report, or let the demo write into, a registry this script did not start.
  if in_use; then
    echo "registry.sh: port $port on 127.0.0.1 is already in use by another program; pick a free one, e.g. NV2_REGISTRY_PORT=5050" >&2
    return 1
  fi
  build
  storage=$(mktemp -d)
  echo "$storage" >"$state/storage"
  cat >"$state/config.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: nv2-local-registry
YAML
  "$bin" serve "$state/config.yml" >"$state/log" 2>&1 &
  echo $! >"$state/pid"
  echo "127.0.0.1:$port" >"$state/addr"
  for _ in $(seq 1 100); do
    if ! kill -0 "$(cat "$state/pid")" 2>/dev/null; then
      echo "registry.sh: the registry exited; its log:" >&2; cat "$state/log" >&2; rm -f "$state/pid"; return 1
    fi
    if curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && kill -0 "$(cat "$state/pid")" 2>/dev/null; then
      echo "registry.sh: CNCF distribution $version on 127.0.0.1:$port (pid $(cat "$state/pid"))" >&2
      echo "127.0.0.1:$port"; return 0
    fi
    sleep 0.1
  done
  echo "registry.sh: the registry did not answer on 127.0.0.1:$port within 10s; its log:" >&2
  cat "$state/log" >&2
  stop; return 1
}

stop() {
  if [ -f "$state/container" ]; then
    id=$(cat "$state/container")
    docker rm -f "$id" >/dev/null 2>&1 || true
    rm -f "$state/container"
    echo "registry.sh: removed the registry container ${id:0:12}" >&2
  fi
  if [ -f "$state/pid" ]; then
    pid=$(cat "$state/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$state/pid"
    echo "registry.sh: stopped the registry (pid $pid)" >&2
  fi
  if [ -f "$state/storage" ]; then rm -rf "$(cat "$state/storage")"; rm -f "$state/storage"; fi
}

case "${1:-}" in
  build) build ;;
  start) start ;;
  stop) stop ;;
  status) { [ -f "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null || { [ -f "$state/container" ] && container_alive; }; } && cat "$state/addr" || { echo "not running" >&2; exit 1; } ;;
  *) echo "usage: scripts/registry.sh start|stop|status|build" >&2; exit 2 ;;
esac
