package bridge_test

import (
	"context"
	"testing"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/database"

	"github.com/imbridge/imbridge/bridge/ids"
)

// bridgev2 starts its Matrix connector before the network connector, so a
// transaction Synapse held during downtime can ask for a login before the
// protocols have opened their credential boxes (seen in a kill -9 soak: a
// nil box, a recovered panic and the event lost). Such calls wait for Start
// instead of reaching a protocol that is not started.
func TestLoginCallsWaitForStart(t *testing.T) {
	conn, lync, _ := newConn()
	login := &bridgev2.UserLogin{UserLogin: &database.UserLogin{ID: ids.UserLoginID(ids.Lync, "alice@corp.example")}}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := conn.LoadUserLogin(ctx, login); err == nil {
		t.Fatal("a login loaded before the connector started")
	}
	if len(lync.Clients) != 0 {
		t.Fatal("the protocol made a client before it was started")
	}
	if login.Client == nil {
		t.Fatal("the login was left without a client")
	}
	if _, err := conn.CreateLogin(ctx, nil, "lync"); err == nil {
		t.Fatal("a login process was created before the connector started")
	}
}
