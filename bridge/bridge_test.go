package bridge_test

import (
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	up "go.mau.fi/util/configupgrade"
	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/bridgeconfig"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/bridgev2/status"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/bridge/protocol"
	"github.com/imbridge/imbridge/internal/bridgetest"
	"github.com/imbridge/imbridge/internal/bridgetest/fakeproto"
)

const alice = id.UserID("@alice:" + bridgetest.ServerName)

const bothEnabled = `
metrics: {enabled: false}
lync: {enabled: true, greeting: hi}
teams: {enabled: true, greeting: hey}
`

func newConn() (*bridge.Connector, *fakeproto.Proto, *fakeproto.Proto) {
	lync, teams := fakeproto.New(ids.Lync), fakeproto.New(ids.Teams)
	return bridge.New(lync, teams), lync, teams
}

func login(t *testing.T, h *bridgetest.Harness, flow, name string) {
	t.Helper()
	h.CommandPrompt(alice, "login "+flow, "Name")
	h.CommandExpect(alice, name, "Logged in as")
}

func TestDisabledProtocolOffersNoLoginFlow(t *testing.T) {
	conn, _, _ := newConn()
	h := bridgetest.New(t, conn, bridgetest.Options{NetworkConfig: "lync: {enabled: true, greeting: hi}\nteams: {enabled: false, greeting: hey}\n"})
	var flowIDs []string
	for _, f := range conn.GetLoginFlows() {
		flowIDs = append(flowIDs, f.ID)
	}
	if strings.Join(flowIDs, ",") != "lync" {
		t.Fatalf("login flows = %v, want only lync", flowIDs)
	}
	if _, err := conn.CreateLogin(h.Ctx, h.User(alice), "teams"); !errors.Is(err, bridgev2.ErrInvalidLoginFlowID) {
		t.Fatalf("CreateLogin(teams) error = %v, want ErrInvalidLoginFlowID", err)
	}
	if reply := h.Command(alice, "login teams"); !strings.Contains(strings.ToLower(reply), "invalid") {
		t.Fatalf("login teams should be refused, bot said %q", reply)
	}
}

func TestLoginsDispatchAndSurviveRestart(t *testing.T) {
	conn, lync, _ := newConn()
	h := bridgetest.New(t, conn, bridgetest.Options{NetworkConfig: bothEnabled})
	if help := h.Command(alice, "help"); !strings.Contains(help, "login") {
		t.Fatalf("help does not mention login: %q", help)
	}
	login(t, h, "lync", "Alice@Corp.example")
	login(t, h, "teams", "alice@contoso.example")
	list := h.Command(alice, "list-logins")
	for _, want := range []string{"lync.alice@corp.example", "teams.alice@contoso.example"} {
		if !strings.Contains(list, want) {
			t.Fatalf("list-logins lacks %s: %q", want, list)
		}
	}
	if _, ok := lync.Clients["lync.alice@corp.example"]; !ok {
		t.Fatalf("the lync protocol did not load the lync login; it has %v", lync.Clients)
	}
	dbPath := h.DBPath
	h.Stop()

	conn2, lync2, teams2 := newConn()
	h2 := bridgetest.New(t, conn2, bridgetest.Options{NetworkConfig: bothEnabled, DBPath: dbPath})
	lc := lync2.Clients["lync.alice@corp.example"]
	tc := teams2.Clients["teams.alice@contoso.example"]
	if lc == nil || tc == nil {
		t.Fatalf("after restart each protocol must load its own login: lync=%v teams=%v", lync2.Clients, teams2.Clients)
	}
	if lc.Token != "tok-Alice@Corp.example" || tc.Token != "tok-alice@contoso.example" {
		t.Fatalf("login metadata did not survive the restart: lync token %q, teams token %q", lc.Token, tc.Token)
	}
	if len(lync2.Clients) != 1 || len(teams2.Clients) != 1 {
		t.Fatalf("a protocol was handed another protocol's login: lync=%v teams=%v", lync2.Clients, teams2.Clients)
	}
	_ = h2
}

func TestDisabledProtocolKeepsLoginButReportsWhy(t *testing.T) {
	conn, _, _ := newConn()
	h := bridgetest.New(t, conn, bridgetest.Options{NetworkConfig: bothEnabled})
	login(t, h, "teams", "bob")
	dbPath := h.DBPath
	h.Stop()

	conn2, _, teams2 := newConn()
	h2 := bridgetest.New(t, conn2, bridgetest.Options{NetworkConfig: "lync: {enabled: true, greeting: hi}\nteams: {enabled: false, greeting: x}\n", DBPath: dbPath})
	if len(teams2.Clients) != 0 {
		t.Fatal("a disabled protocol must not load its logins")
	}
	h2.WaitFor("an UNKNOWN_ERROR state explaining that teams is disabled", func() bool {
		for _, st := range h2.Matrix.BridgeStates() {
			if st.StateEvent == status.StateUnknownError && strings.Contains(st.Message, "network.teams.enabled") {
				return true
			}
		}
		return false
	})
	if list := h2.Command(alice, "list-logins"); !strings.Contains(list, "teams.bob") {
		t.Fatalf("the login must be kept while its protocol is disabled: %q", list)
	}
}

func TestPortalsCarryTheirProtocol(t *testing.T) {
	conn, lync, teams := newConn()
	h := bridgetest.New(t, conn, bridgetest.Options{
		NetworkConfig: bothEnabled,
		Configure:     func(c *bridgeconfig.BridgeConfig) { c.PersonalFilteringSpaces = true },
	})
	login(t, h, "lync", "alice@corp.example")
	login(t, h, "teams", "alice@contoso.example")
	lync.Clients["lync.alice@corp.example"].Receive("conv1", "m1", "hello from lync")
	teams.Clients["teams.alice@contoso.example"].Receive("conv1", "m1", "hello from teams")

	rooms := map[string]id.RoomID{}
	for _, p := range []ids.Protocol{ids.Lync, ids.Teams} {
		login := networkid.UserLoginID(ids.MakeAddress(p, map[ids.Protocol]string{ids.Lync: "alice@corp.example", ids.Teams: "alice@contoso.example"}[p]))
		portal, err := h.Bridge.GetExistingPortalByKey(h.Ctx, networkid.PortalKey{ID: ids.PortalID(p, "conv1"), Receiver: login})
		if err != nil || portal == nil || portal.MXID == "" {
			t.Fatalf("%s portal was not created: %v %v", p, portal, err)
		}
		rooms[string(p)] = portal.MXID
		room := h.Matrix.Room(portal.MXID)
		var bridgeInfo *event.BridgeEventContent
		for _, st := range room.Request.InitialState {
			if st.Type == event.StateBridge {
				bridgeInfo, _ = st.Content.Parsed.(*event.BridgeEventContent)
			}
		}
		if bridgeInfo == nil || bridgeInfo.Protocol.ID != string(p) {
			t.Fatalf("%s portal's m.bridge protocol = %+v, want %s", p, bridgeInfo, p)
		}
		msgs := h.Matrix.Messages(portal.MXID)
		if len(msgs) != 1 || msgs[0].Message().Body != "hello from "+string(p) {
			t.Fatalf("%s portal messages = %v", p, msgs)
		}
		wantGhost := id.UserID("@imbridge_" + string(p) + ".peer=40example.com:" + bridgetest.ServerName)
		if msgs[0].Sender != wantGhost {
			t.Fatalf("%s message sender = %s, want %s", p, msgs[0].Sender, wantGhost)
		}
	}
	if rooms["lync"] == rooms["teams"] {
		t.Fatal("the same native chat ID on two protocols must give two rooms")
	}
	for _, want := range []string{"Fake lync (alice@corp.example)", "Fake teams (alice@contoso.example)"} {
		h.WaitFor("a personal space named "+want, func() bool {
			for _, r := range h.Matrix.Rooms() {
				if r.Request.CreationContent["type"] == event.RoomTypeSpace && r.Request.Name == want {
					return true
				}
			}
			return false
		})
	}
}

// The foreign-portal guard is tested where it matters, on a real protocol
// client behind bridgev2: connectors/lync TestForeignPortalThroughBridgeIsRefusedByLyncClient.

func TestMetricsReportLoginsAndMessages(t *testing.T) {
	conn, lync, _ := newConn()
	h := bridgetest.New(t, conn, bridgetest.Options{NetworkConfig: bothEnabled})
	login(t, h, "lync", "alice@corp.example")
	h.WaitFor("the lync login to be connected", func() bool {
		ul := h.Bridge.GetCachedUserLoginByID("lync.alice@corp.example")
		return ul != nil && ul.Client.(protocol.StateReporter).LastState() == status.StateConnected
	})
	conn.Metrics.MessageBridged("lync", "to_matrix", 0)
	conn.Metrics.RemoteAPIError("lync", "events", 503)
	_ = lync
	srv := httptest.NewServer(conn.Metrics.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	for _, want := range []string{
		`imbridge_logins{protocol="lync",state="CONNECTED"} 1`,
		`imbridge_messages_bridged_total{direction="to_matrix",protocol="lync"} 1`,
		`imbridge_bridging_latency_seconds_count{direction="to_matrix",protocol="lync"} 1`,
		`imbridge_remote_api_errors_total{endpoint="events",protocol="lync",status="503"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func upgradeNetworkConfig(t *testing.T, conn *bridge.Connector, userYAML string) error {
	t.Helper()
	example, data, upgrader := conn.GetConfig()
	base := "network:\n" + indent(example)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("network:\n"+indent(userYAML)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := up.Do(path, false, up.MergeUpgraders(base, &up.ProxyUpgrader{Target: upgrader, Prefix: []string{"network"}}))
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	var wrapper struct {
		Network yamlNode `yaml:"network"`
	}
	if err = unmarshalYAML(out, &wrapper); err != nil {
		return err
	}
	if err = wrapper.Network.Decode(data); err != nil {
		return err
	}
	return conn.ValidateConfig()
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown section", "foo: {}\nlync: {enabled: true, greeting: x}\n", "network.foo: unknown section"},
		{"unbuilt protocol enabled", "skype: {enabled: true}\n", "network.skype.enabled: this build of imbridge has no skype connector"},
		{"protocol validation", "lync: {enabled: true, greeting: ''}\n", "network.lync: greeting: must not be empty"},
		{"bad duration", "homeserver_wait: soon\n", "network.homeserver_wait"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, _, _ := newConn()
			err := upgradeNetworkConfig(t, conn, tc.yaml)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	conn, _, _ := newConn()
	if err := upgradeNetworkConfig(t, conn, "lync: {enabled: true, greeting: yo}\n"); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	if !conn.Config.Enabled(ids.Lync) || !conn.Config.Enabled(ids.Teams) || conn.Config.Enabled(ids.Skype) {
		t.Fatal("the upgraded config should keep lync and take teams (enabled) and skype (disabled) from the example")
	}
}

func indent(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		b.WriteString("    " + line + "\n")
	}
	return b.String()
}

func TestListContactsCoversEveryLogin(t *testing.T) {
	conn, _, _ := newConn()
	h := bridgetest.New(t, conn, bridgetest.Options{NetworkConfig: bothEnabled})
	login(t, h, "lync", "alice@corp.example")
	login(t, h, "teams", "alice@contoso.example")
	out := h.Command(alice, "list-contacts")
	for _, want := range []string{"**Fake lync** (`lync.alice@corp.example`, 1 contacts)", "Peer lync", "@imbridge_lync.peer=40example.com:test", "**Fake teams**", "Peer teams", "teams.peer@example.com"} {
		if !strings.Contains(out, want) {
			t.Errorf("list-contacts lacks %q:\n%s", want, out)
		}
	}
	one := h.Command(alice, "list-contacts teams.alice@contoso.example")
	if strings.Contains(one, "Peer lync") || !strings.Contains(one, "Peer teams") {
		t.Errorf("list-contacts for one login listed others:\n%s", one)
	}
}
