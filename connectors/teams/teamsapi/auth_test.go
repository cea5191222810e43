package teamsapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/msgfmt"
	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
)

func TestDeviceLoginWorkEndToChat(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, teamsemu.Options{})
	cfg := e.config(Work)
	creds := e.login(t, cfg, "alice@contoso.com")
	if creds.Tenant != teamsemu.DefaultTenant || creds.RefreshToken == "" || creds.UserID != e.alice.OID || creds.Email != "alice@contoso.com" {
		t.Fatalf("credentials %+v", creds)
	}
	// The first poll used the device-code grant against organizations.
	if reqs := e.emu.Requests("/organizations/oauth2/v2.0/token"); len(reqs) == 0 || !strings.Contains(reqs[0].Body, "device_code") {
		t.Fatalf("device polls %+v", reqs)
	}
	rot := &rotations{}
	auth, err := NewAuth(cfg, *creds, rot.add)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := auth.Skype(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Hosts["chatService"] != e.url || s.Hosts["ams"] != e.url+"/ams" || s.Region != "emea" {
		t.Fatalf("hosts %+v", s)
	}
	chat, err := auth.NewChatClient(ctx, chatsvc.RetryPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	if chat.BaseURL() != e.url {
		t.Fatalf("chat base %q", chat.BaseURL())
	}
	group := e.emu.CreateGroup(e.bob.MRI, "Team", e.alice.MRI)
	if _, err := chat.Send(ctx, group, chatsvc.Outgoing{Content: "hi", DisplayName: creds.Name}); err != nil {
		t.Fatal(err)
	}
	if sent := e.emu.MessagesFrom(e.alice.MRI); len(sent) != 1 {
		t.Fatalf("sent %+v", sent)
	}
	// The initial access token was used for authz: no refresh grant yet.
	if _, n := rot.last(); n != 0 {
		t.Fatalf("%d rotations before any refresh", n)
	}
	// Authz went out with the bearer and the work headers.
	az := e.emu.Requests("/api/authsvc/v1.0/authz")
	if len(az) != 1 || !strings.HasPrefix(az[0].Header.Get("Authorization"), "Bearer ") || az[0].Header.Get("ms-teams-authz-type") != "TokenRefresh" {
		t.Fatalf("authz requests %+v", az)
	}
}

func TestDeviceLoginConsumerBothAuthzShapes(t *testing.T) {
	t.Parallel()
	for _, withGtms := range []bool{false, true} {
		e := newTestEnv(t, teamsemu.Options{ConsumerRegionGtms: withGtms})
		cfg := e.config(Consumer)
		if withGtms {
			cfg.ChatServiceURL = "" // must come from regionGtms then
		}
		creds := e.login(t, cfg, "carl@outlook.com")
		if creds.Tenant != "consumers" || creds.ClientID != TeamsPersonalClientID {
			t.Fatalf("consumer credentials %+v", creds)
		}
		auth, err := NewAuth(cfg, *creds, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		s, err := auth.Skype(ctx)
		if err != nil {
			t.Fatalf("gtms=%v: %v", withGtms, err)
		}
		if s.MRI() != e.carl.MRI || s.Hosts["chatService"] != e.url {
			t.Fatalf("gtms=%v: session %+v", withGtms, s)
		}
		chat, err := auth.NewChatClient(ctx, chatsvc.RetryPolicy{})
		if err != nil {
			t.Fatal(err)
		}
		dm := e.emu.OneToOne(e.dana.MRI, e.carl.MRI)
		if !strings.HasPrefix(dm, "19:uni01_") {
			t.Fatalf("consumer 1:1 id %q", dm)
		}
		if _, err := chat.Send(ctx, dm, chatsvc.Outgoing{Content: "hey"}); err != nil {
			t.Fatal(err)
		}
		reqs := e.emu.Requests("/messages")
		if h := reqs[len(reqs)-1].Header; h.Get("ms-ic3-product") != "tfl" || h.Get("ms-ic3-additional-product") != "Sfl" {
			t.Fatalf("consumer headers %v", h)
		}
		az := e.emu.Requests("/api/auth/v1.0/authz/consumer")
		if len(az) == 0 || az[0].Header.Get("claimschallengecapable") != "true" {
			t.Fatalf("consumer authz %+v", az)
		}
		// The consumer token came from the MBI scope.
		if tok := e.emu.Requests("/consumers/oauth2/v2.0/devicecode"); len(tok) != 1 || !strings.Contains(tok[0].Body, "MBI_SSL") {
			t.Fatalf("device code scope %+v", tok)
		}
	}
}

func TestDeviceLoginExpiredAndDeclined(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, teamsemu.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dl, err := StartDeviceLogin(ctx, e.config(Work))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		if e.emu.WaitFor(20*time.Second, func() bool { return e.emu.DeviceCodePolls(dl.UserCode) > 0 }) {
			e.emu.DeclineDeviceCode(dl.UserCode)
		}
	}()
	if _, err := dl.Wait(ctx); !errors.Is(err, ErrLoginDeclined) {
		t.Fatalf("declined: %v", err)
	}
	dl, err = StartDeviceLogin(ctx, e.config(Work))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		if e.emu.WaitFor(20*time.Second, func() bool { return e.emu.DeviceCodePolls(dl.UserCode) > 0 }) {
			e.emu.Advance(time.Hour)
		}
	}()
	if _, err := dl.Wait(ctx); !errors.Is(err, ErrDeviceCodeExpired) {
		t.Fatalf("expired: %v", err)
	}
}

func TestRefreshRotationAndAheadOfExpiry(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, teamsemu.Options{AccessTokenTTL: 10 * time.Minute})
	clock := &fakeClock{now: time.Now()}
	cfg := e.config(Work)
	cfg.Now = clock.Now
	creds := e.login(t, cfg, "alice@contoso.com")
	rot := &rotations{}
	auth, err := NewAuth(cfg, *creds, rot.add)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first, err := auth.AccessToken(ctx, auth.SkypeScope())
	if err != nil {
		t.Fatal(err)
	}
	again, _ := auth.AccessToken(ctx, auth.SkypeScope())
	if again != first {
		t.Fatal("a valid token was refreshed")
	}
	// 30 s before expiry (inside the 60 s skew) a refresh happens.
	clock.Advance(10*time.Minute - 30*time.Second)
	fresh, err := auth.AccessToken(ctx, auth.SkypeScope())
	if err != nil || fresh == first {
		t.Fatalf("no refresh ahead of expiry: %v", err)
	}
	got, n := rot.last()
	if n != 1 || got.RefreshToken == creds.RefreshToken || got.RefreshToken != auth.Credentials().RefreshToken || got.Tenant != creds.Tenant {
		t.Fatalf("rotation %+v (n=%d)", got, n)
	}
	// Per-service token: another scope is its own grant.
	csa, err := auth.AccessToken(ctx, "https://chatsvcagg.teams.microsoft.com/.default offline_access")
	if err != nil || csa == fresh {
		t.Fatalf("per-service token: %v", err)
	}
	if _, n := rot.last(); n != 2 {
		t.Fatalf("%d rotations", n)
	}
	// The rotated-away refresh token is dead: a login stuck on it must sign in again.
	stale, _ := NewAuth(cfg, *creds, nil)
	_, err = stale.AccessToken(ctx, "https://x/.default")
	var re *ReloginError
	if !errors.As(err, &re) || re.Code != "invalid_grant" || re.AADSTS() != "AADSTS70008" {
		t.Fatalf("stale refresh token: %v", err)
	}
}

func TestExpiredAccessTokenRefreshedOnceOnAuthz401(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, teamsemu.Options{})
	cfg := e.config(Work)
	creds := e.login(t, cfg, "alice@contoso.com")
	auth, _ := NewAuth(cfg, *creds, nil)
	e.emu.ExpireAccessTokens(e.alice.MRI)
	if _, err := auth.Skype(context.Background()); err != nil {
		t.Fatalf("authz after a server-side expiry: %v", err)
	}
	az := e.emu.Requests("/api/authsvc/v1.0/authz")
	if len(az) != 2 || az[0].Status != 401 || az[1].Status != 200 {
		t.Fatalf("authz attempts %+v", az)
	}
}

func TestExpiredSkypetokenReMintedForChat(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, teamsemu.Options{})
	cfg := e.config(Work)
	auth, _ := NewAuth(cfg, *e.login(t, cfg, "alice@contoso.com"), nil)
	ctx := context.Background()
	chat, err := auth.NewChatClient(ctx, chatsvc.RetryPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	group := e.emu.CreateGroup(e.bob.MRI, "", e.alice.MRI)
	e.emu.ExpireSkypeTokens(e.alice.MRI)
	if _, err := chat.Send(ctx, group, chatsvc.Outgoing{Content: "after expiry"}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.emu.Requests("/api/authsvc/v1.0/authz")); n != 2 {
		t.Fatalf("%d authz calls, want 2", n)
	}
}

func TestSkypetokenRenewedAheadOfExpiry(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, teamsemu.Options{SkypeTokenTTL: time.Hour})
	clock := &fakeClock{now: time.Now()}
	cfg := e.config(Work)
	cfg.Now = clock.Now
	auth, _ := NewAuth(cfg, *e.login(t, cfg, "alice@contoso.com"), nil)
	ctx := context.Background()
	s1, err := auth.Skype(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(59*time.Minute + 30*time.Second)
	s2, err := auth.Skype(ctx)
	if err != nil || s2.Token == s1.Token {
		t.Fatalf("skypetoken not renewed ahead of expiry: %v", err)
	}
}

func TestRevokedRefreshTokenNeedsReloginWithoutHammering(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, teamsemu.Options{})
	cfg := e.config(Work)
	auth, _ := NewAuth(cfg, *e.login(t, cfg, "alice@contoso.com"), nil)
	ctx := context.Background()
	chat, err := auth.NewChatClient(ctx, chatsvc.RetryPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	group := e.emu.CreateGroup(e.bob.MRI, "", e.alice.MRI)
	e.emu.RevokeRefreshTokens(e.alice.MRI)
	e.emu.ExpireAccessTokens(e.alice.MRI)
	e.emu.ExpireSkypeTokens(e.alice.MRI)
	_, err = chat.Send(ctx, group, chatsvc.Outgoing{Content: "x"})
	var re *ReloginError
	if !errors.Is(err, ErrReloginNeeded) || !errors.As(err, &re) || re.AADSTS() != "AADSTS50173" {
		t.Fatalf("revoked: %v", err)
	}
	before := len(e.emu.Requests("/oauth2/v2.0/token"))
	for i := 0; i < 3; i++ {
		if _, err := chat.Send(ctx, group, chatsvc.Outgoing{Content: "x"}); !errors.Is(err, ErrReloginNeeded) {
			t.Fatalf("retry %d: %v", i, err)
		}
	}
	if after := len(e.emu.Requests("/oauth2/v2.0/token")); after != before {
		t.Fatalf("token endpoint called %d more times after invalid_grant", after-before)
	}
	if len(e.emu.MessagesFrom(e.alice.MRI)) != 0 {
		t.Fatal("message sent with revoked credentials")
	}
}

func TestTransientTokenFailureBacksOff(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, teamsemu.Options{})
	clock := &fakeClock{now: time.Now()}
	cfg := e.config(Work)
	cfg.Now = clock.Now
	auth, _ := NewAuth(cfg, *e.login(t, cfg, "alice@contoso.com"), nil)
	e.emu.InjectFault(teamsemu.Fault{PathContains: "/oauth2/v2.0/token", Status: 503, Body: `{"error":"temporarily_unavailable","error_description":"AADSTS90033: transient"}`})
	ctx := context.Background()
	if _, err := auth.AccessToken(ctx, "https://a/.default"); !errors.Is(err, ErrTokenEndpoint) || errors.Is(err, ErrReloginNeeded) {
		t.Fatalf("transient: %v", err)
	}
	n := len(e.emu.Requests("/oauth2/v2.0/token"))
	if _, err := auth.AccessToken(ctx, "https://a/.default"); !errors.Is(err, ErrTokenEndpoint) {
		t.Fatalf("during backoff: %v", err)
	}
	if len(e.emu.Requests("/oauth2/v2.0/token")) != n {
		t.Fatal("token endpoint hammered during backoff")
	}
	e.emu.ClearFaults()
	clock.Advance(time.Minute)
	if _, err := auth.AccessToken(ctx, "https://a/.default"); err != nil {
		t.Fatalf("after backoff: %v", err)
	}
}

func TestLoginWithPastedRefreshToken(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, teamsemu.Options{})
	cfg := e.config(Work)
	cfg.Tenant = teamsemu.DefaultTenant
	rt := e.emu.IssueRefreshToken(e.alice.MRI, TeamsNativeClientID, WorkSpacesScope)
	rot := &rotations{}
	auth, err := LoginWithRefreshToken(context.Background(), cfg, "  "+rt+"\n", rot.add)
	if err != nil {
		t.Fatal(err)
	}
	if got, n := rot.last(); n != 1 || got.RefreshToken == rt || got.UserID != e.alice.OID {
		t.Fatalf("rotated %+v", got)
	}
	s, err := auth.Skype(context.Background())
	if err != nil || s.Token == "" {
		t.Fatal(err)
	}
	if _, err := LoginWithRefreshToken(context.Background(), cfg, "garbage", nil); !errors.Is(err, ErrReloginNeeded) {
		t.Fatalf("garbage token: %v", err)
	}
	// A consumer account on the work tenant is refused.
	crt := e.emu.IssueRefreshToken(e.carl.MRI, TeamsNativeClientID, WorkSpacesScope)
	if _, err := LoginWithRefreshToken(context.Background(), cfg, crt, nil); !errors.Is(err, ErrReloginNeeded) {
		t.Fatalf("consumer on a work tenant: %v", err)
	}
}

func TestNoLicense(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, teamsemu.Options{})
	cfg := e.config(Work)
	auth, _ := NewAuth(cfg, *e.login(t, cfg, "alice@contoso.com"), nil)
	e.emu.SetLicensed(e.alice.MRI, false)
	if _, err := auth.Skype(context.Background()); !errors.Is(err, ErrNoLicense) {
		t.Fatalf("unlicensed: %v", err)
	}
}

func TestInsecureURLsRefused(t *testing.T) {
	t.Parallel()
	cfg := Config{LoginURL: "http://127.0.0.1:1"}
	if _, err := StartDeviceLogin(context.Background(), cfg); !errors.Is(err, ErrInsecureURL) {
		t.Fatalf("http login URL: %v", err)
	}
	if _, err := NewAuth(Config{Deployment: "skype"}, Credentials{RefreshToken: "x"}, nil); err == nil {
		t.Fatal("unknown deployment accepted")
	}
	if _, err := NewAuth(Config{}, Credentials{}, nil); !errors.Is(err, ErrReloginNeeded) {
		t.Fatalf("no refresh token: %v", err)
	}
	// An authz answer naming an http host is ignored without the switch.
	s := &SkypeSession{Hosts: map[string]string{"chatService": "http://evil.example", "ams": "https://ams.example"}}
	a := &Auth{cfg: Config{ChatServiceURL: ""}}
	_ = a.cfg.fill()
	if err := a.checkHosts(s); err == nil || s.Hosts["chatService"] != "" || s.Hosts["ams"] == "" {
		t.Fatalf("insecure chat host kept: %v %+v", err, s.Hosts)
	}
}

func TestAMSUploadDownloadAndInlineFetchStaysHome(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, teamsemu.Options{})
	cfg := e.config(Work)
	auth, _ := NewAuth(cfg, *e.login(t, cfg, "alice@contoso.com"), nil)
	ctx := context.Background()
	group := e.emu.CreateGroup(e.alice.MRI, "", e.bob.MRI)
	files := auth.Files()
	png := []byte("\x89PNG\r\n\x1a\nfake")
	id, err := files.Upload(ctx, AMSImage, "a.png", "image/png", []string{group}, png)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := e.emu.Object(id, "imgpsh"); !ok || string(got) != string(png) {
		t.Fatalf("stored %q", got)
	}
	data, mime, err := files.Download(ctx, id, "imgo")
	if err != nil || string(data) != string(png) || mime != "image/png" {
		t.Fatalf("download %q %q %v", data, mime, err)
	}
	if reqs := e.emu.Requests("/ams/v1/objects"); !strings.HasPrefix(reqs[0].Header.Get("Authorization"), "skype_token ") {
		t.Fatalf("AMS auth %v", reqs[0].Header)
	}
	// A message naming a foreign host: the object is fetched from our AMS
	// host, the foreign one never sees a request (or a token).
	var foreignHits atomic.Int32
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { foreignHits.Add(1) }))
	defer foreign.Close()
	data, _, err = files.FetchInline(ctx, foreign.URL+"/v1/objects/"+id+"/views/imgo")
	if err != nil || string(data) != string(png) || foreignHits.Load() != 0 {
		t.Fatalf("inline: %v hits=%d", err, foreignHits.Load())
	}
	if _, _, err := files.FetchInline(ctx, foreign.URL+"/steal"); !errors.Is(err, ErrForeignHost) || foreignHits.Load() != 0 {
		t.Fatalf("non-AMS URL: %v", err)
	}
	// Bob (a member) can read it; a stranger cannot.
	bobAuth, _ := NewAuth(cfg, *e.login(t, cfg, "bob@contoso.com"), nil)
	if _, _, err := bobAuth.Files().Download(ctx, id, "imgo"); err != nil {
		t.Fatalf("member download: %v", err)
	}
	e.emu.AddUser("eve@contoso.com", "Eve")
	eveAuth, _ := NewAuth(cfg, *e.login(t, cfg, "eve@contoso.com"), nil)
	if _, _, err := eveAuth.Files().Download(ctx, id, "imgo"); !errors.Is(err, chatsvc.ErrForbidden) {
		t.Fatalf("stranger download: %v", err)
	}
	// Expired skypetoken: re-minted once.
	e.emu.ExpireSkypeTokens(e.alice.MRI)
	if _, _, err := files.Download(ctx, id, "original"); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	html := ImageHTML(e.url+"/ams", id)
	in := msgfmt.ToMatrix(ctx, msgfmt.Remote{Content: html}, msgfmt.Teams, nil)
	if len(in.Images) != 1 || in.Images[0].ObjectID != id {
		t.Fatalf("image html %q gave %+v", html, in.Images)
	}
}

func TestProfilesAndTeams(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, teamsemu.Options{})
	cfg := e.config(Work)
	auth, _ := NewAuth(cfg, *e.login(t, cfg, "alice@contoso.com"), nil)
	ctx := context.Background()
	ps, err := auth.Profiles(ctx, []string{e.bob.MRI, "8:orgid:unknown", e.alice.MRI})
	if err != nil || len(ps) != 2 || ps[0].DisplayName != "Bob Brown" || ps[0].Email != "bob@contoso.com" || ps[1].MRI != e.alice.MRI {
		t.Fatalf("profiles %+v %v", ps, err)
	}
	team := e.emu.CreateTeam(e.bob.MRI, "Engineering", []string{"Backend"}, e.alice.MRI)
	teams, err := auth.Teams(ctx)
	if err != nil || len(teams) != 1 || teams[0].ID != team.ID || teams[0].DisplayName != "Engineering" || len(teams[0].Channels) != 2 {
		t.Fatalf("teams %+v %v", teams, err)
	}
	if c := teams[0].Channels; c[0].ID != team.Channels[0] || !c[0].IsGeneral || c[1].DisplayName != "Backend" || c[1].IsGeneral {
		t.Fatalf("channels %+v", c)
	}
	// The aggregator wants its own token: a separate grant for its scope.
	if reqs := e.emu.Requests("/oauth2/v2.0/token"); !strings.Contains(reqs[len(reqs)-1].Body, "chatsvcagg") {
		t.Fatalf("last grant %s", reqs[len(reqs)-1].Body)
	}
	e.emu.ExpireAccessTokens(e.alice.MRI)
	e.emu.ExpireSkypeTokens(e.alice.MRI)
	if _, err := auth.Teams(ctx); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	// 250 MRIs go out in three batches.
	many := make([]string, 250)
	for i := range many {
		many[i] = e.bob.MRI
	}
	before := len(e.emu.Requests("fetchShortProfile"))
	if ps, err := auth.Profiles(ctx, many); err != nil || len(ps) != 250 {
		t.Fatalf("batched %d %v", len(ps), err)
	}
	if n := len(e.emu.Requests("fetchShortProfile")) - before; n != 3 {
		t.Fatalf("%d batches", n)
	}
}

func TestAuthzServerErrorIsTransient(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, teamsemu.Options{})
	cfg := e.config(Work)
	auth, _ := NewAuth(cfg, *e.login(t, cfg, "alice@contoso.com"), nil)
	e.emu.InjectFault(teamsemu.Fault{PathContains: "/authz", Status: 503, Times: 1})
	if _, err := auth.Skype(context.Background()); err == nil || errors.Is(err, ErrReloginNeeded) {
		t.Fatalf("503 from authz: %v", err)
	}
	if _, err := auth.Skype(context.Background()); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
}

func TestPresence(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, teamsemu.Options{})
	cfg := e.config(Work)
	auth, _ := NewAuth(cfg, *e.login(t, cfg, "alice@contoso.com"), nil)
	ctx := context.Background()
	if err := auth.SetAvailability(ctx, "Busy"); err != nil {
		t.Fatal(err)
	}
	if got := e.emu.Availability(e.alice.MRI); got != "Busy" {
		t.Fatalf("availability %q", got)
	}
	ps, err := auth.Presences(ctx, []string{e.alice.MRI, e.bob.MRI, "8:orgid:nobody"})
	if err != nil || len(ps) != 2 || ps[0].Availability != "Busy" || ps[1].Availability != "Available" {
		t.Fatalf("presences %+v %v", ps, err)
	}
}
