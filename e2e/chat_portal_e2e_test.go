//go:build e2e

package e2e

import (
	"context"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/testenv/mxclient"
)

// joinChatPortal waits for the invitation to a new chat portal of any
// protocol that is (direct) or is not (!direct) a DM, joins it and checks it
// is encrypted and ghost is in it. Several portals may be opening at once
// (a first sync): the is_direct flag tells a DM from a group.
func joinChatPortal(t *testing.T, ctx context.Context, cli *mxclient.Client, inviteMark int, mgmt id.RoomID, ghost id.UserID, direct bool, timeout time.Duration) id.RoomID {
	t.Helper()
	kind := "group"
	if direct {
		kind = "DM"
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	inv, err := cli.WaitForInvite(wctx, inviteMark, func(inv mxclient.Invite) bool {
		return isChatInvite(mgmt)(inv) && inv.IsDirect == direct
	})
	if err != nil {
		t.Fatalf("no invitation to a %s portal (invitations since the mark: %+v): %v", kind, cli.Invites(inviteMark), err)
	}
	if err := cli.Join(wctx, inv.RoomID); err != nil {
		t.Fatalf("join the %s portal: %v", kind, err)
	}
	if err := cli.WaitForEncryption(wctx, inv.RoomID); err != nil {
		t.Errorf("the %s portal is not encrypted although encryption.default is on: %v", kind, err)
	}
	if err := cli.WaitForMembership(wctx, inv.RoomID, ghost, event.MembershipJoin); err != nil {
		t.Fatalf("the ghost %s is not in the %s portal: %v", ghost, kind, err)
	}
	return inv.RoomID
}

// portalStepTimeout bounds one wait for a portal to change.
const portalStepTimeout = 60 * time.Second

// waitRoomName waits until room's name is want.
func waitRoomName(t *testing.T, ctx context.Context, cli *mxclient.Client, room id.RoomID, want, what string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, portalStepTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		var name event.RoomNameEventContent
		err := cli.Client.StateEvent(wctx, room, event.StateRoomName, "", &name)
		if err == nil && name.Name == want {
			return
		}
		select {
		case <-wctx.Done():
			t.Errorf("%s: the room %s is named %q (%v), want %q", what, room, name.Name, err, want)
			return
		case <-tick.C:
		}
	}
}
