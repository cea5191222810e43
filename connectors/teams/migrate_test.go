package teams

import (
	"testing"

	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/networkid"

	"github.com/imbridge/imbridge/bridge/ids"
)

// A deployment from before team spaces had portals of their own kept a
// team's space under the team's root thread ID, which is now General's.
// On the next connect the space moves to its team:<id> portal with its
// room, so it is neither orphaned nor reused as General's room, and the
// channels stay in it.
func TestOldTeamSpacePortalIsMovedToItsNewID(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	team := e.emu.CreateTeam(e.bob.MRI, "Contoso Rocket", []string{"Design"}, e.me.MRI, e.carol.MRI)
	design := team.Channels[1]
	e.emu.SendText(e.bob.MRI, design, "first sketch")
	room := e.room(e.me, design)
	e.waitTexts(room, e.ghost(e.bob), "first sketch")
	newKey := networkid.PortalKey{ID: teamSpaceID(team.ID)}
	space := e.h.PortalRoom(newKey)
	e.h.WaitFor("Design in the team's space", func() bool {
		sr := e.h.Matrix.Room(space)
		return sr != nil && sr.State["m.space.child|"+string(room)] != nil
	})

	// Put the space back where an old version kept it, as if the
	// migration had never run.
	oldKey := networkid.PortalKey{ID: ids.PortalID(ids.Teams, team.ID)}
	if _, _, err := e.h.Bridge.ReIDPortal(e.h.Ctx, newKey, oldKey); err != nil {
		t.Fatal(err)
	}
	if err := e.conn.Env.DB.Cursor.Delete(e.h.Ctx, e.loginID(e.me), spaceMigrationStream); err != nil {
		t.Fatal(err)
	}
	if p, err := e.h.Bridge.DB.Portal.GetByKey(e.h.Ctx, oldKey); err != nil || p == nil || p.MXID != space {
		t.Fatalf("the old layout was not set up: %+v %v", p, err)
	}

	e.restart()
	e.connected(e.me)
	// The space comes back at its team:<id> portal. If a push for the team
	// recreated that portal while the test set up the old layout (the old
	// client was still running), the migration finds it with a room and
	// tombstones the old space into it instead: either way nothing is
	// left at the old ID and the old room points to where things went.
	var moved *database.Portal
	e.h.WaitFor("the space at its team:<id> portal and none at the old ID", func() bool {
		p, err := e.h.Bridge.DB.Portal.GetByKey(e.h.Ctx, newKey)
		old, oldErr := e.h.Bridge.DB.Portal.GetByKey(e.h.Ctx, oldKey)
		if err != nil || p == nil || p.MXID == "" || oldErr != nil || old != nil {
			return false
		}
		moved = p
		return true
	})
	if moved.MXID != space {
		// bridgev2 tombstones the old room, then deletes it.
		e.h.WaitFor("the old space tombstoned into the new one", func() bool {
			sr := e.h.Matrix.Room(space)
			return sr == nil || sr.State["m.room.tombstone|"] != nil
		})
	}
	ch, err := e.h.Bridge.DB.Portal.GetByKey(e.h.Ctx, networkid.PortalKey{ID: ids.PortalID(ids.Teams, design), Receiver: e.loginID(e.me)})
	if err != nil || ch == nil || ch.ParentKey != newKey {
		t.Fatalf("the channel's parent is %+v (%v), want %v", ch, err, newKey)
	}
	e.emu.SendText(e.carol.MRI, design, "after the upgrade")
	e.waitTexts(room, e.ghost(e.carol), "after the upgrade")
}
