#!/usr/bin/env bash
# image.sh nv2|registry: build the reproducible, signed OCI image layout of
# nv2 or of the CNCF distribution registry, for linux/amd64 and linux/arm64,
# with no base image (FROM scratch) and nothing from the internet but Go
# modules from the module proxy.
#
#   nv2       bin/images/nv2           tag $VERSION; nv2 at /usr/local/bin/nv2 and
#                                      CA certificates; entrypoint nv2
#   registry  bin/images/nv2-registry  tag v3.1.2; registry serve on 0.0.0.0:5000
#
# The index digest depends only on the commit (file times are the commit's
# time, binaries are built with -trimpath and no build id): it is printed on
# stdout. The layout is then signed offline with nv2 itself (sign --recursive:
# the index and each platform's manifest), with NV2_IMAGE_KEY and
# NV2_IMAGE_CERT or a key generated once into $NV2_CACHE/image-signing, and
# verified. When `docker info` works, this machine's platform image is loaded
# into the engine as nv2:latest or nv2-registry:latest (NV2_IMAGE_NAME names
# it otherwise); without an engine that step is skipped and says so.
# NV2_IMAGE_PLATFORMS (default "linux/amd64 linux/arm64") picks the platforms,
# NV2_IMAGE_OUT the output folder, NV2 the nv2 binary that signs.
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-}
version=${VERSION:-0.1.0}
registry_version=v3.1.2
cache=${NV2_CACHE:-$HOME/.cache/nv2}
out=${NV2_IMAGE_OUT:-bin/images}
platforms=${NV2_IMAGE_PLATFORMS:-linux/amd64 linux/arm64}
created=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
certs=/etc/ssl/certs/ca-certificates.crt
nv2=${NV2:-bin/nv2}
say() { echo "image.sh: $*" >&2; }

# gobuild PKGDIR PKG OUTPREFIX LDFLAGS: one static binary per platform.
gobuild() {
  local dir=$1 pkg=$2 prefix=$3 ldflags=$4 p
  for p in $platforms; do
    say "building $pkg for $p"
    (cd "$dir" && CGO_ENABLED=0 GOOS=${p%%/*} GOARCH=${p#*/} GOFLAGS=-buildvcs=false \
      go build -trimpath -ldflags "-s -w -buildid= $ldflags" -o "$prefix-${p//\//-}" "$pkg")
  done
}

platform_flags() {
  local prefix=$1 p
  for p in $platforms; do echo "-platform $p=$prefix-${p//\//-}"; done
}

sign() {
  local layout=$1 tag=$2 key=${NV2_IMAGE_KEY:-} cert=${NV2_IMAGE_CERT:-}
  if [ -z "$key" ]; then
    key=$cache/image-signing/nv2-image-builder.key cert=$cache/image-signing/nv2-image-builder.crt
    [ -f "$key" ] || "$nv2" cert generate --name nv2-image-builder --out "$cache/image-signing" >&2
  fi
  "$nv2" sign --recursive --oci-layout --key "$key" --cert "$cert" "$layout:$tag" >&2
  "$nv2" verify --oci-layout --cert "$cert" "$layout:$tag" >&2
}

load() {
  local archive=$1 ref=$2
  if ! command -v docker >/dev/null || ! docker info >/dev/null 2>&1; then
    say "no docker engine reachable (docker info failed): not loading $ref; the signed OCI layout is the image"
    return 0
  fi
  docker load -i "$archive" >&2
  docker tag "$ref" "${ref%:*}:latest"
  say "loaded $ref and ${ref%:*}:latest into the docker engine"
}

[ -f "$certs" ] || { say "$certs is missing: install the CA certificates (apt-get install ca-certificates)"; exit 1; }
[ -x "$nv2" ] || { say "$nv2 is missing: run make build"; exit 1; }
mkdir -p "$out/work"
work=$(cd "$out/work" && pwd)
go build -o "$work/nv2image" ./internal/cmd/nv2image

case "$what" in
  nv2)
    gobuild . ./cmd/nv2 "$work/nv2" "-X main.version=$version"
    rm -rf "$out/nv2"
    # shellcheck disable=SC2046
    "$work/nv2image" -out "$out/nv2" -tag "$version" -created "$created" -bin /usr/local/bin/nv2 \
      $(platform_flags "$work/nv2") -file "/etc/ssl/certs/ca-certificates.crt=$certs" \
      -entrypoint /usr/local/bin/nv2 -env PATH=/usr/local/bin -env HOME=/root -dir /root -dir /tmp \
      -label org.opencontainers.image.title=nv2 -label "org.opencontainers.image.version=$version" \
      -docker-archive "$work/nv2.tar" -docker-tag "${NV2_IMAGE_NAME:-nv2}:$version"
    sign "$out/nv2" "$version"
    load "$work/nv2.tar" "${NV2_IMAGE_NAME:-nv2}:$version"
    ;;
  registry)
    src=$(go mod download -json "github.com/distribution/distribution/v3@$registry_version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    gobuild "$src" ./cmd/registry "$work/registry" "-X github.com/distribution/distribution/v3/version.version=$registry_version"
    rm -rf "$out/nv2-registry"
    # shellcheck disable=SC2046
    "$work/nv2image" -out "$out/nv2-registry" -tag "$registry_version" -created "$created" -bin /bin/registry \
      $(platform_flags "$work/registry") -file /etc/distribution/config.yml=images/registry-config.yml \
      -dir /var/lib/registry -dir /tmp -port 5000/tcp \
      -entrypoint /bin/registry -entrypoint serve -entrypoint /etc/distribution/config.yml \
      -label org.opencontainers.image.title=nv2-registry -label "org.opencontainers.image.version=$registry_version" \
      -docker-archive "$work/nv2-registry.tar" -docker-tag "${NV2_IMAGE_NAME:-nv2-registry}:$registry_version"
    sign "$out/nv2-registry" "$registry_version"
    load "$work/nv2-registry.tar" "${NV2_IMAGE_NAME:-nv2-registry}:$registry_version"
    ;;
  *) echo "usage: scripts/image.sh nv2|registry" >&2; exit 2 ;;
esac
