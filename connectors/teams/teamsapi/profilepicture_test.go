package teamsapi

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
)

// testImage encodes a tiny real picture, so the bytes sniff as what they are.
func testImage(t *testing.T, kind string, c color.Color) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for x := range 4 {
		for y := range 4 {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	var err error
	if kind == "png" {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestProfilePictureFromTheEmulator: work and Teams free accounts read a
// colleague's picture through the middle tier the authz answer (or the
// config) names; a person without one is no picture, not an error.
func TestProfilePictureFromTheEmulator(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		deployment Deployment
		gtms       bool // consumer authz answer carries regionGtms
		configured bool // consumer middle tier from config
	}{
		{name: "work", deployment: Work},
		{name: "consumer regionGtms", deployment: Consumer, gtms: true},
		{name: "consumer configured", deployment: Consumer, configured: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t, teamsemu.Options{ConsumerRegionGtms: tc.gtms})
			cfg := e.config(tc.deployment)
			user, other, nobody := e.alice, e.bob, e.alice
			if tc.deployment == Consumer {
				user, other, nobody = e.carl, e.dana, e.carl
			}
			if tc.configured {
				cfg.MiddleTierURL = e.url + "/mt"
			}
			pic := testImage(t, "png", color.RGBA{R: 200, A: 255})
			e.emu.SetAvatar(other.MRI, pic)
			auth, err := NewAuth(cfg, *e.login(t, cfg, user.Email), nil)
			if err != nil {
				t.Fatal(err)
			}
			data, mime, err := auth.ProfilePicture(ctx, other.MRI, other.Name)
			if err != nil || !bytes.Equal(data, pic) || mime != "image/png" {
				t.Fatalf("picture of %s: %d bytes, %q, %v", other.Email, len(data), mime, err)
			}
			reqs := e.emu.Requests("/profilepicturev2")
			if len(reqs) != 1 {
				t.Fatalf("picture requests %+v", reqs)
			}
			r := reqs[0]
			if r.Path != "/mt/beta/users/"+other.MRI+"/profilepicturev2" || !strings.Contains(r.Query, "size=HR64x64") ||
				!strings.Contains(r.Query, "displayname=") || !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") || r.Header.Get("X-Skypetoken") == "" {
				t.Fatalf("picture request %s?%s %v", r.Path, r.Query, r.Header)
			}
			data, mime, err = auth.ProfilePicture(ctx, nobody.MRI, nobody.Name)
			if err != nil || data != nil || mime != "" {
				t.Fatalf("no picture: %d bytes, %q, %v", len(data), mime, err)
			}
			// A removed picture is gone.
			e.emu.SetAvatar(other.MRI, nil)
			if data, _, err = auth.ProfilePicture(ctx, other.MRI, other.Name); err != nil || data != nil {
				t.Fatalf("removed picture: %d bytes, %v", len(data), err)
			}
		})
	}
}

// pictureServer answers picture requests from a script, counting them.
type pictureServer struct {
	*authzServer
	mu      sync.Mutex
	hits    int
	answers []func(w http.ResponseWriter)
}

func newPictureServer(t *testing.T, answers ...func(w http.ResponseWriter)) *pictureServer {
	t.Helper()
	ps := &pictureServer{answers: answers}
	ps.authzServer = newAuthzServer(t, 200, `{"tokens":{"skypeToken":"eyJ0.eyJza3lwZWlkIjoib3JnaWQ6YWJjIn0.x"},"regionGtms":{"chatService":"{URL}/c","middleTier":"{URL}/api/mt/part/emea-02"}}`)
	ps.other = func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/mt/part/emea-02/beta/users/8:orgid:bob/profilepicturev2" || r.Header.Get("Authorization") != "Bearer at" {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		ps.mu.Lock()
		i := min(ps.hits, len(ps.answers)-1)
		ps.hits++
		ps.mu.Unlock()
		ps.answers[i](w)
	}
	return ps
}

func (ps *pictureServer) count() int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.hits
}

func answer(status int, ctype string, body []byte) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		if ctype != "" {
			w.Header().Set("Content-Type", ctype)
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

// TestProfilePictureAnswerVariants: what the middle tier may answer, and
// what each is to the caller.
func TestProfilePictureAnswerVariants(t *testing.T) {
	jpg := testImage(t, "jpeg", color.RGBA{B: 200, A: 255})
	pngPic := testImage(t, "png", color.RGBA{G: 200, A: 255})
	big := append(append([]byte{}, jpg...), make([]byte, MaxProfilePicture)...)
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><text>BB</text></svg>`)
	for _, tc := range []struct {
		name    string
		answers []func(w http.ResponseWriter)
		data    []byte
		mime    string
		is      error // nil: no error
		hits    int
		authz   int // skypetokens minted
	}{
		{name: "jpeg", answers: []func(http.ResponseWriter){answer(200, "image/jpeg", jpg)}, data: jpg, mime: "image/jpeg", hits: 1, authz: 1},
		{name: "png", answers: []func(http.ResponseWriter){answer(200, "image/png", pngPic)}, data: pngPic, mime: "image/png", hits: 1, authz: 1},
		{name: "png labelled octet-stream", answers: []func(http.ResponseWriter){answer(200, "application/octet-stream", pngPic)}, data: pngPic, mime: "image/png", hits: 1, authz: 1},
		{name: "404 is no picture", answers: []func(http.ResponseWriter){answer(404, "application/json", []byte(`{"errorCode":"NotFound"}`))}, hits: 1, authz: 1},
		{name: "html is no picture", answers: []func(http.ResponseWriter){answer(200, "text/html", []byte("<!doctype html><p>Sign in"))}, hits: 1, authz: 1},
		{name: "html labelled jpeg is no picture", answers: []func(http.ResponseWriter){answer(200, "image/jpeg", []byte("<html><body>oops"))}, hits: 1, authz: 1},
		{name: "generated svg is no picture", answers: []func(http.ResponseWriter){answer(200, "image/svg+xml", svg)}, hits: 1, authz: 1},
		{name: "empty 200 is no picture", answers: []func(http.ResponseWriter){answer(200, "image/jpeg", nil)}, hits: 1, authz: 1},
		{name: "401 renews once", answers: []func(http.ResponseWriter){answer(401, "application/json", []byte(`{"errorCode":"Unauthorized"}`)), answer(200, "image/jpeg", jpg)},
			data: jpg, mime: "image/jpeg", hits: 2, authz: 2},
		{name: "401 twice is an error", answers: []func(http.ResponseWriter){answer(401, "application/json", []byte(`{"errorCode":"Unauthorized"}`))},
			is: chatsvc.ErrUnauthorized, hits: 2, authz: 2},
		{name: "server error is an error", answers: []func(http.ResponseWriter){answer(503, "application/json", []byte(`{"errorCode":"ServiceUnavailable"}`))},
			is: chatsvc.ErrServer, hits: 1, authz: 1},
		{name: "oversized is an error", answers: []func(http.ResponseWriter){answer(200, "image/jpeg", big)}, is: ErrPictureTooLarge, hits: 1, authz: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := newPictureServer(t, tc.answers...)
			a := ps.auth(t, Work, "")
			data, mime, err := a.ProfilePicture(context.Background(), "8:orgid:bob", "Bob Brown")
			if tc.is == nil && err != nil || tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("error %v, want %v", err, tc.is)
			}
			if !bytes.Equal(data, tc.data) || mime != tc.mime {
				t.Fatalf("got %d bytes %q, want %d bytes %q", len(data), mime, len(tc.data), tc.mime)
			}
			ps.mu.Lock()
			authz := len(ps.authz)
			ps.mu.Unlock()
			if ps.count() != tc.hits || authz != tc.authz {
				t.Fatalf("%d picture requests and %d authz calls, want %d and %d", ps.count(), authz, tc.hits, tc.authz)
			}
		})
	}
}

// TestProfilePictureNeedsTheMiddleTierHost: without a middle tier from the
// authz answer or the config, no token goes anywhere.
func TestProfilePictureNeedsTheMiddleTierHost(t *testing.T) {
	as := newAuthzServer(t, 200, `{"tokens":{"skypeToken":"eyJ0.eyJza3lwZWlkIjoib3JnaWQ6YWJjIn0.x"},"regionGtms":{"chatService":"{URL}/c"}}`)
	var stray int
	as.other = func(w http.ResponseWriter, r *http.Request) {
		stray++
		_, _ = io.WriteString(w, "{}")
	}
	a := as.auth(t, Work, "")
	_, _, err := a.ProfilePicture(context.Background(), "8:orgid:bob", "Bob")
	if !errors.Is(err, ErrForeignHost) || stray != 0 {
		t.Fatalf("error %v, %d requests elsewhere", err, stray)
	}
}
