package skypeapi

import (
	"encoding/json"
	"net/url"
	"strings"

	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// Presence is a contact's availability from a UserPresence event.
type Presence struct {
	MRI string
	// Status is Online, Idle, Away, Busy, Hidden or Offline.
	Status string
}

// PresenceOf decodes a UserPresence event; ok is false for other events.
// The MRI comes from the selfLink (.../v1/users/8:joe.4/presenceDocs/...),
// falling back to the resourceLink.
func PresenceOf(ev *chatsvc.EventMessage) (Presence, bool) {
	if ev.ResourceType != chatsvc.ResourceUserPresence {
		return Presence{}, false
	}
	var doc struct {
		Status       string `json:"status"`
		Availability string `json:"availability"`
		SelfLink     string `json:"selfLink"`
	}
	if json.Unmarshal(ev.Resource, &doc) != nil {
		return Presence{}, false
	}
	p := Presence{Status: firstNonEmpty(doc.Status, doc.Availability)}
	for _, link := range []string{doc.SelfLink, ev.ResourceLink} {
		if mri := userFromLink(link); mri != "" {
			p.MRI = mri
			break
		}
	}
	return p, p.MRI != "" && p.Status != ""
}

// userFromLink reads the MRI from ".../users/8:joe.4/..." or
// ".../users/ME/contacts/8:joe.4/..." (skpy's users(/ME/contacts)?/N:x),
// percent-escaped or not.
func userFromLink(link string) string {
	_, rest, ok := strings.Cut(link, "/users/")
	if !ok {
		return ""
	}
	if after, ok := strings.CutPrefix(rest, "ME/contacts/"); ok {
		rest = after
	}
	seg, _, _ := strings.Cut(rest, "/")
	seg, _, _ = strings.Cut(seg, "?")
	if u, err := url.PathUnescape(seg); err == nil {
		seg = u
	}
	if seg == "" || seg == "ME" || !strings.Contains(seg, ":") {
		return ""
	}
	return seg
}
