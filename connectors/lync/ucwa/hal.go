package ucwa

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Link is one hypermedia link. Rel is only filled in event links
// (event.link and event.in); in a _links map the key is the rel.
type Link struct {
	Rel   string `json:"rel,omitempty"`
	Href  string `json:"href"`
	Title string `json:"title,omitempty"`
}

// Links maps a relation name to its links. UCWA sends one object for
// single-valued relations and an array for multi-valued ones (for example
// "conversation" in a conversations collection); both decode to a slice.
type Links map[string][]Link

// UnmarshalJSON accepts both the object and the array form of each relation.
func (l *Links) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("decode _links: %w", err)
	}
	out := make(Links, len(raw))
	for rel, v := range raw {
		v = bytes.TrimSpace(v)
		switch {
		case len(v) == 0 || bytes.Equal(v, []byte("null")):
			continue
		case v[0] == '[':
			var many []Link
			if err := json.Unmarshal(v, &many); err != nil {
				return fmt.Errorf("decode _links.%s: %w", rel, err)
			}
			out[rel] = many
		default:
			var one Link
			if err := json.Unmarshal(v, &one); err != nil {
				return fmt.Errorf("decode _links.%s: %w", rel, err)
			}
			out[rel] = []Link{one}
		}
	}
	*l = out
	return nil
}

// MarshalJSON writes single links as objects and several as arrays, the way
// the server does.
func (l Links) MarshalJSON() ([]byte, error) {
	out := make(map[string]any, len(l))
	for rel, v := range l {
		if len(v) == 1 {
			out[rel] = v[0]
		} else {
			out[rel] = v
		}
	}
	return json.Marshal(out)
}

// Href returns the href of the first link with this rel, or "".
func (l Links) Href(rel string) string {
	if v := l[rel]; len(v) > 0 {
		return v[0].Href
	}
	return ""
}

// Get returns the first link with this rel.
func (l Links) Get(rel string) (Link, bool) {
	if v := l[rel]; len(v) > 0 {
		return v[0], true
	}
	return Link{}, false
}

// Has reports whether a link with this rel is present.
func (l Links) Has(rel string) bool { return len(l[rel]) > 0 }

// Resource holds what every UCWA resource has: its type, links and
// embedded resources.
type Resource struct {
	Rel      string                     `json:"rel,omitempty"`
	Links    Links                      `json:"_links,omitempty"`
	Embedded map[string]json.RawMessage `json:"_embedded,omitempty"`
}

// Self returns the href of the resource itself.
func (r *Resource) Self() string { return r.Links.Href("self") }

// ErrNotEmbedded is returned when an embedded resource is absent; the caller
// may then GET the corresponding link instead.
var ErrNotEmbedded = errors.New("ucwa: resource not embedded")

// embeddedOne decodes _embedded[rel] into a T. An array holding one element
// is accepted as well.
func embeddedOne[T any](emb map[string]json.RawMessage, rel string) (*T, error) {
	raw, ok := emb[rel]
	if !ok || isJSONNull(raw) {
		return nil, fmt.Errorf("%w: %s", ErrNotEmbedded, rel)
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '[' {
		list, err := embeddedList[T](emb, rel)
		if err != nil {
			return nil, err
		}
		if len(list) == 0 {
			return nil, fmt.Errorf("%w: %s (empty list)", ErrNotEmbedded, rel)
		}
		return &list[0], nil
	}
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("decode embedded %s: %w", rel, err)
	}
	return v, nil
}

// embeddedList decodes _embedded[rel] as a list; a single object becomes a
// one-element list and an absent rel an empty one.
func embeddedList[T any](emb map[string]json.RawMessage, rel string) ([]T, error) {
	raw, ok := emb[rel]
	if !ok || isJSONNull(raw) {
		return nil, nil
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] != '[' {
		var one T
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, fmt.Errorf("decode embedded %s: %w", rel, err)
		}
		return []T{one}, nil
	}
	var list []T
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("decode embedded %s: %w", rel, err)
	}
	return list, nil
}

func isJSONNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}
