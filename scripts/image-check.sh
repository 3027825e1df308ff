#!/usr/bin/env bash
# image-check.sh: build the nv2 and registry images twice, into bin/images
# (where make image puts them) and into a temporary folder, and fail unless
# each index digest is the same both times (reproducible builds: the digest
# depends only on the commit).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
for what in nv2 registry; do
  a=$(scripts/image.sh "$what")
  b=$(NV2_IMAGE_OUT=$tmp scripts/image.sh "$what")
  if [ "$a" = "$b" ]; then
    echo "image-check: $what image is reproducible: $a"
  else
    echo "image-check: $what image differs between two builds: $a and $b" >&2; status=1
  fi
done
exit $status
