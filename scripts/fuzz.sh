#!/usr/bin/env bash
# fuzz.sh runs every fuzz target of the module for FUZZTIME (default 5s) each.
# A crasher is written by `go test` under the package's testdata/fuzz folder;
# commit it there and it becomes a regression test run by plain `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-5s}
status=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "fuzz: $pkg $target ($fuzztime)"
    if ! go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg" >"$log" 2>&1; then
      cat "$log"; status=1
    fi
  done
done
exit $status
