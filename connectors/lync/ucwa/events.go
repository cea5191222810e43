package ucwa

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Event types. Resources are added/updated/deleted; operations (such as a
// messagingInvitation) are started/updated/completed.
const (
	EventAdded     = "added"
	EventUpdated   = "updated"
	EventDeleted   = "deleted"
	EventStarted   = "started"
	EventCompleted = "completed"
)

// EventBatch is one response of the event channel.
type EventBatch struct {
	Links   Links    `json:"_links"`
	Senders []Sender `json:"sender,omitempty"`
	// Skipped lists the parts of the response that could not be read (an
	// event without type or link, a numeric href, a sender that is not an
	// object). They are left out of Senders so that one bad event cannot
	// hold up the others; the caller logs them.
	Skipped []SkippedEvent `json:"-"`
}

// SkippedEvent is a malformed part of an event batch.
type SkippedEvent struct {
	SenderHref string // "" when the sender itself was unreadable
	Href       string // the event's link href when it could be read
	Reason     string
}

// Sender groups events emitted by one resource (me, people, communication,
// a conversation). A sender may repeat to keep the global order.
type Sender struct {
	Rel    string  `json:"rel"`
	Href   string  `json:"href"`
	Events []Event `json:"events"`
}

// Event is one change notification.
type Event struct {
	Type     string                     `json:"type"`
	Link     Link                       `json:"link"`
	In       *Link                      `json:"in,omitempty"`
	Embedded map[string]json.RawMessage `json:"_embedded,omitempty"`
	Status   string                     `json:"status,omitempty"`
	Reason   *ErrorInfo                 `json:"reason,omitempty"`
}

// ParseEventBatch decodes and checks an event channel response. A batch
// without a next, resume or resync link cannot be continued and is
// rejected; so is one whose envelope is not JSON. Malformed senders and
// events inside a good envelope are listed in Skipped instead, so the
// channel moves on past them.
func ParseEventBatch(data []byte) (*EventBatch, error) {
	var raw struct {
		Links   Links           `json:"_links"`
		Senders json.RawMessage `json:"sender"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: event batch: %w", ErrMalformedResponse, err)
	}
	b := &EventBatch{Links: raw.Links}
	if b.Links.Href("next") == "" && b.Links.Href("resume") == "" && b.Links.Href("resync") == "" {
		return nil, fmt.Errorf("%w: event batch has no next, resume or resync link", ErrMalformedResponse)
	}
	if len(raw.Senders) == 0 || isJSONNull(raw.Senders) {
		return b, nil
	}
	// Like _links and _embedded, a one-element list may come as the bare
	// object: a single sender, or a sender's single event.
	senders, err := rawList(raw.Senders)
	if err != nil {
		b.Skipped = append(b.Skipped, SkippedEvent{Reason: "sender is not a list: " + err.Error()})
		return b, nil
	}
	for i, rs := range senders {
		var s struct {
			Rel    string          `json:"rel"`
			Href   string          `json:"href"`
			Events json.RawMessage `json:"events"`
		}
		if err := json.Unmarshal(rs, &s); err != nil {
			b.Skipped = append(b.Skipped, SkippedEvent{Reason: fmt.Sprintf("sender %d: %v", i, err)})
			continue
		}
		events, err := rawList(s.Events)
		if err != nil {
			b.Skipped = append(b.Skipped, SkippedEvent{SenderHref: s.Href, Reason: fmt.Sprintf("sender %d events: %v", i, err)})
			continue
		}
		out := Sender{Rel: s.Rel, Href: s.Href, Events: make([]Event, 0, len(events))}
		for j, re := range events {
			var ev Event
			if err := json.Unmarshal(re, &ev); err != nil {
				b.Skipped = append(b.Skipped, SkippedEvent{SenderHref: s.Href, Href: looseHref(re), Reason: fmt.Sprintf("sender %d event %d: %v", i, j, err)})
				continue
			}
			ev.Status = normalizeStatus(ev.Status)
			if ev.Type == "" || ev.Link.Rel == "" || ev.Link.Href == "" {
				b.Skipped = append(b.Skipped, SkippedEvent{SenderHref: s.Href, Href: ev.Link.Href, Reason: fmt.Sprintf("sender %d event %d lacks type, link rel or link href", i, j)})
				continue
			}
			out.Events = append(out.Events, ev)
		}
		b.Senders = append(b.Senders, out)
	}
	return b, nil
}

// looseHref digs the link href out of an event that did not decode, for
// the log line that names what was skipped.
func looseHref(raw json.RawMessage) string {
	var ev struct {
		Link struct {
			Href any `json:"href"`
		} `json:"link"`
	}
	if json.Unmarshal(raw, &ev) != nil || ev.Link.Href == nil {
		return ""
	}
	return fmt.Sprint(ev.Link.Href)
}

// SenderEvent pairs an event with the resource that emitted it.
type SenderEvent struct {
	Sender *Sender
	Event  *Event
}

// All returns every event of the batch in server order.
func (b *EventBatch) All() []SenderEvent {
	var out []SenderEvent
	for i := range b.Senders {
		s := &b.Senders[i]
		for j := range s.Events {
			out = append(out, SenderEvent{Sender: s, Event: &s.Events[j]})
		}
	}
	return out
}

// Len returns the number of events in the batch.
func (b *EventBatch) Len() int {
	n := 0
	for _, s := range b.Senders {
		n += len(s.Events)
	}
	return n
}

// Decode unmarshals _embedded[rel] into v; it returns ErrNotEmbedded when
// the event carries no such resource.
func (e *Event) Decode(rel string, v any) error {
	raw, ok := e.Embedded[rel]
	if !ok || isJSONNull(raw) {
		return fmt.Errorf("%w: %s", ErrNotEmbedded, rel)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode embedded %s: %w", rel, err)
	}
	return nil
}

// MessagingInvitation returns the embedded invitation.
func (e *Event) MessagingInvitation() (*MessagingInvitation, error) {
	return embeddedOne[MessagingInvitation](e.Embedded, "messagingInvitation")
}

// OnlineMeetingInvitation returns the embedded online meeting invitation.
func (e *Event) OnlineMeetingInvitation() (*OnlineMeetingInvitation, error) {
	return embeddedOne[OnlineMeetingInvitation](e.Embedded, "onlineMeetingInvitation")
}

// Conversation returns the embedded conversation.
func (e *Event) Conversation() (*Conversation, error) {
	return embeddedOne[Conversation](e.Embedded, "conversation")
}

// Messaging returns the embedded messaging modality.
func (e *Event) Messaging() (*Messaging, error) {
	return embeddedOne[Messaging](e.Embedded, "messaging")
}

// Message returns the embedded message.
func (e *Event) Message() (*Message, error) {
	return embeddedOne[Message](e.Embedded, "message")
}

// Participant returns the embedded participant, which servers embed under
// the event's link rel (participant or localParticipant).
func (e *Event) Participant() (*Participant, error) {
	for _, rel := range []string{e.Link.Rel, "participant", "localParticipant"} {
		if _, ok := e.Embedded[rel]; ok {
			return embeddedOne[Participant](e.Embedded, rel)
		}
	}
	return nil, fmt.Errorf("%w: participant", ErrNotEmbedded)
}

// Contact returns the embedded contact.
func (e *Event) Contact() (*Contact, error) {
	return embeddedOne[Contact](e.Embedded, "contact")
}

// IsIncomingMessage reports whether the event is a message from someone
// else that carries text. Sources disagree on whether such events are
// "started" or "completed", so the type is not checked.
func (e *Event) IsIncomingMessage() bool {
	if e.Link.Rel != "message" || e.Type == EventDeleted {
		return false
	}
	m, err := e.Message()
	return err == nil && m.Direction == DirectionIncoming && m.HasBody()
}

// normalizeStatus maps the spellings of an operation's outcome onto
// StatusSuccess and StatusFailure: real events say "Success"/"Failure",
// the Status reference page lists "Succeeded"/"Failed" (any case).
func normalizeStatus(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "success", "succeeded":
		return StatusSuccess
	case "failure", "failed":
		return StatusFailure
	}
	return s
}

// rawList splits a JSON array into its elements; a bare object is a list
// of one, null or absent an empty list.
func rawList(raw json.RawMessage) ([]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || isJSONNull(trimmed) {
		return nil, nil
	}
	if trimmed[0] == '{' {
		return []json.RawMessage{trimmed}, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(trimmed, &list); err != nil {
		return nil, err
	}
	return list, nil
}
