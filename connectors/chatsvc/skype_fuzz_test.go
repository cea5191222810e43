package chatsvc

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzEventEnvelope: a long-poll answer (or one entry of it) never panics
// the parser, and whatever it accepts yields a resource type and a message
// that is consistent with the envelope.
func FuzzEventEnvelope(f *testing.F) {
	for _, seed := range []string{
		`{"id":1108,"type":"EventMessage","resourceType":"NewMessage","time":"2018-03-09T13:55:00Z","resourceLink":"https://db4-client-s.gateway.messenger.live.com/v1/users/ME/conversations/8:live:20a002c57bc1f838/messages/1520603700830","resource":{"clientmessageid":"17555921056000866618","type":"Message","messagetype":"RichText","originalarrivaltime":"2018-03-09T13:54:59.360Z","version":"1520603700830","contenttype":"text","origincontextid":"0","isactive":true,"from":"https://db4-client-s.gateway.messenger.live.com/v1/users/ME/contacts/8:live:20a002c57bc1f838","conversationLink":"https://db4-client-s.gateway.messenger.live.com/v1/users/ME/conversations/8:live:20a002c57bc1f838","id":"1520603700830","imdisplayname":"x","composetime":"2018-03-09T13:54:59.360Z","content":"hello","ackrequired":"https://h/v1/users/ME/conversations/ALL/messages/1520603700830/ack"}}`,
		`{"id":"1036","type":"EventMessage","resourceType":"NewMessage","resourceLink":"https://h/v1/users/ME/conversations/19:abc@thread.skype/messages/1","resource":{"messagetype":"RichText","skypeeditedid":"1","content":"x<e_m ts=\"1\" a=\"b\" t=\"61\"/>"}}`,
		`{"id":1001,"resourceType":"UserPresence","resourceLink":"https://h/v1/users/8:joe.4/presenceDocs/messagingService","resource":{"id":"messagingService","type":"UserPresenceDoc","status":"Online"}}`,
		`{"id":1002,"resourceType":"ThreadUpdate","resource":{"id":"19:a@thread.skype","members":[{"id":"8:a","role":"Admin"}],"properties":{"topic":"t","capabilities":["x"]}}}`,
		`{"id":1003,"resourceType":"ConversationUpdate","resource":{"id":"8:joe.4","properties":{"consumptionhorizon":"1;2;3"},"lastMessage":{"id":"1"}}}`,
		`{"id":1004,"resourceType":"EndpointPresence","resource":{"publicInfo":{"typ":"1"}}}`,
		`{"resourceType":"NewMessage","resource":"not an object"}`,
		`{"resourceType":"NewMessage","resource":null}`,
		`{"eventMessages":[]}`,
		`{"id":{},"resourceType":[]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := ParseEventMessage(data)
		if err != nil {
			return
		}
		if ev.ResourceType == "" {
			t.Fatal("accepted an event without resourceType")
		}
		_ = ev.AckRequired()
		switch ev.ResourceType {
		case ResourceNewMessage, ResourceMessageUpdate:
			m, err := ev.Message()
			if err != nil {
				return
			}
			conv, _ := m.Conversation()
			if m.ConversationLink == "" && m.ConversationID == "" && m.To == "" && ev.ResourceLink != "" &&
				strings.Contains(ev.ResourceLink, "/conversations/") && conv == "" && !strings.HasPrefix(ev.ResourceLink[strings.Index(ev.ResourceLink, "/conversations/")+15:], "/") {
				t.Fatalf("conversation lost from resourceLink %q", ev.ResourceLink)
			}
			_ = m.IsEdited()
			_ = m.IsDeleted()
			_ = m.Sender()
			_ = StripEditMarker(m.Content)
			if m.Kind() == KindThreadActivity {
				_, _ = ParseThreadActivity(m)
			}
			if m.Kind() == KindMedia {
				_, _ = ParseURIObject(m.Content)
			}
		case ResourceConversationUpdate:
			if c, err := ev.Conversation(); err == nil {
				_ = c.Horizon()
			}
		case ResourceThreadUpdate:
			_, _ = ev.Thread()
		}
		// Re-encoding what was decoded never fails.
		if _, err := json.Marshal(ev); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzSkypeRichText: URIObject parsing never panics, and a
// URIObject built from any name round-trips.
func FuzzSkypeRichText(f *testing.F) {
	for _, seed := range []string{
		`<URIObject type="Picture.1" uri="https://api.asm.skype.com/v1/objects/0-weu-d1-abc"><OriginalName v="p.jpg"/></URIObject>`,
		`<URIObject type="File.1" uri="u"><FileSize v="x"/><a href="a&b">`,
		`<URIObject type="SWIFT.1"><Swift b64="e30="/></URIObject>`,
		`hi <ss type="smile">:)</ss> <ss type="">`,
		`<URIObject`, `<<URIObject>>`, "",
	} {
		f.Add(seed, "file name.txt")
	}
	f.Fuzz(func(t *testing.T, content, name string) {
		_, _ = ParseURIObject(content)
		if !strings.ContainsAny(name, "\x00\r") && isXMLText(name) {
			o, err := ParseURIObject(FileURIObject("https://api.asm.skype.com/v1/objects/0-x", "0-x", name, 7))
			if err != nil {
				t.Fatalf("built object does not parse: %v", err)
			}
			if o.OriginalName != name || o.DocID != "0-x" || o.FileSize != 7 {
				t.Fatalf("round trip of %q gave %+v", name, o)
			}
		}
	})
}

// isXMLText reports text XML can carry unchanged (attribute values
// normalise whitespace controls, and invalid runes are replaced).
func isXMLText(s string) bool {
	for _, r := range s {
		if r == '\t' || r == '\n' || r == 0xFFFD || r < 0x20 || (r >= 0xD800 && r <= 0xDFFF) || r == 0xFFFE || r == 0xFFFF {
			return false
		}
	}
	return strings.TrimSpace(s) == s && json.Valid([]byte(`"`+strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`)+`"`))
}
