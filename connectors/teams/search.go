package teams

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/networkid"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/teams/teamsapi"
)

// searchLimit is how many people a search answers at most.
const searchLimit = 20

// searchPeople answers `search <query>`: the people the Teams directory
// finds (the tenant's, as the Teams "new chat" picker shows them), then the
// Teams people the bridge has met whom the directory did not name, deduped
// by MRI, without the user themself, at most searchLimit.
//
// A middle tier that offers no directory search (Teams free looks people up
// by address only) leaves the met people; so does a failing directory, with
// a warning, unless nobody was met either: then the failure is the answer,
// so the user learns why nobody was found.
func (c *Client) searchPeople(ctx context.Context, query string) ([]*bridgev2.ResolveIdentifierResponse, error) {
	profiles, dirErr := c.auth.SearchPeople(ctx, query, searchLimit)
	switch {
	case errors.Is(dirErr, teamsapi.ErrDirectorySearchUnavailable):
		c.log.Debug().Err(dirErr).Msg("No Teams directory search for this account; searching the people the bridge has met")
		dirErr = nil
	case errors.Is(dirErr, teamsapi.ErrReloginNeeded) || errors.Is(dirErr, context.Canceled):
		return nil, fmt.Errorf("search the Teams directory: %w", dirErr)
	case dirErr != nil:
		c.log.Warn().Err(dirErr).Msg("Teams directory search failed; searching only the people the bridge has met")
	}
	seen := map[string]bool{strings.ToLower(c.meta.MRI): true}
	var out []*bridgev2.ResolveIdentifierResponse
	for _, p := range profiles {
		mri := strings.ToLower(p.MRI)
		if seen[mri] || len(out) >= searchLimit {
			continue
		}
		seen[mri] = true
		ghost, err := c.conn.Env.Bridge.GetGhostByID(ctx, ghostID(mri))
		if err != nil {
			return nil, fmt.Errorf("search people: get ghost: %w", err)
		}
		out = append(out, &bridgev2.ResolveIdentifierResponse{Ghost: ghost, UserID: ghost.ID, UserInfo: profileInfo(p)})
	}
	if len(out) < searchLimit {
		met, err := c.searchMetGhosts(ctx, query, searchLimit)
		if err != nil {
			return nil, err
		}
		for _, r := range met {
			mri, err := ids.Parse(ids.Teams, string(r.UserID))
			if err != nil || seen[strings.ToLower(mri)] {
				continue
			}
			seen[strings.ToLower(mri)] = true
			out = append(out, r)
			if len(out) >= searchLimit {
				break
			}
		}
	}
	if len(out) == 0 && dirErr != nil {
		return nil, fmt.Errorf("search the Teams directory: %w", dirErr)
	}
	return out, nil
}

// profileInfo is the ghost info of a directory profile: its name and its
// address as an identifier (as GetUserInfo gives them), also kept in the
// ghost's metadata. The avatar is left for GetUserInfo to look up.
func profileInfo(p teamsapi.Profile) *bridgev2.UserInfo {
	name := p.DisplayName
	email := firstNonEmpty(p.Email, p.UserPrincipalName)
	info := &bridgev2.UserInfo{ExtraUpdates: func(ctx context.Context, ghost *bridgev2.Ghost) bool {
		gm, err := ghostMeta.Get(ghost.Metadata)
		if err != nil {
			return false
		}
		changed := false
		if name != "" && gm.Name != name {
			gm.Name, changed = name, true
		}
		if email != "" && gm.Email != email {
			gm.Email, changed = email, true
		}
		if changed {
			ghost.Metadata = ghostMeta.Wrap(gm)
		}
		// Name-only info makes bridgev2 mark the avatar looked up; put it
		// back, so the person's first event brings their picture.
		return lookUpPictureLater(ctx, ghost) || changed
	}}
	if name != "" {
		info.Name = &name
	}
	if email != "" {
		info.Identifiers = []string{ids.QualifyIdentifier(ids.Teams, email)}
	}
	return info
}

// searchMetGhosts finds the Teams people the bridge has met whose name or
// e-mail address (kept in the ghost's metadata by GetUserInfo and by
// searches) contains query, ignoring case, in name order, without the user
// themself.
func (c *Client) searchMetGhosts(ctx context.Context, query string, limit int) ([]*bridgev2.ResolveIdentifierResponse, error) {
	pattern := "%" + likeEscaper.Replace(strings.ToLower(query)) + "%"
	email := `json_extract(metadata, '$.teams.email')`
	if c.conn.Env.Bridge.DB.Dialect == dbutil.Postgres {
		email = `(metadata->'teams'->>'email')`
	}
	rows, err := c.conn.Env.Bridge.DB.Query(ctx,
		`SELECT id, name FROM ghost WHERE bridge_id=$1 AND id LIKE 'teams.%'
		 AND (LOWER(name) LIKE $2 ESCAPE '\' OR LOWER(COALESCE(`+email+`, '')) LIKE $2 ESCAPE '\')
		 ORDER BY name LIMIT $3`,
		c.conn.Env.Bridge.ID, pattern, limit+1)
	if err != nil {
		return nil, fmt.Errorf("search people: %w", err)
	}
	type hit struct{ id, name string }
	var hits []hit
	for rows.Next() {
		var h hit
		if err := rows.Scan(&h.id, &h.name); err != nil {
			rows.Close()
			return nil, fmt.Errorf("search people: %w", err)
		}
		hits = append(hits, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search people: %w", err)
	}
	var out []*bridgev2.ResolveIdentifierResponse
	for _, h := range hits {
		gid := networkid.UserID(h.id)
		if gid == c.selfGhost() || len(out) >= limit {
			continue
		}
		ghost, err := c.conn.Env.Bridge.GetGhostByID(ctx, gid)
		if err != nil {
			return nil, fmt.Errorf("search people: %w", err)
		}
		name := h.name
		out = append(out, &bridgev2.ResolveIdentifierResponse{Ghost: ghost, UserID: gid, UserInfo: &bridgev2.UserInfo{Name: &name, ExtraUpdates: lookUpPictureLater}})
	}
	return out, nil
}

// likeEscaper escapes LIKE's wildcards, so "a_b" or "50%" match literally.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// lookupEmail finds the person with an e-mail address (or UPN): work
// accounts ask the middle tier's address lookup, Teams free its address
// search. Where the middle tier offers neither, fetchShortProfile is asked
// with the address. Nobody with the address is an empty MRI.
func (c *Client) lookupEmail(ctx context.Context, email string) (mri, name string, err error) {
	var p *teamsapi.Profile
	if teamsapi.Deployment(c.meta.Deployment) == teamsapi.Consumer {
		var found []teamsapi.Profile
		found, err = c.auth.SearchPeople(ctx, email, 0)
		for i := range found {
			if strings.EqualFold(found[i].Email, email) || strings.EqualFold(found[i].UserPrincipalName, email) ||
				len(found) == 1 && found[i].Email == "" && found[i].UserPrincipalName == "" {
				p = &found[i]
				break
			}
		}
	} else {
		p, err = c.auth.ProfileByEmail(ctx, email)
	}
	if errors.Is(err, teamsapi.ErrDirectorySearchUnavailable) {
		c.log.Debug().Err(err).Msg("No address lookup on this middle tier; asking fetchShortProfile")
		return c.lookupEmailShortProfile(ctx, email)
	}
	if err != nil {
		return "", "", fmt.Errorf("look up %s: %w", email, err)
	}
	if p == nil {
		return "", "", nil
	}
	return strings.ToLower(p.MRI), p.DisplayName, nil
}

// lookupEmailShortProfile asks fetchShortProfile about an address.
func (c *Client) lookupEmailShortProfile(ctx context.Context, email string) (mri, name string, err error) {
	profiles, err := c.auth.Profiles(ctx, []string{email})
	if err != nil {
		return "", "", fmt.Errorf("look up %s: %w", email, err)
	}
	for _, p := range profiles {
		if strings.EqualFold(p.Email, email) || strings.EqualFold(p.UserPrincipalName, email) {
			return strings.ToLower(p.MRI), p.DisplayName, nil
		}
	}
	return "", "", nil
}
