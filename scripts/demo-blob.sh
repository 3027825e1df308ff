# demo-blob.sh: the blob chapter of demo.sh (sourced by it, with its
# helpers and $work): sign any file with a detached signature in the Notary
# Project's blob format, verify it with a certificate and with the blob
# trust policy, and watch a changed file and an untrusted signer fail.

printf 'nv2 release 1.0\n' >"$work/release.tar.gz"
run "$nv2" blob sign --key "$work/keys/wabbit-networks.io.key" --cert "$work/keys/wabbit-networks.io.crt" \
  --media-type application/gzip -a org.example.build=42 "$work/release.tar.gz"
run "$nv2" blob inspect "$work/release.tar.gz.jws.sig"
run "$nv2" blob verify --cert "$work/keys/wabbit-networks.io.crt" \
  --signature "$work/release.tar.gz.jws.sig" "$work/release.tar.gz"

# The blob trust policy: policies chosen by name, the global one by default.
cat >"$work/blob-policy.json" <<JSON
{
  "version": "1.0",
  "trustPolicies": [{
    "name": "wabbit-networks-releases",
    "globalPolicy": true,
    "signatureVerification": {"level": "strict"},
    "trustStores": ["ca:wabbit-networks"],
    "trustedIdentities": ["*"]
  }]
}
JSON
run "$nv2" blob policy import "$work/blob-policy.json"
run "$nv2" blob verify --signature "$work/release.tar.gz.jws.sig" "$work/release.tar.gz"
# From a pipe: - is the standard input.
show "cat release.tar.gz | $nv2 blob verify --signature release.tar.gz.jws.sig -"
"$nv2" blob verify --signature "$work/release.tar.gz.jws.sig" - <"$work/release.tar.gz"

printf 'nv2 release 1.0 with a backdoor\n' >"$work/release-changed.tar.gz"
expect 4 "$nv2" blob verify --signature "$work/release.tar.gz.jws.sig" "$work/release-changed.tar.gz"
expect 4 "$nv2" blob verify --cert "$work/keys/someone-else.example.crt" \
  --signature "$work/release.tar.gz.jws.sig" "$work/release.tar.gz"
