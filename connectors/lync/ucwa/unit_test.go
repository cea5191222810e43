package ucwa

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseMsRtcOAuth(t *testing.T) {
	t.Parallel()
	bearer := `Bearer trusted_issuers="00000002-0000-0ff1-ce00-000000000000@contoso.com", client_id="00000004-0000-0ff1-ce00-000000000000"`
	cases := []struct {
		name    string
		headers []string
		href    string
		grants  int
		ok      bool
	}{
		{"two headers quoted", []string{bearer, `MsRtcOAuth href="https://lyncweb.contoso.com/WebTicket/oauthtoken",grant_type="urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password"`}, "https://lyncweb.contoso.com/WebTicket/oauthtoken", 3, true},
		{"unquoted href", []string{`MsRtcOAuth href=https://lyncweb.contoso.com/WebTicket/oauthtoken,grant_type="password"`}, "https://lyncweb.contoso.com/WebTicket/oauthtoken", 1, true},
		{"one combined header", []string{bearer + `, MsRtcOAuth href="https://x/t", grant_type="password"`}, "https://x/t", 1, true},
		{"case and spaces", []string{`msrtcoauth  HREF = "https://x/t"`}, "https://x/t", 0, true},
		{"no href", []string{`MsRtcOAuth grant_type="password"`}, "", 0, false},
		{"none", []string{bearer}, "", 0, false},
		{"truncated quote", []string{`MsRtcOAuth href="https://x/t`}, "https://x/t", 0, true},
	}
	for _, tc := range cases {
		href, grants, ok := parseMsRtcOAuth(tc.headers)
		if ok != tc.ok || href != tc.href || len(grants) != tc.grants {
			t.Errorf("%s: got %q %v %v", tc.name, href, grants, ok)
		}
	}
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	want := time.UnixMilli(1383784870271).UTC()
	for _, s := range []string{`/Date(1383784870271)/`, `\/Date(1383784870271)\/`, `/Date(1383784870271+0100)/`, "2013-11-07T00:41:10.271Z"} {
		got, err := ParseDate(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseDate(%q) = %v, %v", s, got, err)
		}
	}
	if got, err := ParseDate("/Date(-1000)/"); err != nil || got.UnixMilli() != -1000 {
		t.Errorf("negative date: %v %v", got, err)
	}
	for _, bad := range []string{"", "/Date(abc)/", "/Date(12", "yesterday"} {
		if _, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) accepted", bad)
		}
	}
	var d struct{ T Date }
	if err := jsonUnmarshalString(`{"T":"\/Date(1383784870271)\/"}`, &d); err != nil || !d.T.Equal(want) {
		t.Fatalf("JSON date: %v %v", d.T, err)
	}
	if err := jsonUnmarshalString(`{"T":1383784870}`, &d); err != nil || d.T.Unix() != 1383784870 {
		t.Fatalf("POSIX seconds: %v %v", d.T, err)
	}
	out, _ := d.T.MarshalJSON()
	if string(out) != `"\/Date(1383784870000)\/"` {
		t.Fatalf("marshal %s", out)
	}
	if FormatDate(want) != "/Date(1383784870271)/" {
		t.Fatal(FormatDate(want))
	}
}

func TestDataURL(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, mt, text string }{
		{"data:text/plain;charset=utf-8,Hello..+This+is+Sandeep+Here..", "text/plain", "Hello.. This is Sandeep Here.."},
		{"data:text/plain;charset=utf-8,Hi+Tosh%0d%0a", "text/plain", "Hi Tosh"},
		{"data:text/plain;base64,SGVsbG8=", "text/plain", "Hello"},
		{"data:text/plain;charset=utf-8;base64,SGVsbG8", "text/plain", "Hello"},
		{"data:text/html;charset=utf-8,%3Cb%3Ehi%3C%2Fb%3E", "text/html", "<b>hi</b>"},
		{"data:text/plain;charset=iso-8859-1,caf%E9", "text/plain", "café"},
		{"data:text/plain;charset=windows-1252,%80+%93q%94", "text/plain", "€ “q”"},
		{"data:,plain+default", "text/plain", "plain default"},
		{"DATA:Text/Plain;Charset=\"UTF-8\",x", "text/plain", "x"},
		{"data:text/plain;charset=utf-8,%FF", "text/plain", "\uFFFD"},
	}
	for _, tc := range cases {
		mt, text, err := DecodeDataURLText(tc.in)
		if err != nil || mt != tc.mt || text != tc.text {
			t.Errorf("%q: %q %q %v", tc.in, mt, text, err)
		}
	}
	for _, bad := range []string{"", "http://x", "data:text/plain", "data:text/plain,%zz", "data:;base64,***", "data:text/plain;charset=klingon,x"} {
		if _, _, err := DecodeDataURLText(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, text := range []string{"Hello there", "100% + sure & ünïcode\n", ""} {
		for _, enc := range []string{EncodeDataURL("text/plain", text), EncodeDataURLBase64("text/plain", text)} {
			d, err := ParseDataURL(enc)
			if err != nil || string(d.Data) != text {
				t.Errorf("round trip %q via %q: %+v %v", text, enc, d, err)
			}
		}
	}
	if got := EncodeDataURL("text/plain", "Hello.. This is Sandeep Here.."); got != "data:text/plain;charset=utf-8,Hello..+This+is+Sandeep+Here.." {
		t.Errorf("encoding differs from the server's: %s", got)
	}
}

// An error answer's Retry-After (package retryafter) becomes Error.RetryAfter;
// a missing or unreadable one is zero, leaving the wait to the backoff.
func TestErrorReadsRetryAfter(t *testing.T) {
	t.Parallel()
	retryAfter := func(v string) time.Duration {
		resp := &response{status: http.StatusServiceUnavailable, url: &url.URL{Path: "/ucwa/x"}, header: http.Header{}}
		if v != "" {
			resp.header.Set("Retry-After", v)
		}
		return newError(http.MethodGet, resp).RetryAfter
	}
	for in, want := range map[string]time.Duration{"": 0, "7": 7 * time.Second, "-3": 0, "soon": 0, "999999999": 24 * time.Hour} {
		if got := retryAfter(in); got != want {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
	if got := retryAfter(time.Now().Add(time.Minute).UTC().Format(http.TimeFormat)); got <= 58*time.Second || got > time.Minute {
		t.Errorf("a date a minute ahead: %v", got)
	}
	if got := retryAfter(time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)); got != 0 {
		t.Errorf("a past date: %v", got)
	}
}

func TestBackoffGrowsAndHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	c := &Client{cfg: Config{BackoffMin: time.Second, BackoffMax: 8 * time.Second}}
	for attempt, hi := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second} {
		for range 20 {
			d := c.backoff(attempt, 0)
			if d < hi/2 || d > hi {
				t.Fatalf("attempt %d: %v outside [%v, %v]", attempt, d, hi/2, hi)
			}
		}
	}
	if d := c.backoff(0, 30*time.Second); d != 30*time.Second {
		t.Fatalf("Retry-After ignored: %v", d)
	}
	if d := c.backoff(0, 48*time.Hour); d != maxRetryAfter {
		t.Fatalf("Retry-After not capped: %v", d)
	}
}

func TestLinksAcceptObjectsAndArrays(t *testing.T) {
	t.Parallel()
	var r Resource
	err := jsonUnmarshalString(`{"rel":"conversations","_links":{"self":{"href":"/s"},"conversation":[{"href":"/a"},{"href":"/b","title":"B"}],"gone":null}}`, &r)
	if err != nil {
		t.Fatal(err)
	}
	if r.Self() != "/s" || len(r.Links["conversation"]) != 2 || r.Links["conversation"][1].Title != "B" || r.Links.Has("gone") {
		t.Fatalf("links %+v", r.Links)
	}
	if err := jsonUnmarshalString(`{"_links":{"self":"nope"}}`, &r); err == nil {
		t.Fatal("string link accepted")
	}
	out, _ := r.Links.MarshalJSON()
	if !strings.Contains(string(out), `"self":{"href":"/s"}`) {
		t.Fatalf("marshal %s", out)
	}
}

func TestErrorHelpers(t *testing.T) {
	t.Parallel()
	gone := fmt.Errorf("wrapped: %w", &Error{StatusCode: 404, ErrorInfo: ErrorInfo{Code: "NotFound", Subcode: SubcodeApplicationNotFound}})
	expired := &Error{StatusCode: 410, ErrorInfo: ErrorInfo{Code: "Gone", Subcode: SubcodeInactiveApplicationExpired}}
	replaced := &Error{StatusCode: 409, ErrorInfo: ErrorInfo{Code: "Conflict", Subcode: SubcodePGetReplaced}}
	if !IsApplicationGone(gone) || !IsApplicationGone(expired) || IsApplicationGone(replaced) || IsApplicationGone(errors.New("x")) {
		t.Fatal("IsApplicationGone")
	}
	if !IsPGetReplaced(replaced) || IsPGetReplaced(gone) {
		t.Fatal("IsPGetReplaced")
	}
	if !IsTransient(&Error{StatusCode: 503}) || !IsTransient(&Error{StatusCode: 429}) || IsTransient(&Error{StatusCode: 400}) ||
		!IsTransient(fmt.Errorf("x: %w", ErrUnreachable)) {
		t.Fatal("IsTransient")
	}
	msg := (&Error{StatusCode: 409, Method: "POST", Path: "/x", ErrorInfo: ErrorInfo{Code: "Conflict", Subcode: "AlreadyExists", Message: "dup"}}).Error()
	if msg != "ucwa: POST /x: HTTP 409 Conflict/AlreadyExists: dup" {
		t.Fatal(msg)
	}
	if !errors.Is(&OAuthError{StatusCode: 400, Code: "invalid_grant"}, ErrInvalidCredentials) ||
		!errors.Is(&OAuthError{StatusCode: 400, Code: "invalid_grant", PassiveAuthURI: "https://x"}, ErrAuthUnsupported) ||
		errors.Is(&OAuthError{StatusCode: 400, Code: "server_error"}, ErrInvalidCredentials) {
		t.Fatal("OAuthError mapping")
	}
	var info ErrorInfo
	if err := jsonUnmarshalString(`{"code":"X","debugInfo":{"n":5,"s":"v"}}`, &info); err != nil || info.DebugInfo["n"] != "5" || info.DebugInfo["s"] != "v" {
		t.Fatalf("debugInfo %v %v", info, err)
	}
}

func TestSecretsNeverFormatted(t *testing.T) {
	t.Parallel()
	cfg := Config{Username: "alice@contoso.com", Password: "hunter2-secret", EndpointID: "e"}
	tok := Token{AccessToken: "cwt=SECRET-TOKEN", Expiry: time.Now()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, cfg) + fmt.Sprintf(verb, tok) + fmt.Sprintf(verb, &cfg)
		if strings.Contains(out, "hunter2") || strings.Contains(out, "SECRET-TOKEN") {
			t.Fatalf("%s leaked: %s", verb, out)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{Password: "p", EndpointID: "e", Username: ""},
		{Username: "alice@contoso.com", EndpointID: "e"},
		{Username: "alice@contoso.com", Password: "p"},
		{Username: "alice", Password: "p", EndpointID: "e"},
		{Username: "alice@contoso.com", Password: "p", EndpointID: strings.Repeat("e", 101)},
		{Username: "alice@contoso.com", Password: "p", EndpointID: "e", PollTimeout: -1},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%v accepted", cfg)
		} else if strings.Contains(err.Error(), "p\"") {
			t.Errorf("error mentions the password: %v", err)
		}
	}
	c, err := New(Config{Username: "sip:alice@Contoso.com", Password: "p", EndpointID: "e", HTTPClient: &http.Client{Timeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if c.cfg.Domain != "Contoso.com" || c.hc.Timeout != 0 || c.cfg.UserAgent == "" || c.cfg.Culture != "en-US" {
		t.Fatalf("defaults %+v", c.cfg)
	}
	if got := c.discoveryCandidates(); got[0] != "https://lyncdiscoverinternal.contoso.com/" || got[1] != "https://lyncdiscover.contoso.com/" {
		t.Fatalf("candidates %v", got)
	}
}

// seed002Batches returns the event channel responses captured in seed 002.
func seed002Batches(t testing.TB) [][]byte {
	t.Helper()
	data, err := os.ReadFile("testdata/seed002.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	lines := strings.Split(string(data), "\n")
	start := -1
	for i, l := range lines {
		switch {
		case l == "{":
			start = i
		case l == "}" && start >= 0:
			out = append(out, []byte(strings.Join(lines[start:i+1], "\n")))
			start = -1
		}
	}
	if len(out) != 5 {
		t.Fatalf("seed has %d batches", len(out))
	}
	return out
}

func TestParseSeed002(t *testing.T) {
	t.Parallel()
	batches := seed002Batches(t)
	b, err := ParseEventBatch(batches[1])
	if err != nil {
		t.Fatal(err)
	}
	if b.Links.Href("next") != "/ucwa/oauth/v1/applications/10502278016/events?ack=3" || b.Len() != 3 {
		t.Fatalf("batch 2: %+v", b.Links)
	}
	all := b.All()
	inv, err := all[0].Event.MessagingInvitation()
	if err != nil {
		t.Fatal(err)
	}
	from, err := inv.From()
	if err != nil || from.Name != "Sandeep Shantharam (EXTERNAL)" || from.URI != "sip:sandeep.shantharam@biogen.com" {
		t.Fatalf("from %+v %v", from, err)
	}
	first, ok, err := inv.FirstMessage()
	if !ok || err != nil || first.Plain != "Hello.. This is Sandeep Here.." {
		t.Fatalf("first message %+v %v %v", first, ok, err)
	}
	if inv.Direction != DirectionIncoming || inv.ThreadID != "AdI5/JVLEqc1Sn3OCUCviKuBNKZMFw==" || !inv.Links.Has("accept") {
		t.Fatalf("invitation %+v", inv)
	}
	conv, err := all[1].Event.Conversation()
	if err != nil || conv.State != "Incoming" || conv.ActiveModalities[0] != "Messaging" {
		t.Fatalf("conversation %+v %v", conv, err)
	}
	local, err := all[2].Event.Participant()
	if err != nil || local.Name != "Karl Gutwin" || all[2].Sender.Rel != "conversation" {
		t.Fatalf("local participant %+v %v", local, err)
	}
	if _, err := all[2].Event.Message(); !errors.Is(err, ErrNotEmbedded) {
		t.Fatalf("missing embed: %v", err)
	}

	failed, err := ParseEventBatch(batches[3])
	if err != nil {
		t.Fatal(err)
	}
	ev := failed.All()[0].Event
	if ev.Status != StatusFailure || ev.Reason == nil || ev.Reason.Subcode != "Declined" || ev.Reason.Code != "LocalFailure" ||
		ev.Reason.DebugInfo["errorReportId"] != "da00fd10853446929e0b5c7f1a3f7649" {
		t.Fatalf("declined %+v", ev)
	}
	for i, raw := range batches {
		if _, err := ParseEventBatch(raw); err != nil {
			t.Fatalf("batch %d: %v", i+1, err)
		}
	}
}

func TestParseEventBatchRejectsGarbage(t *testing.T) {
	t.Parallel()
	for _, in := range []string{``, `[]`, `{}`, `{"_links":{}}`, `{"_links":{"next":5}}`} {
		if _, err := ParseEventBatch([]byte(in)); !errors.Is(err, ErrMalformedResponse) {
			t.Errorf("%q: %v", in, err)
		}
	}
	b, err := ParseEventBatch([]byte(`{"_links":{"resync":{"href":"/r"}}}`))
	if err != nil || b.Len() != 0 {
		t.Fatalf("resync-only batch: %v", err)
	}
}

// TestParseEventBatchSkipsBadEvents: one malformed event (no link, a
// numeric href, no type) or sender is left out and reported, and the good
// events around it are kept, so it cannot wedge the event channel.
func TestParseEventBatchSkipsBadEvents(t *testing.T) {
	t.Parallel()
	good := `{"type":"added","link":{"rel":"participant","href":"/c/p/bob"}}`
	for name, bad := range map[string]string{
		"no link":      `{"type":"added"}`,
		"numeric href": `{"type":"added","link":{"rel":"message","href":42}}`,
		"no type":      `{"link":{"rel":"message","href":"/c/m/1"}}`,
		"not object":   `"event"`,
	} {
		raw := `{"_links":{"next":{"href":"/n"}},"sender":[{"rel":"conversation","href":"/c","events":[` + good + `,` + bad + `,` + good + `]},5]}`
		b, err := ParseEventBatch([]byte(raw))
		if err != nil {
			t.Fatalf("%s: batch rejected: %v", name, err)
		}
		if b.Len() != 2 {
			t.Errorf("%s: kept %d events, want the 2 good ones", name, b.Len())
		}
		if len(b.Skipped) != 2 || b.Skipped[0].SenderHref != "/c" {
			t.Errorf("%s: skipped %+v, want the bad event and the bad sender", name, b.Skipped)
		}
	}
	b, err := ParseEventBatch([]byte(`{"_links":{"next":{"href":"/n"}},"sender":"x"}`))
	if err != nil || len(b.Skipped) != 1 || b.Len() != 0 {
		t.Fatalf("sender not a list: %+v %v", b, err)
	}
	b, _ = ParseEventBatch([]byte(`{"_links":{"next":{"href":"/n"}},"sender":[{"href":"/c","events":[{"type":"added","link":{"rel":"message","href":42}}]}]}`))
	if len(b.Skipped) != 1 || b.Skipped[0].Href != "42" {
		t.Fatalf("numeric href not named: %+v", b.Skipped)
	}
}

func TestIncomingMessageDetection(t *testing.T) {
	t.Parallel()
	for typ, want := range map[string]bool{"completed": true, "started": true, "deleted": false} {
		raw := `{"_links":{"next":{"href":"/n"}},"sender":[{"rel":"conversation","href":"/c","events":[{"type":"` + typ + `","link":{"rel":"message","href":"/m/2"},
		"_embedded":{"message":{"direction":"Incoming","timeStamp":"\/Date(1383784870271)\/","_links":{"plainMessage":{"href":"data:text/plain;charset=utf-8,Hi+Tosh%0d%0a"},"htmlMessage":{"href":"data:text/html;charset=utf-8,%3Cb%3EHi%3C%2Fb%3E"}},"rel":"message"}}}]}]}`
		b, err := ParseEventBatch([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		ev := b.All()[0].Event
		if ev.IsIncomingMessage() != want {
			t.Fatalf("%s: IsIncomingMessage = %v", typ, !want)
		}
		m, _ := ev.Message()
		body, err := m.Body()
		if err != nil || body.Plain != "Hi Tosh" || body.HTML != "<b>Hi</b>" || m.TimeStamp.UnixMilli() != 1383784870271 {
			t.Fatalf("body %+v %v", body, err)
		}
	}
}

// A bad part or date does not make a message unreadable: the rest of it
// is returned with an error saying what failed.
func TestMessageBodyAndDateDecodeIndependently(t *testing.T) {
	t.Parallel()
	var m Message
	raw := `{"direction":"Incoming","timeStamp":"yesterday","_links":{"plainMessage":{"href":"data:text/plain;charset=x-klingon,abc"},"htmlMessage":{"href":"data:text/html;charset=utf-8,%3Cb%3Eok%3C%2Fb%3E"}}}`
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("a bad timeStamp made the message unreadable: %v", err)
	}
	if m.BadTimeStamp != `"yesterday"` || !m.TimeStamp.IsZero() {
		t.Fatalf("timeStamp: %q %v", m.BadTimeStamp, m.TimeStamp)
	}
	body, err := m.Body()
	if err == nil || body.HTML != "<b>ok</b>" || body.Undecodable {
		t.Fatalf("bad charset in one part: %+v %v", body, err)
	}
	m.Links = Links{"plainMessage": {{Href: "data:text/plain;base64,@@@"}}}
	if body, err = m.Body(); err == nil || !body.Undecodable {
		t.Fatalf("bad base64 in the only part: %+v %v", body, err)
	}
}
