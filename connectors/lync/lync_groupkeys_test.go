package lync

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/lync/ucwaemu"
	"github.com/imbridge/imbridge/internal/bridgetest"
)

// Issue 7 item 15. The bridge's crypto shares a room's first megolm session
// with the members its state store has when the first message is sent: the
// user must be invited before that, or the key goes to no device
// ("Sending to-device messages to share group session … device_count=0")
// and the first messages stay unreadable even once the user is in the room
// (bridgev2 invites a user it left out only when the next remote event
// after a restart marks them in the portal). The Synapse end-to-end tests
// in e2e/lync_group_e2e_test.go read those messages with real encryption;
// these check the precondition on every group portal-creation path.

// userInvitedBeforeFirstMessage waits for text from sender in room and
// fails unless alice's invite (or join) is in the room's timeline before
// the room's first message. Without the invite the message may not arrive
// at all here: the fake homeserver, unlike bridgev2 on Synapse, does not
// let a ghost that was never invited join on its own to send.
func (e *env) userInvitedBeforeFirstMessage(room id.RoomID, sender id.UserID, text string) {
	e.t.Helper()
	arrived := e.h.Matrix.Wait(e.h.Ctx, bridgetest.DefaultWait, fmt.Sprintf("%q from %s", text, sender), func() bool {
		return slices.Contains(e.texts(room, sender), text)
	})
	var seen []string
	for _, evt := range e.h.Matrix.Events(room) {
		switch {
		case evt.Type == event.StateMember && evt.StateKey != nil && id.UserID(*evt.StateKey) == alice:
			if m := evt.Content.AsMember().Membership; m == event.MembershipInvite || m == event.MembershipJoin {
				if arrived != nil {
					e.t.Fatal(arrived)
				}
				return
			}
		case evt.StateKey == nil && evt.Type == event.EventMessage:
			e.t.Fatalf("the first message (%q from %s) was sent into the new group room before %s was invited, so its room key would go to none of her devices; events before it: %s",
				evt.Message().Body, evt.Sender, alice, strings.Join(seen, ", "))
		}
		seen = append(seen, eventSummary(evt.Type, evt.StateKey))
	}
	e.t.Fatalf("%s was never invited to the new group room %s (%v); its events: %s", alice, room, arrived, strings.Join(seen, ", "))
}

func eventSummary(t event.Type, stateKey *string) string {
	if stateKey == nil {
		return t.Type
	}
	return fmt.Sprintf("%s[%s]", t.Type, *stateKey)
}

// The server may list the user's own participant in any of its shapes
// (seed 002, a real server: only a me link); the user must be invited
// whichever it is (before item 14 a participant with only a me link took
// the place of the user in the member list, and no device got the key).
func TestGroupPortalInvitesUserBeforeFirstMessageForEveryLocalShape(t *testing.T) {
	for _, shape := range []string{"", "local", "me", "uri"} {
		t.Run("shape="+shape, func(t *testing.T) {
			e := newEnv(t, withEmu(func(o *ucwaemu.Options) { o.LocalParticipant = shape }))
			e.login()
			thread, err := e.emu.Peer(bobSIP).StartGroup([]string{carolSIP, aliceSIP}, "Project X", "hello group")
			if err != nil {
				t.Fatal(err)
			}
			e.userInvitedBeforeFirstMessage(e.groupRoom(thread), e.ghost(bobSIP), "hello group")
		})
	}
}

// A group whose participants cannot be read while its room is created (the
// server answers 503) still gets the user invited before its first message.
func TestGroupPortalInvitesUserWhenParticipantsUnreadable(t *testing.T) {
	e := newEnv(t)
	e.login()
	e.emu.SetRandomFaults(&ucwaemu.RandomFaults{Rate: 1, Method: http.MethodGet,
		PathContains: []string{"/participants"}, Statuses: []int{http.StatusServiceUnavailable}})
	thread, err := e.emu.Peer(bobSIP).StartGroup([]string{carolSIP, aliceSIP}, "Project X", "hello group")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.emu.SetRandomFaults(nil) })
	e.userInvitedBeforeFirstMessage(e.groupRoom(thread), e.ghost(bobSIP), "hello group")
}

// A 1:1 chat that gains a third person becomes a new group portal; the
// user is invited to it before its first message.
func TestEscalatedGroupPortalInvitesUserBeforeFirstMessage(t *testing.T) {
	for _, shape := range []string{"local", "me"} {
		t.Run("shape="+shape, func(t *testing.T) {
			e := newEnv(t, withEmu(func(o *ucwaemu.Options) { o.LocalParticipant = shape }))
			e.login()
			thread, _ := e.startDM("one to one first")
			if err := e.emu.Peer(bobSIP).AddParticipant(thread, carolSIP); err != nil {
				t.Fatal(err)
			}
			if err := e.emu.Peer(carolSIP).Say(thread, "now we are three"); err != nil {
				t.Fatal(err)
			}
			e.userInvitedBeforeFirstMessage(e.groupRoom(thread), e.ghost(carolSIP), "now we are three")
		})
	}
}
