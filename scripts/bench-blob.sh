#!/usr/bin/env bash
# bench-blob.sh: nv2 blob sign and verify of one multi-GiB file beside
# sha256sum and sha384sum of the same file, in one run: wall time,
# throughput and peak RSS (from /usr/bin/time), so that hashing as a stream
# shows as memory that does not grow with the file. A 1 MiB file gives the
# baseline RSS of the same commands.
#
# Environment: BLOB_SIZE (default 4G, any size `head -c` takes), BENCH_OUT
# (default bin/blob-benchmarks.md). The file is random data in a temporary
# folder, read once before timing so that every command reads it from the
# page cache; the folder is removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
size=${BLOB_SIZE:-4G}
out=${BENCH_OUT:-$root/bin/blob-benchmarks.md}

log() { echo "bench-blob.sh: $*" >&2; }
[ -x /usr/bin/time ] || { log "needs /usr/bin/time (GNU time) for peak RSS"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_CONFIG_HOME=$work/config

log "building nv2"
go build -trimpath -o bin/nv2 ./cmd/nv2
nv2=$root/bin/nv2
"$nv2" cert generate --name p256 --key-type ecdsa-p256 --out "$work/keys" >/dev/null
"$nv2" cert generate --name p384 --key-type ecdsa-p384 --out "$work/keys" >/dev/null

log "writing $size of random data"
head -c "$size" /dev/urandom >"$work/big.bin"
head -c 1M /dev/urandom >"$work/small.bin"
bytes=$(stat -c %s "$work/big.bin")
cat "$work/big.bin" >/dev/null # into the page cache

rows=()
# measure LABEL FILE CMD...: one run; records seconds, MiB/s and peak RSS.
measure() {
  local label=$1 file=$2
  shift 2
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null
  read -r secs rss_kb <"$work/time"
  local n
  n=$(stat -c %s "$file")
  local mibs
  mibs=$(awk -v b="$n" -v s="$secs" 'BEGIN { if (s > 0) printf "%.0f", b / 1048576 / s; else print "—" }')
  rows+=("| $label | $(basename "$file") ($(numfmt --to=iec "$n")) | $secs | $mibs | $((rss_kb / 1024)) |")
  log "$label: ${secs}s, $mibs MiB/s, $((rss_kb / 1024)) MiB peak RSS"
}

for f in "$work/small.bin" "$work/big.bin"; do
  measure "sha256sum" "$f" sha256sum "$f"
  measure "nv2 blob sign (P-256, SHA-256)" "$f" "$nv2" blob sign --force --key "$work/keys/p256.key" --cert "$work/keys/p256.crt" --signature-out "$work/p256.sig" "$f"
  measure "nv2 blob verify (P-256, SHA-256)" "$f" "$nv2" blob verify --cert "$work/keys/p256.crt" --signature "$work/p256.sig" "$f"
  measure "sha384sum" "$f" sha384sum "$f"
  measure "nv2 blob sign (P-384, SHA-384)" "$f" "$nv2" blob sign --force --key "$work/keys/p384.key" --cert "$work/keys/p384.crt" --signature-out "$work/p384.sig" "$f"
  measure "nv2 blob verify (P-384, SHA-384)" "$f" "$nv2" blob verify --cert "$work/keys/p384.crt" --signature "$work/p384.sig" "$f"
done

mkdir -p "$(dirname "$out")"
{
  echo "| command | file | seconds | MiB/s | peak RSS (MiB) |"
  echo "|---|---|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "One run of each, the file in the page cache; $bytes bytes of random data."
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ { print $2 }') GiB, $(uname -sr), $(go env GOVERSION); $(sha256sum --version | head -1)."
} >"$out"
cat "$out"
