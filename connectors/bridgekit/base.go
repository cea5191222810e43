package bridgekit

import (
	"time"

	"maunium.net/go/mautrix/bridgev2"

	"github.com/imbridge/imbridge/bridge/protocol"
	"github.com/imbridge/imbridge/connectors/secretbox"
)

// Base is what every protocol connector keeps alike: the environment the
// multiplexer hands it (Init) and the box its stored credentials are sealed
// with (OpenBox, from Start). Embed it in the protocol's Connector.
type Base struct {
	Env *protocol.Env
	Box *secretbox.Box
}

// Init keeps the multiplexer's environment.
func (b *Base) Init(env *protocol.Env) { b.Env = env }

// OpenBox opens the credential box from the config's credential key.
func (b *Base) OpenBox(key string) error {
	box, err := secretbox.New(key)
	if err != nil {
		return err
	}
	b.Box = box
	return nil
}

// Stop has nothing to do: each login's client stops on Disconnect.
func (b *Base) Stop() {}

// LoadClient makes a stored login's client and attaches it to the login.
func LoadClient[C bridgev2.NetworkAPI](login *bridgev2.UserLogin, newClient func(*bridgev2.UserLogin) (C, error)) error {
	client, err := newClient(login)
	if err != nil {
		return err
	}
	login.Client = client
	return nil
}

// OrDefault is d, or def when d is not set (tests shorten timings; zero keeps
// the defaults).
func OrDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
