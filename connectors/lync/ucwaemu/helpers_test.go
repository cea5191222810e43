package ucwaemu

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

var epoch = time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)

type env struct {
	t     *testing.T
	emu   *Emulator
	srv   *httptest.Server
	clock *FakeClock
}

// newEnv starts an emulator on a fake clock with alice (the UCWA user),
// bob and carol (emulated colleagues).
func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	clock := NewFakeClock(epoch)
	if opts.Clock == nil {
		opts.Clock = clock
	}
	emu := New(opts)
	srv := httptest.NewServer(emu)
	t.Cleanup(func() {
		emu.Close()
		srv.Close()
	})
	for _, u := range [][3]string{
		{"sip:alice@contoso.com", "Alice Example", "alice-pw"},
		{"sip:bob@contoso.com", "Bob Example", ""},
		{"sip:carol@contoso.com", "Carol Example", ""},
	} {
		if err := emu.AddUser(u[0], u[1], u[2]); err != nil {
			t.Fatal(err)
		}
	}
	return &env{t: t, emu: emu, srv: srv, clock: clock}
}

// raw is a hand-written UCWA client so emulator tests see the wire as is.
type raw struct {
	t      *testing.T
	base   string
	token  string
	app    map[string]any
	appID  string
	events string // next events href
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("status %d, body %q: %v", r.status, r.body, err)
	}
	return v
}

func (c *raw) do(method, href, contentType string, body []byte) reply {
	c.t.Helper()
	return c.doCtx(context.Background(), method, href, contentType, body)
}

func (c *raw) doCtx(ctx context.Context, method, href, contentType string, body []byte) reply {
	c.t.Helper()
	if !strings.HasPrefix(href, "http") {
		href = c.base + href
	}
	req, err := http.NewRequestWithContext(ctx, method, href, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{status: -1, body: []byte(err.Error())}
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: data}
}

func (c *raw) postJSON(href string, v any) reply {
	c.t.Helper()
	b, _ := json.Marshal(v)
	return c.do(http.MethodPost, href, "application/json", b)
}

// login signs in and creates an application.
func (e *env) login(user, password string) *raw {
	t := e.t
	t.Helper()
	c := &raw{t: t, base: e.srv.URL}
	form := url.Values{"grant_type": {"password"}, "username": {user}, "password": {password}}
	r := c.do(http.MethodPost, "/WebTicket/oauthtoken", "application/x-www-form-urlencoded", []byte(form.Encode()))
	if r.status != http.StatusOK {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	c.token = r.json(t)["access_token"].(string)
	r = c.postJSON(appsPath, map[string]string{"userAgent": "test/1", "endpointId": "ep-" + user, "culture": "en-US"})
	if r.status != http.StatusCreated {
		t.Fatalf("create app: %d %s", r.status, r.body)
	}
	c.app = r.json(t)
	c.events = dig(c.app, "_links", "events", "href").(string)
	self := dig(c.app, "_links", "self", "href").(string)
	c.appID = self[strings.LastIndex(self, "/")+1:]
	return c
}

// available logs in and calls makeMeAvailable, draining its events.
func (e *env) available(user, password string, formats ...string) *raw {
	c := e.login(user, password)
	if len(formats) == 0 {
		formats = []string{"Plain", "Html"}
	}
	r := c.postJSON(c.meLink("makeMeAvailable"), map[string]any{"supportedModalities": []string{"Messaging"}, "supportedMessageFormats": formats})
	if r.status != http.StatusNoContent {
		e.t.Fatalf("makeMeAvailable: %d %s", r.status, r.body)
	}
	c.poll()
	return c
}

func (c *raw) meLink(rel string) string {
	return dig(c.app, "_embedded", "me", "_links", rel, "href").(string)
}

func (c *raw) commLink(rel string) string {
	return dig(c.app, "_embedded", "communication", "_links", rel, "href").(string)
}

// poll GETs the current events URL and follows next; it fails the test
// on anything but a batch.
func (c *raw) poll() map[string]any {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := c.doCtx(ctx, http.MethodGet, c.events, "", nil)
	if r.status != http.StatusOK {
		c.t.Fatalf("poll %s: %d %s", c.events, r.status, r.body)
	}
	b := r.json(c.t)
	if next, ok := dig(b, "_links", "next", "href").(string); ok {
		c.events = next
	} else if resume, ok := dig(b, "_links", "resume", "href").(string); ok {
		c.events = resume
	}
	return b
}

// ev is one flattened event.
type ev struct {
	sender string
	typ    string
	rel    string
	href   string
	raw    map[string]any
}

func events(batch map[string]any) []ev {
	var out []ev
	senders, _ := batch["sender"].([]any)
	for _, s := range senders {
		sm := s.(map[string]any)
		for _, e := range sm["events"].([]any) {
			em := e.(map[string]any)
			out = append(out, ev{
				sender: sm["rel"].(string), typ: em["type"].(string),
				rel: dig(em, "link", "rel").(string), href: dig(em, "link", "href").(string), raw: em,
			})
		}
	}
	return out
}

// pollUntil polls until an event with rel and type arrives and returns
// every event seen so far.
func (c *raw) pollUntil(rel, typ string) []ev {
	c.t.Helper()
	var seen []ev
	for range 20 {
		for _, e := range events(c.poll()) {
			seen = append(seen, e)
			if e.rel == rel && e.typ == typ {
				return seen
			}
		}
	}
	c.t.Fatalf("no %s %s event; saw %v", rel, typ, summary(seen))
	return nil
}

func find(evs []ev, rel, typ string) (ev, bool) {
	for _, e := range evs {
		if e.rel == rel && e.typ == typ {
			return e, true
		}
	}
	return ev{}, false
}

func summary(evs []ev) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.sender+":"+e.rel+"/"+e.typ)
	}
	return out
}

// dig walks nested JSON objects.
func dig(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
