#!/usr/bin/env bash
# Regenerates config.example.yaml and registration.yaml from the binary, so they
# never drift from what `imbridge -e` and `imbridge -g` write (a test checks).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-bin/imbridge}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" -e -c "$tmp/config.yaml" >/dev/null
cp "$tmp/config.yaml" config.example.yaml
sed 's/domain: example.com/domain: example.org/' config.example.yaml >"$tmp/reg-config.yaml"
"$bin" -g -c "$tmp/reg-config.yaml" -r "$tmp/registration.yaml" >/dev/null
cp "$tmp/registration.yaml" registration.yaml
echo "wrote config.example.yaml and registration.yaml"
