package skypeemu

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

type object struct {
	id       string
	typ      string
	filename string
	owner    string
	readers  map[string]bool
	content  map[string][]byte
}

// handleASM serves /v1/objects: create, upload content, download views.
func (e *Emulator) handleASM(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "skype_token ")
	u := e.skypeTokenUser(tok)
	if !ok || u == nil {
		svcError(w, http.StatusUnauthorized, 401, "skype_token missing or expired")
		return
	}
	seg := pathSegments(r)[2:] // drop v1, objects
	switch {
	case len(seg) == 0 && r.Method == http.MethodPost:
		var b struct {
			Type        string              `json:"type"`
			Permissions map[string][]string `json:"permissions"`
			Filename    string              `json:"filename"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&b); err != nil || b.Type == "" || len(b.Permissions) == 0 {
			svcError(w, http.StatusBadRequest, 400, "type and permissions are required")
			return
		}
		o := &object{id: "0-weu-d1-" + randHex(16), typ: b.Type, filename: b.Filename, owner: u.MRI(), readers: map[string]bool{u.MRI(): true}, content: map[string][]byte{}}
		for k := range b.Permissions {
			o.readers[k] = true
			// A conversation id grants every member.
			if c := e.convs[k]; c != nil {
				for m := range c.members {
					o.readers[m] = true
				}
			}
		}
		e.objects[o.id] = o
		writeJSON(w, http.StatusCreated, map[string]any{"id": o.id})
	case len(seg) == 3 && seg[1] == "content" && r.Method == http.MethodPut:
		o := e.objects[seg[0]]
		if o == nil || o.owner != u.MRI() {
			svcError(w, http.StatusNotFound, 404, "no such object")
			return
		}
		data, _ := io.ReadAll(io.LimitReader(r.Body, 64<<20))
		o.content[seg[2]] = data
		w.WriteHeader(http.StatusCreated)
	case len(seg) == 3 && seg[1] == "views" && r.Method == http.MethodGet:
		o := e.objects[seg[0]]
		if o == nil {
			svcError(w, http.StatusNotFound, 404, "no such object")
			return
		}
		if !o.readers[u.MRI()] {
			svcError(w, http.StatusForbidden, 403, "no permission")
			return
		}
		var data []byte
		for _, k := range []string{"original", "imgpsh", "audio", "video"} {
			if d, ok := o.content[k]; ok {
				data = d
				break
			}
		}
		if data == nil {
			svcError(w, http.StatusNotFound, 404, "no content yet")
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(data)
	default:
		http.NotFound(w, r)
	}
}
