package chatsvc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// FlexString decodes a JSON string, number or bool into its text; the
// service sends ids and times sometimes quoted, sometimes not.
type FlexString string

// UnmarshalJSON accepts any scalar.
func (f *FlexString) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	switch {
	case s == "null":
		*f = ""
	case strings.HasPrefix(s, `"`):
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*f = FlexString(v)
	case strings.HasPrefix(s, "{") || strings.HasPrefix(s, "["):
		return fmt.Errorf("expected a scalar, got %.20s", s)
	default:
		*f = FlexString(s)
	}
	return nil
}

// Int parses the value as a decimal integer (0 when it is not one).
func (f FlexString) Int() int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(string(f)), 10, 64)
	return n
}

// FlexTime decodes the service's timestamps: ISO-8601 with 0-7 fractional
// digits, or a millisecond epoch as string or number.
// A value that is no timestamp (an object, a word) leaves Time zero and is kept in Invalid, so that one bad field neither
// fails the whole message nor dates it in 1970: callers use the receive
// time and log Invalid.
type FlexTime struct {
	time.Time
	Invalid string `json:"-"`
}

// UnmarshalJSON accepts every timestamp form the service uses.
func (t *FlexTime) UnmarshalJSON(b []byte) error {
	t.Time, t.Invalid = time.Time{}, ""
	var s FlexString
	if err := s.UnmarshalJSON(b); err != nil {
		t.Invalid = truncateForLog(string(b))
		return nil
	}
	t.Time = ParseTime(string(s))
	if t.Time.IsZero() && strings.TrimSpace(string(s)) != "" {
		t.Invalid = truncateForLog(string(s))
	}
	return nil
}

// plausibleTime says t may be when a chat message was sent: after the
// chat service existed and not more than a day ahead of this clock. A
// message id is only taken for its time when it passes.
func plausibleTime(t time.Time) bool {
	return t.Year() >= 2003 && t.Before(time.Now().Add(24*time.Hour))
}

func truncateForLog(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// MarshalJSON writes the web client's 7-digit form.
func (t FlexTime) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte(`""`), nil
	}
	return json.Marshal(FormatTime(t.Time))
}

// ParseTime parses an ISO-8601 time or a ms epoch; zero on failure.
func ParseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC()
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// FormatTime renders t as the service does: 7 fractional digits and Z.
func FormatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.0000000Z")
}

// Properties is a message's or conversation's "properties" object. Several
// values are JSON documents encoded as strings; the accessors decode both.
type Properties map[string]json.RawMessage

// UnmarshalJSON takes the properties object, or a JSON string holding one;
// anything else (null, "", a stray scalar) is no properties, so a bad
// properties field never costs the message it belongs to.
func (p *Properties) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var inner string
		if err := json.Unmarshal(b, &inner); err != nil {
			return err
		}
		b = bytes.TrimSpace([]byte(inner))
	}
	*p = nil
	if len(b) == 0 || b[0] != '{' {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil
	}
	*p = m
	return nil
}

// String returns a property as text ("" when absent).
func (p Properties) String(name string) string {
	raw, ok := p[name]
	if !ok {
		return ""
	}
	var s FlexString
	if s.UnmarshalJSON(raw) != nil {
		return string(raw)
	}
	return string(s)
}

// Has reports whether the property is present and non-empty.
func (p Properties) Has(name string) bool {
	raw, ok := p[name]
	if !ok {
		return false
	}
	s := strings.TrimSpace(string(raw))
	return s != "" && s != "null" && s != `""` && s != "0" && s != `"0"`
}

// JSON decodes a property that may be a JSON value or a JSON string holding
// one into out; it reports whether the property was present.
func (p Properties) JSON(name string, out any) (bool, error) {
	raw, ok := p[name]
	if !ok || len(raw) == 0 || string(raw) == "null" {
		return false, nil
	}
	if raw[0] == '"' {
		var inner string
		if err := json.Unmarshal(raw, &inner); err != nil {
			return true, err
		}
		if strings.TrimSpace(inner) == "" {
			return false, nil
		}
		raw = json.RawMessage(inner)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return true, fmt.Errorf("property %s: %w", name, err)
	}
	return true, nil
}

// Message is a chat-service message object as history GETs and push
// deliveries carry it.
type Message struct {
	ID                  FlexString      `json:"id"`
	SequenceID          FlexString      `json:"sequenceId,omitempty"`
	ClientMessageID     FlexString      `json:"clientmessageid,omitempty"`
	Version             FlexString      `json:"version,omitempty"`
	ConversationID      string          `json:"conversationid,omitempty"`
	ConversationLink    string          `json:"conversationLink,omitempty"`
	To                  string          `json:"to,omitempty"`
	Type                string          `json:"type,omitempty"`
	MessageType         string          `json:"messagetype"`
	ContentType         string          `json:"contenttype,omitempty"`
	Content             string          `json:"content"`
	From                string          `json:"from,omitempty"`
	IMDisplayName       string          `json:"imdisplayname,omitempty"`
	ComposeTime         FlexTime        `json:"composetime"`
	OriginalArrivalTime FlexTime        `json:"originalarrivaltime"`
	SkypeEditedID       FlexString      `json:"skypeeditedid,omitempty"`
	SkypeEmoteOffset    FlexString      `json:"skypeemoteoffset,omitempty"`
	RootMessageID       FlexString      `json:"rootMessageId,omitempty"`
	ParentMessageID     FlexString      `json:"parentMessageId,omitempty"`
	ThreadType          string          `json:"threadtype,omitempty"`
	ThreadTopic         string          `json:"threadtopic,omitempty"`
	FromTenantID        string          `json:"fromTenantId,omitempty"`
	AMSReferences       []string        `json:"amsreferences,omitempty"`
	Properties          Properties      `json:"properties,omitempty"`
	AnnotationsSummary  json.RawMessage `json:"annotationsSummary,omitempty"`
	// Unreadable names the fields of the message object that could not be
	// decoded (a number where text belongs, an object for a timestamp):
	// they are left empty and the rest is kept, so one bad field costs
	// neither the message nor the page or event batch it came in.
	Unreadable []string `json:"-"`
}

// UnmarshalJSON decodes a message object; a field that does not decode is
// left empty and named in Unreadable instead of failing the whole message.
func (m *Message) UnmarshalJSON(data []byte) error {
	type plain Message
	var p plain
	bad, err := decodeFieldByField(data, &p, func() { p = plain{} })
	if err != nil {
		return err
	}
	*m = Message(p)
	m.Unreadable = bad
	return nil
}

// decodeFieldByField decodes the JSON object data into v (a pointer to a
// type without its own UnmarshalJSON). When the whole does not decode, it
// starts again from reset and decodes each field on its own, keeping those
// that decode, and returns the names of those that did not. Only data that
// is no JSON object at all is an error.
func decodeFieldByField(data []byte, v any, reset func()) ([]string, error) {
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil, nil
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(data, &fields) != nil {
		return nil, err
	}
	reset()
	var bad []string
	for name, value := range fields {
		one, merr := json.Marshal(map[string]json.RawMessage{name: value})
		if merr != nil || json.Unmarshal(one, v) != nil {
			bad = append(bad, name)
		}
	}
	sort.Strings(bad)
	return bad, nil
}

// FieldUnreadable reports whether the named JSON field of the message
// could not be decoded.
func (m *Message) FieldUnreadable(name string) bool {
	return slices.Contains(m.Unreadable, name)
}

// ParseMessage decodes one message object.
func ParseMessage(data []byte) (*Message, error) {
	var m Message
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("decode message: %w", err)
	}
	return &m, nil
}

// Sender is the sender's MRI (the tail of the "from" contact URL, or the
// bare MRI some answers carry).
func (m *Message) Sender() string { return MRIFromURL(m.From) }

// Conversation returns the conversation id and, for a channel reply chain,
// the root message id ("<channel>;messageid=<root>").
func (m *Message) Conversation() (conv, root string) {
	if m.ConversationLink != "" {
		conv, root = ConversationFromURL(m.ConversationLink)
	}
	if conv == "" {
		conv, root = SplitThreadID(firstNonEmpty(m.ConversationID, m.To))
	}
	if root == "" && m.RootMessageID != "" && string(m.RootMessageID) != string(m.ID) {
		root = string(m.RootMessageID)
	}
	return conv, root
}

// EditTime is when the message was last edited (zero if never).
func (m *Message) EditTime() time.Time {
	if !m.Properties.Has("edittime") {
		return time.Time{}
	}
	return ParseTime(m.Properties.String("edittime"))
}

// IsEdited reports an edited message: properties.edittime or the Skype-style
// skypeeditedid.
func (m *Message) IsEdited() bool {
	return m.Properties.Has("edittime") || m.SkypeEditedID != ""
}

// IsDeleted reports a deleted message: a deletetime/deletiontime property,
// or (Skype lineage) an edit with empty content.
func (m *Message) IsDeleted() bool {
	if m.Properties.Has("deletetime") || m.Properties.Has("deletiontime") {
		return true
	}
	return m.SkypeEditedID != "" && strings.TrimSpace(StripEditMarker(m.Content)) == ""
}

// DeleteTime is when the message was deleted (zero if unknown).
func (m *Message) DeleteTime() time.Time {
	for _, k := range []string{"deletetime", "deletiontime"} {
		if m.Properties.Has(k) {
			return ParseTime(m.Properties.String(k))
		}
	}
	return time.Time{}
}

// Time is the server arrival time, falling back to the id (ms epoch).
func (m *Message) Time() time.Time {
	if !m.OriginalArrivalTime.IsZero() {
		return m.OriginalArrivalTime.Time
	}
	if n := m.ID.Int(); n > 0 && plausibleTime(time.UnixMilli(n)) {
		return time.UnixMilli(n).UTC()
	}
	return m.ComposeTime.Time
}

// BadTimestamp is the unreadable originalarrivaltime (or composetime, when
// that is all there is to date the message by) for a log line, or "" when
// the message's time could be read. Time is then zero, which bridgev2
// takes as the receive time.
func (m *Message) BadTimestamp() string {
	if !m.Time().IsZero() {
		return ""
	}
	return firstNonEmptyString(m.OriginalArrivalTime.Invalid, m.ComposeTime.Invalid)
}

func firstNonEmptyString(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// VersionInt is the message version (defaults to the id).
func (m *Message) VersionInt() int64 {
	if v := m.Version.Int(); v > 0 {
		return v
	}
	return m.ID.Int()
}

// Kind classifies a message by its messagetype.
type Kind int

// Message kinds.
const (
	KindUnknown     Kind = iota
	KindText             // Text, RichText, RichText/Html
	KindMedia            // RichText/UriObject, RichText/Media_* (files, cards, recordings)
	KindTyping           // Control/Typing
	KindClearTyping      // Control/ClearTyping
	KindThreadActivity
	KindCall // Event/Call, ThreadActivity/Call*
	KindControl
)

// Kind classifies m.
func (m *Message) Kind() Kind { return KindOf(m.MessageType) }

// KindOf classifies a messagetype string (case-insensitive).
func KindOf(messageType string) Kind {
	t := strings.ToLower(messageType)
	switch {
	case t == "text" || t == "richtext" || t == "richtext/html":
		return KindText
	case strings.HasPrefix(t, "richtext/"):
		return KindMedia
	case t == "control/typing":
		return KindTyping
	case t == "control/cleartyping":
		return KindClearTyping
	case t == "event/call" || strings.HasPrefix(t, "threadactivity/call"):
		return KindCall
	case strings.HasPrefix(t, "threadactivity/"):
		return KindThreadActivity
	case strings.HasPrefix(t, "control/") || strings.HasPrefix(t, "signal/"):
		return KindControl
	}
	return KindUnknown
}

// Emotion is one reaction key with the users who currently have it.
type Emotion struct {
	Key   string        `json:"key"`
	Users []EmotionUser `json:"users"`
}

// EmotionUser is one user's reaction.
type EmotionUser struct {
	MRI   string     `json:"mri"`
	Time  FlexString `json:"time"`
	Value FlexString `json:"value"`
}

// Emotions returns the message's reactions, collapsed to one entry per
// (key, user) keeping the latest; keys with no users are dropped.
func (m *Message) Emotions() ([]Emotion, error) {
	var raw []Emotion
	ok, err := m.Properties.JSON("emotions", &raw)
	if !ok || err != nil {
		return nil, err
	}
	out := make([]Emotion, 0, len(raw))
	index := map[string]int{}
	for _, e := range raw {
		if e.Key == "" {
			continue
		}
		i, seen := index[e.Key]
		if !seen {
			i = len(out)
			index[e.Key] = i
			out = append(out, Emotion{Key: e.Key})
		}
		for _, u := range e.Users {
			if u.MRI == "" {
				continue
			}
			replaced := false
			for j, have := range out[i].Users {
				if have.MRI == u.MRI {
					if u.Time.Int() >= have.Time.Int() {
						out[i].Users[j] = u
					}
					replaced = true
					break
				}
			}
			if !replaced {
				out[i].Users = append(out[i].Users, u)
			}
		}
	}
	kept := out[:0]
	for _, e := range out {
		if len(e.Users) > 0 {
			kept = append(kept, e)
		}
	}
	return kept, nil
}

// Mention is one entry of properties.mentions.
type Mention struct {
	Type        string     `json:"@type,omitempty"`
	ItemID      FlexString `json:"itemid"`
	MRI         string     `json:"mri"`
	MentionType string     `json:"mentionType,omitempty"`
	DisplayName string     `json:"displayName,omitempty"`
}

// MarshalJSON writes itemid as the number the web client sends
// (teams-web §2.4), or as the string it holds when that is no integer.
func (m Mention) MarshalJSON() ([]byte, error) {
	type plain Mention
	v := struct {
		plain
		ItemID any `json:"itemid"`
	}{plain: plain(m), ItemID: string(m.ItemID)}
	if n, err := strconv.ParseInt(strings.TrimSpace(string(m.ItemID)), 10, 64); err == nil {
		v.ItemID = n
	}
	return json.Marshal(v)
}

// MentionSchema is the @type of a mention entry and the itemtype of its span.
const MentionSchema = "http://schema.skype.com/Mention"

// Mentions decodes properties.mentions.
func (m *Message) Mentions() ([]Mention, error) {
	var out []Mention
	if _, err := m.Properties.JSON("mentions", &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Conversation is an entry of the conversation list.
type Conversation struct {
	ID               string           `json:"id"`
	Type             string           `json:"type,omitempty"`
	Version          FlexString       `json:"version,omitempty"`
	TargetLink       string           `json:"targetLink,omitempty"`
	Properties       Properties       `json:"properties,omitempty"`
	ThreadProperties ThreadProperties `json:"threadProperties"`
	LastMessage      *Message         `json:"lastMessage,omitempty"`
	MemberProperties Properties       `json:"memberProperties,omitempty"`
}

// ThreadProperties are the thread fields the conversation list embeds; all
// values are strings on the wire.
type ThreadProperties map[string]FlexString

// UnmarshalJSON skips non-scalar values instead of failing on them.
func (tp *ThreadProperties) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*tp = make(ThreadProperties, len(raw))
	for k, v := range raw {
		var s FlexString
		if s.UnmarshalJSON(v) == nil {
			(*tp)[k] = s
		}
	}
	return nil
}

// Get returns one property as text.
func (tp ThreadProperties) Get(name string) string { return string(tp[name]) }

// Topic is the chat's topic.
func (c *Conversation) Topic() string { return c.ThreadProperties.Get("topic") }

// ThreadType is threadProperties.threadType ("chat", "meeting", "topic",
// "space", "sfbinteropchat", "streamofnotes"...), lower-cased.
func (c *Conversation) ThreadType() string {
	return strings.ToLower(c.ThreadProperties.Get("threadType"))
}

// IsOneToOne reports a 1:1 chat by any of the markers the service uses.
func (c *Conversation) IsOneToOne() bool {
	return IsOneToOne(c.ID, c.ThreadProperties)
}

// IsOneToOne reports a 1:1 chat from its id and thread properties.
func IsOneToOne(id string, tp ThreadProperties) bool {
	if strings.EqualFold(tp.Get("uniquerosterthread"), "true") ||
		strings.EqualFold(tp.Get("productThreadType"), "OneToOneChat") {
		return true
	}
	if strings.HasSuffix(id, "@unq.gbl.spaces") {
		return true
	}
	// Skype: a conversation with a person is addressed by their MRI.
	return strings.HasPrefix(id, "8:") || strings.HasPrefix(id, "28:") || strings.HasPrefix(id, "4:")
}

// IsSystemFeed reports the virtual 48:* feeds (notes, mentions, calllogs...)
// that are no real chat.
func (c *Conversation) IsSystemFeed() bool { return IsSystemFeed(c.ID) }

// IsSystemFeed reports the 48:* virtual feeds.
func IsSystemFeed(id string) bool { return strings.HasPrefix(id, "48:") }

// Horizon returns the user's own read position in this conversation.
func (c *Conversation) Horizon() Horizon {
	h, _ := ParseHorizon(c.Properties.String("consumptionhorizon"))
	return h
}

// Thread is a thread object (GET /v1/threads/{id}).
type Thread struct {
	ID         string           `json:"id"`
	Type       string           `json:"type,omitempty"`
	Version    FlexString       `json:"version,omitempty"`
	Members    []Member         `json:"members"`
	Properties ThreadProperties `json:"properties"`
}

// Member is one member of a thread.
type Member struct {
	ID           string `json:"id"`
	Role         string `json:"role,omitempty"`
	UserLink     string `json:"userLink,omitempty"`
	LinkedMRI    string `json:"linkedMri,omitempty"`
	FriendlyName string `json:"friendlyName,omitempty"`
}

// UnmarshalJSON reads the member shapes of thread GETs and ThreadUpdate
// pushes: the id may be missing (only userLink names the member) or be a
// URL itself; either way ID ends up the bare MRI.
func (m *Member) UnmarshalJSON(b []byte) error {
	type plain Member
	var v struct {
		plain
		ID       FlexString `json:"id"`
		UserLink string     `json:"userLink"`
		MRI      string     `json:"mri"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*m = Member(v.plain)
	m.UserLink = v.UserLink
	m.ID = MRIFromURL(firstNonEmpty(string(v.ID), v.MRI, v.UserLink))
	return nil
}

// Topic is the thread's topic.
func (t *Thread) Topic() string { return t.Properties.Get("topic") }

// IsOneToOne reports a 1:1 thread.
func (t *Thread) IsOneToOne() bool { return IsOneToOne(t.ID, t.Properties) }

// EventMessage is one push (Trouter /messaging body, or a long-poll entry).
type EventMessage struct {
	ID           FlexString      `json:"id"`
	Type         string          `json:"type"`
	ResourceType string          `json:"resourceType"`
	Time         FlexTime        `json:"time"`
	ResourceLink string          `json:"resourceLink"`
	Resource     json.RawMessage `json:"resource"`
}

// Resource types of EventMessage.
const (
	ResourceNewMessage         = "NewMessage"
	ResourceMessageUpdate      = "MessageUpdate"
	ResourceConversationUpdate = "ConversationUpdate"
	ResourceThreadUpdate       = "ThreadUpdate"
	ResourceUserPresence       = "UserPresence"
	ResourceEndpointPresence   = "EndpointPresence"
)

// ParseEventMessage decodes one event message.
func ParseEventMessage(data []byte) (*EventMessage, error) {
	// Field by field when the whole does not decode: a bad id or link must
	// not lose the message the resource holds (Message then recovers its
	// id and conversation from what is left).
	type plain EventMessage
	var p plain
	bad, err := decodeFieldByField(data, &p, func() { p = plain{} })
	if err != nil {
		return nil, fmt.Errorf("decode event message: %w", err)
	}
	ev := EventMessage(p)
	if slices.Contains(bad, "resource") {
		return nil, fmt.Errorf("%w: event message resource does not decode", ErrMalformedResponse)
	}
	if ev.ResourceType == "" {
		return nil, fmt.Errorf("%w: event message without resourceType", ErrMalformedResponse)
	}
	return &ev, nil
}

// Message decodes the resource of a NewMessage/MessageUpdate event. The
// conversation link falls back to the resourceLink when the resource lacks it.
func (ev *EventMessage) Message() (*Message, error) {
	if ev.ResourceType != ResourceNewMessage && ev.ResourceType != ResourceMessageUpdate {
		return nil, fmt.Errorf("event %s carries no message", ev.ResourceType)
	}
	m, err := ParseMessage(ev.Resource)
	if err != nil {
		return nil, err
	}
	if m.ConversationLink == "" && m.ConversationID == "" && m.To == "" {
		m.ConversationLink, _, _ = strings.Cut(ev.ResourceLink, "/messages/")
	}
	if m.ID == "" {
		if i := strings.LastIndex(ev.ResourceLink, "/messages/"); i >= 0 {
			m.ID = FlexString(ev.ResourceLink[i+len("/messages/"):])
		}
	}
	return m, nil
}

// Conversation decodes a ConversationUpdate resource.
func (ev *EventMessage) Conversation() (*Conversation, error) {
	var c Conversation
	if err := json.Unmarshal(ev.Resource, &c); err != nil {
		return nil, fmt.Errorf("decode conversation update: %w", err)
	}
	return &c, nil
}

// Thread decodes a ThreadUpdate resource.
func (ev *EventMessage) Thread() (*Thread, error) {
	var t Thread
	if err := json.Unmarshal(ev.Resource, &t); err != nil {
		return nil, fmt.Errorf("decode thread update: %w", err)
	}
	return &t, nil
}

// MRIFromURL takes the MRI from a contact URL (".../contacts/8:orgid:x") or
// returns a bare MRI unchanged.
func MRIFromURL(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "/"); i >= 0 {
		s = s[i+1:]
	}
	if u, err := urlPathUnescape(s); err == nil {
		s = u
	}
	return s
}

// ConversationFromURL takes the conversation id (and a channel reply
// chain's root message id) from a conversation link.
func ConversationFromURL(link string) (conv, root string) {
	link, _, _ = strings.Cut(link, "?")
	i := strings.Index(link, "/conversations/")
	if i < 0 {
		return "", ""
	}
	s := link[i+len("/conversations/"):]
	s, _, _ = strings.Cut(s, "/")
	if u, err := urlPathUnescape(s); err == nil {
		s = u
	}
	return SplitThreadID(s)
}

// SplitThreadID splits "<channel>;messageid=<root>" into its parts.
func SplitThreadID(id string) (conv, root string) {
	conv, rest, ok := strings.Cut(id, ";")
	if !ok {
		return id, ""
	}
	for _, part := range strings.Split(rest, ";") {
		if k, v, ok := strings.Cut(part, "="); ok && strings.EqualFold(k, "messageid") {
			root = v
		}
	}
	return conv, root
}

// ReplyChainID addresses a channel reply chain.
func ReplyChainID(channel, root string) string {
	if root == "" {
		return channel
	}
	return channel + ";messageid=" + root
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
