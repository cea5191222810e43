package lync

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imbridge/imbridge/internal/bridgetest"
	"maunium.net/go/mautrix/bridgev2/status"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

func TestPasswordChangeMeansBadCredentialsAndANotice(t *testing.T) {
	e := newEnv(t)
	e.login()
	if err := e.emu.SetPassword(aliceSIP, "new-password"); err != nil {
		t.Fatal(err)
	}
	e.emu.ExpireTokens()
	// The parked event request holds until something happens; an incoming
	// IM releases it, and the next request meets the expired token.
	if _, err := e.emu.Peer(bobSIP).SendIM(aliceSIP, "are you there?"); err != nil {
		t.Fatal(err)
	}
	e.h.WaitFor("BAD_CREDENTIALS", func() bool { return e.client().LastState() == status.StateBadCredentials })
	err := e.h.Matrix.Wait(e.h.Ctx, bridgetest.DefaultWait, "the user to be told in the management room", func() bool {
		for _, r := range e.h.BotReplies(alice) {
			if strings.Contains(r, "BAD_CREDENTIALS") && strings.Contains(r, "login lync") {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("%v; bot said %q", err, e.h.BotReplies(alice))
	}
}

func TestTokenExpiryNeedsNoNewLogin(t *testing.T) {
	e := newEnv(t)
	e.login()
	e.emu.ExpireTokens()
	if _, err := e.emu.Peer(bobSIP).SendIM(aliceSIP, "after expiry"); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(e.dmRoom(bobSIP), e.ghost(bobSIP), "after expiry")
	if e.client().LastState() != status.StateConnected {
		t.Fatalf("state after a token expiry = %s", e.client().LastState())
	}
}

func TestLogoutEndsTheApplicationAndForgetsTheSecret(t *testing.T) {
	e := newEnv(t)
	e.login()
	e.h.CommandExpect(alice, "logout "+string(aliceLID), "Logged out")
	e.h.WaitFor("the application to be deleted", func() bool { return len(e.emu.Applications(aliceSIP)) == 0 })
	var n int
	if err := e.h.DB.QueryRow(context.Background(), `SELECT COUNT(*) FROM user_login WHERE id=$1`, aliceLID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("login rows after logout: %d, %v", n, err)
	}
	for _, table := range []string{"imbridge_sync_state", "imbridge_event_cursor"} {
		if err := e.h.DB.QueryRow(context.Background(), `SELECT COUNT(*) FROM `+table+` WHERE login_id=$1`, aliceLID).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%s rows after logout: %d, %v", table, n, err)
		}
	}
}

// syncBuffer is a log sink tests can read while the bridge writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestSecretsStayOutOfLogsAndDatabase(t *testing.T) {
	var logs syncBuffer
	log := zerolog.New(&logs).Level(zerolog.TraceLevel)
	e := newEnvLogged(t, &log)
	e.login()
	if _, err := e.emu.Peer(bobSIP).SendIM(aliceSIP, "hi"); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(e.dmRoom(bobSIP), e.ghost(bobSIP), "hi")
	tok := e.client().api.Token().AccessToken
	if tok == "" {
		t.Fatal("no token to look for")
	}
	if out := logs.String(); strings.Contains(out, alicePass) || strings.Contains(out, tok) {
		t.Fatal("a password or token reached the logs")
	}
	var meta string
	if err := e.h.DB.QueryRow(context.Background(), `SELECT metadata FROM user_login WHERE id=$1`, aliceLID).Scan(&meta); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(meta, alicePass) || strings.Contains(meta, tok) || !strings.Contains(meta, "sealed_password") {
		t.Fatalf("the stored login holds a plain secret or no sealed one: %s", meta)
	}
}

func TestStartChatSearchAndContacts(t *testing.T) {
	e := newEnv(t)
	if err := e.emu.AddContact(aliceSIP, bobSIP); err != nil {
		t.Fatal(err)
	}
	e.login()
	contacts := e.h.Command(alice, "list-contacts")
	if !strings.Contains(contacts, "Bob Builder") || !strings.Contains(contacts, e.ghost(bobSIP).String()) {
		t.Fatalf("list-contacts: %q", contacts)
	}
	found := e.h.Command(alice, "search "+string(aliceLID)+" Carol")
	if !strings.Contains(found, "carol@corp.example") {
		t.Fatalf("search: %q", found)
	}
	e.h.Command(alice, "start-chat "+string(aliceLID)+" sip:Carol@Corp.example")
	room := e.dmRoom(carolSIP)
	e.sendMatrix(room, "hello carol")
	if got := e.received(carolSIP, 1); got[0].Text != "hello carol" {
		t.Fatalf("carol received %q", got[0].Text)
	}
	if reply := e.h.Command(alice, "start-chat "+string(aliceLID)+" not-an-address"); !strings.Contains(strings.ToLower(reply), "not") {
		t.Fatalf("start-chat with garbage: %q", reply)
	}
}

// Item 17: renewing the sealed token on the event loop while bridgev2
// saves the login is race-free (run with -race).
func TestSealedTokenRenewalRacesNothing(t *testing.T) {
	e := newEnv(t)
	c := e.login()
	done := make(chan struct{})
	go func() {
		defer close(done)
		// What bridgev2 does to the metadata whenever it saves the login.
		for range 50 {
			if _, err := json.Marshal(c.Login.Metadata); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := range 50 {
		tok := c.api.Token()
		tok.AccessToken = fmt.Sprintf("cwt=renewed-%d", i)
		c.api.SetToken(tok)
		c.saveState(context.Background(), c.api.State())
	}
	<-done
	var meta string
	if err := e.h.DB.QueryRow(context.Background(), `SELECT metadata FROM user_login WHERE id=$1`, aliceLID).Scan(&meta); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(meta, "sealed_token") || strings.Contains(meta, "renewed-") {
		t.Fatalf("the renewed token is not stored sealed: %s", meta)
	}
}

// Item 16: a discovery URL a user types that leads to a local or private
// address is refused with a clear reply, and nothing is fetched there.
func TestTypedDiscoveryURLToPrivateAddressIsRefused(t *testing.T) {
	e := newEnv(t, withoutDiscoveryURL(), withoutPrivateAddresses())
	e.h.CommandPrompt(alice, "login lync", "SIP address")
	e.h.CommandPrompt(alice, aliceSIP, "Password")
	e.h.CommandPrompt(alice, alicePass, "Discovery URL")
	before := e.emu.Requests()
	e.h.CommandExpect(alice, e.srv.URL+"/", "refusing to connect to a private or local network address")
	if n := e.emu.Requests() - before; n != 0 {
		t.Fatalf("the server at the typed private address got %d requests", n)
	}
}

// Item 18: when the bot has no power to delete the message holding the
// password, the user is told to delete it; with the power, nothing is said.
func TestUndeletablePasswordMessageIsFlagged(t *testing.T) {
	e := newEnv(t)
	// The harness's management room is a DM alice created: the bot has
	// power level 0 there, below the redact level.
	e.h.CommandPrompt(alice, "login lync", "SIP address")
	e.h.CommandPrompt(alice, aliceSIP, "Password")
	e.h.CommandExpect(alice, "wrong", "Please delete it yourself")
	room := e.h.ManagementRoom(alice)
	_, err := e.h.Matrix.BotIntent().SendState(e.h.Ctx, room, event.StatePowerLevels, "", &event.Content{
		Parsed: &event.PowerLevelsEventContent{Users: map[id.UserID]int{bridgetest.BotMXID: 100, alice: 100}},
	}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	e.h.CommandPrompt(alice, "login lync", "SIP address")
	e.h.CommandPrompt(alice, aliceSIP, "Password")
	if reply := e.h.CommandExpect(alice, alicePass, "Signed in"); strings.Contains(reply, "delete it yourself") {
		t.Fatalf("warned although the bot can redact: %q", reply)
	}
}
