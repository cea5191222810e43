package teamsemu

import (
	"bytes"
	"net/http"
	"strconv"
)

// SetAvatar sets (or, with nil data, removes) a user's profile picture, as
// the user changing it in a Teams client does. mri may also be an e-mail.
func (e *Emulator) SetAvatar(mri string, data []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.mustUser(mri)
	if len(data) == 0 {
		u.picture = nil
	} else {
		u.picture = bytes.Clone(data)
	}
	e.broadcast()
}

// handleProfilePicture serves the middle tier's
// GET /beta/users/{mri}/profilepicturev2?displayname=&size=: the picture's
// bytes for a user who has one, 404 for an unknown user or one without.
// Like fetchShortProfile it needs a bearer token and a skypetoken.
func (e *Emulator) handleProfilePicture(w http.ResponseWriter, r *http.Request) {
	seg := pathSegments(r)
	if len(seg) != 5 {
		svcError(w, http.StatusNotFound, "NotFound", "no such resource")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.bearerUserLocked(r, "") == nil || e.skypeUserLocked(r) == nil {
		svcError(w, http.StatusUnauthorized, "Unauthorized", "bearer token and X-Skypetoken required")
		return
	}
	if r.URL.Query().Get("size") == "" {
		svcError(w, http.StatusBadRequest, "BadRequest", "size is required")
		return
	}
	u := e.users[seg[3]]
	if u == nil || len(u.picture) == 0 {
		svcError(w, http.StatusNotFound, "NotFound", "user has no profile picture")
		return
	}
	w.Header().Set("Content-Type", http.DetectContentType(u.picture))
	w.Header().Set("Content-Length", strconv.Itoa(len(u.picture)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(u.picture)
}
