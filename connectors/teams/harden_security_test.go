package teams

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/connectors/teams/teamsapi"
	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
)

// Issue 7 item 16: Teams tokens go only to the hosts the sign-in named. An
// inline image whose src points at another host is fetched by its object
// id from the account's own AMS; the other host is never contacted, with
// or without credentials.
func TestHardenTeamsImageURLElsewhereGetsNoToken(t *testing.T) {
	var mu sync.Mutex
	var hits int
	var creds []string
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		hits++
		for name := range r.Header {
			switch strings.ToLower(name) {
			case "authorization", "x-skypetoken", "authentication", "registrationtoken", "cookie":
				creds = append(creds, name)
			}
		}
		_, _ = w.Write([]byte("\x89PNG\r\n\x1a\nstolen"))
	}))
	t.Cleanup(evil.Close)
	u, _ := url.Parse(evil.URL)
	elsewhere := "http://localhost:" + u.Port() // not the 127.0.0.1 the bridge is configured with

	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	obj := e.emu.UploadObject(e.bob.MRI, dm, teamsapi.AMSImage, "cat.png", "image/png", pngBytes)
	e.emu.SendWith(e.bob.MRI, dm, "<p>look</p>"+teamsapi.ImageHTML(elsewhere+"/ams", obj), teamsemu.SendOptions{AMSReferences: []string{obj}})
	e.emu.SendWith(e.bob.MRI, dm, `<p>and</p><img src="`+elsewhere+`/ams/v1/objects/0-wus-d1-nothere/views/imgo" itemtype="http://schema.skype.com/AMSImage">`, teamsemu.SendOptions{})
	e.emu.SendText(e.bob.MRI, dm, "done")
	room := e.room(e.me, dm)
	e.h.WaitFor("bob's last message", func() bool {
		texts := e.texts(room, e.ghost(e.bob))
		return len(texts) > 0 && texts[len(texts)-1] == "done"
	})
	var images, notices int
	for _, m := range e.h.Matrix.Messages(room) {
		mc := m.Message()
		if m.Sender != e.ghost(e.bob) || mc == nil {
			continue
		}
		switch {
		case mc.MsgType == event.MsgImage:
			if data, ok := e.h.Matrix.Media(mc.URL); !ok || !bytes.Equal(data, pngBytes) {
				t.Fatalf("the image in Matrix is %q, not the account's AMS object", data)
			}
			images++
		case mc.MsgType == event.MsgNotice && strings.Contains(mc.Body, "could not be bridged"):
			notices++
		}
	}
	if images != 1 || notices != 1 {
		t.Fatalf("%d images from AMS and %d notices, want 1 and 1: %q", images, notices, e.texts(room, e.ghost(e.bob)))
	}
	mu.Lock()
	defer mu.Unlock()
	if hits != 0 || len(creds) != 0 {
		t.Fatalf("the foreign host got %d requests, with credentials %v", hits, creds)
	}
}
