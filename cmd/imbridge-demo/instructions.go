package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/imbridge/imbridge/testenv/stack"
)

func printInstructions(st *stack.Stack, u *demoUser, emus []emulator) {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("")
	line("imbridge demo is running.")
	line("")
	line("  Homeserver URL:  %s", st.Synapse.URL)
	line("  Username:        %s   (full ID %s)", u.Localpart, u.UserID)
	line("  Password:        %s", u.Password)
	line("")
	line("Log in with Element (\"Sign in\" -> edit the homeserver -> %s) or any Matrix", st.Synapse.URL)
	line("client, start a direct chat with %s and type:", st.BotMXID)
	line("")
	line("  help     the bot's commands")
	line("  login    log in to a remote network (the bot lists the login flows)")
	line("")
	if len(emus) == 0 {
		line("No protocol emulators are wired into the demo yet; `login` talks to real servers.")
	}
	for _, e := range emus {
		line("%s:", e.Name())
		line("  %s", strings.ReplaceAll(strings.TrimSpace(e.Instructions()), "\n", "\n  "))
	}
	line("")
	line("Metrics:     %s", st.Bridge.MetricsURL)
	line("Bridge log:  %s", st.Bridge.LogPath)
	line("Synapse log: %s", st.Synapse.LogPath())
	line("Press Ctrl-C to stop; state stays in the data directory.")
	fmt.Fprint(os.Stdout, b.String())
}
