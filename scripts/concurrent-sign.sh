#!/usr/bin/env bash
# concurrent-sign.sh: 20 `nv2 sign` processes at once, each with its own key,
# on one image of a real CNCF distribution 3.x registry process (which has no
# referrers API, so every signer rewrites the one referrers tag schema index).
# Afterwards all 20 signatures must be discoverable: listed by
# `nv2 discover -o json`, and in the sha256-<hex> index tag read with curl.
#
#   SIGNERS             how many signers (default 20)
#   NV2_REGISTRY_PORT   the registry's port (default 5001, beside the demo's 5000)
#   NV2_REGISTRY_STATE  where scripts/registry.sh keeps its state (default: a
#                       temporary folder removed at the end)
#   NV2                 the nv2 binary (default bin/nv2, built by `make build`)
set -euo pipefail
cd "$(dirname "$0")/.."

nv2=${NV2:-$PWD/bin/nv2}
[ -x "$nv2" ] || { echo "concurrent-sign: build nv2 first: make build" >&2; exit 1; }
signers=${SIGNERS:-20}
work=$(mktemp -d)
export XDG_CONFIG_HOME=$work/config
export XDG_CACHE_HOME=$work/cache
export DOCKER_CONFIG=$work/docker
export NV2_CACHE=${NV2_CACHE:-$HOME/.cache/nv2}
export NV2_REGISTRY_STATE=${NV2_REGISTRY_STATE:-$work/registry}
export NV2_REGISTRY_PORT=${NV2_REGISTRY_PORT:-5001}

cleanup() {
  scripts/registry.sh stop || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "concurrent-sign: FAIL: $*" >&2; exit 1; }

registry=$(scripts/registry.sh start)
ref=$registry/net-monitor:v1

"$nv2" copy --from-oci-layout testdata/net-monitor:v1 "$ref" >/dev/null
image=$("$nv2" copy -o json --from-oci-layout testdata/net-monitor:v1 "$ref" |
  grep -o '"digest": *"sha256:[0-9a-f]\{64\}"' | head -n1 | grep -o 'sha256:[0-9a-f]\{64\}')
[ -n "$image" ] || fail "no digest for $ref"
echo "concurrent-sign: $ref is $image"

for i in $(seq 1 "$signers"); do
  "$nv2" cert generate --name "signer-$i" --out "$work/keys" >/dev/null
done

echo "concurrent-sign: $signers nv2 sign processes at once"
pids=()
for i in $(seq 1 "$signers"); do
  "$nv2" sign -o json --key "$work/keys/signer-$i.key" --cert "$work/keys/signer-$i.crt" "$ref" \
    >"$work/sign-$i.json" 2>"$work/sign-$i.err" &
  pids+=($!)
done
failed=0
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then
    failed=$((failed + 1))
    echo "signer $((i + 1)) failed:" >&2
    cat "$work/sign-$((i + 1)).err" >&2
  fi
done
[ "$failed" -eq 0 ] || fail "$failed of $signers signers failed"

# The digest of each pushed signature, from each signer's own report.
signed=$(cat "$work"/sign-*.json | grep -A6 '"signature"' | grep -o 'sha256:[0-9a-f]\{64\}' | sort -u)
[ "$(echo "$signed" | wc -l)" -eq "$signers" ] || fail "the signers reported $(echo "$signed" | wc -l) signatures, want $signers"

# nv2's view.
discovered=$("$nv2" discover -o json --artifact-type application/vnd.cncf.notary.signature "$ref")
listed=$(echo "$discovered" | grep -o '"digest": *"sha256:[0-9a-f]\{64\}"' | grep -o 'sha256:[0-9a-f]\{64\}' | grep -v "$image" | sort -u)
echo "concurrent-sign: nv2 discover lists $(echo "$listed" | grep -c sha256) signatures"

# Another client's view: the referrers tag schema index itself.
tag=sha256-${image#sha256:}
index=$(curl -fsS -H 'Accept: application/vnd.oci.image.index.v1+json' "http://$registry/v2/net-monitor/manifests/$tag")
indexed=$(echo "$index" | grep -o '"digest": *"sha256:[0-9a-f]\{64\}"' | grep -o 'sha256:[0-9a-f]\{64\}' | sort -u)
echo "concurrent-sign: the index tag $tag read with curl holds $(echo "$indexed" | grep -c sha256) entries"

for d in $signed; do
  echo "$listed" | grep -qx "$d" || fail "signature $d is not listed by nv2 discover"
  echo "$indexed" | grep -qx "$d" || fail "signature $d is not in the index tag $tag"
done
[ "$(echo "$listed" | grep -c sha256)" -eq "$signers" ] || fail "nv2 discover lists $(echo "$listed" | grep -c sha256), want $signers"
[ "$(echo "$indexed" | grep -c sha256)" -eq "$signers" ] || fail "the index tag holds $(echo "$indexed" | grep -c sha256), want $signers"

"$nv2" verify --cert "$work/keys/signer-1.crt" "$ref" >/dev/null || fail "signer-1's signature does not verify"
"$nv2" verify --cert "$work/keys/signer-$signers.crt" "$ref" >/dev/null || fail "signer-$signers's signature does not verify"
echo "concurrent-sign: OK: all $signers signatures are discoverable"
