#!/usr/bin/env bash
# bench.sh: time nv2 against its peers on the same registries, in one run,
# and write a table of medians, ratios and request counts.
#
#   nv2 sign      vs  cosign sign (local key, no transparency log)
#   nv2 verify    vs  cosign verify (--insecure-ignore-tlog)
#   nv2 discover  vs  oras discover (an image with 1,000 untrusted signatures and one trusted)
#   nv2 verify of 100 images in one process  vs  100 separate nv2 verify runs
#
# on go-containerregistry's registry (referrers API) and CNCF distribution 3.x
# (referrers tag schema), each as it is and with 20 ms added to every request.
# The peers are built once from the Go module proxy into $NV2_CACHE (default
# ~/.cache/nv2): ORAS CLI v1.3.6 and cosign v2.6.5 (a big build: minutes).
# Medians come from hyperfine when it is installed, else from a loop of the
# same number of runs. Request counts are read from a counting proxy in
# front of each registry (internal/cmd/nv2bench), one run of each command.
#
# Environment: BENCH_RUNS (default 10), BENCH_SLOW_RUNS for the slow peer
# commands (default 3), BENCH_DELAY (default 20ms), BENCH_OUT (default
# bin/benchmarks.md), NV2_BENCH_DIST_PORT (default 5099).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache=${NV2_CACHE:-$HOME/.cache/nv2}
oras_version=v1.3.6
cosign_version=v2.6.5
runs=${BENCH_RUNS:-10}
slow_runs=${BENCH_SLOW_RUNS:-3}
delay=${BENCH_DELAY:-20ms}
out=${BENCH_OUT:-$root/bin/benchmarks.md}
dist_port=${NV2_BENCH_DIST_PORT:-5099}

log() { echo "bench.sh: $*" >&2; }

# tool NAME MODULE VERSION: builds a peer once into the cache; prints its path.
tool() {
  local bin=$cache/bin/$1-$3
  if [ ! -x "$bin" ]; then
    log "building $1 $3 into $cache (once)"
    mkdir -p "$cache/bin" "$cache/gobin-$1"
    GOBIN="$cache/gobin-$1" GOFLAGS=-buildvcs=false go install "$2@$3" >&2
    mv "$cache/gobin-$1/$1" "$bin"
    rmdir "$cache/gobin-$1" 2>/dev/null || true
  fi
  echo "$bin"
}

work=$(mktemp -d)
cleanup() {
  for f in "$work"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  NV2_REGISTRY_STATE=$work/dist NV2_REGISTRY_PORT=$dist_port scripts/registry.sh stop 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

log "building nv2 and the benchmark helper"
go build -trimpath -o bin/nv2 ./cmd/nv2
go build -o "$work/nv2bench" ./internal/cmd/nv2bench
nv2=$root/bin/nv2
bench=$work/nv2bench
oras=$(tool oras oras.land/oras/cmd/oras "$oras_version")
cosign=$(tool cosign github.com/sigstore/cosign/v2/cmd/cosign "$cosign_version")

# Every tool gets an empty home: no docker config, no nv2 configuration. The
# cache and Go's own folders stay where they were.
export NV2_CACHE=$cache GOPATH GOCACHE GOMODCACHE
GOPATH=$(go env GOPATH) GOCACHE=$(go env GOCACHE) GOMODCACHE=$(go env GOMODCACHE)
export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config DOCKER_CONFIG=$work/home/.docker COSIGN_PASSWORD=bench
mkdir -p "$HOME" "$work/keys"

# serve NAME ARGS...: starts nv2bench serve in the background (its pid in
# $work/NAME.pid, for cleanup); prints host:port.
serve() {
  local name=$1; shift
  "$bench" serve "$@" >"$work/addr" 2>>"$work/serve.log" &
  echo $! >"$work/$name.pid"
  for _ in $(seq 1 100); do [ -s "$work/addr" ] && break; sleep 0.05; done
  cat "$work/addr"; rm -f "$work/addr"
}

log "starting the registries"
ggcr=$(serve ggcr -kind ggcr)
NV2_REGISTRY_STATE=$work/dist NV2_REGISTRY_PORT=$dist_port scripts/registry.sh start >/dev/null
dist=$(serve proxy -upstream "http://127.0.0.1:$dist_port")
registries=("ggcr:$ggcr" "distribution:$dist")

"$nv2" cert generate --name bench.example --out "$work/keys" >/dev/null
(cd "$work/keys" && "$cosign" generate-key-pair >/dev/null 2>&1)
key=$work/keys/bench.example.key cert=$work/keys/bench.example.crt

# counter HOST reset|count|delay D
counter() {
  case $2 in
    reset) curl -fsS -X POST "http://$1/_bench/reset" ;;
    count) curl -fsS "http://$1/_bench/count" ;;
    delay) curl -fsS -X POST "http://$1/_bench/delay?d=$3" ;;
  esac
}

# requests HOST CMD...: runs CMD once and prints the requests it sent.
requests() {
  local host=$1; shift
  counter "$host" reset
  "$@" >/dev/null 2>&1 || { log "failed: $*"; return 1; }
  counter "$host" count
}

# median N CMD: median wall time of N runs of the shell command CMD, in s.
median() {
  local n=$1 cmd=$2
  if command -v hyperfine >/dev/null; then
    hyperfine --style none --runs "$n" --warmup 1 --export-json "$work/h.json" "$cmd" >/dev/null 2>&1 ||
      { log "failed: $cmd"; return 1; }
    grep -m1 '"median"' "$work/h.json" | sed -E 's/.*: *([0-9.eE+-]+).*/\1/'
  else
    local times=() s e
    bash -c "$cmd" >/dev/null 2>&1 # warm-up
    for _ in $(seq 1 "$n"); do
      s=$(date +%s%N); bash -c "$cmd" >/dev/null 2>&1 || { log "failed: $cmd"; return 1; }; e=$(date +%s%N)
      times+=($(((e - s) / 1000)))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.6f\n", m/1e6}'
  fi
}

# compare REGISTRY DELAY WHAT RUNS NV2_CMD PEER PEER_CMD: times both shell
# commands (median of RUNS), counts their requests once, and adds a row.
compare() {
  local reg=$1 label=$2 what=$3 n=$4 mine=$5 peer=$6 theirs=$7
  row "$reg" "$label" "$what" "$(median "$n" "$mine")" "$peer" "$(median "$n" "$theirs")" \
    "$(requests "$host" bash -c "$mine")" "$(requests "$host" bash -c "$theirs")"
}

rows=()
# row REGISTRY DELAY WHAT NV2_S PEER PEER_S NV2_REQ PEER_REQ
row() {
  local ratio="—" peer_ms="—"
  if [ "$6" != "-" ]; then
    ratio=$(awk -v a="$4" -v b="$6" 'BEGIN { printf "%.2f", a / b }')
    peer_ms=$(awk -v b="$6" 'BEGIN { printf "%.0f", b * 1000 }')
  fi
  local nv2_ms
  nv2_ms=$(awk -v a="$4" 'BEGIN { printf "%.0f", a * 1000 }')
  rows+=("| $1 | $2 | $3 | $nv2_ms | $5 | $peer_ms | **$ratio** | $7 | $8 |")
  log "${rows[-1]}"
}

for entry in "${registries[@]}"; do
  name=${entry%%:*} host=${entry#*:}
  log "$name: preparing images and signatures"
  counter "$host" delay 0s
  for repo in sign verify junk; do "$bench" images -n 1 "$host/$repo"; done
  "$bench" images -n 100 "$host/many"
  sign_digest=$("$nv2" sign --key "$key" --cert "$cert" "$host/sign:v0" 2>/dev/null | sed -n 's/^Signed //p')
  verify_digest=$("$nv2" sign --key "$key" --cert "$cert" "$host/verify:v0" 2>/dev/null | sed -n 's/^Signed //p')
  (cd "$work/keys" && "$cosign" sign --key cosign.key --tlog-upload=false -y "$verify_digest" >/dev/null 2>&1)
  "$bench" junk -n 1000 "$host/junk:v0"
  "$nv2" sign --key "$key" --cert "$cert" "$host/junk:v0" >/dev/null 2>&1
  many=()
  for i in $(seq 0 99); do
    "$nv2" sign --key "$key" --cert "$cert" "$host/many:v$i" >/dev/null 2>&1
    many+=("$host/many:v$i")
  done
  printf '%s\n' "${many[@]}" >"$work/many.txt"

  for d in 0s "$delay"; do
    counter "$host" delay "$d"
    label=$([ "$d" = 0s ] && echo none || echo "$d")
    log "$name, delay $label: measuring"

    compare "$name" "$label" "sign" "$runs" \
      "$nv2 sign --key $key --cert $cert $host/sign:v0" \
      "cosign sign" "cd $work/keys && $cosign sign --key cosign.key --tlog-upload=false -y $sign_digest"
    compare "$name" "$label" "verify, one signature" "$runs" \
      "$nv2 verify --cert $cert $host/verify:v0" \
      "cosign verify" "$cosign verify --key $work/keys/cosign.pub --insecure-ignore-tlog=true $host/verify:v0"

    nv2_junk="$nv2 verify --cert $cert $host/junk:v0"
    row "$name" "$label" "verify, 1,000 untrusted + 1 trusted signatures" "$(median "$runs" "$nv2_junk")" "—" "-" \
      "$(requests "$host" bash -c "$nv2_junk")" "—"

    compare "$name" "$label" "discover 1,001 referrers (whole tree)" "$slow_runs" \
      "$nv2 discover $host/junk:v0" \
      "oras discover" "$oras discover --plain-http $host/junk:v0"
    compare "$name" "$label" "discover 1,001 referrers, --depth 1" "$runs" \
      "$nv2 discover --depth 1 $host/junk:v0" \
      "oras discover --depth 1" "$oras discover --plain-http --depth 1 $host/junk:v0"
    compare "$name" "$label" "verify 100 images in one process" "$slow_runs" \
      "$nv2 verify --cert $cert \$(cat $work/many.txt)" \
      "100 nv2 verify runs" "for r in \$(cat $work/many.txt); do $nv2 verify --cert $cert \$r || exit 1; done"
  done
done

{
  echo "| registry | added delay | operation | nv2 (ms) | compared with | peer (ms) | nv2 / peer | nv2 requests | peer requests |"
  echo "|---|---|---|---:|---|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Medians of $runs runs ($slow_runs for discover of the whole tree and the 100-image rows)$(command -v hyperfine >/dev/null && echo ", measured with $(hyperfine --version)")."
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(go version | cut -d' ' -f3)."
  echo "Peers: ORAS CLI $oras_version, cosign $cosign_version (go install from the Go module proxy); registries: go-containerregistry $(go list -m -f '{{.Version}}' github.com/google/go-containerregistry) (referrers API), CNCF distribution v3.1.2 (no referrers API)."
} >"$out.tmp"
mkdir -p "$(dirname "$out")"
mv "$out.tmp" "$out"
cat "$out"
log "table written to $out"
