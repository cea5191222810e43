package teamsemu

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

type amsObject struct {
	id       string
	owner    *User
	typ      string
	filename string
	perms    map[string][]string
	content  map[string][]byte // by view/content name
	mime     map[string]string
}

func (e *Emulator) amsAllowedLocked(o *amsObject, u *User) bool {
	if o.owner == u {
		return true
	}
	for who := range o.perms {
		if who == u.MRI {
			return true
		}
		if c := e.convs[who]; c != nil && c.isMember(u.MRI) {
			return true
		}
	}
	return false
}

// handleAMS serves /ams/v1/objects[/<id>[/content/<name>|/views/<view>]].
func (e *Emulator) handleAMS(w http.ResponseWriter, r *http.Request) {
	seg := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/ams/v1/objects"), "/"), "/")
	if len(seg) == 1 && seg[0] == "" {
		seg = nil
	}
	data, _ := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.skypeUserLocked(r)
	if u == nil || !strings.HasPrefix(r.Header.Get("Authorization"), "skype_token ") {
		svcError(w, http.StatusUnauthorized, "Unauthorized", "Authorization: skype_token required")
		return
	}
	switch {
	case len(seg) == 0 && r.Method == http.MethodPost:
		var body struct {
			Type        string              `json:"type"`
			Filename    string              `json:"filename"`
			Permissions map[string][]string `json:"permissions"`
		}
		if json.Unmarshal(data, &body) != nil || body.Type == "" {
			svcError(w, http.StatusBadRequest, "BadRequest", "type is required")
			return
		}
		o := &amsObject{id: "0-weu-d1-" + randHex(16), owner: u, typ: body.Type, filename: body.Filename, perms: body.Permissions,
			content: map[string][]byte{}, mime: map[string]string{}}
		e.objects[o.id] = o
		writeJSON(w, http.StatusCreated, map[string]string{"id": o.id})
		return
	}
	o := e.objects[seg[0]]
	if o == nil {
		svcError(w, http.StatusNotFound, "NotFound", "object not found")
		return
	}
	if !e.amsAllowedLocked(o, u) {
		svcError(w, http.StatusForbidden, "Forbidden", "no permission on object")
		return
	}
	switch {
	case len(seg) == 3 && seg[1] == "content" && r.Method == http.MethodPut:
		if o.owner != u {
			svcError(w, http.StatusForbidden, "Forbidden", "only the owner uploads")
			return
		}
		o.content[seg[2]] = data
		o.mime[seg[2]] = r.Header.Get("Content-Type")
		w.WriteHeader(http.StatusCreated)
	case len(seg) == 3 && seg[1] == "views" && r.Method == http.MethodGet:
		view := seg[2]
		content, ok := o.content[view]
		src := view
		if !ok {
			// Every image view serves the uploaded original.
			for _, k := range []string{"imgpsh", "original"} {
				if c, have := o.content[k]; have {
					content, ok, src = c, true, k
					break
				}
			}
		}
		if !ok {
			svcError(w, http.StatusNotFound, "NotFound", "view not ready")
			return
		}
		w.Header().Set("Content-Type", firstNonEmpty(o.mime[src], "application/octet-stream"))
		_, _ = w.Write(content)
	case len(seg) == 1 && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"id": o.id, "type": o.typ, "filename": o.filename})
	default:
		svcError(w, http.StatusNotFound, "NotFound", "no such resource")
	}
}
