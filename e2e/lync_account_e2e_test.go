//go:build e2e

package e2e

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/lync/ucwaemu"
	"github.com/imbridge/imbridge/testenv"
	"github.com/imbridge/imbridge/testenv/mxclient"
)

// lyncAccount is what the Lync soaks and group tests start from: a fresh
// Lync account with colleagues in the emulator, and a Matrix user logged in
// to it through the bot.
type lyncAccount struct {
	ctx        context.Context
	rng        *rand.Rand
	emu        *ucwaemu.Emulator
	suffix     string // makes this run's addresses unique
	aliceSIP   string
	colleagues []string
	user       *mxclient.Client
	mgmt       id.RoomID
}

// soakCount reads a soak's message count from env, at least min.
func soakCount(t *testing.T, env string, def, min int) int {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min {
		t.Fatalf("%s=%q, want a number ≥ %d", env, v, min)
	}
	return n
}

// startSoak starts a soak (or any long randomised test) within timeout:
// its context, its random sequence (seeded from the clock, logged so a
// failure can be replayed; stream keeps the tests' sequences apart), a
// suffix that makes this run's names unique, and the bridge's log named
// should it fail.
func startSoak(t *testing.T, timeout time.Duration, stream uint64) (context.Context, *rand.Rand, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bridge debug log (JSON): %s", env.Bridge.LogPath)
		}
	})
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	suffix, err := testenv.RandomString(4)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, rand.New(rand.NewPCG(uint64(seed), stream)), suffix
}

// startLyncAccount sets a test up within timeout: localpart names the Matrix
// user and the account, stream keeps the tests' random sequences apart.
func startLyncAccount(t *testing.T, timeout time.Duration, stream uint64, localpart, displayName string, colleagueNames []string) *lyncAccount {
	t.Helper()
	requireEnv(t)
	if lyncEmu == nil {
		t.Fatal("the UCWA emulator was not started by the set-up hook")
	}
	ctx, rng, suffix := startSoak(t, timeout, stream)
	s := &lyncAccount{ctx: ctx, rng: rng, emu: lyncEmu, suffix: suffix}
	password, err := testenv.RandomString(8)
	if err != nil {
		t.Fatal(err)
	}
	s.aliceSIP = localpart + "." + s.suffix + "@corp.example"
	if err := s.emu.AddUser(s.aliceSIP, displayName, password); err != nil {
		t.Fatal(err)
	}
	for _, name := range colleagueNames {
		sip := name + "." + s.suffix + "@corp.example"
		if err := s.emu.AddUser(sip, strings.ToUpper(name[:1])+name[1:]+" Colleague", ""); err != nil {
			t.Fatal(err)
		}
		s.colleagues = append(s.colleagues, sip)
	}
	s.user = newUser(t, ctx, localpart)
	s.mgmt = openManagementRoom(t, ctx, s.user)
	lyncLogin(t, ctx, s.user, s.mgmt, s.aliceSIP, password, displayName)
	return s
}
