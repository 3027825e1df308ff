# demo-images.sh: sourced by demo.sh. nv2's own container image verifies the
# signed image of itself in the local registry. Needs a docker engine and the
# images of make image and make registry-image; says so and skips otherwise.
images_ready() {
  command -v docker >/dev/null && docker info >/dev/null 2>&1 || { echo "(skipped: no docker engine reachable; start one, e.g. scripts/dockerd.sh start)"; return 1; }
  [ -f bin/images/nv2/index.json ] || { echo "(skipped: no nv2 image; run make image)"; return 1; }
  docker image inspect nv2:latest >/dev/null 2>&1 && return 0
  [ -f bin/images/work/nv2.tar ] || { echo "(skipped: the engine has no nv2 image; run make image)"; return 1; }
  local loaded
  show docker load -i bin/images/work/nv2.tar
  loaded=$(docker load -i bin/images/work/nv2.tar | sed -n 's/^Loaded image: //p')
  run docker tag "$loaded" nv2:latest
}
if images_ready; then
  image_cert=${NV2_IMAGE_CERT:-$NV2_CACHE/image-signing/nv2-image-builder.crt}
  image_tag=$(sed -n 's/.*"org.opencontainers.image.ref.name":"\([^"]*\)".*/\1/p' bin/images/nv2/index.json)
  echo "registry runner: ${NV2_REGISTRY_RUNNER:-native}"
  run "$nv2" verify --oci-layout --cert "$image_cert" "bin/images/nv2:$image_tag"
  run "$nv2" copy --from-oci-layout "bin/images/nv2:$image_tag" "nv2:$image_tag"
  run docker run --rm --network host -v "$(dirname "$image_cert"):/keys:ro" nv2 \
    verify --cert "/keys/$(basename "$image_cert")" --platform "linux/$(go env GOARCH)" "$registry/nv2:$image_tag"
fi
