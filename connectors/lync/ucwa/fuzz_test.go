package ucwa

import (
	"errors"
	"strings"
	"testing"
)

// FuzzEventParse feeds arbitrary bytes through the event parser and every
// helper a bridge calls on the result; none may panic.
func FuzzEventParse(f *testing.F) {
	for _, b := range seed002Batches(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"_links":{"resync":{"href":"/r"}}}`))
	f.Add([]byte(`{"_links":{"next":{"href":"/n"}},"sender":[{"rel":"conversation","href":"/c","events":[{"type":"completed","link":{"rel":"message","href":"/m"},"status":"Success","_embedded":{"message":{"direction":"Incoming","timeStamp":"\/Date(1383784870271)\/","_links":{"plainMessage":{"href":"data:text/plain;charset=utf-8,Hi+Tosh%0d%0a"}}}}}]}]}`))
	f.Add([]byte(`{"_links":{"next":[{"href":"/a"},{"href":"/b"}]},"sender":[{"events":[{"type":"x","link":{"rel":"participant"},"_embedded":{"participant":[],"messagingInvitation":[{"_embedded":{"from":null}}]}}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseEventBatch(data)
		if err != nil {
			if !errors.Is(err, ErrMalformedResponse) {
				t.Fatalf("error not wrapping ErrMalformedResponse: %v", err)
			}
			return
		}
		if b.Links.Href("next") == "" && b.Links.Href("resume") == "" && b.Links.Href("resync") == "" {
			t.Fatal("accepted a batch that cannot be continued")
		}
		for _, se := range b.All() {
			ev := se.Event
			_ = ev.IsIncomingMessage()
			if inv, err := ev.MessagingInvitation(); err == nil {
				_, _ = inv.From()
				_, _, _ = inv.FirstMessage()
			}
			if m, err := ev.Message(); err == nil {
				_, _ = m.Body()
			}
			_, _ = ev.Conversation()
			_, _ = ev.Messaging()
			_, _ = ev.Participant()
			_, _ = ev.Contact()
			var v map[string]any
			_ = ev.Decode(ev.Link.Rel, &v)
		}
	})
}

// FuzzDataURL checks the decoder never panics and that whatever the
// encoder produces decodes back to the same text.
func FuzzDataURL(f *testing.F) {
	for _, s := range []string{
		"data:text/plain;charset=utf-8,Hello..+This+is+Sandeep+Here..",
		"data:text/plain;charset=utf-8,Hi+Tosh%0d%0a",
		"data:text/plain;base64,SGVsbG8=",
		"data:text/html;charset=utf-8,%3Cb%3Ehi%3C%2Fb%3E",
		"data:text/plain;charset=iso-8859-1,caf%E9",
		"data:,",
		"data:;base64,%",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := ParseDataURL(s); err == nil {
			_, _ = d.Text()
		}
		for _, enc := range []string{EncodeDataURL("text/plain", s), EncodeDataURLBase64("text/plain", s)} {
			d, err := ParseDataURL(enc)
			if err != nil {
				t.Fatalf("own encoding %q rejected: %v", enc, err)
			}
			if string(d.Data) != s {
				t.Fatalf("round trip of %q gave %q", s, d.Data)
			}
		}
	})
}

// FuzzAuthHeader checks the challenge parser on arbitrary header values.
func FuzzAuthHeader(f *testing.F) {
	f.Add(`MsRtcOAuth href="https://lyncweb.contoso.com/WebTicket/oauthtoken",grant_type="urn:microsoft.rtc:windows,password"`)
	f.Add(`MsRtcOAuth href=https://x/t,grant_type=password`)
	f.Add(`MsRtcOAuth href="\`)
	f.Fuzz(func(t *testing.T, s string) {
		href, _, ok := parseMsRtcOAuth([]string{s})
		if ok && href == "" {
			t.Fatal("ok without href")
		}
		if ok && !strings.Contains(strings.ToLower(s), "msrtcoauth") {
			t.Fatal("challenge found where none is")
		}
	})
}
