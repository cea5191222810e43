//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/testenv"
	"github.com/imbridge/imbridge/testenv/asobserver"
	"github.com/imbridge/imbridge/testenv/bridgeproc"
	"github.com/imbridge/imbridge/testenv/stack"
	"github.com/imbridge/imbridge/testenv/synapse"
)

// benchStack is one protocol's benchmark system: its own Synapse and bridge
// (unencrypted, so a plain /sync client can read what the ghosts send),
// the protocol's emulator, and an observing appservice for the
// homeserver-only baseline. It is separate from the suite's env so that
// benchmark figures never include test traffic, and the other way round.
type benchStack struct {
	proto   benchProtocol
	st      *stack.Stack
	obs     *asobserver.Observer
	obsCli  *mautrix.Client
	prov    *provisioner
	asToken string
	suffix  string
	// idleRSS is the bridge's resident memory right after it became
	// ready, with no login.
	idleRSS int64

	mu    sync.Mutex
	users []*benchUser
	// closers stop the users' sync loops when the stack goes.
	closers []func()
	// roomCreates are how long Synapse took to create each baseline room,
	// the scale figure's reason for not creating portals through it.
	roomCreates []time.Duration
}

// benchUser is a Matrix user logged in to one remote account, with the
// account's DM portal and a plain room for the baseline.
type benchUser struct {
	n        int
	acc      *benchAccount
	mxid     id.UserID
	cli      *mautrix.Client // the user's own client (sends)
	listener *benchListener  // the user's /sync (receives)
	portal   id.RoomID
	ghost    id.UserID
	direct   *mautrix.Client // the bridge's appservice token, as the ghost
	// baseRoom holds only the user and the observing appservice: a send
	// there is Synapse's share of a Matrix→remote send.
	baseRoom id.RoomID
	// extra are the DM portals of one login with several colleagues (the
	// first is the portal above), for the one-login throughput figure.
	extra []benchPortal
}

// benchPortal is one DM portal of a login: the account as seen by that
// portal's colleague, the room, the colleague's ghost and a direct sender
// as that ghost.
type benchPortal struct {
	acc    *benchAccount
	room   id.RoomID
	ghost  id.UserID
	direct *mautrix.Client
}

const benchObserverLocalpart = "benchobs"

// startBenchStack starts emulator, observer, Synapse and bridge.
func startBenchStack(ctx context.Context, b *testing.B, proto benchProtocol) *benchStack {
	b.Helper()
	_, ok := synapse.Installed(synapse.Root())
	testenv.Require(b, "Synapse chroot at "+synapse.Root()+" (run: scripts/synapse.sh install)", ok)
	bs := &benchStack{proto: proto}
	var err error
	if bs.suffix, err = testenv.RandomString(3); err != nil {
		b.Fatal(err)
	}
	dataDir, err := os.MkdirTemp("", "imbridge-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if !b.Failed() && os.Getenv("IMBRIDGE_BENCH_KEEP") == "" {
			_ = os.RemoveAll(dataDir)
		}
	})
	protoEdit, protoCleanup, err := proto.Start(ctx, bs.suffix)
	if err != nil {
		b.Fatalf("start the %s emulator: %v", proto.Name(), err)
	}
	b.Cleanup(protoCleanup)
	if bs.obs, err = asobserver.Start(benchObserverLocalpart); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := bs.obs.Close(); err != nil {
			b.Error(err)
		}
	})
	obsReg := filepath.Join(dataDir, "observer-registration.yaml")
	if err := bs.obs.WriteRegistration(obsReg, "imbridge.test"); err != nil {
		b.Fatal(err)
	}
	secret, err := testenv.RandomString(24)
	if err != nil {
		b.Fatal(err)
	}
	bs.st, err = stack.Start(ctx, stack.Options{
		DataDir:         dataDir,
		SynapseInChroot: true,
		ServerName:      "imbridge.test",
		BridgeEdit: func(cfg *bridgeproc.Config) error {
			for key, value := range map[string]any{
				// A plain /sync client must read the ghosts' messages,
				// and the figures are the bridge's own work, not megolm.
				"encryption.allow":             false,
				"encryption.default":           false,
				"provisioning.shared_secret":   secret,
				"provisioning.debug_endpoints": false,
				// As the example config has it; the Matrix→remote
				// latency waits for this receipt between samples.
				"matrix.delivery_receipts": true,
			} {
				if err := cfg.Set(key, value); err != nil {
					return err
				}
			}
			return protoEdit(cfg)
		},
		ExtraAppserviceFiles: []string{obsReg},
	})
	if err != nil {
		if bs.st != nil {
			bs.st.Close(true)
		}
		b.Fatalf("start Synapse and the bridge: %v", err)
	}
	b.Cleanup(func() {
		bs.mu.Lock()
		closers := bs.closers
		bs.mu.Unlock()
		for _, c := range closers {
			c()
		}
		if b.Failed() {
			b.Logf("bridge output (without debug lines):\n%s", bs.st.Bridge.ImportantOutput(40))
			b.Logf("homeserver.log tail:\n%s", testenv.Tail(bs.st.Synapse.LogPath(), 30))
		}
		keep := b.Failed() || os.Getenv("IMBRIDGE_BENCH_KEEP") != ""
		if keep {
			fmt.Fprintf(os.Stderr, "bench: kept for inspection: bridge %s, Synapse %s\n", bs.st.Bridge.Dir, bs.st.Synapse.DataDir())
		}
		bs.st.Close(keep)
	})
	if bs.idleRSS, err = testenv.ResidentMemory(bs.st.Bridge.Pid()); err != nil {
		b.Fatal(err)
	}
	reg, err := bridgeproc.OpenConfig(bs.st.Bridge.RegistrationPath)
	if err != nil {
		b.Fatal(err)
	}
	if bs.asToken = reg.GetString("as_token"); bs.asToken == "" {
		b.Fatal("the bridge registration has no as_token")
	}
	bs.prov = &provisioner{
		base:   bs.st.Bridge.AppserviceURL + "/_matrix/provision",
		secret: secret,
		http:   &http.Client{Timeout: 2 * time.Minute},
	}
	if bs.obsCli, err = bs.obs.Client(bs.st.Synapse.URL, bs.st.Synapse.ServerName); err != nil {
		b.Fatal(err)
	}
	return bs
}

// benchSetupParallel is how many benchmark users are set up at once.
const benchSetupParallel = 4

// ensureUsers grows the pool of logged-in users to n (in parallel, a few
// at a time) and returns the first n.
func (bs *benchStack) ensureUsers(ctx context.Context, b *testing.B, n int) []*benchUser {
	b.Helper()
	bs.mu.Lock()
	have := len(bs.users)
	bs.mu.Unlock()
	if have < n {
		users := make([]*benchUser, n-have)
		errs := make([]error, n-have)
		sem := make(chan struct{}, benchSetupParallel)
		var wg sync.WaitGroup
		for i := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				users[i], errs[i] = bs.newUser(ctx, have+i)
			}()
		}
		wg.Wait()
		bs.mu.Lock()
		for _, u := range users {
			if u != nil {
				bs.closers = append(bs.closers, u.listener.Close)
			}
		}
		bs.mu.Unlock()
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		bs.mu.Lock()
		bs.users = append(bs.users, users...)
		bs.mu.Unlock()
	}
	bs.mu.Lock()
	defer bs.mu.Unlock()
	return bs.users[:n]
}

// newUser registers a Matrix user, logs it in to a fresh remote account
// through the provisioning API, has the colleague write so the bridge
// opens the DM portal, and joins it.
func (bs *benchStack) newUser(ctx context.Context, n int) (*benchUser, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	acc, err := bs.proto.NewAccount(n)
	if err != nil {
		return nil, fmt.Errorf("create remote account %d: %w", n, err)
	}
	password, err := testenv.RandomString(12)
	if err != nil {
		return nil, err
	}
	reg, err := bs.st.Synapse.RegisterUser(ctx, fmt.Sprintf("bench%d-%s", n, bs.suffix), password, false)
	if err != nil {
		return nil, err
	}
	u := &benchUser{n: n, acc: acc, mxid: reg.UserID}
	if u.cli, err = mautrix.NewClient(bs.st.Synapse.URL, reg.UserID, reg.AccessToken); err != nil {
		return nil, fmt.Errorf("create client for %s: %w", reg.UserID, err)
	}
	u.cli.DeviceID = reg.DeviceID
	if u.listener, err = newBenchListener(bs.st.Synapse.URL, reg.UserID, reg.AccessToken); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			u.listener.Close()
		}
	}()
	if err := bs.login(ctx, u.mxid, acc); err != nil {
		return nil, err
	}
	if u.portal, u.ghost, u.direct, err = bs.openPortal(ctx, u, acc); err != nil {
		return nil, err
	}
	observer := id.NewUserID(benchObserverLocalpart, bs.st.Synapse.ServerName)
	createStart := time.Now()
	room, err := u.cli.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{observer}})
	if err != nil {
		return nil, fmt.Errorf("create the baseline room of %s: %w", u.mxid, err)
	}
	bs.mu.Lock()
	bs.roomCreates = append(bs.roomCreates, time.Since(createStart))
	bs.mu.Unlock()
	if _, err := bs.obsCli.JoinRoomByID(ctx, room.RoomID); err != nil {
		return nil, fmt.Errorf("observer joins the baseline room: %w", err)
	}
	u.baseRoom = room.RoomID
	// The observer only counts once Synapse pushes it this room's events.
	probe := fmt.Sprintf("probe %d %s", n, bs.suffix)
	if err := sendText(ctx, u.cli, u.baseRoom, probe); err != nil {
		return nil, err
	}
	if _, err := bs.obs.WaitSeen(ctx, probe); err != nil {
		return nil, err
	}
	ok = true
	return u, nil
}

// login logs user in to acc through the provisioning API, doing on the
// emulator what the person would where the flow shows them something.
func (bs *benchStack) login(ctx context.Context, user id.UserID, acc *benchAccount) error {
	var display func(string) error
	if d, ok := bs.proto.(benchLoginDisplayer); ok {
		display = func(data string) error { return d.LoginDisplayed(acc, data) }
	}
	_, err := bs.prov.login(ctx, user, bs.proto.LoginFlow(), bs.proto.LoginValues(acc), display)
	return err
}

// openPortal has acc's colleague write to the account until the message
// shows up in a room of u, which is then the DM portal with that colleague,
// and returns it, the colleague's ghost, and a direct sender as the ghost.
// The user joins every invitation (the login's space too); a message sent
// before the join may not be in the joined room's first timeline, so the
// colleague writes again until one is seen.
func (bs *benchStack) openPortal(ctx context.Context, u *benchUser, acc *benchAccount) (id.RoomID, id.UserID, *mautrix.Client, error) {
	for attempt := 1; ; attempt++ {
		text := fmt.Sprintf("hello %s %d %s", acc.Colleague, attempt, bs.suffix)
		if err := bs.proto.Inject(acc, text); err != nil {
			return "", "", nil, err
		}
		wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
		arrival, err := u.listener.waitMessage(wctx, text)
		wcancel()
		if err == nil {
			direct, err := directSender(bs.st.Synapse.URL, bs.asToken, arrival.Sender)
			return arrival.Room, arrival.Sender, direct, err
		}
		if ctx.Err() != nil {
			return "", "", nil, fmt.Errorf("the portal of %s with %s never showed a message: %w", u.mxid, acc.Colleague, err)
		}
	}
}

// extraPortals gives the first user n DM portals in all (its first plus
// n-1 with further colleagues of the same remote account).
func (bs *benchStack) extraPortals(ctx context.Context, b *testing.B, n int) (*benchUser, []benchPortal) {
	b.Helper()
	u := bs.ensureUsers(ctx, b, 1)[0]
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if len(u.extra) == 0 {
		u.extra = append(u.extra, benchPortal{acc: u.acc, room: u.portal, ghost: u.ghost, direct: u.direct})
	}
	for len(u.extra) < n {
		acc, err := bs.proto.AddColleague(u.acc, len(u.extra))
		if err != nil {
			b.Fatal(err)
		}
		p := benchPortal{acc: acc}
		if p.room, p.ghost, p.direct, err = bs.openPortal(ctx, u, acc); err != nil {
			b.Fatal(err)
		}
		u.extra = append(u.extra, p)
	}
	return u, u.extra[:n]
}

// cpuMark is the CPU time the bridge and Synapse have used so far.
type cpuMark struct{ bridge, synapse time.Duration }

func (bs *benchStack) cpu() (cpuMark, error) {
	var m cpuMark
	var err error
	if m.bridge, err = testenv.CPUTime(bs.st.Bridge.Pid()); err != nil {
		return m, err
	}
	if m.synapse, err = testenv.CPUTime(bs.st.Synapse.Pid()); err != nil {
		return m, err
	}
	return m, nil
}

// benchInt reads a positive integer setting from the environment.
func benchInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}
