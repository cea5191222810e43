package teams

import (
	"context"
	"strings"

	"maunium.net/go/mautrix/bridgev2/database"

	"github.com/imbridge/imbridge/bridge/ids"
)

// spaceMigrationStream is the cursor row that records that a login's team
// spaces were moved to their team:<id> portal IDs.
const spaceMigrationStream = "teams-team-space-ids"

// migrateTeamSpaces moves the Matrix spaces of teams made before a team's
// space had a portal of its own. They used the team's root thread ID,
// which is now the portal of the team's General channel: left there, the
// old space would be orphaned (its channels move to the new space) and
// General's posts would go into a space room. bridgev2's ReIDPortal moves
// each such space, with its room and its channels, to the team:<id>
// portal; if that portal already has a room, the old one is tombstoned
// into it. Runs once per login; a failure is retried on the next connect.
func (c *Client) migrateTeamSpaces(ctx context.Context) {
	cursors := c.conn.Env.DB.Cursor
	if done, err := cursors.Get(ctx, c.Login.ID, spaceMigrationStream); err != nil || done != "" {
		return
	}
	portals, err := c.conn.Env.Bridge.DB.Portal.GetAllWithMXID(ctx)
	if err != nil {
		c.log.Warn().Err(err).Msg("Could not list portals to migrate team spaces; retrying on the next connect")
		return
	}
	failed := false
	for _, p := range portals {
		if p.RoomType != database.RoomTypeSpace || (p.Receiver != "" && p.Receiver != c.Login.ID) {
			continue
		}
		conv, err := ids.Parse(ids.Teams, string(p.ID))
		if err != nil || strings.HasPrefix(conv, teamSpacePrefix) || strings.HasPrefix(conv, meetingsSpacePrefix) {
			continue
		}
		target := c.teamSpaceKey(conv)
		res, _, err := c.conn.Env.Bridge.ReIDPortal(ctx, p.PortalKey, target)
		if err != nil {
			failed = true
			c.log.Warn().Err(err).Stringer("portal", p.PortalKey).Msg("Could not move a team space to its new portal ID")
			continue
		}
		c.log.Info().Stringer("from", p.PortalKey).Stringer("to", target).Stringer("result", res).Msg("Moved a team space to its new portal ID")
	}
	if !failed {
		if err := cursors.Put(ctx, c.Login.ID, spaceMigrationStream, "done"); err != nil {
			c.log.Warn().Err(err).Msg("Could not record the team space migration")
		}
	}
}
