package teams

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"maunium.net/go/mautrix/bridgev2"

	"github.com/imbridge/imbridge/bridge/ids"
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
