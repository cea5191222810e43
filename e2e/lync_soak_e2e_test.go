//go:build e2e

package e2e

import (
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/lync/ucwaemu"
)

// TestLyncSoakWithKills is issue 7's soak against Synapse, with encrypted
// portals as Element users have them: three colleagues send IMs (1,000 by
// default, IMBRIDGE_SOAK_MESSAGES to change) while the bridge process is
// SIGKILLed and restarted three times at random points and 10 % of
// event-channel polls fail with 503 or 429. Every message must reach the
// user exactly once, decryptable, in order, in its colleague's one room.
func TestLyncSoakWithKills(t *testing.T) {
	total := soakCount(t, "IMBRIDGE_SOAK_MESSAGES", 1000, 10)
	s := startLyncAccount(t, 20*time.Minute, 3, "soak", "Soak Tester", []string{"ann", "ben", "cid"})
	ctx, rng, emu, suffix, aliceSIP, colleagues, user, mgmt := s.ctx, s.rng, s.emu, s.suffix, s.aliceSIP, s.colleagues, s.user, s.mgmt

	// Each colleague opens their room first.
	rooms := map[string]id.RoomID{}
	mark := user.Mark()
	for _, who := range colleagues {
		inviteMark := user.InviteMark()
		first := "hello from " + who
		if _, err := emu.Peer(who).SendIM(aliceSIP, first); err != nil {
			t.Fatal(err)
		}
		rooms[who] = joinLyncPortal(t, ctx, user, inviteMark, mgmt, lyncGhost(who))
		waitGhostMessage(t, ctx, user, rooms[who], lyncGhost(who), mark, first, who+"'s first IM")
	}

	emu.SetRandomFaults(&ucwaemu.RandomFaults{Rate: 0.1, Method: "GET", PathContains: []string{"/events"},
		Statuses: []int{503, 429}, RetryAfter: "0"})
	defer emu.SetRandomFaults(nil)
	kills := map[int]bool{}
	for len(kills) < 3 {
		kills[1+rng.IntN(total-2)] = true
	}
	sent := map[string][]string{}
	for _, who := range colleagues {
		sent[who] = []string{"hello from " + who}
	}
	for i := range total {
		if kills[i] {
			if err := env.Bridge.Kill(); err != nil {
				t.Fatalf("kill bridge: %v", err)
			}
			// Colleagues keep writing while the bridge is down.
			for range 1 + rng.IntN(5) {
				who := colleagues[rng.IntN(len(colleagues))]
				text := fmt.Sprintf("%s while down before #%d [%s]", who, i, suffix)
				if _, err := emu.Peer(who).SendIM(aliceSIP, text); err != nil {
					t.Fatal(err)
				}
				sent[who] = append(sent[who], text)
			}
			if err := env.Bridge.Start(ctx); err != nil {
				t.Fatalf("restart bridge after kill: %v", err)
			}
			t.Logf("killed and restarted the bridge before message %d", i)
		}
		who := colleagues[rng.IntN(len(colleagues))]
		text := fmt.Sprintf("%s #%d [%s]", who, i, suffix)
		if _, err := emu.Peer(who).SendIM(aliceSIP, text); err != nil {
			t.Fatal(err)
		}
		sent[who] = append(sent[who], text)
		if i%50 == 0 {
			// Pace the colleagues a little, so kills land mid-stream
			// rather than all before the bridge has caught up.
			waitGhostMessage(t, ctx, user, rooms[who], lyncGhost(who), mark, text, "message "+strconv.Itoa(i))
		}
	}
	emu.SetRandomFaults(nil)

	for _, who := range colleagues {
		ghost := lyncGhost(who)
		last := sent[who][len(sent[who])-1]
		waitGhostMessage(t, ctx, user, rooms[who], ghost, mark, last, who+"'s last IM")
		var got []string
		for _, r := range user.Messages(rooms[who], mark) {
			if r.Event.Sender != ghost {
				continue
			}
			if !r.Encrypted {
				t.Errorf("%s's message %q arrived unencrypted", who, r.Event.Content.AsMessage().Body)
			}
			got = append(got, r.Event.Content.AsMessage().Body)
		}
		if !slices.Equal(got, sent[who]) {
			t.Errorf("%s's room has %d messages, want the %d sent, exactly once and in order; first difference %s",
				who, len(got), len(sent[who]), soakDifference(got, sent[who]))
		}
	}
	// One room per colleague, also after the restarts: no other chat invite.
	known := map[id.RoomID]bool{}
	for _, room := range rooms {
		known[room] = true
	}
	for _, inv := range user.Invites(0) {
		if isChatInvite(mgmt)(inv) && !known[inv.RoomID] {
			t.Errorf("the user was invited to another chat room %s by %s", inv.RoomID, inv.Sender)
		}
	}
	if errs := user.DecryptionErrors(); len(errs) > 0 {
		t.Errorf("%d events could not be decrypted, e.g. %v", len(errs), errs[0])
	}
}

func soakDifference(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("at %d: %q, want %q", i, got[i], want[i])
		}
	}
	return fmt.Sprintf("at %d (one list is shorter)", min(len(got), len(want)))
}
