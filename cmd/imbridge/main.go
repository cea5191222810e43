// Command imbridge is the imbridge Matrix application service: one bridge for
// Lync / Skype for Business (UCWA), Skype and Microsoft Teams.
package main

import (
	"os"

	"maunium.net/go/mautrix/bridgev2/matrix/mxmain"

	"github.com/imbridge/imbridge/bridge"
)

// Set at build time with -ldflags "-X main.Tag=... -X main.Commit=... -X main.BuildTime=...".
var (
	Tag       = "unknown"
	Commit    = "unknown"
	BuildTime = "unknown"
)

func main() {
	conn := bridge.New(protocols()...)
	m := &mxmain.BridgeMain{
		Name:        "imbridge",
		URL:         "https://github.com/imbridge/imbridge",
		Description: "A Matrix bridge for Lync / Skype for Business, Skype and Microsoft Teams.",
		Version:     "0.1.0",
		Connector:   conn,
	}
	m.InitVersion(Tag, Commit, BuildTime)
	writeExampleIfRequested(conn, os.Args[1:])
	run(m, conn)
}
