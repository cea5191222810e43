#!/usr/bin/env bash
# Prints the packages `make unit` also runs under the race detector: every
# package whose test binary does not link bridgev2. bridgev2's own
# goroutines race with each other under -race, which would fail our tests
# for bugs that are not ours, so the connector packages are left out. What
# stays: the protocol clients, the emulators, database, bridge/ids, msgfmt,
# secretbox, metrics and the test tooling; new packages join automatically.
set -euo pipefail
cd "$(dirname "$0")/.."
TAGS="${GO_TAGS:-goolm}"
go list -tags "$TAGS" -test -f '{{if .ForTest}}{{.ForTest}}|{{range .Deps}}{{if eq . "maunium.net/go/mautrix/bridgev2"}}bridgev2{{end}}{{end}}{{end}}' ./... |
	awk -F'|' '$1 != "" { if ($2 != "") linked[$1] = 1; else seen[$1] = 1 }
		END { for (p in seen) if (!(p in linked)) print p }' |
	sort
