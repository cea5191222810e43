package protocol

import (
	"fmt"
	"sync"
	"sync/atomic"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/status"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/bridge/ids"
)

// ClientBase is embedded in every protocol's NetworkAPI. It holds what all of
// them share: which protocol and login the client serves, the foreign-portal
// guard, and the per-protocol naming of the login's personal space.
type ClientBase struct {
	Proto ids.Protocol
	Net   event.BridgeInfoSection
	Login *bridgev2.UserLogin

	stateMu sync.Mutex
	state   status.BridgeStateEvent
	retired atomic.Bool
}

// SendState reports the login's state to bridgev2 and remembers it:
// bridgev2's own record of the last state is not safe to read concurrently,
// and metrics and reconnect logic need it.
func (c *ClientBase) SendState(st status.BridgeState) {
	c.stateMu.Lock()
	c.state = st.StateEvent
	c.stateMu.Unlock()
	c.Login.BridgeState.Send(st)
}

// LastState is the state most recently given to SendState ("" before any).
func (c *ClientBase) LastState() status.BridgeStateEvent {
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	return c.state
}

// StateReporter is implemented by clients that embed ClientBase.
type StateReporter interface {
	LastState() status.BridgeStateEvent
}

// CheckPortal is the one guard against being handed another protocol's portal
// (bridgev2 may pick a random login for a portal; see ids.CheckPortal). Every
// handler that receives a portal calls it first.
func (c *ClientBase) CheckPortal(portal *bridgev2.Portal) error {
	if portal == nil {
		return fmt.Errorf("no portal given")
	}
	if err := ids.CheckPortal(c.Proto, portal.PortalKey); err != nil {
		return err
	}
	if portal.Receiver != "" && c.Login != nil && portal.Receiver != c.Login.ID {
		return fmt.Errorf("%w: portal %q belongs to login %q, not %q", ids.ErrForeignID, portal.ID, portal.Receiver, c.Login.ID)
	}
	return nil
}

// CustomizePersonalFilteringSpace names the login's space after its protocol and
// account ("Skype for Business (alice@corp.example)"), since one bridge holds
// several networks and bridgev2 would otherwise name every space alike.
func (c *ClientBase) CustomizePersonalFilteringSpace(req *mautrix.ReqCreateRoom) {
	account := ""
	if c.Login != nil {
		account = c.Login.RemoteName
	}
	req.Name = SpaceName(c.Net.DisplayName, account)
	req.Topic = fmt.Sprintf("Your %s chats, bridged by imbridge", c.Net.DisplayName)
}

// SpaceName is the personal space name of an account on a network.
func SpaceName(network, account string) string {
	if account == "" {
		return network
	}
	return fmt.Sprintf("%s (%s)", network, account)
}

// Retire marks the client as replaced: the multiplexer calls it before it
// disconnects a login's old client to load a new one (a second login with the
// same account, a network reset). Connect must do nothing on a retired client,
// so a Connect that was started in a goroutine before the replacement cannot
// start a second event loop for the same login.
func (c *ClientBase) Retire() { c.retired.Store(true) }

// Retired reports whether Retire was called.
func (c *ClientBase) Retired() bool { return c.retired.Load() }

// Retirable is implemented by clients that embed ClientBase.
type Retirable interface {
	Retire()
}
