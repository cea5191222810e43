package bridge_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
	"maunium.net/go/mautrix/mediaproxy"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/bridge/protocol"
	"github.com/imbridge/imbridge/internal/bridgetest"
	"github.com/imbridge/imbridge/internal/bridgetest/fakeproto"
)

// hookedProto is a fake protocol with every optional connector-level hook.
type hookedProto struct {
	*fakeproto.Proto
	mu          sync.Mutex
	directMedia bool
	maxFileSize int64
	resets      int
	downloads   []string
}

var (
	_ protocol.DirectMediaProtocol      = (*hookedProto)(nil)
	_ protocol.MaxFileSizeProtocol      = (*hookedProto)(nil)
	_ protocol.TransactionIDProtocol    = (*hookedProto)(nil)
	_ protocol.NetworkResettingProtocol = (*hookedProto)(nil)
	_ protocol.PushParsingProtocol      = (*hookedProto)(nil)
	_ protocol.UserIDValidatingProtocol = (*hookedProto)(nil)
)

func (h *hookedProto) SetUseDirectMedia() { h.mu.Lock(); h.directMedia = true; h.mu.Unlock() }
func (h *hookedProto) Download(ctx context.Context, native []byte, params map[string]string) (mediaproxy.GetMediaResponse, error) {
	h.mu.Lock()
	h.downloads = append(h.downloads, string(native))
	h.mu.Unlock()
	return &mediaproxy.GetMediaResponseData{Reader: io.NopCloser(strings.NewReader("bytes of " + string(native)))}, nil
}
func (h *hookedProto) SetMaxFileSize(n int64) { h.mu.Lock(); h.maxFileSize = n; h.mu.Unlock() }
func (h *hookedProto) GenerateTransactionID(userID id.UserID, portal *bridgev2.Portal, eventType event.Type) networkid.RawTransactionID {
	return networkid.RawTransactionID("txn-for-" + string(portal.ID))
}
func (h *hookedProto) ResetHTTPTransport()      {}
func (h *hookedProto) ResetNetworkConnections() { h.mu.Lock(); h.resets++; h.mu.Unlock() }
func (h *hookedProto) ParsePushNotification(ctx context.Context, data json.RawMessage) (networkid.UserLoginID, any, error) {
	var push struct {
		Teams string `json:"teams_user"`
	}
	if json.Unmarshal(data, &push) != nil || push.Teams == "" {
		return "", nil, protocol.ErrNotThisProtocol
	}
	return ids.UserLoginID(ids.Teams, push.Teams), nil, nil
}
func (h *hookedProto) ValidateUserID(native string) bool { return strings.Contains(native, "@") }

func TestConnectorHooksGoToTheProtocolOfTheID(t *testing.T) {
	lync := fakeproto.New(ids.Lync)
	teams := &hookedProto{Proto: fakeproto.New(ids.Teams)}
	conn := bridge.New(lync, teams)
	h := bridgetest.New(t, conn, bridgetest.Options{NetworkConfig: bothEnabled, DirectMedia: true})
	if !teams.directMedia {
		t.Fatal("the protocol with direct media was not told it is on")
	}
	login(t, h, "lync", "alice@corp.example")
	login(t, h, "teams", "alice@contoso.example")

	// Direct media: by the media ID's prefix.
	resp, err := conn.Download(h.Ctx, ids.MediaID(ids.Teams, []byte("https://files/x")), nil)
	if err != nil {
		t.Fatalf("teams download: %v", err)
	}
	data := resp.(*mediaproxy.GetMediaResponseData)
	if body, _ := io.ReadAll(data.Reader); string(body) != "bytes of https://files/x" {
		t.Fatalf("teams download body %q", body)
	}
	if _, err = conn.Download(h.Ctx, ids.MediaID(ids.Lync, []byte("x")), nil); err == nil {
		t.Fatal("a lync media ID was served although lync has no direct media")
	}
	if _, err = conn.Download(h.Ctx, networkid.MediaID("no-prefix"), nil); err == nil {
		t.Fatal("a media ID without protocol was served")
	}

	// Max file size: to the protocols that want it.
	conn.SetMaxFileSize(1234)
	if teams.maxFileSize != 1234 {
		t.Fatalf("max file size = %d", teams.maxFileSize)
	}

	// Transaction IDs: by the room's portal.
	lync.Clients["lync.alice@corp.example"].Receive("c1", "m1", "hi")
	teams.Clients["teams.alice@contoso.example"].Receive("c1", "m1", "hi")
	lyncRoom := h.PortalRoom(networkid.PortalKey{ID: ids.PortalID(ids.Lync, "c1"), Receiver: "lync.alice@corp.example"})
	teamsRoom := h.PortalRoom(networkid.PortalKey{ID: ids.PortalID(ids.Teams, "c1"), Receiver: "teams.alice@contoso.example"})
	if got := conn.GenerateTransactionID(alice, teamsRoom, event.EventMessage); got != "txn-for-teams.c1" {
		t.Fatalf("teams room transaction ID = %q", got)
	}
	if got := conn.GenerateTransactionID(alice, lyncRoom, event.EventMessage); got != "" {
		t.Fatalf("lync has no transaction IDs, got %q", got)
	}
	if got := conn.GenerateTransactionID(alice, "!not-a-portal:test", event.EventMessage); got != "" {
		t.Fatalf("non-portal room transaction ID = %q", got)
	}

	// Network reset: the hooked protocol resets itself, the other's logins
	// are reloaded (a new client, connected, the old one stopped).
	oldLync := lync.Clients["lync.alice@corp.example"]
	oldTeams := teams.Clients["teams.alice@contoso.example"]
	conn.ResetNetworkConnections()
	if teams.resets != 1 {
		t.Fatalf("teams resets = %d", teams.resets)
	}
	if newLync := lync.Clients["lync.alice@corp.example"]; newLync == oldLync || !newLync.IsRunning() || oldLync.IsRunning() {
		t.Fatal("the lync login was not reloaded by the reset")
	}
	if teams.Clients["teams.alice@contoso.example"] != oldTeams {
		t.Fatal("the teams login was reloaded although teams resets itself")
	}

	// Push: the protocol that recognises it.
	loginID, _, err := conn.ParsePushNotification(h.Ctx, json.RawMessage(`{"teams_user":"alice@contoso.example"}`))
	if err != nil || loginID != "teams.alice@contoso.example" {
		t.Fatalf("push = %q, %v", loginID, err)
	}
	if _, _, err = conn.ParsePushNotification(h.Ctx, json.RawMessage(`{"other":1}`)); err == nil {
		t.Fatal("a push nobody recognises was accepted")
	}

	// User ID validation: the prefix, then the protocol's own check.
	for uid, want := range map[networkid.UserID]bool{
		"teams.bob@contoso.example": true, "teams.bob": false, "lync.bob": true, "skype.bob": false, "bob": false,
	} {
		if got := conn.ValidateUserID(uid); got != want {
			t.Errorf("ValidateUserID(%s) = %v, want %v", uid, got, want)
		}
	}
}

func TestDirectMediaNeedsAProtocolThatServesIt(t *testing.T) {
	conn, _, _ := newConn()
	_, err := bridgetest.Start(t, conn, bridgetest.Options{NetworkConfig: bothEnabled, DirectMedia: true})
	if err == nil || !strings.Contains(err.Error(), "direct media") {
		t.Fatalf("start with direct media and no protocol serving it: %v", err)
	}
	if errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}
