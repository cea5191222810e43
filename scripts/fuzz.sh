#!/usr/bin/env bash
# Exploratory fuzzing (`make fuzz`): runs every Go fuzz target (func FuzzXxx
# in *_test.go) for FUZZTIME. Not part of `make test` or CI: the corpora
# (seeds plus testdata/fuzz/) already run as regression tests in every
# `go test`. A failure leaves its input under <package>/testdata/fuzz/<Target>/;
# fix the bug and commit that file, so `go test` replays it from then on.
#
# Usage: scripts/fuzz.sh [fuzztime]   (default ${FUZZTIME:-60s})
# Fails when a target fails, or when there is no target to fuzz at all.
#
# FUZZMINIMIZETIME (default 10s) caps how long Go minimizes each new input:
# with Go's default of 60s a single large "interesting" input can stall a
# target's whole run (the log shows "execs: N (0/sec)" meanwhile).
set -euo pipefail

FUZZTIME="${1:-${FUZZTIME:-60s}}"
MINIMIZETIME="${FUZZMINIMIZETIME:-10s}"
TAGS="${GO_TAGS:-goolm}"
cd "$(dirname "$0")/.."

mapfile -t files < <(git ls-files --cached --others --exclude-standard '*_test.go' | xargs -r grep -l '^func Fuzz' || true)
count=0
failed=()
for file in "${files[@]}"; do
	dir="./$(dirname "$file")"
	# Build tags of the file matter (e.g. e2e); fuzz only untagged or goolm files.
	if head -n 5 "$file" | grep -q '^//go:build' && ! head -n 5 "$file" | grep -q '^//go:build goolm$'; then
		echo "fuzz: not fuzzing $file (build-tagged)"
		continue
	fi
	while read -r name; do
		echo "==> fuzz $dir $name ($FUZZTIME)"
		count=$((count + 1))
		if ! go test -tags "$TAGS" -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$MINIMIZETIME" "$dir"; then
			failed+=("$dir $name")
		fi
	done < <(grep -oP '^func \KFuzz\w+(?=\(\w+ \*testing\.F\))' "$file")
done
if [[ $count -eq 0 ]]; then
	echo "fuzz: FAILED: no fuzz targets found" >&2
	exit 1
fi
if [[ ${#failed[@]} -gt 0 ]]; then
	echo "fuzz: FAILED: ${#failed[@]} of $count target(s) failed; their inputs are in testdata/fuzz/:" >&2
	printf '  %s\n' "${failed[@]}" >&2
	git status --short -- '*/testdata/fuzz/*' >&2 || true
	exit 1
fi
echo "fuzz: $count target(s) fuzzed for $FUZZTIME each"
