package ucwa

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Application is the application resource returned on creation and by GET
// on its self link. Its me, people and communication resources may be
// embedded or only linked: read them with Client.Me and the link-aware
// helpers, never from Embedded alone.
type Application struct {
	Resource
	Culture   string `json:"culture,omitempty"`
	UserAgent string `json:"userAgent,omitempty"`
}

// Me is the signed-in user.
type Me struct {
	Resource
	Name           string   `json:"name,omitempty"`
	URI            string   `json:"uri,omitempty"`
	EmailAddresses []string `json:"emailAddresses,omitempty"`
}

// Communication holds the conversation entry points.
type Communication struct {
	Resource
	SupportedModalities     []string `json:"supportedModalities,omitempty"`
	SupportedMessageFormats []string `json:"supportedMessageFormats,omitempty"`
	ETag                    string   `json:"etag,omitempty"`
}

// Invitation directions and operation statuses.
const (
	DirectionIncoming = "Incoming"
	DirectionOutgoing = "Outgoing"
	StatusSuccess     = "Success"
	StatusFailure     = "Failure"
)

// MessagingInvitation is an incoming or outgoing request to chat.
type MessagingInvitation struct {
	Resource
	Direction   string `json:"direction,omitempty"`
	State       string `json:"state,omitempty"`
	Importance  string `json:"importance,omitempty"`
	ThreadID    string `json:"threadId,omitempty"`
	Subject     string `json:"subject,omitempty"`
	OperationID string `json:"operationId,omitempty"`
}

// From returns the embedded inviting participant.
func (m *MessagingInvitation) From() (*Participant, error) {
	return embeddedOne[Participant](m.Embedded, "from")
}

// FirstMessage decodes the message carried by the invitation ("message"
// link); ok is false when the invitation carries none.
func (m *MessagingInvitation) FirstMessage() (body MessageBody, ok bool, err error) {
	return firstMessage(m.Links)
}

// OnlineMeetingInvitation is an invitation into an online meeting.
// Skype for Business has no incoming participantInvitation: being invited
// into a multi-party IM shows up as an incoming onlineMeetingInvitation.
// Accepting it joins the meeting (the conversation becomes Conferenced) but
// no modality; join IM with AddMessaging on the conversation's messaging.
type OnlineMeetingInvitation struct {
	// The fields and links a messaging invitation has (direction, state,
	// threadId, from, accept, decline, an optional first message) come too.
	MessagingInvitation
	OnlineMeetingURI string `json:"onlineMeetingUri,omitempty"`
}

func firstMessage(l Links) (body MessageBody, ok bool, err error) {
	href := l.Href("message")
	if href == "" {
		return MessageBody{}, false, nil
	}
	d, err := ParseDataURL(href)
	if err != nil {
		return MessageBody{}, true, err
	}
	text, err := d.Text()
	if err != nil {
		return MessageBody{}, true, err
	}
	if d.IsHTML() {
		return MessageBody{HTML: text}, true, nil
	}
	return MessageBody{Plain: text}, true, nil
}

// Conversation is one conversation of this application.
type Conversation struct {
	Resource
	State            string   `json:"state,omitempty"`
	ThreadID         string   `json:"threadId,omitempty"`
	Subject          string   `json:"subject,omitempty"`
	Importance       string   `json:"importance,omitempty"`
	ActiveModalities []string `json:"activeModalities,omitempty"`
	ParticipantCount int      `json:"participantCount,omitempty"`
	Recording        bool     `json:"recording,omitempty"`
}

// Messaging is the IM modality of a conversation.
type Messaging struct {
	Resource
	State                    string   `json:"state,omitempty"`
	NegotiatedMessageFormats []string `json:"negotiatedMessageFormats,omitempty"`
}

// Message is one instant message.
type Message struct {
	Resource
	Direction   string `json:"direction,omitempty"`
	TimeStamp   Date   `json:"timeStamp"`
	OperationID string `json:"operationId,omitempty"`
	// BadTimeStamp holds a timeStamp that could not be read (TimeStamp is
	// then zero): a bad date must not make the message unreadable.
	BadTimeStamp string `json:"-"`
}

// UnmarshalJSON reads a message, keeping an unreadable timeStamp aside
// instead of failing.
func (m *Message) UnmarshalJSON(data []byte) error {
	type plain Message
	var raw struct {
		plain
		TimeStamp json.RawMessage `json:"timeStamp"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("decode message: %w", err)
	}
	*m = Message(raw.plain)
	if len(raw.TimeStamp) > 0 {
		if err := json.Unmarshal(raw.TimeStamp, &m.TimeStamp); err != nil {
			m.TimeStamp, m.BadTimeStamp = Date{}, string(raw.TimeStamp)
		}
	}
	return nil
}

// MessageBody holds the decoded text of a message.
type MessageBody struct {
	Plain string
	HTML  string
	// Undecodable is set when the message had text but no part of it could
	// be decoded (unknown charset, bad base64, a broken data URL).
	Undecodable bool `json:",omitempty"`
}

// Body decodes the plainMessage and htmlMessage data URLs. Messages we sent
// ourselves carry neither. Each part is decoded on its own: when one fails
// the other is still returned, with an error saying what failed; when both
// fail (or the only one does) Undecodable is set.
func (m *Message) Body() (MessageBody, error) {
	var b MessageBody
	var errs []error
	parts := 0
	for _, p := range []struct {
		rel string
		dst *string
	}{{"plainMessage", &b.Plain}, {"htmlMessage", &b.HTML}} {
		href := m.Links.Href(p.rel)
		if href == "" {
			continue
		}
		parts++
		_, text, err := DecodeDataURLText(href)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.rel, err))
			continue
		}
		*p.dst = text
	}
	if parts > 0 && len(errs) == parts {
		b.Undecodable = true
	}
	return b, errors.Join(errs...)
}

// HasBody reports whether the message carries text.
func (m *Message) HasBody() bool {
	return m.Links.Has("plainMessage") || m.Links.Has("htmlMessage")
}

// Participant is a member of a conversation.
type Participant struct {
	Resource
	Name          string `json:"name,omitempty"`
	URI           string `json:"uri,omitempty"`
	SourceNetwork string `json:"sourceNetwork,omitempty"`
	Anonymous     bool   `json:"anonymous,omitempty"`
	Local         bool   `json:"local,omitempty"`
	Organizer     bool   `json:"organizer,omitempty"`
	Role          string `json:"role,omitempty"`
}

// Contact is a person in the directory or the contact list.
type Contact struct {
	Resource
	Name            string   `json:"name,omitempty"`
	URI             string   `json:"uri,omitempty"`
	EmailAddresses  []string `json:"emailAddresses,omitempty"`
	Type            string   `json:"type,omitempty"`
	SourceNetwork   string   `json:"sourceNetwork,omitempty"`
	Company         string   `json:"company,omitempty"`
	Department      string   `json:"department,omitempty"`
	Title           string   `json:"title,omitempty"`
	Office          string   `json:"office,omitempty"`
	WorkPhoneNumber string   `json:"workPhoneNumber,omitempty"`
}

// ContactPresence is the availability of a contact.
type ContactPresence struct {
	Resource
	Availability string `json:"availability,omitempty"`
	Activity     string `json:"activity,omitempty"`
	DeviceType   string `json:"deviceType,omitempty"`
	LastActive   Date   `json:"lastActive"`
}

// Presence is the signed-in user's own availability.
type Presence struct {
	Resource
	Availability string `json:"availability,omitempty"`
	Activity     string `json:"activity,omitempty"`
}
