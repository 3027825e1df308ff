#!/usr/bin/env bash
# fuzz.sh runs every fuzz target of the module for FUZZTIME (default 5s) each.
# A crasher is written by `go test` under the package's testdata/fuzz folder;
# commit it there and it becomes a regression test run by plain `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-5s}
status=0
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "fuzz: $pkg $target ($fuzztime)"
    if ! go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg" >/tmp/nv2-fuzz.$$ 2>&1; then
      cat /tmp/nv2-fuzz.$$; status=1
    fi
  done
done
rm -f /tmp/nv2-fuzz.$$
exit $status
