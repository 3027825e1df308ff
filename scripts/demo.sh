#!/usr/bin/env bash
# demo.sh: the seed's story end to end against a real CNCF distribution
# registry on loopback. Each command is printed before it runs; the demo
# exits 0 only when every expectation held.
set -euo pipefail
cd "$(dirname "$0")/.."

nv2=${NV2:-$PWD/bin/nv2}
[ -x "$nv2" ] || { echo "demo: build nv2 first: make build" >&2; exit 1; }
work=$(mktemp -d)
export XDG_CONFIG_HOME=$work/config
export DOCKER_CONFIG=$work/docker
export NV2_CACHE=${NV2_CACHE:-$HOME/.cache/nv2}
export NV2_REGISTRY_STATE=$work/registry
export NV2_REGISTRY_PORT=${NV2_REGISTRY_PORT:-5000}

cleanup() {
  if [ -f "$work/tsa.pid" ]; then kill "$(cat "$work/tsa.pid")" 2>/dev/null || true; fi
  scripts/registry.sh stop || true
  NV2_DOCKERD_STATE=$work/dockerd scripts/dockerd.sh stop || true
  rm -rf "$work"
}
trap cleanup EXIT

bold=$(tput bold 2>/dev/null || true); reset=$(tput sgr0 2>/dev/null || true)
chapter() { printf '\n%s== %s%s\n' "$bold" "$*" "$reset"; }
show() { printf '%s$ %s%s\n' "$bold" "$*" "$reset"; }
# run CMD...: print it, run it, fail the demo when it fails.
run() { show "$*"; "$@"; }
# expect CODE CMD...: print it, run it, fail the demo unless it exits CODE.
expect() {
  local want=$1; shift
  show "$*"
  set +e; "$@"; local got=$?; set -e
  if [ "$got" != "$want" ]; then
    echo "demo: expected exit code $want, got $got" >&2; exit 1
  fi
  echo "(exit code $got, as expected)"
}

chapter "Start a local CNCF distribution registry"
# From its own image (make registry-image) when a docker engine has it.
if [ -z "${NV2_REGISTRY_RUNNER:-}" ] && command -v docker >/dev/null && docker info >/dev/null 2>&1 &&
  docker image inspect nv2-registry:latest >/dev/null 2>&1; then
  export NV2_REGISTRY_RUNNER=docker
fi
registry=$(scripts/registry.sh start)
export NV2_REGISTRY=$registry
echo "NV2_REGISTRY=$NV2_REGISTRY"

chapter "Push the sample image net-monitor:v1 (an OCI image layout in testdata)"
run "$nv2" copy --from-oci-layout testdata/net-monitor:v1 net-monitor:v1
run "$nv2" copy --from-oci-layout testdata/unsigned:v1 unsigned:v1

chapter "Generate a signing certificate (replaces the prototype's openssl step)"
run "$nv2" cert generate --name wabbit-networks.io --out "$work/keys"

chapter "Sign net-monitor:v1: the signature is pushed as a referrer, no tag changes"
run "$nv2" sign --key "$work/keys/wabbit-networks.io.key" --cert "$work/keys/wabbit-networks.io.crt" \
  --annotation org.example.build=42 net-monitor:v1

chapter "Discover what refers to the image"
run "$nv2" discover net-monitor:v1

chapter "Inspect the signature"
run "$nv2" inspect net-monitor:v1

chapter "Verify, trusting the certificate directly"
run "$nv2" verify --cert "$work/keys/wabbit-networks.io.crt" net-monitor:v1

chapter "Verify with a trust policy instead: trust store + policy, as the Notary Project lays them out"
run "$nv2" cert add --store wabbit-networks "$work/keys/wabbit-networks.io.crt"
cat >"$work/policy.json" <<JSON
{
  "version": "1.0",
  "trustPolicies": [{
    "name": "net-monitor",
    "registryScopes": ["$registry/net-monitor"],
    "signatureVerification": {"level": "strict"},
    "trustStores": ["ca:wabbit-networks"],
    "trustedIdentities": ["*"]
  }]
}
JSON
run "$nv2" policy import "$work/policy.json"
run "$nv2" verify net-monitor:v1

chapter "Sign with a trusted timestamp (RFC 3161): the signature outlives its certificate"
# A Time Stamping Authority on loopback: sigstore's timestamp-authority server
# code, run by a small test-support command (it listens on 127.0.0.1 only).
GOFLAGS=-buildvcs=false go build -o "$work/nv2tsa" ./internal/cmd/nv2tsa
"$work/nv2tsa" -url-file "$work/tsa.url" -root "$work/tsa-root.crt" &
echo $! >"$work/tsa.pid"
for _ in $(seq 1 100); do [ -s "$work/tsa.url" ] && break; sleep 0.1; done
tsa=$(cat "$work/tsa.url")
run "$nv2" sign --key "$work/keys/wabbit-networks.io.key" --cert "$work/keys/wabbit-networks.io.crt" \
  --timestamp-url "$tsa" --timestamp-root-cert "$work/tsa-root.crt" net-monitor:v1
run "$nv2" inspect net-monitor:v1
run "$nv2" verify --cert "$work/keys/wabbit-networks.io.crt" --tsa-cert "$work/tsa-root.crt" net-monitor:v1
kill "$(cat "$work/tsa.pid")" && rm -f "$work/tsa.pid"

chapter "A certificate that did not sign it is not trusted: exit 4"
run "$nv2" cert generate --name someone-else.example --out "$work/keys"
expect 4 "$nv2" verify --cert "$work/keys/someone-else.example.crt" net-monitor:v1

chapter "An unsigned image has no signature: exit 3"
expect 3 "$nv2" verify --cert "$work/keys/wabbit-networks.io.crt" unsigned:v1

chapter "Any file: a detached signature in the Notary Project's blob format"
# shellcheck source=/dev/null
. scripts/demo-blob.sh

if [ -f scripts/demo-offline.sh ]; then
  chapter "Offline: build, sign without a registry, push later, pull verified"
  # shellcheck source=/dev/null
  . scripts/demo-offline.sh
fi

chapter "Docker: build, sign offline, push, discover, verified pull, run"
# shellcheck source=/dev/null
. scripts/demo-docker.sh

chapter "Docker: nv2's own container image verifies nv2's signed image in the registry"
# shellcheck source=/dev/null
. scripts/demo-images.sh

chapter "Done: every expectation held"
