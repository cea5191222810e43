package teams

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/networkid"

	"github.com/imbridge/imbridge/bridge/ids"
)

// Profile refreshes. Teams pushes no event when someone changes their
// picture or name, and bridgev2 asks GetUserInfo only about ghosts it has
// not filled in yet, so the bridge re-reads the people whose look matters
// most (the user and their DM partners) some time after connecting and
// then daily. Unchanged pictures cost a download, never an upload.
const (
	profileRefreshFirst = 15 * time.Minute // after connecting, once the first sync has settled
	profileRefreshEvery = 24 * time.Hour
	profileRefreshPause = time.Second // between people: stay well under the middle tier's throttling
)

// ghostAvatar is the avatar of the person mri for GetUserInfo, read from
// their Teams profile picture.
//
// The avatar ID is the hash of the picture's bytes: bridgev2 fetches and
// uploads an avatar only when its ID changes, so an unchanged picture is
// never uploaded again and a changed one always is. A person without a
// picture gets a removal only if their ghost has an avatar to remove;
// otherwise nil, which bridgev2 takes as "none expected" (no churn).
//
// When the picture cannot be read, the ghost keeps the avatar it has (nil);
// a ghost that has none yet gets an avatar whose Get fails, so bridgev2
// leaves it marked unset and asks again the next time it sees the person.
func (c *Client) ghostAvatar(ctx context.Context, ghost *bridgev2.Ghost, mri, name string) *bridgev2.Avatar {
	data, _, err := c.auth.ProfilePicture(ctx, mri, name)
	if err != nil {
		c.log.Warn().Err(err).Str("mri", mri).Msg("Could not read the profile picture; the ghost keeps its avatar")
		if ghost.AvatarMXC != "" {
			return nil
		}
		return &bridgev2.Avatar{ID: ghost.AvatarID, Get: func(context.Context) ([]byte, error) { return nil, err }}
	}
	if data == nil {
		if ghost.AvatarID == "" && ghost.AvatarMXC == "" {
			return nil
		}
		return &bridgev2.Avatar{Remove: true}
	}
	sum := sha256.Sum256(data)
	return &bridgev2.Avatar{
		ID:  ids.AvatarID(ids.Teams, "picture:"+hex.EncodeToString(sum[:])),
		Get: func(context.Context) ([]byte, error) { return data, nil },
	}
}

// lookUpPictureLater is the ExtraUpdates of name-only ghost info (a thread's
// member list). bridgev2 takes the nil avatar of such info as "this person
// has none" and marks the avatar set, after which it never asks GetUserInfo
// again; a ghost with no avatar yet is put back to unset, so the next event
// from the person brings the picture lookup.
func lookUpPictureLater(_ context.Context, ghost *bridgev2.Ghost) bool {
	if ghost.AvatarID != "" || ghost.AvatarMXC != "" || !ghost.AvatarSet {
		return false
	}
	ghost.AvatarSet = false
	return true
}

// refreshProfilesLoop runs refreshProfiles after connecting and then daily,
// until the session ends.
func (c *Client) refreshProfilesLoop(ctx context.Context) {
	timer := time.NewTimer(profileRefreshFirst)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		n := c.refreshProfiles(ctx, profileRefreshPause)
		c.log.Debug().Int("people", n).Msg("Refreshed Teams profiles and pictures")
		timer.Reset(profileRefreshEvery)
	}
}

// refreshProfiles re-reads the profile (name, picture) of the user's own
// ghost and of every DM partner of this login and applies it as bridgev2
// does, pausing between people; it returns how many were refreshed. A
// refused sign-in ends the pass: the session reports that itself.
func (c *Client) refreshProfiles(ctx context.Context, pause time.Duration) int {
	people := append([]networkid.UserID{c.selfGhost()}, c.dmPartners(ctx)...)
	done := 0
	for i, gid := range people {
		if i > 0 && pause > 0 {
			select {
			case <-ctx.Done():
				return done
			case <-time.After(pause):
			}
		}
		if ctx.Err() != nil {
			return done
		}
		ghost, err := c.Login.Bridge.GetGhostByID(ctx, gid)
		if err != nil {
			c.log.Warn().Err(err).Str("ghost_id", string(gid)).Msg("Could not load a ghost to refresh its profile")
			continue
		}
		info, err := c.GetUserInfo(ctx, ghost)
		if err != nil {
			if signInRefused(err) || errors.Is(err, bridgev2.ErrNotLoggedIn) {
				c.log.Debug().Err(err).Msg("Profile refresh stopped: not signed in")
				return done
			}
			c.log.Debug().Err(err).Str("ghost_id", string(gid)).Msg("Could not refresh a profile")
			continue
		}
		ghost.UpdateInfo(ctx, info)
		done++
	}
	return done
}

// dmPartners are the other people of this login's DM portals.
func (c *Client) dmPartners(ctx context.Context) []networkid.UserID {
	ups, err := c.Login.Bridge.DB.UserPortal.GetAllForLogin(ctx, c.Login.UserLogin)
	if err != nil {
		c.log.Warn().Err(err).Msg("Could not list the login's rooms to refresh profiles")
		return nil
	}
	seen := map[networkid.UserID]bool{c.selfGhost(): true}
	var out []networkid.UserID
	for _, up := range ups {
		portal, err := c.Login.Bridge.GetExistingPortalByKey(ctx, up.Portal)
		if err != nil || portal == nil || portal.RoomType != database.RoomTypeDM || portal.OtherUserID == "" || seen[portal.OtherUserID] {
			continue
		}
		seen[portal.OtherUserID] = true
		out = append(out, portal.OtherUserID)
	}
	return out
}
