package skype

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/skype/skypeemu"
)

// foreignServer records every request it gets and which carried a
// credential header.
type foreignServer struct {
	*httptest.Server
	mu       sync.Mutex
	hits     int
	withCred []string
}

func newForeignServer(t *testing.T) *foreignServer {
	f := &foreignServer{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.hits++
		for name := range r.Header {
			switch strings.ToLower(name) {
			case "authorization", "x-skypetoken", "authentication", "registrationtoken", "cookie":
				f.withCred = append(f.withCred, name)
			}
		}
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write([]byte("\x89PNG\r\n\x1a\nstolen"))
	}))
	t.Cleanup(f.Close)
	return f
}

// viaLocalhost is the server's URL under the name "localhost": another
// host than the 127.0.0.1 the bridge is configured with, without DNS.
func (f *foreignServer) viaLocalhost() string {
	u, _ := url.Parse(f.URL)
	return "http://localhost:" + u.Port()
}

func (f *foreignServer) stats() (int, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits, append([]string(nil), f.withCred...)
}

// Issue 7 item 16: the skypetoken goes only to the configured hosts. A
// message naming an ASM object (URIObject or inline image) on another host
// is bridged as a notice naming it; that host is never contacted.
func TestHardenSkypeMessageURLsElsewhereGetNoToken(t *testing.T) {
	e := newEnv(t)
	e.login()
	evil := newForeignServer(t)
	obj := evil.viaLocalhost() + "/v1/objects/0-weu-d1-0123456789abcdef"
	e.emu.SendTyped(bob, carol, "RichText/UriObject", chatsvc.ImageURIObject(obj, "0-weu-d1-0123456789abcdef", "cat.png", 10))
	e.emu.Send(bob, carol, `look <img src="`+obj+`/views/imgpsh_fullsize" alt="inline.png" itemtype="http://schema.skype.com/AMSImage">`)
	e.emu.Send(bob, carol, "done")
	room := e.dmRoom(bob)
	e.h.WaitFor("bob's last message", func() bool {
		texts := e.texts(room, e.ghost(bob))
		return len(texts) > 0 && texts[len(texts)-1] == "done"
	})
	var notices int
	for _, m := range e.h.Matrix.Messages(room) {
		c := m.Message()
		if m.Sender == e.ghost(bob) && c.MsgType == event.MsgNotice && (strings.Contains(c.Body, "cat.png") || strings.Contains(c.Body, "inline.png")) {
			notices++
		}
		if c.URL != "" || c.File != nil {
			t.Fatalf("a file from the foreign host reached Matrix: %+v", c)
		}
	}
	if notices != 2 {
		t.Fatalf("%d notices naming the two foreign objects, want 2: %q", notices, e.texts(room, e.ghost(bob)))
	}
	if hits, cred := evil.stats(); hits != 0 || len(cred) != 0 {
		t.Fatalf("the foreign host got %d requests, with credentials %v", hits, cred)
	}
}

// lockedBuffer is a log sink tests read while the bridge writes to it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Secrets never reach the logs, at trace level: the typed passwords (right
// and wrong), a pasted skypetoken, and every skypetoken the emulator mints
// (skt-…), through logins, messages both ways, an expired token and a
// restart.
func TestHardenSkypeSecretsNeverLogged(t *testing.T) {
	sink := &lockedBuffer{}
	e := newEnv(t, func(e *env, _ *skypeemu.Options) {
		l := zerolog.New(sink).Level(zerolog.TraceLevel)
		e.log = &l
	})
	e.h.CommandExpect(carolMX, "login skype "+carol+" wrong-pw-123", "refused")
	e.h.CommandExpect(carolMX, "login skype "+carol+" "+carolPass, "Signed in to Skype as Carol Clark")
	e.connected()
	e.emu.Send(bob, carol, "hello")
	room := e.dmRoom(bob)
	e.waitTexts(room, e.ghost(bob), "hello")
	if st := e.status(e.h.SendText(room, carolMX, "hi bob")); st.Status != event.MessageStatusSuccess {
		t.Fatalf("send: %+v", st)
	}
	e.emu.ExpireSkypeTokens(carol)
	e.emu.Send(bob, carol, "after expiry")
	e.waitTexts(room, e.ghost(bob), "hello", "after expiry")
	pasted := e.emu.MintToken(alice)
	e.h.CommandExpect(carolMX, "login skype-token "+pasted, "Signed in to Skype")
	e.restart()
	e.connected()
	e.emu.Send(bob, carol, "after restart")
	e.waitTexts(room, e.ghost(bob), "hello", "after expiry", "after restart")

	logs := sink.String()
	if len(logs) < 1000 {
		t.Fatalf("only %d bytes of logs: the sink is not the bridge's log", len(logs))
	}
	for _, secret := range []string{carolPass, "wrong-pw-123", pasted} {
		if strings.Contains(logs, secret) {
			t.Fatalf("%q is in the logs", secret)
		}
	}
	if found := regexp.MustCompile(`skt-[0-9a-f]{8,}`).FindAllString(logs, 5); len(found) > 0 {
		t.Fatalf("skypetokens in the logs: %q", found)
	}
}
