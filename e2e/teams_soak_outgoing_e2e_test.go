//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
)

// TestTeamsSoakOutgoingWithKills is issue 7's outgoing soak for Teams
// against Synapse: the user sends Matrix messages (300 by default,
// IMBRIDGE_SOAK_OUTGOING_MESSAGES to change) from encrypted DM portals with
// three colleagues while the bridge process is SIGKILLed and restarted
// twice in the middle of a burst, some typed while it is down, and about
// one send in ten is answered 503 or 429 first; one in 25 is stored by
// Teams but answered 503 or 429 anyway (half of those with a Retry-After
// past the send deadline). A message is settled when
// the bridge has shown what became of it: it is in its Teams chat, or the
// bot's error notice replies to it (bridgev2's failed status). In the end
// each message is in its chat at most once; each one not shown as failed
// is there exactly once, in the order it was typed; and each one shown as
// failed is absent, or, where Teams took it just as the bridge gave up,
// deleted there (the connector withdraws such late arrivals, sent.go).
func TestTeamsSoakOutgoingWithKills(t *testing.T) {
	requireEnv(t)
	if teamsEmu == nil {
		t.Fatal("the Teams emulator was not started by the set-up hook")
	}
	total := soakCount(t, "IMBRIDGE_SOAK_OUTGOING_MESSAGES", 300, 100)
	emu := teamsEmu
	ctx, rng, suffix := startSoak(t, 20*time.Minute, 13)
	me := teamsAccount(t, false, "outsoak", "Outgoing Soak Tester")
	var colleagues []*teamsemu.User
	for _, name := range []string{"dee", "eve", "fay"} {
		colleagues = append(colleagues, teamsAccount(t, false, name, strings.ToUpper(name[:1])+name[1:]+" Colleague"))
	}
	user := newUser(t, ctx, "teamsoutsoak")
	mgmt := openManagementRoom(t, ctx, user)
	teamsLogin(t, ctx, user, mgmt, me, "work")

	// Each colleague opens their encrypted DM, as in Element.
	rooms := map[string]id.RoomID{}
	chats := map[string]string{}
	mark := user.Mark()
	for _, c := range colleagues {
		inviteMark := user.InviteMark()
		chats[c.MRI] = emu.OneToOne(c.MRI, me.MRI)
		first := "hello from " + c.Name
		emu.SendText(c.MRI, chats[c.MRI], first)
		rooms[c.MRI] = joinTeamsPortal(t, ctx, user, inviteMark, mgmt, teamsGhost(c.MRI), true)
		waitGhostMessage(t, ctx, user, rooms[c.MRI], teamsGhost(c.MRI), mark, first, c.Name+"'s first message")
	}

	// mine are the user's messages in a DM on Teams, in order, deleted
	// ones included.
	mine := func(c *teamsemu.User) []teamsemu.Message {
		var out []teamsemu.Message
		for _, m := range emu.Messages(chats[c.MRI]) {
			if m.From == me.MRI && !strings.HasPrefix(m.MessageType, "ThreadActivity/") {
				out = append(out, m)
			}
		}
		return out
	}
	s := &outgoingSoak{user: user, mark: mark, byEvent: map[id.EventID]int{}, received: func() map[string]int {
		n := map[string]int{}
		for _, c := range colleagues {
			for _, m := range mine(c) {
				if !m.Deleted {
					n[teamsPlain(m.Content)]++
				}
			}
		}
		return n
	}}
	// Teams holds the first send of each burst a kill cuts into (429 with
	// Retry-After), so the kill finds sends queued behind it.
	s.beforeKillBurst = func() {
		emu.InjectFault(teamsemu.Fault{Method: "POST", PathContains: "/messages", Status: 429, RetryAfter: "20", Times: 1})
	}
	defer emu.ClearFaults()
	send := func(i int) {
		switch r := rng.IntN(50); {
		case r < 5:
			// The next send is refused once; the bridge retries it with
			// the same clientmessageid.
			status := []int{503, 429}[rng.IntN(2)]
			emu.InjectFault(teamsemu.Fault{Method: "POST", PathContains: "/messages", Status: status, RetryAfter: "0", Times: 1})
		case r == 5:
			// Teams stores the next message yet answers 503; the retry
			// with the same clientmessageid finds it there.
			emu.InjectFault(teamsemu.Fault{Method: "POST", PathContains: "/messages", Status: 503, RetryAfter: "0", Times: 1, Served: true})
		case r == 6:
			// Teams stores the next message yet answers 429 with a wait
			// past the send deadline, so the bridge gives up on it: it
			// stays delivered if Teams' echo came first, else it is shown
			// failed and withdrawn from Teams.
			emu.InjectFault(teamsemu.Fault{Method: "POST", PathContains: "/messages", Status: 429, RetryAfter: "120", Times: 1, Served: true})
		}
		c := colleagues[rng.IntN(len(colleagues))]
		s.send(t, ctx, i, c.MRI, rooms[c.MRI], fmt.Sprintf("to %s #%d [%s]", c.Name, i, suffix))
	}
	s.runWithKills(t, ctx, rng, total, send)
	s.waitSettled(t, ctx, total, "every message delivered or shown as failed")
	emu.ClearFaults()

	// A message shown as failed that Teams took after all is deleted there
	// by the bridge as it meets it; give it the time to.
	failedButLive := func() []string {
		live := s.received()
		var out []string
		for _, m := range s.sent {
			if notice, _ := s.failureNotice(m); notice != "" && live[m.text] > 0 {
				out = append(out, m.text)
			}
		}
		return out
	}
	if !emu.WaitFor(teamsStepTimeout, func() bool { return len(failedButLive()) == 0 }) {
		t.Errorf("shown as failed, yet in their Teams chat and not withdrawn: %q", failedButLive())
	}

	// What each chat holds from the user: each message at most once, in
	// its own chat, in the order it was typed. A withdrawn message is
	// deleted there (Teams keeps no text of it), and the bot has told the
	// user of each withdrawal in reply to the message.
	held, deleted := map[string]int{}, 0
	for _, c := range colleagues {
		last := -1
		for _, tm := range mine(c) {
			if tm.Deleted {
				deleted++
				continue
			}
			text := teamsPlain(tm.Content)
			m, ok := s.inChat(t, c.Name, c.MRI, text)
			switch {
			case !ok:
				continue
			case m.index <= last:
				t.Errorf("%s's chat has %q after message #%d: out of order", c.Name, text, last)
			}
			last = m.index
			held[text]++
		}
	}
	withdrawals := 0
	for _, room := range rooms {
		for _, r := range user.Messages(room, mark) {
			if c := r.Event.Content.AsMessage(); r.Event.Sender == env.BotMXID && c.MsgType == event.MsgNotice && strings.Contains(c.Body, "reached Teams late") {
				withdrawals++
			}
		}
	}
	if withdrawals != deleted {
		t.Errorf("Teams has %d of the user's messages deleted; the bot told of %d withdrawals", deleted, withdrawals)
	}
	// Teams withdraws a late message, so none may end both shown as
	// failed and delivered.
	delivered, failed, _ := s.tally(t, held, false)
	s.logOutcome(t)
	t.Logf("%d messages: %d delivered, %d shown as failed (%d of them reached Teams late and were withdrawn)", len(s.sent), delivered, failed, deleted)
}
