#!/usr/bin/env bash
# Runs every Go fuzz target (func FuzzXxx in *_test.go) for a short time.
# The seed corpora already run as part of `go test`; this adds a few seconds
# of real fuzzing per target to catch regressions cheaply. A crash leaves its
# input under testdata/fuzz/ for `go test` to replay.
#
# Usage: scripts/fuzz.sh [fuzztime]   (default ${FUZZTIME:-5s})
set -euo pipefail

FUZZTIME="${1:-${FUZZTIME:-5s}}"
TAGS="${GO_TAGS:-goolm}"
cd "$(dirname "$0")/.."

mapfile -t files < <(git ls-files --cached --others --exclude-standard '*_test.go' | xargs -r grep -l '^func Fuzz' || true)
if [[ ${#files[@]} -eq 0 ]]; then
	echo "fuzz: no fuzz targets found"
	exit 0
fi
count=0
for file in "${files[@]}"; do
	dir="./$(dirname "$file")"
	# Build tags of the file matter (e.g. e2e); fuzz only untagged or goolm files.
	if head -n 5 "$file" | grep -q '^//go:build' && ! head -n 5 "$file" | grep -q '^//go:build goolm$'; then
		echo "fuzz: skipping $file (build-tagged)"
		continue
	fi
	while read -r name; do
		echo "==> fuzz $dir $name ($FUZZTIME)"
		go test -tags "$TAGS" -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$dir"
		count=$((count + 1))
	done < <(grep -oP '^func \KFuzz\w+(?=\(\w+ \*testing\.F\))' "$file")
done
echo "fuzz: $count target(s) fuzzed for $FUZZTIME each"
