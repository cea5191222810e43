package skypeapi

import (
	"encoding/json"
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
		if _, rest, ok := strings.Cut(link, "/users/"); ok {
			mri, _, _ := strings.Cut(rest, "/")
			if mri != "" && mri != "ME" {
				p.MRI = mri
				break
			}
		}
	}
	return p, p.MRI != "" && p.Status != ""
}
