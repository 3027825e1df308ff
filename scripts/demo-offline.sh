# demo-offline.sh: the seed's second goal, sourced by demo.sh (which defines
# run, expect, chapter, $nv2, $work and $registry, and exports NV2_REGISTRY).
# Sign an image right after it is built, with no registry reachable and
# without pushing it to learn its digest; push image and signatures later;
# pull only what verifies.
# shellcheck shell=bash

key=$work/keys/wabbit-networks.io.key
crt=$work/keys/wabbit-networks.io.crt
build=$work/build/net-monitor
# Offline means offline: the registry and every proxy point at a closed port,
# so any connection attempt would fail the command.
offline=(env NV2_REGISTRY=127.0.0.1:1 HTTP_PROXY=http://127.0.0.1:1 HTTPS_PROXY=http://127.0.0.1:1 NO_PROXY=)

# tree_sum DIR: one checksum of every file's path and content under DIR.
tree_sum() { (cd "$1" && find . -type f -exec sha256sum {} + | LC_ALL=C sort | sha256sum); }

chapter "Offline 1/5: the build leaves an OCI image layout (here: a copy of testdata/net-monitor)"
mkdir -p "$work/build"
cp -R testdata/net-monitor "$build"
run cat "$build/index.json"
echo
digest=$(sed -n 's/.*"digest":"\(sha256:[0-9a-f]*\)".*/\1/p' "$build/index.json")
cp "$build/blobs/sha256/${digest#sha256:}" "$work/build/manifest.json"
echo "The image is $digest; its manifest is also kept as $work/build/manifest.json"

chapter "Offline 2/5: sign it, with no registry reachable"
run "${offline[@]}" "$nv2" sign --oci-layout --key "$key" --cert "$crt" "$build:v1"
echo "A manifest file can be signed too: digest and size are computed here, the envelope goes to a file"
run "${offline[@]}" "$nv2" sign --manifest "$work/build/manifest.json" --signature-out "$work/build/net-monitor.jws" \
  --key "$key" --cert "$crt"

chapter "Offline 3/5: verify, still offline"
run "${offline[@]}" "$nv2" verify --oci-layout --cert "$crt" "$build:v1"
run "${offline[@]}" "$nv2" verify --cert "$crt" --signature "$work/build/net-monitor.jws" --manifest "$work/build/manifest.json"

chapter "Offline 4/5: later, push the image with its signature, attach the detached one, verify in the registry"
run "$nv2" copy --from-oci-layout "$build:v1" offline/net-monitor:v1
run "$nv2" attach --signature "$work/build/net-monitor.jws" offline/net-monitor:v1
echo "An envelope attaches only to the digest it signs:"
expect 1 "$nv2" attach --signature "$work/build/net-monitor.jws" unsigned:v1
run "$nv2" discover offline/net-monitor:v1
run "$nv2" verify --cert "$crt" offline/net-monitor:v1

chapter "Offline 5/5: pull only what verifies, into a new layout"
run "$nv2" pull --cert "$crt" --to-oci-layout "$work/pulled:v1" offline/net-monitor:v1
run "${offline[@]}" "$nv2" verify --oci-layout --cert "$crt" "$work/pulled:v1"
echo "An unsigned image is not pulled (exit 3), and nothing is written:"
expect 3 "$nv2" pull --cert "$crt" --to-oci-layout "$work/unsigned-pull:v1" unsigned:v1
if [ -e "$work/unsigned-pull" ]; then
  echo "demo: the failed pull created $work/unsigned-pull" >&2; exit 1
fi
echo "$work/unsigned-pull was not created."
before=$(tree_sum "$work/pulled")
expect 3 "$nv2" pull --cert "$crt" --to-oci-layout "$work/pulled:unsigned" unsigned:v1
if [ "$(tree_sum "$work/pulled")" != "$before" ]; then
  echo "demo: the failed pull changed $work/pulled" >&2; exit 1
fi
echo "$work/pulled is byte for byte as it was."
