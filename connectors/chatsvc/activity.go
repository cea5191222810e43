package chatsvc

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strings"
)

// ThreadActivity is a parsed ThreadActivity/* message (membership, topic,
// role and other thread changes).
type ThreadActivity struct {
	Type      string // the part after "ThreadActivity/", e.g. AddMember
	Initiator string
	Targets   []ActivityTarget
	Value     string // new topic, picture URL, true/false...
	OldValue  string
	EventTime string
}

// ActivityTarget is one member an activity concerns.
type ActivityTarget struct {
	MRI          string
	Role         string
	FriendlyName string
}

type xmlActivity struct {
	EventTime string `xml:"eventtime"`
	Initiator string `xml:"initiator"`
	Value     string `xml:"value"`
	Targets   []struct {
		Text string `xml:",chardata"`
		ID   string `xml:"id"`
		Role string `xml:"role"`
	} `xml:"target"`
	Details []struct {
		ID           string `xml:"id"`
		FriendlyName string `xml:"friendlyName"`
	} `xml:"detailedtargetinfo"`
}

// ParseThreadActivity decodes a ThreadActivity message body: the Skype-style
// XML (<addmember>, <deletemember>, <topicupdate>, <roleupdate>...) or the
// JSON of MemberJoined/MemberLeft/SpaceTopicUpdated.
func ParseThreadActivity(m *Message) (*ThreadActivity, error) {
	typ, ok := cutPrefixFold(m.MessageType, "ThreadActivity/")
	if !ok {
		return nil, fmt.Errorf("not a thread activity: %q", m.MessageType)
	}
	a := &ThreadActivity{Type: typ}
	body := strings.TrimSpace(m.Content)
	if strings.HasPrefix(body, "{") {
		var js struct {
			Members []struct {
				ID           string `json:"id"`
				FriendlyName string `json:"friendlyname"`
				Role         string `json:"role"`
			} `json:"members"`
			Initiator string     `json:"initiator"`
			OldValue  FlexString `json:"oldValue"`
			NewValue  FlexString `json:"newValue"`
			User      string     `json:"user"`
		}
		if err := json.Unmarshal([]byte(body), &js); err != nil {
			return nil, fmt.Errorf("decode %s: %w", m.MessageType, err)
		}
		a.Initiator = firstNonEmpty(js.Initiator, js.User)
		a.Value, a.OldValue = string(js.NewValue), string(js.OldValue)
		for _, mb := range js.Members {
			a.Targets = append(a.Targets, ActivityTarget{MRI: mb.ID, FriendlyName: mb.FriendlyName, Role: mb.Role})
		}
		return a, nil
	}
	var x xmlActivity
	if err := lenientXML(body, &x); err != nil {
		return nil, fmt.Errorf("decode %s: %w", m.MessageType, err)
	}
	a.Initiator, a.Value, a.EventTime = strings.TrimSpace(x.Initiator), x.Value, strings.TrimSpace(x.EventTime)
	names := map[string]string{}
	for _, d := range x.Details {
		names[strings.TrimSpace(d.ID)] = d.FriendlyName
	}
	for _, t := range x.Targets {
		mri := strings.TrimSpace(t.ID)
		if mri == "" {
			mri = strings.TrimSpace(t.Text)
		}
		if mri == "" {
			continue
		}
		a.Targets = append(a.Targets, ActivityTarget{MRI: mri, Role: strings.TrimSpace(t.Role), FriendlyName: names[mri]})
	}
	return a, nil
}

// CallEvent is a parsed Event/Call message.
type CallEvent struct {
	Type   string // started, ended, missed
	CallID string
	Parts  []CallPart
}

// CallPart is one participant of a call event.
type CallPart struct {
	Identity string
	Name     string
	Duration string // seconds, when the call ended
}

// ParseCallEvent decodes the <partlist> body of Event/Call.
func ParseCallEvent(m *Message) (*CallEvent, error) {
	if KindOf(m.MessageType) != KindCall {
		return nil, fmt.Errorf("not a call event: %q", m.MessageType)
	}
	if t, ok := cutPrefixFold(m.MessageType, "ThreadActivity/"); ok {
		return &CallEvent{Type: strings.ToLower(strings.TrimPrefix(t, "Call"))}, nil
	}
	var x struct {
		Type   string `xml:"type,attr"`
		CallID string `xml:"callId,attr"`
		Parts  []struct {
			Identity string `xml:"identity,attr"`
			Name     string `xml:"name"`
			Duration string `xml:"duration"`
		} `xml:"part"`
	}
	if err := lenientXML(strings.TrimSpace(m.Content), &x); err != nil {
		return nil, fmt.Errorf("decode call event: %w", err)
	}
	ev := &CallEvent{Type: x.Type, CallID: x.CallID}
	for _, p := range x.Parts {
		ev.Parts = append(ev.Parts, CallPart{Identity: p.Identity, Name: p.Name, Duration: p.Duration})
	}
	return ev, nil
}

// lenientXML decodes the service's XML bodies, which are written by HTML
// minded clients: HTML entities (&nbsp;) and bare ampersands occur.
func lenientXML(body string, out any) error {
	d := xml.NewDecoder(strings.NewReader(body))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	return d.Decode(out)
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return "", false
}
