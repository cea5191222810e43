//go:build e2e

package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/testenv"
	"github.com/imbridge/imbridge/testenv/bridgeproc"
	"github.com/imbridge/imbridge/testenv/mxclient"
	"github.com/imbridge/imbridge/testenv/stack"
)

// env is the Synapse + bridge shared by the tests of this package; it is
// started once because Synapse and the bridge each take seconds to start.
var (
	env *stack.Stack
	// envMissing names a missing dependency (skip, or fail when strict).
	envMissing string
	// envErr is a real set-up failure: every test fails with it.
	envErr error
)

// setupHook starts something the bridge must know about before it starts,
// typically a protocol emulator, and returns the bridge config edit that
// points at it (e.g. network.lync.*) and a cleanup run after all tests.
// Protocol test files register hooks from init().
type setupHook func(ctx context.Context) (edit func(*bridgeproc.Config) error, cleanup func(), err error)

var setupHooks []setupHook

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dataDir, err := os.MkdirTemp("", "imbridge-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: create data dir:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	start := time.Now()
	edits, cleanups, err := runSetupHooks(ctx)
	defer func() {
		for _, c := range cleanups {
			c()
		}
	}()
	if err == nil {
		env, err = stack.Start(ctx, stack.Options{
			DataDir:         dataDir,
			SynapseInChroot: true,
			BridgeEdit: func(cfg *bridgeproc.Config) error {
				for _, edit := range edits {
					if err := edit(cfg); err != nil {
						return err
					}
				}
				return nil
			},
		})
	}
	cancel()
	switch {
	case errors.Is(err, stack.ErrSynapseMissing):
		envMissing = err.Error()
	case err != nil:
		envErr = err
	default:
		fmt.Fprintf(os.Stderr, "e2e: synapse %s and bridge %s ready in %s\n", env.Synapse.URL, env.Bridge.AppserviceURL, time.Since(start).Round(time.Millisecond))
	}
	code := m.Run()
	if env != nil {
		if code != 0 {
			fmt.Fprintf(os.Stderr, "\n--- e2e failed: bridge output without debug lines (full output kept in %s) ---\n%s\n", env.Bridge.Dir, env.Bridge.ImportantOutput(40))
			fmt.Fprintf(os.Stderr, "\n--- homeserver.log (last lines, kept in %s) ---\n%s\n", env.Synapse.DataDir(), testenv.Tail(env.Synapse.LogPath(), 30))
		}
		env.Close(code != 0)
	}
	if code == 0 {
		_ = os.RemoveAll(dataDir)
	}
	return code
}

func runSetupHooks(ctx context.Context) (edits []func(*bridgeproc.Config) error, cleanups []func(), err error) {
	for _, hook := range setupHooks {
		edit, cleanup, err := hook(ctx)
		if cleanup != nil {
			cleanups = append(cleanups, cleanup)
		}
		if err != nil {
			return nil, cleanups, fmt.Errorf("e2e set-up hook: %w", err)
		}
		if edit != nil {
			edits = append(edits, edit)
		}
	}
	return edits, cleanups, nil
}

// requireEnv skips (or, when strict, fails) a test when Synapse is not
// installed, and fails it when the environment could not start.
func requireEnv(t *testing.T) {
	t.Helper()
	testenv.Require(t, envMissing, envMissing == "")
	if envErr != nil {
		t.Fatalf("e2e environment failed to start: %v", envErr)
	}
	if !env.Bridge.Running() {
		t.Fatalf("bridge is not running (exit code %d); output:\n%s", env.Bridge.ExitCode(), env.Bridge.OutputTail(40))
	}
}

// newUser registers a fresh Matrix user with a unique localpart and
// returns an encrypting, syncing client for it.
func newUser(t *testing.T, ctx context.Context, prefix string) *mxclient.Client {
	t.Helper()
	suffix, err := testenv.RandomString(4)
	if err != nil {
		t.Fatal(err)
	}
	password, err := testenv.RandomString(12)
	if err != nil {
		t.Fatal(err)
	}
	user, err := env.Synapse.RegisterUser(ctx, prefix+"-"+suffix, password, false)
	if err != nil {
		t.Fatalf("register test user: %v", err)
	}
	cli, err := mxclient.New(ctx, mxclient.Options{
		HomeserverURL: env.Synapse.URL,
		UserID:        user.UserID,
		AccessToken:   user.AccessToken,
		DeviceID:      user.DeviceID,
		StoreDir:      t.TempDir(),
	})
	if err != nil {
		t.Fatalf("start matrix client for %s: %v", user.UserID, err)
	}
	t.Cleanup(func() {
		if err := cli.Close(); err != nil {
			t.Errorf("close matrix client: %v", err)
		}
	})
	return cli
}

// openManagementRoom creates an encrypted DM with the bridge bot, as
// Element does, and waits for the bot to join and greet.
func openManagementRoom(t *testing.T, ctx context.Context, cli *mxclient.Client) id.RoomID {
	t.Helper()
	mark := cli.Mark()
	room, err := cli.CreateEncryptedDM(ctx, env.BotMXID)
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.WaitForMembership(ctx, room, env.BotMXID, "join"); err != nil {
		t.Fatalf("bot did not join the DM: %v", err)
	}
	if _, err := cli.WaitForMessage(ctx, room, env.BotMXID, mark, containsAll("management room")); err != nil {
		t.Fatalf("bot did not greet in the new management room: %v", err)
	}
	return room
}
