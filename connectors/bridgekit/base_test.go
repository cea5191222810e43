package bridgekit

import (
	"context"
	"errors"
	"testing"

	"maunium.net/go/mautrix/bridgev2"
	bridgedb "maunium.net/go/mautrix/bridgev2/database"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/secretbox"
)

type exampleClient struct{ bridgev2.NetworkAPI }

type exampleLogin struct {
	bridgev2.LoginProcess
	user *bridgev2.User
}

func exampleBase(key string, newClient func(*bridgev2.UserLogin) (*exampleClient, error)) *Base {
	return &Base{Spec: Spec{
		Proto: ids.Teams, Name: "Example", CredentialKey: func() string { return key },
		Flows: []Flow{
			{LoginFlow: bridgev2.LoginFlow{ID: "example"}, Start: func(u *bridgev2.User) bridgev2.LoginProcess { return &exampleLogin{user: u} }},
			{LoginFlow: bridgev2.LoginFlow{ID: "example-token"}, Start: func(u *bridgev2.User) bridgev2.LoginProcess { return nil }},
		},
		NewClient: Loader(newClient),
	}}
}

func TestBaseAnswersFromTheSpec(t *testing.T) {
	b := exampleBase("a key", nil)
	if b.ID() != ids.Teams || b.Info().ID != string(ids.Teams) || b.Info().DisplayName != "Example" {
		t.Fatalf("ID %q, info %+v", b.ID(), b.Info())
	}
	if flows := b.LoginFlows(); len(flows) != 2 || flows[0].ID != "example" || flows[1].ID != "example-token" {
		t.Fatalf("flows %+v", flows)
	}
	user := &bridgev2.User{}
	proc, err := b.CreateLogin(context.Background(), user, "example")
	if l, ok := proc.(*exampleLogin); err != nil || !ok || l.user != user {
		t.Fatalf("flow example started %T (%v)", proc, err)
	}
	if _, err := b.CreateLogin(context.Background(), user, "lync"); !errors.Is(err, bridgev2.ErrInvalidLoginFlowID) {
		t.Fatalf("an unknown flow: %v", err)
	}
}

// Start opens the box with the key the config has by then; without a key
// it fails (the multiplexer reports it) instead of sealing with nothing.
func TestBaseStartOpensTheBox(t *testing.T) {
	b := exampleBase("generate", nil)
	if err := b.Start(context.Background()); !errors.Is(err, secretbox.ErrNoKey) || b.Box != nil {
		t.Fatalf("start without a key: %v (box %v)", err, b.Box)
	}
	b = exampleBase("a key", nil)
	if err := b.Start(context.Background()); err != nil || b.Box == nil {
		t.Fatalf("start: %v (box %v)", err, b.Box)
	}
}

// A client that cannot be made leaves the login without one (not with a
// typed nil that would look like a client); one that can is attached.
func TestBaseLoadUserLogin(t *testing.T) {
	failed := errors.New("unreadable metadata")
	b := exampleBase("a key", func(*bridgev2.UserLogin) (*exampleClient, error) { return nil, failed })
	login := &bridgev2.UserLogin{}
	if err := b.LoadUserLogin(context.Background(), login); !errors.Is(err, failed) || login.Client != nil {
		t.Fatalf("failed load: %v, client %#v", err, login.Client)
	}
	made := &exampleClient{}
	b = exampleBase("a key", func(*bridgev2.UserLogin) (*exampleClient, error) { return made, nil })
	if err := b.LoadUserLogin(context.Background(), login); err != nil || login.Client != made {
		t.Fatalf("load: %v, client %#v", err, login.Client)
	}
}

// bridgev2 starts its Matrix connector before the network one, so a
// transaction held during downtime can load a login before Start: the
// client must find the credential box open then (a nil box was a recovered
// panic and a lost message in a kill -9 soak), and so must a login process.
func TestLoginLoadBeforeStartHasTheBox(t *testing.T) {
	var b *Base
	b = exampleBase("a key", func(*bridgev2.UserLogin) (*exampleClient, error) {
		if b.Box == nil {
			return nil, errors.New("no credential box yet")
		}
		return &exampleClient{}, nil
	})
	if err := b.LoadUserLogin(context.Background(), &bridgev2.UserLogin{}); err != nil {
		t.Fatalf("a login loaded before Start: %v", err)
	}
	box := b.Box
	if err := b.Start(context.Background()); err != nil || b.Box != box {
		t.Fatalf("Start after a load: %v; the box changed: %v", err, b.Box != box)
	}
	c := exampleBase("a key", nil)
	if _, err := c.CreateLogin(context.Background(), &bridgev2.User{}, "example"); err != nil || c.Box == nil {
		t.Fatalf("a login process before Start: %v (box %v)", err, c.Box)
	}
	d := exampleBase("generate", nil)
	if err := d.LoadUserLogin(context.Background(), &bridgev2.UserLogin{}); !errors.Is(err, secretbox.ErrNoKey) {
		t.Fatalf("a load without a usable key: %v", err)
	}
}

func TestPortalKeyAndConversation(t *testing.T) {
	key := PortalKey(ids.Teams, "19:abc@thread.v2", "teams.alice")
	if key.ID != ids.PortalID(ids.Teams, "19:abc@thread.v2") || key.Receiver != "teams.alice" {
		t.Fatalf("key %+v", key)
	}
	portal := &bridgev2.Portal{Portal: &bridgedb.Portal{PortalKey: key}}
	if got := Conversation(ids.Teams, portal); got != "19:abc@thread.v2" {
		t.Fatalf("conversation %q", got)
	}
	if got := Conversation(ids.Skype, portal); got != "" {
		t.Fatalf("a Teams portal read as the Skype conversation %q", got)
	}
}
