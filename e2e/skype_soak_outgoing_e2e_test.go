//go:build e2e

package e2e

import (
	"fmt"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"
)

// TestSkypeSoakOutgoingWithKills is issue 7's outgoing soak for Skype
// against Synapse: the user sends Matrix messages (300 by default,
// IMBRIDGE_SOAK_OUTGOING_MESSAGES to change) from encrypted DM portals with
// three Skype contacts while the bridge process is SIGKILLed and restarted
// twice in the middle of a burst, some typed while it is down, and about
// one send in ten is answered 503 or 429 first. In the end each message
// has reached its contact on Skype exactly once, in the order it was
// typed, or the user was shown it failed (the bot's error notice in reply
// to it); none arrived twice and none vanished without a word.
func TestSkypeSoakOutgoingWithKills(t *testing.T) {
	requireEnv(t)
	if skypeEmu == nil {
		t.Fatal("the Skype emulator was not started by the set-up hook")
	}
	total := soakCount(t, "IMBRIDGE_SOAK_OUTGOING_MESSAGES", 300, 100)
	emu := skypeEmu
	ctx, rng, suffix := startSoak(t, 20*time.Minute, 11)
	me := skypeAccount(t, "live:outsoak", "Outgoing Soak Tester")
	var contacts []skypePerson
	for _, name := range []string{"dee.", "eve.", "fay."} {
		p := skypeAccount(t, name, name[:len(name)-1]+" Contact")
		emu.AddContact(me.Name, p.Name)
		contacts = append(contacts, p)
	}
	user := newUser(t, ctx, "skypeoutsoak")
	mgmt := openManagementRoom(t, ctx, user)
	skypeLogin(t, ctx, user, mgmt, me)

	// Each contact opens their encrypted DM, as in Element.
	rooms := map[string]id.RoomID{}
	mark := user.Mark()
	for _, p := range contacts {
		inviteMark := user.InviteMark()
		first := "hello from " + p.Name
		emu.Send(p.Name, me.Name, first)
		rooms[p.Name] = joinChatPortal(t, ctx, user, inviteMark, mgmt, skypeGhost(p.Name), true, skypeStepTimeout)
		waitGhostMessage(t, ctx, user, rooms[p.Name], skypeGhost(p.Name), mark, first, p.Name+"'s first message")
	}

	// mine are the user's messages in each DM on Skype, in order.
	mine := func(p skypePerson) []string {
		var out []string
		for _, m := range emu.Messages(me.Name, p.Name) {
			if m.From == me.MRI() && m.EditedID == "" && !m.Deleted {
				out = append(out, teamsPlain(m.Content))
			}
		}
		return out
	}
	s := &outgoingSoak{user: user, mark: mark, byEvent: map[id.EventID]int{}, received: func() map[string]int {
		n := map[string]int{}
		for _, p := range contacts {
			for _, text := range mine(p) {
				n[text]++
			}
		}
		return n
	}}
	// Skype holds the first send of each burst a kill cuts into (429 with
	// Retry-After), so the kill finds sends queued behind it.
	s.beforeKillBurst = func() { emu.FailNextWithRetryAfter("POST", "/messages", 429, 429, 1, "20") }
	defer emu.ClearFaults()
	send := func(i int) {
		if rng.IntN(10) == 0 {
			// The next send is refused once; the bridge retries it with
			// the same clientmessageid.
			status := []int{503, 429}[rng.IntN(2)]
			emu.FailNextWithRetryAfter("POST", "/messages", status, status, 1, "0")
		}
		p := contacts[rng.IntN(len(contacts))]
		s.send(t, ctx, i, p.Name, rooms[p.Name], fmt.Sprintf("to %s #%d [%s]", p.Name, i, suffix))
	}
	s.runWithKills(t, ctx, rng, total, send)
	s.waitSettled(t, ctx, total, "every message delivered or shown as failed")
	emu.ClearFaults()

	// What each contact holds from the user: each message once, in its
	// DM, in the order it was typed (but for those a kill interrupted).
	held := map[string]int{}
	for _, p := range contacts {
		last := -1
		for _, text := range mine(p) {
			m, ok := s.inChat(t, p.Name, p.Name, text)
			switch {
			case !ok:
				continue
			case s.interrupted[m.index]:
				// Left unfinished by a kill and sent again after the
				// restart (with its clientmessageid: never twice), it
				// may come after what was typed while the bridge was
				// down; every other message keeps its order.
				held[m.text]++
				continue
			case m.index <= last:
				t.Errorf("%s received %q after message #%d: out of order", p.Name, text, last)
			}
			last = m.index
			held[m.text]++
		}
	}
	delivered, failed, both := s.tally(t, held, true)
	s.logOutcome(t)
	t.Logf("%d messages: %d delivered, %d shown as failed, %d shown as possibly failed but delivered once", len(s.sent), delivered, failed, both)
}
