package chatsvc

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// skypeServer records calls and answers with the given handler.
func skypeServer(t *testing.T, h http.HandlerFunc) (*Client, *[]string) {
	t.Helper()
	var mu sync.Mutex
	var calls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls = append(calls, r.Method+" "+r.URL.EscapedPath()+"?"+r.URL.RawQuery+" "+r.Header.Get(SkypeAuthHeader)+" "+string(body))
		mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := New(Config{BaseURL: srv.URL, AuthHeader: SkypeAuthHeader, AuthPrefix: SkypeAuthPrefix, Tokens: StaticToken("REG"),
		AllowInsecureHTTP: true, Retry: RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	return c, &calls
}

func TestSkypeEndpointCallsWire(t *testing.T) {
	c, calls := skypeServer(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/poll") {
			_, _ = io.WriteString(w, `{"eventMessages":[{"id":1000,"type":"EventMessage","resourceType":"NewMessage","resource":{"id":"1","content":"a","ackrequired":"x"}},{"id":1001},{"id":1002,"resourceType":"UserPresence","resource":{}}]}`)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	ctx := context.Background()
	ep := "{e1e1e1e1-0000-0000-0000-000000000000}"
	if err := c.PutEndpointPresenceDoc(ctx, ep, EndpointPresenceDoc{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Subscribe(ctx, ep, nil); err != nil {
		t.Fatal(err)
	}
	evs, err := c.PollEvents(ctx, ep, 999)
	if err != nil {
		t.Fatal(err)
	}
	// The entry without resourceType is dropped (with a warning), the others kept.
	if len(evs) != 2 || evs[0].AckRequired() != "x" || evs[1].ResourceType != ResourceUserPresence || evs[1].AckRequired() != "" {
		t.Fatalf("events %+v", evs)
	}
	if err := c.EndpointActive(ctx, ep, 0); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPresence(ctx, "Busy"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`PUT /v1/users/ME/endpoints/%7Be1e1e1e1-0000-0000-0000-000000000000%7D/presenceDocs/messagingService? registrationToken=REG {"id":"messagingService",`,
		`POST /v1/users/ME/endpoints/%7Be1e1e1e1-0000-0000-0000-000000000000%7D/subscriptions? registrationToken=REG {"channelType":"httpLongPoll","interestedResources":["/v1/threads/ALL","/v1/users/ME/contacts/ALL","/v1/users/ME/conversations/ALL/messages","/v1/users/ME/conversations/ALL/properties"],"template":"raw"}`,
		`POST /v1/users/ME/endpoints/%7Be1e1e1e1-0000-0000-0000-000000000000%7D/subscriptions/0/poll?ackId=999 registrationToken=REG `,
		`POST /v1/users/ME/endpoints/%7Be1e1e1e1-0000-0000-0000-000000000000%7D/active? registrationToken=REG {"timeout":12}`,
		`PUT /v1/users/ME/presenceDocs/messagingService? registrationToken=REG {"status":"Busy"}`,
	}
	if len(*calls) != len(want) {
		t.Fatalf("calls %q", *calls)
	}
	for i, w := range want {
		if !strings.HasPrefix((*calls)[i], w) {
			t.Errorf("call %d = %q, want prefix %q", i, (*calls)[i], w)
		}
	}
}

func TestSkypeErrorCodes(t *testing.T) {
	code := "729"
	c, _ := skypeServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"errorCode":`+code+`,"message":"You must create an endpoint before performing this operation."}`)
	})
	_, err := c.PollEvents(context.Background(), "SELF", 0)
	if !IsUnknownEndpoint(err) || IsUnknownSubscription(err) || !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
	code = "450"
	_, err = c.PollEvents(context.Background(), "SELF", 0)
	if IsUnknownEndpoint(err) || !IsUnknownSubscription(err) {
		t.Fatalf("err = %v", err)
	}
	if IsUnknownEndpoint(errors.New("729")) || IsUnknownEndpoint(nil) {
		t.Fatal("plain errors are not service codes")
	}
}

func TestAckGoesToOwnHostOnly(t *testing.T) {
	c, calls := skypeServer(t, func(w http.ResponseWriter, r *http.Request) {})
	ctx := context.Background()
	for _, bad := range []string{
		"https://evil.example.com/v1/users/ME/endpoints/SELF/subscriptions",
		c.BaseURL() + "/elsewhere/ack",
		c.BaseURL() + "/v1/users/ME/conversations/ALL/messages/12/ack/../../../../../threads",
		"::not a url",
	} {
		if err := c.Ack(ctx, bad); !errors.Is(err, ErrForeignLink) {
			t.Fatalf("Ack(%q) = %v", bad, err)
		}
	}
	if len(*calls) != 0 {
		t.Fatal("a refused ack reached the server")
	}
	// Our host, and a regional host named in ackrequired: both go to our
	// host with the ack path.
	for _, ok := range []string{
		c.BaseURL() + "/v1/users/ME/conversations/ALL/messages/1451606400000/ack",
		"https://db4-client-s.gateway.messenger.live.com/v1/users/ME/conversations/ALL/messages/1451606400001/ack",
	} {
		if err := c.Ack(ctx, ok); err != nil {
			t.Fatal(err)
		}
	}
	if len(*calls) != 2 || !strings.HasPrefix((*calls)[0], "POST /v1/users/ME/conversations/ALL/messages/1451606400000/ack? registrationToken=REG") ||
		!strings.HasPrefix((*calls)[1], "POST /v1/users/ME/conversations/ALL/messages/1451606400001/ack? registrationToken=REG") {
		t.Fatalf("calls %q", *calls)
	}
}

func TestEndpointPresenceDocsParsing(t *testing.T) {
	c, _ := skypeServer(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"endpointPresenceDocs":[{"link":"https://h/v1/users/8:fred.2/endpoints/%7Babc%7D/presenceDocs/messagingService"},{"link":"https://h/v1/users/8:fred.2/endpoints/SELF/presenceDocs/messagingService"}]}`)
	})
	links, err := c.EndpointPresenceDocs(context.Background())
	if err != nil || len(links) != 2 || links[0].EndpointID != "{abc}" || links[1].EndpointID != "SELF" {
		t.Fatalf("%v %+v", err, links)
	}
}

func TestSendFieldsDoNotOverride(t *testing.T) {
	b := Outgoing{ClientMessageID: "1", MessageType: "RichText", Content: "x", Fields: map[string]any{"Has-Mentions": "false", "content": "evil"}}.body(true, FlavorSkype)
	if b["content"] != "x" || b["Has-Mentions"] != "false" || b["messagetype"] != "RichText" {
		t.Fatalf("body %v", b)
	}
}

func TestParseURIObjectVariants(t *testing.T) {
	img := `<URIObject type="Picture.1" uri="https://api.asm.skype.com/v1/objects/0-weu-d1-abc" url_thumbnail="https://api.asm.skype.com/v1/objects/0-weu-d1-abc/views/imgt1"><Title/><Description/><OriginalName v="photo.jpg"/><a href="https://api.asm.skype.com/s/i?0-weu-d1-abc">https://api.asm.skype.com/s/i?0-weu-d1-abc</a><meta type="photo" originalName="photo.jpg"/></URIObject>`
	o, err := ParseURIObject(img)
	if err != nil || o.Kind() != URIPicture || o.DocID != "0-weu-d1-abc" || o.OriginalName != "photo.jpg" || o.ThumbnailURL == "" {
		t.Fatalf("%v %+v", err, o)
	}
	file := `<URIObject type="File.1" uri="https://api.asm.skype.com/v1/objects/0-weu-d2-f" url_thumbnail="https://api.asm.skype.com/v1/objects/0-weu-d2-f/views/thumbnail"><Title>Title: f.txt</Title><Description>Description: f.txt</Description><FileSize v="84"/><OriginalName v="f.txt"/><a href="https://login.skype.com/login/sso?go=webclient.xmm&docid=0-weu-d2-f">https://login.skype.com/login/sso?go=webclient.xmm&docid=0-weu-d2-f</a></URIObject>`
	o, err = ParseURIObject(file)
	if err != nil || o.Kind() != URIFile || o.FileSize != 84 || o.Title != "f.txt" || o.Description != "f.txt" || o.DocID != "0-weu-d2-f" {
		t.Fatalf("%v %+v", err, o)
	}
	// Only meta carries the name; an &nbsp; entity; an edit marker after.
	o, err = ParseURIObject(`<URIObject type="Video.1" uri="https://h/v1/objects/0-x"><Title>a&nbsp;b</Title><meta originalName="v.mp4"/></URIObject><e_m ts="1" a="x" t="61"/>`)
	if err != nil || o.Kind() != URIVideo || o.OriginalName != "v.mp4" || o.Title != "a\u00a0b" {
		t.Fatalf("%v %+v", err, o)
	}
	if _, err := ParseURIObject("plain text"); err == nil {
		t.Fatal("accepted a body without URIObject")
	}
	for _, mk := range []func(string, string, string, int64) string{ImageURIObject, FileURIObject} {
		o, err := ParseURIObject(mk("https://api.asm.skype.com/v1/objects/0-weu-d1-z", "0-weu-d1-z", `a "quoted" & <odd>.png`, 42))
		if err != nil || o.DocID != "0-weu-d1-z" || o.OriginalName != `a "quoted" & <odd>.png` || o.FileSize != 42 {
			t.Fatalf("round trip: %v %+v", err, o)
		}
	}
}

func TestSkypeRichTextBuilders(t *testing.T) {
	body := SkypeBold("b") + " " + SkypeMention("8:joe.4", "Joe <B>")
	if body != `<b raw_pre="*" raw_post="*">b</b> <at id="8:joe.4">Joe &lt;B&gt;</at>` {
		t.Fatalf("markup %s", body)
	}
	if !HasSkypeMentions(body) || HasSkypeMentions("no mention") {
		t.Fatal("HasSkypeMentions")
	}
}

func TestEditMarkerRoundTrip(t *testing.T) {
	m := `<e_m ts="1526383416" ts_ms="1526383417250" a="skypename" t="61"/>`
	msg := Message{MessageType: "RichText", Content: "fixed" + m, SkypeEditedID: "123"}
	if !msg.IsEdited() || msg.IsDeleted() || StripEditMarker(msg.Content) != "fixed" {
		t.Fatal("edit not recognised")
	}
	del := Message{MessageType: "RichText", Content: "", SkypeEditedID: "123"}
	if !del.IsDeleted() {
		t.Fatal("empty skypeeditedid message is a deletion")
	}
}

func TestSkypeHorizonForms(t *testing.T) {
	for _, s := range []string{"1451606399999;1451606400000;1451606399999", "1451606399999,1451606400000,1451606399999"} {
		h, ok := ParseHorizon(s)
		if !ok || h.MessageID != "1451606399999" || h.Time.UnixMilli() != 1451606400000 || h.Third != "1451606399999" {
			t.Fatalf("%q: %+v", s, h)
		}
		if h.String() != "1451606399999;1451606400000;1451606399999" {
			t.Fatalf("render %q", h.String())
		}
	}
	if h, ok := ParseHorizon("0;0;0"); !ok || h.MessageID != "" || !h.Time.IsZero() {
		t.Fatalf("initial horizon %+v", h)
	}
}
