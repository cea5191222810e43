package chatsvc_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// Wire tests against raw answers shaped like the references' examples
// (teams-web.md, skype-web.md), each variant a sources list, with and
// without optional parts. The server records what the client sent.

type seen struct {
	method, path, query string
	header              http.Header
	body                map[string]any
}

type wire struct {
	mu   sync.Mutex
	reqs []seen
	// answer writes the reply to request n (from 0).
	answer func(n int, w http.ResponseWriter, r *http.Request)
}

func newWire(t *testing.T, flavor chatsvc.Flavor, answer func(n int, w http.ResponseWriter, r *http.Request)) (*wire, *chatsvc.Client, *[]time.Duration) {
	t.Helper()
	wr := &wire{answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		wr.mu.Lock()
		n := len(wr.reqs)
		wr.reqs = append(wr.reqs, seen{method: r.Method, path: r.URL.EscapedPath(), query: r.URL.RawQuery, header: r.Header.Clone(), body: body})
		wr.mu.Unlock()
		wr.answer(n, w, r)
	}))
	t.Cleanup(srv.Close)
	header, prefix := chatsvc.TeamsAuthHeader, chatsvc.TeamsAuthPrefix
	if flavor == chatsvc.FlavorSkype {
		header, prefix = chatsvc.SkypeAuthHeader, chatsvc.SkypeAuthPrefix
	}
	var waits []time.Duration
	var wmu sync.Mutex
	c, err := chatsvc.New(chatsvc.Config{BaseURL: srv.URL, AuthHeader: header, AuthPrefix: prefix, Tokens: chatsvc.StaticToken("tok"),
		AllowInsecureHTTP: true, Now: func() time.Time { return wireNow },
		Sleep: func(ctx context.Context, d time.Duration) error {
			wmu.Lock()
			waits = append(waits, d)
			wmu.Unlock()
			return ctx.Err()
		}})
	if err != nil {
		t.Fatal(err)
	}
	return wr, c, &waits
}

var wireNow = time.Date(2026, 10, 7, 13, 41, 3, 0, time.UTC)

func (wr *wire) requests() []seen {
	wr.mu.Lock()
	defer wr.mu.Unlock()
	return append([]seen(nil), wr.reqs...)
}

func keys(m map[string]any) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}

// TestSendAnswerVariants: the new message's id comes from Location when it
// names a message (absolute, relative or escaped), else from
// OriginalArrivalTime as number or string (teams-web §2.4, §9; skype-web §6.2).
func TestSendAnswerVariants(t *testing.T) {
	for _, tc := range []struct {
		name, location, body string
		status               int
		id                   string
		oat                  int64
		fails                bool
	}{
		{name: "reference: 201, Location and OriginalArrivalTime", status: 201, body: `{"OriginalArrivalTime":1769191432285}`,
			location: "https://emea.ng.msg.teams.microsoft.com/v1/users/ME/conversations/19%3Aabc%40thread.v2/messages/1769191432285", id: "1769191432285", oat: 1769191432285},
		{name: "Location only, empty body", status: 201, location: "https://h/v1/users/ME/conversations/8:joe.4/messages/1451606400000", id: "1451606400000"},
		{name: "relative Location", status: 201, location: "/v1/users/ME/conversations/8:joe.4/messages/1451606400001", body: `{}`, id: "1451606400001"},
		{name: "Location with trailing slash", status: 201, location: "https://h/v1/users/ME/conversations/8:joe.4/messages/1451606400002/", id: "1451606400002"},
		{name: "OriginalArrivalTime only (YS)", status: 201, body: `{"OriginalArrivalTime":1769191432285}`, id: "1769191432285", oat: 1769191432285},
		{name: "OriginalArrivalTime as string, skpy 200", status: 200, body: `{"OriginalArrivalTime":"1451606400000"}`, id: "1451606400000", oat: 1451606400000},
		{name: "Location naming the conversation, not a message", status: 201, body: `{"OriginalArrivalTime":1769191432286}`,
			location: "https://h/v1/users/ME/conversations/19:abc@thread.v2", id: "1769191432286", oat: 1769191432286},
		{name: "ISO OriginalArrivalTime is a time, not an id", status: 201, body: `{"OriginalArrivalTime":"2026-10-07T13:41:02.9790000Z"}`,
			location: "https://h/v1/users/ME/conversations/19:abc@thread.v2/messages/1791380462979", id: "1791380462979", oat: 1791380462979},
		{name: "no id at all", status: 201, body: `{"OriginalArrivalTime":"2026-10-07T13:41:02.979Z"}`, fails: true},
		{name: "nothing", status: 201, fails: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c, _ := newWire(t, chatsvc.FlavorTeams, func(_ int, w http.ResponseWriter, _ *http.Request) {
				if tc.location != "" {
					w.Header().Set("Location", tc.location)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			})
			res, err := c.Send(context.Background(), "19:abc@thread.v2", chatsvc.Outgoing{Content: "<p>hi</p>", ClientMessageID: "1769191432001"})
			if tc.fails {
				if !errors.Is(err, chatsvc.ErrMalformedResponse) {
					t.Fatalf("want ErrMalformedResponse, got %+v %v", res, err)
				}
				return
			}
			if err != nil || res.ID != tc.id || res.ClientMessageID != "1769191432001" || res.OriginalArrivalTime.UnixMilli() != tc.oat && tc.oat != 0 {
				t.Fatalf("%+v %v", res, err)
			}
		})
	}
}

// TestBodiesPerFlavor: what goes out is the reference's recommended body:
// Teams' six-field send and soft delete, skpy's send without properties
// and its plain DELETE, and each product's thread creation.
func TestBodiesPerFlavor(t *testing.T) {
	for _, tc := range []struct {
		flavor                  chatsvc.Flavor
		sendKeys, propKeys      string
		deleteQuery             string
		threadProps, editKeys   string
		typingContentType, auth string
	}{
		{flavor: chatsvc.FlavorTeams, sendKeys: "clientmessageid,content,contenttype,imdisplayname,messagetype,properties", propKeys: "importance,subject",
			deleteQuery: "behavior=softDelete", threadProps: "chatFilesIndexId,threadType,topic", editKeys: "content,contenttype,imdisplayname,messagetype,properties",
			auth: "Authentication"},
		{flavor: chatsvc.FlavorSkype, sendKeys: "Has-Mentions,clientmessageid,content,contenttype,imdisplayname,messagetype",
			deleteQuery: "", threadProps: "moderatedthread", editKeys: "Has-Mentions,content,contenttype,imdisplayname,messagetype",
			auth: "Registrationtoken"},
	} {
		t.Run(map[chatsvc.Flavor]string{chatsvc.FlavorTeams: "teams", chatsvc.FlavorSkype: "skype"}[tc.flavor], func(t *testing.T) {
			wr, c, _ := newWire(t, tc.flavor, func(_ int, w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					w.Header().Set("Location", "https://h/v1/users/ME/conversations/x/messages/1451606400000")
					if strings.HasSuffix(r.URL.Path, "/threads") {
						w.Header().Set("Location", "https://h/v1/threads/19:new@thread.skype")
					}
					w.WriteHeader(201)
				}
			})
			ctx := context.Background()
			var fields map[string]any
			var props map[string]any
			if tc.flavor == chatsvc.FlavorSkype {
				fields = map[string]any{"Has-Mentions": "false"}
				props = map[string]any{"moderatedthread": false}
			}
			if _, err := c.Send(ctx, "8:joe.4", chatsvc.Outgoing{Content: "hi", DisplayName: "Fred Adams", Fields: fields}); err != nil {
				t.Fatal(err)
			}
			if err := c.Edit(ctx, "8:joe.4", "1451606400000", chatsvc.Outgoing{Content: "hi!", DisplayName: "Fred Adams", Fields: fields}); err != nil {
				t.Fatal(err)
			}
			if err := c.Delete(ctx, "8:joe.4", "1451606400000"); err != nil {
				t.Fatal(err)
			}
			if _, err := c.CreateThread(ctx, chatsvc.NewThread{Self: "8:fred.2", Members: []string{"8:joe.4"}, Topic: "Team chat", Properties: props}); err != nil {
				t.Fatal(err)
			}
			reqs := wr.requests()
			if want := map[chatsvc.Flavor]int{chatsvc.FlavorTeams: 4, chatsvc.FlavorSkype: 5}[tc.flavor]; len(reqs) != want {
				t.Fatalf("%d requests, want %d", len(reqs), want)
			}
			send, edit, del, thread := reqs[0], reqs[1], reqs[2], reqs[3]
			if tc.flavor == chatsvc.FlavorSkype {
				// skpy names the chat afterwards.
				if r := reqs[4]; r.method != http.MethodPut || r.path != "/v1/threads/19%3Anew%40thread.skype/properties" || r.query != "name=topic" || r.body["topic"] != "Team chat" {
					t.Errorf("topic %s %s?%s %v", r.method, r.path, r.query, r.body)
				}
			}
			if got := keys(send.body); got != tc.sendKeys {
				t.Errorf("send fields %s, want %s", got, tc.sendKeys)
			}
			if p, _ := send.body["properties"].(map[string]any); keys(p) != tc.propKeys {
				t.Errorf("send properties %v", send.body["properties"])
			}
			if send.body["contenttype"] != "text" || send.body["messagetype"] != "RichText/Html" && tc.flavor == chatsvc.FlavorTeams {
				t.Errorf("send %v", send.body)
			}
			if got := keys(edit.body); got != tc.editKeys || edit.method != http.MethodPut {
				t.Errorf("edit %s fields %s, want %s", edit.method, got, tc.editKeys)
			}
			if del.method != http.MethodDelete || del.query != tc.deleteQuery || del.path != "/v1/users/ME/conversations/8%3Ajoe.4/messages/1451606400000" {
				t.Errorf("delete %s %s?%s", del.method, del.path, del.query)
			}
			if p, _ := thread.body["properties"].(map[string]any); keys(p) != tc.threadProps {
				t.Errorf("thread properties %v, want %s", thread.body["properties"], tc.threadProps)
			}
			for _, r := range reqs {
				if r.header.Get(tc.auth) == "" || r.header.Get("Accept") != "application/json" {
					t.Errorf("%s %s headers %v", r.method, r.path, r.header)
				}
			}
		})
	}
}

// TestEditDeleteAnswers: skpy reads an errorCode in a 2xx edit/delete
// answer as failure (skype-web §6.3); the usual answers are success.
func TestEditDeleteAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		fails      bool
	}{
		{name: "skype edittime", body: `{"edittime":1451606400500}`},
		{name: "skype deletetime", body: `{"deletetime":1451606400600}`},
		{name: "teams null", body: `null`},
		{name: "empty", body: ``},
		{name: "errorCode in a 200", body: `{"errorCode":"BlockedContent","message":"Failure due to: BlockedContent"}`, fails: true},
		{name: "numeric errorCode in a 200", body: `{"errorCode":403,"message":"not yours"}`, fails: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c, _ := newWire(t, chatsvc.FlavorSkype, func(_ int, w http.ResponseWriter, _ *http.Request) {
				_, _ = io.WriteString(w, tc.body)
			})
			errEdit := c.Edit(context.Background(), "8:joe.4", "1", chatsvc.Outgoing{Content: "x"})
			errDel := c.Delete(context.Background(), "8:joe.4", "1")
			for _, err := range []error{errEdit, errDel} {
				var e *chatsvc.Error
				if tc.fails != (err != nil) || tc.fails && (!errors.As(err, &e) || e.Message == "") {
					t.Fatalf("err %v", err)
				}
			}
		})
	}
}

// TestErrorBodies: every error shape of the references maps to the status
// sentinel with its code and message: the classic body, problem+json
// (newer gateways, SkPy#299), the authz-style status object, and text.
func TestErrorBodies(t *testing.T) {
	for _, tc := range []struct {
		name, ctype, body string
		status            int
		is                error
		code, msg         string
	}{
		{name: "classic", status: 403, body: `{"errorCode":"Forbidden","message":"Cannot edit another user's message"}`, is: chatsvc.ErrForbidden,
			code: "Forbidden", msg: "Cannot edit another user's message"},
		{name: "numeric errorCode", status: 404, body: `{"errorCode":729,"message":"You must create an endpoint before performing this operation"}`,
			is: chatsvc.ErrNotFound, code: "729", msg: "You must create an endpoint before performing this operation"},
		{name: "problem+json", status: 403, ctype: "application/problem+json",
			body: `{"type":"https://tools.ietf.org/html/rfc7231#section-6.5.3","title":"Forbidden","status":403,"detail":"Endpoint creation is not allowed"}`,
			is:   chatsvc.ErrForbidden, code: "https://tools.ietf.org/html/rfc7231#section-6.5.3", msg: "Endpoint creation is not allowed"},
		{name: "problem+json title only", status: 400, ctype: "application/problem+json", body: `{"title":"Bad Request","status":400}`,
			is: chatsvc.ErrBadRequest, msg: "Bad Request"},
		{name: "status object", status: 401, body: `{"status":{"code":40120,"text":"Authentication failed. Bad username or password."}}`,
			is: chatsvc.ErrUnauthorized, code: "40120", msg: "Authentication failed. Bad username or password."},
		{name: "html", status: 404, ctype: "text/html", body: `<html>Not Found</html>`, is: chatsvc.ErrNotFound, msg: "<html>Not Found</html>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c, _ := newWire(t, chatsvc.FlavorTeams, func(_ int, w http.ResponseWriter, _ *http.Request) {
				if tc.ctype != "" {
					w.Header().Set("Content-Type", tc.ctype)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			})
			_, err := c.Message(context.Background(), "19:a@thread.v2", "1")
			var e *chatsvc.Error
			if !errors.Is(err, tc.is) || !errors.As(err, &e) || e.Code != tc.code || e.Message != tc.msg {
				t.Fatalf("%v (%+v)", err, e)
			}
		})
	}
}

// TestRetryAfterForms: a 429 (or 503) waits what Retry-After says, as
// seconds or as an HTTP-date, then retries the same body.
func TestRetryAfterForms(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		status      int
		want        time.Duration
	}{
		{name: "seconds", status: 429, value: "3", want: 3 * time.Second},
		{name: "HTTP-date", status: 429, value: wireNow.Add(7 * time.Second).Format(http.TimeFormat), want: 7 * time.Second},
		{name: "date in the past", status: 503, value: wireNow.Add(-time.Hour).Format(http.TimeFormat), want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wr, c, waits := newWire(t, chatsvc.FlavorTeams, func(n int, w http.ResponseWriter, _ *http.Request) {
				if n == 0 {
					w.Header().Set("Retry-After", tc.value)
					w.WriteHeader(tc.status)
					_, _ = io.WriteString(w, `{"errorCode":"TooManyRequests","message":"slow down"}`)
					return
				}
				w.WriteHeader(201)
				_, _ = io.WriteString(w, `{"OriginalArrivalTime":1769429691997}`)
			})
			res, err := c.Send(context.Background(), "19:a@thread.v2", chatsvc.Outgoing{Content: "x"})
			if err != nil || res.ID != "1769429691997" {
				t.Fatalf("%+v %v", res, err)
			}
			reqs := wr.requests()
			if len(*waits) != 1 || (*waits)[0] != tc.want || len(reqs) != 2 || reqs[0].body["clientmessageid"] != reqs[1].body["clientmessageid"] {
				t.Fatalf("waits %v, %d requests", *waits, len(reqs))
			}
		})
	}
}

// TestHistoryPagingVariants: older pages are found through backwardLink
// (Teams), through _metadata.syncState alone (skpy follows it, skype-web
// §7.2), through a bare syncState value, and, when a full page names no
// link at all, with endTime before its oldest message (purple-teams,
// teams-web §2.2). Every request goes to the client's own host.
func TestHistoryPagingVariants(t *testing.T) {
	msg := func(id int64) string {
		return `{"id":"` + itoa(id) + `","version":"` + itoa(id) + `","type":"Message","messagetype":"RichText/Html","contenttype":"text","content":"m",` +
			`"from":"https://h/v1/users/ME/contacts/8:live:bob","composetime":"` + time.UnixMilli(id).UTC().Format("2006-01-02T15:04:05.000Z") + `",` +
			`"originalarrivaltime":"` + time.UnixMilli(id).UTC().Format("2006-01-02T15:04:05.0000000Z") + `"}`
	}
	page := func(ids []int64, meta string) string {
		var parts []string
		for _, id := range ids {
			parts = append(parts, msg(id))
		}
		return `{"messages":[` + strings.Join(parts, ",") + `],"_metadata":{` + meta + `}}`
	}
	base := int64(1451606400000)
	for _, tc := range []struct {
		name   string
		flavor chatsvc.Flavor
		pages  []string // answers in order
		// wantQuery is in the query of the second request
		wantQuery string
	}{
		{name: "teams backwardLink", flavor: chatsvc.FlavorTeams, pages: []string{
			page([]int64{base + 3, base + 2}, `"backwardLink":"https://other.example/v1/users/ME/conversations/8:joe.4/messages?startTime=1&pageSize=2&syncState=older1","syncState":"https://other.example/x?syncState=forward"`),
			page([]int64{base + 1, base}, `"syncState":"https://other.example/x?syncState=forward2","lastCompleteSegmentStartTime":1,"lastCompleteSegmentEndTime":1618133509362`),
			page(nil, ``),
		}, wantQuery: "syncState=older1"},
		{name: "skype syncState only", flavor: chatsvc.FlavorSkype, pages: []string{
			page([]int64{base + 3, base + 2}, `"syncState":"https://db4-client-s.gateway.messenger.live.com/v1/users/ME/conversations/8:joe.4/messages?syncState=skpy1&view=msnp24Equivalent","totalCount":4`),
			page([]int64{base + 1, base}, `"syncState":"https://db4-client-s.gateway.messenger.live.com/v1/users/ME/conversations/8:joe.4/messages?syncState=skpy2"`),
			page(nil, `"syncState":"https://db4-client-s.gateway.messenger.live.com/x?syncState=skpy3"`),
		}, wantQuery: "syncState=skpy1"},
		{name: "skype bare syncState", flavor: chatsvc.FlavorSkype, pages: []string{
			page([]int64{base + 3, base + 2}, `"syncState":"3e3000bare"`),
			page([]int64{base + 1, base}, ``),
			page(nil, ``),
		}, wantQuery: "syncState=3e3000bare"},
		{name: "teams full pages without links", flavor: chatsvc.FlavorTeams, pages: []string{
			page([]int64{base + 3, base + 2}, `"lastCompleteSegmentStartTime":1,"lastCompleteSegmentEndTime":1618133509362`),
			page([]int64{base + 1, base}, ``),
			page(nil, ``),
		}, wantQuery: "endTime=" + itoa(base+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wr, c, _ := newWire(t, tc.flavor, func(n int, w http.ResponseWriter, _ *http.Request) {
				if n < len(tc.pages) {
					_, _ = io.WriteString(w, tc.pages[n])
					return
				}
				_, _ = io.WriteString(w, page(nil, ``))
			})
			got, err := c.MessagesSince(context.Background(), "8:joe.4", time.UnixMilli(base-1), 2)
			if err != nil || len(got) != 4 || got[0].ID.Int() != base || got[3].ID.Int() != base+3 {
				t.Fatalf("%d messages %v", len(got), err)
			}
			reqs := wr.requests()
			if len(reqs) < 2 || !strings.Contains(reqs[1].query, tc.wantQuery) || len(reqs) > len(tc.pages) {
				t.Fatalf("%d requests, second %q, want %q", len(reqs), reqs[min(1, len(reqs)-1)].query, tc.wantQuery)
			}
			for _, r := range reqs {
				if !strings.HasPrefix(r.path, "/v1/users/ME/conversations/8%3Ajoe.4/messages") || !strings.Contains(r.query, "startTime="+itoa(base-1)) {
					t.Fatalf("request %s?%s", r.path, r.query)
				}
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestRequestShapes pins method, path, query and body of every other call
// to the forms teams-web §2.6-§2.8 and skype-web §7 give.
func TestRequestShapes(t *testing.T) {
	const conv = "19:uni01_abc@thread.v2"
	const esc = "19%3Auni01_abc%40thread.v2"
	for _, tc := range []struct {
		name                string
		call                func(c *chatsvc.Client) error
		method, path, query string
		body                string
	}{
		{name: "add reaction", call: func(c *chatsvc.Client) error {
			return c.AddReaction(context.Background(), conv, "1769429691000", "like")
		},
			method: "PUT", path: "/v1/users/ME/conversations/" + esc + "/messages/1769429691000/properties", query: "name=emotions",
			body: `{"emotions":{"key":"like","value":` + itoa(wireNow.UnixMilli()) + `}}`},
		{name: "remove reaction", call: func(c *chatsvc.Client) error {
			return c.RemoveReaction(context.Background(), conv, "1769429691000", "like")
		},
			method: "DELETE", path: "/v1/users/ME/conversations/" + esc + "/messages/1769429691000/properties", query: "name=emotions", body: `{"emotions":{"key":"like"}}`},
		{name: "typing", call: func(c *chatsvc.Client) error { return c.Typing(context.Background(), conv) },
			method: "POST", path: "/v1/users/ME/conversations/" + esc + "/messages", body: `{"content":"","contenttype":"Application/Message","messagetype":"Control/Typing"}`},
		{name: "mark read", call: func(c *chatsvc.Client) error {
			return c.SetConsumptionHorizon(context.Background(), conv, chatsvc.Horizon{MessageID: "1769191432285", Third: "3669409457167652347"})
		}, method: "PUT", path: "/v1/users/ME/conversations/" + esc + "/properties", query: "name=consumptionhorizon",
			body: `{"consumptionhorizon":"1769191432285;` + itoa(wireNow.UnixMilli()) + `;3669409457167652347"}`},
		{name: "add member", call: func(c *chatsvc.Client) error { return c.AddMember(context.Background(), conv, "8:orgid:b", "") },
			method: "PUT", path: "/v1/threads/" + esc + "/members/8%3Aorgid%3Ab", body: `{"role":"User"}`},
		{name: "remove member", call: func(c *chatsvc.Client) error { return c.RemoveMember(context.Background(), conv, "8:orgid:b") },
			method: "DELETE", path: "/v1/threads/" + esc + "/members/8%3Aorgid%3Ab"},
		{name: "topic", call: func(c *chatsvc.Client) error { return c.SetTopic(context.Background(), conv, "Project") },
			method: "PUT", path: "/v1/threads/" + esc + "/properties", query: "name=topic", body: `{"topic":"Project"}`},
		{name: "reply chain escaped", call: func(c *chatsvc.Client) error {
			_, err := c.Message(context.Background(), chatsvc.ReplyChainID("19:10dd@thread.tacv2", "1618133509362"), "1618133509400")
			return err
		}, method: "GET", path: "/v1/users/ME/conversations/19%3A10dd%40thread.tacv2%3Bmessageid%3D1618133509362/messages/1618133509400"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wr, c, _ := newWire(t, chatsvc.FlavorTeams, func(_ int, w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet {
					_, _ = io.WriteString(w, `{"id":"1618133509400","messagetype":"Text","content":"x"}`)
				}
			})
			if err := tc.call(c); err != nil {
				t.Fatal(err)
			}
			r := wr.requests()[0]
			got := ""
			if r.body != nil {
				b, _ := json.Marshal(r.body)
				got = string(b)
			}
			if r.method != tc.method || r.path != tc.path || r.query != tc.query || got != tc.body {
				t.Fatalf("%s %s?%s %s", r.method, r.path, r.query, got)
			}
		})
	}
}

// TestReadHorizonsAndConversationPages: GET consumptionhorizons with every
// third-field variant, and conversation pages continued by backwardLink or
// by a full page's syncState, URL or bare.
func TestReadHorizonsAndConversationPages(t *testing.T) {
	_, c, _ := newWire(t, chatsvc.FlavorTeams, func(_ int, w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"id":"19:a@thread.v2","version":"1769191500000","consumptionhorizons":[
			{"id":"8:orgid:a","consumptionhorizon":"1769191432285;1769191500000;3669409457167652347","messageVisibilityTime":1769191400000},
			{"id":"8:orgid:b","consumptionhorizon":"1769191432285;1769191500001;1769191432285"},
			{"id":"8:orgid:c","consumptionhorizon":"1769191432285;1769191500002;0"},
			{"id":"8:orgid:d","consumptionhorizon":""}]}`)
	})
	hs, err := c.ConsumptionHorizons(context.Background(), "19:a@thread.v2")
	if err != nil || len(hs) != 3 {
		t.Fatalf("%+v %v", hs, err)
	}
	for i, third := range []string{"3669409457167652347", "1769191432285", "0"} {
		if hs[i].Horizon.MessageID != "1769191432285" || hs[i].Horizon.Third != third || hs[i].Horizon.Time.UnixMilli() != 1769191500000+int64(i) {
			t.Fatalf("%d: %+v", i, hs[i])
		}
	}
	for _, tc := range []struct{ name, meta, want string }{
		{name: "backwardLink", meta: `"backwardLink":"https://x/v1/users/ME/conversations?pageSize=2&syncState=back"`, want: "back"},
		{name: "syncState URL", meta: `"syncState":"https://x/v1/users/ME/conversations?syncState=s1&view=msnp24Equivalent","totalCount":25`, want: "s1"},
		{name: "bare syncState", meta: `"syncState":"3e3000s2"`, want: "3e3000s2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c, _ := newWire(t, chatsvc.FlavorTeams, func(_ int, w http.ResponseWriter, _ *http.Request) {
				_, _ = io.WriteString(w, `{"conversations":[{"id":"19:a@thread.v2"},{"id":"8:joe.4"}],"_metadata":{`+tc.meta+`}}`)
			})
			p, err := c.Conversations(context.Background(), chatsvc.ConversationsQuery{PageSize: 2})
			if err != nil || p.SyncState != tc.want || len(p.Conversations) != 2 {
				t.Fatalf("%+v %v", p, err)
			}
		})
	}
}

// TestListViewsAndMentionsProperty: each product's list views, and
// properties.mentions as the JSON string of entries whose itemid is a
// number (teams-web §2.4).
func TestListViewsAndMentionsProperty(t *testing.T) {
	for flavor, want := range map[chatsvc.Flavor][2]string{
		chatsvc.FlavorTeams: {"msnp24Equivalent", "msnp24Equivalent|supportsMessageProperties"},
		chatsvc.FlavorSkype: {"supportsExtendedHistory|msnp24Equivalent", "supportsExtendedHistory|msnp24Equivalent|supportsMessageProperties"},
	} {
		wr, c, _ := newWire(t, flavor, func(_ int, w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `{}`) })
		if _, err := c.Conversations(context.Background(), chatsvc.ConversationsQuery{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Messages(context.Background(), "8:joe.4", chatsvc.MessagesQuery{}); err != nil {
			t.Fatal(err)
		}
		reqs := wr.requests()
		for i, r := range reqs {
			q, _ := url.ParseQuery(r.query)
			if q.Get("view") != want[i] {
				t.Fatalf("flavor %d request %d view %q, want %q", flavor, i, q.Get("view"), want[i])
			}
		}
	}
	wr, c, _ := newWire(t, chatsvc.FlavorTeams, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Location", "https://h/v1/users/ME/conversations/x/messages/1")
		w.WriteHeader(201)
	})
	if _, err := c.Send(context.Background(), "19:a@thread.v2", chatsvc.Outgoing{Content: "x", Mentions: []chatsvc.Mention{
		{ItemID: "0", MRI: "8:orgid:j", DisplayName: "Jane Doe"}, {ItemID: "1", MRI: "8:orgid:k", MentionType: "person", DisplayName: "Kim"}}}); err != nil {
		t.Fatal(err)
	}
	props, _ := wr.requests()[0].body["properties"].(map[string]any)
	s, ok := props["mentions"].(string)
	var entries []map[string]any
	if !ok || json.Unmarshal([]byte(s), &entries) != nil || len(entries) != 2 {
		t.Fatalf("mentions property %#v", props["mentions"])
	}
	for i, e := range entries {
		if e["@type"] != "http://schema.skype.com/Mention" || e["itemid"] != float64(i) || e["mentionType"] != "person" || e["mri"] == "" || e["displayName"] == "" {
			t.Fatalf("entry %d %v", i, e)
		}
	}
}

// TestRedirectNeverCarriesTheCredential: a redirect to another host is not
// followed with the chat-service credential (Go forwards every header but
// Authorization and cookies); one on the same host is.
func TestRedirectNeverCarriesTheCredential(t *testing.T) {
	var foreignHits, leaked int
	var mu sync.Mutex
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		foreignHits++
		if r.Header.Get("Authentication") != "" || r.Header.Get("RegistrationToken") != "" {
			leaked++
		}
		mu.Unlock()
		_, _ = io.WriteString(w, `{"id":"1","messagetype":"Text","content":"x"}`)
	}))
	t.Cleanup(foreign.Close)
	for _, flavor := range []chatsvc.Flavor{chatsvc.FlavorTeams, chatsvc.FlavorSkype} {
		_, c, _ := newWire(t, flavor, func(_ int, w http.ResponseWriter, r *http.Request) {
			switch {
			case strings.HasSuffix(r.URL.Path, "/messages/1"):
				http.Redirect(w, r, foreign.URL+r.URL.Path, http.StatusFound)
			case strings.HasSuffix(r.URL.Path, "/messages/2"):
				http.Redirect(w, r, strings.Replace(r.URL.Path, "/messages/2", "/messages/3", 1), http.StatusFound)
			default:
				if r.Header.Get("Authentication") == "" && r.Header.Get("RegistrationToken") == "" {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				_, _ = io.WriteString(w, `{"id":"3","messagetype":"Text","content":"x"}`)
			}
		})
		if _, err := c.Message(context.Background(), "8:joe.4", "1"); err == nil {
			t.Fatal("cross-host redirect followed")
		}
		if m, err := c.Message(context.Background(), "8:joe.4", "2"); err != nil || m.ID != "3" {
			t.Fatalf("same-host redirect: %+v %v", m, err)
		}
	}
	if foreignHits != 0 || leaked != 0 {
		t.Fatalf("foreign host hit %d times, %d with the credential", foreignHits, leaked)
	}
}
