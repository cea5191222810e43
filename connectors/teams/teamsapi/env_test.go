package teamsapi

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
)

// testLog writes library logs to stderr when TEAMSAPI_TEST_LOG is set.
var testLog = func() zerolog.Logger {
	if os.Getenv("TEAMSAPI_TEST_LOG") != "" {
		return zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).With().Timestamp().Logger()
	}
	return zerolog.Nop()
}()

type testEnv struct {
	emu   *teamsemu.Emulator
	url   string
	alice *teamsemu.User
	bob   *teamsemu.User
	carl  *teamsemu.User // consumer
	dana  *teamsemu.User // consumer
}

func newTestEnv(t *testing.T, opts teamsemu.Options) *testEnv {
	t.Helper()
	emu := teamsemu.New(opts)
	u := emu.Start()
	t.Cleanup(emu.Close)
	return &testEnv{emu: emu, url: u,
		alice: emu.AddUser("alice@contoso.com", "Alice Adams"), bob: emu.AddUser("bob@contoso.com", "Bob Brown"),
		carl: emu.AddConsumerUser("carl@outlook.com", "Carl Cook"), dana: emu.AddConsumerUser("dana@outlook.com", "Dana Dunn")}
}

func (e *testEnv) config(d Deployment) Config {
	cfg := Config{Deployment: d, LoginURL: e.url, AuthzURL: e.url + "/api/authsvc/v1.0/authz", TrouterURL: e.url,
		RegistrarURL: e.url + "/registrar/prod/V2/registrations", AllowInsecureHTTP: true, Log: testLog}
	if d == Consumer {
		cfg.AuthzURL = e.url + "/api/auth/v1.0/authz/consumer"
		cfg.ChatServiceURL = e.url
	}
	return cfg
}

// login signs the user in through the device-code flow, approving it via
// the emulator's test API once the client is polling.
func (e *testEnv) login(t *testing.T, cfg Config, email string) *Credentials {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dl, err := StartDeviceLogin(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if dl.UserCode == "" || dl.VerificationURI == "" {
		t.Fatalf("device login %+v", dl)
	}
	go func() {
		if e.emu.WaitFor(20*time.Second, func() bool { return e.emu.DeviceCodePolls(dl.UserCode) > 0 }) {
			e.emu.ApproveDeviceCode(dl.UserCode, email)
		}
	}()
	creds, err := dl.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return creds
}

// rotations records every rotated credential the library surfaces.
type rotations struct {
	mu  sync.Mutex
	got []Credentials
}

func (r *rotations) add(c Credentials) {
	r.mu.Lock()
	r.got = append(r.got, c)
	r.mu.Unlock()
}

func (r *rotations) last() (Credentials, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.got) == 0 {
		return Credentials{}, 0
	}
	return r.got[len(r.got)-1], len(r.got)
}

// fakeClock is a settable clock for expiry tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

var testNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
