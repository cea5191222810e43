package bridge

import (
	"context"
	"fmt"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/bridgev2/status"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/bridge/protocol"
)

// GetLoginFlows lists the flows of every enabled protocol; a disabled protocol
// offers none.
func (c *Connector) GetLoginFlows() []bridgev2.LoginFlow {
	var flows []bridgev2.LoginFlow
	for _, p := range c.enabled() {
		flows = append(flows, p.LoginFlows()...)
	}
	return flows
}

func (c *Connector) CreateLogin(ctx context.Context, user *bridgev2.User, flowID string) (bridgev2.LoginProcess, error) {
	for _, p := range c.enabled() {
		for _, f := range p.LoginFlows() {
			if f.ID == flowID {
				return p.CreateLogin(ctx, user, flowID)
			}
		}
	}
	return nil, bridgev2.ErrInvalidLoginFlowID
}

// LoadUserLogin hands a stored login to its protocol. A login whose protocol is
// disabled or not built in keeps its data and gets a client that only reports
// why it cannot connect, so re-enabling the protocol brings it back.
//
// A login that already has a client (bridgev2 reuses the UserLogin when the
// same account logs in again, and reloads it on a network reset) first loses
// the old one: it is retired, so a Connect still on its way cannot start, and
// disconnected, so its event loop ends before the new client's begins. This
// holds whatever the bridgev2 version does before calling us. If loading then
// fails, the login gets a placeholder client rather than none, so that logout
// and the other calls bridgev2 makes on a cached login cannot hit a nil client.
func (c *Connector) LoadUserLogin(ctx context.Context, login *bridgev2.UserLogin) error {
	old := login.Client
	if old != nil {
		if r, ok := old.(protocol.Retirable); ok {
			r.Retire()
		}
		old.Disconnect()
	}
	// login.Client is never set to nil on the way: portal goroutines may read
	// it at any time.
	if err := c.loadUserLogin(ctx, login, old); err != nil {
		login.Client = &unavailableClient{login: login, reason: err.Error()}
		return err
	}
	return nil
}

func (c *Connector) loadUserLogin(ctx context.Context, login *bridgev2.UserLogin, old bridgev2.NetworkAPI) error {
	p, err := ids.ProtocolOf(string(login.ID))
	if err != nil {
		login.Client = &unavailableClient{login: login, reason: fmt.Sprintf("login %q has no protocol prefix this bridge knows", login.ID)}
		return nil
	}
	proto := c.protocols[p]
	switch {
	case proto == nil:
		login.Client = &unavailableClient{login: login, reason: fmt.Sprintf("this build of imbridge has no %s connector", p)}
		return nil
	case !c.Config.Enabled(p):
		login.Client = &unavailableClient{login: login, reason: fmt.Sprintf("%s is disabled in the bridge config (network.%s.enabled)", p, p)}
		return nil
	}
	if err = proto.LoadUserLogin(ctx, login); err != nil {
		return fmt.Errorf("load %s login: %w", p, err)
	}
	if login.Client == nil || login.Client == old {
		return fmt.Errorf("load %s login: connector set no new client", p)
	}
	return nil
}

// unavailableClient stands in for a login whose protocol cannot run.
type unavailableClient struct {
	login  *bridgev2.UserLogin
	reason string
}

func (u *unavailableClient) LastState() status.BridgeStateEvent { return status.StateUnknownError }

var (
	_ bridgev2.NetworkAPI                    = (*unavailableClient)(nil)
	_ bridgev2.IdentifierResolvingNetworkAPI = (*unavailableClient)(nil)
	_ bridgev2.GhostDMCreatingNetworkAPI     = (*unavailableClient)(nil)
)

func (u *unavailableClient) Connect(ctx context.Context) {
	u.login.BridgeState.Send(status.BridgeState{
		StateEvent: status.StateUnknownError,
		Error:      "im-protocol-unavailable",
		Message:    u.reason,
	})
}

func (u *unavailableClient) Disconnect()                  {}
func (u *unavailableClient) IsLoggedIn() bool             { return false }
func (u *unavailableClient) LogoutRemote(context.Context) {}
func (u *unavailableClient) IsThisUser(context.Context, networkid.UserID) bool {
	return false
}

func (u *unavailableClient) GetChatInfo(context.Context, *bridgev2.Portal) (*bridgev2.ChatInfo, error) {
	return nil, fmt.Errorf("cannot get chat info: %s", u.reason)
}

func (u *unavailableClient) GetUserInfo(context.Context, *bridgev2.Ghost) (*bridgev2.UserInfo, error) {
	return nil, fmt.Errorf("cannot get user info: %s", u.reason)
}

func (u *unavailableClient) GetCapabilities(context.Context, *bridgev2.Portal) *event.RoomFeatures {
	return &event.RoomFeatures{ID: "fi.imbridge.unavailable"}
}

func (u *unavailableClient) HandleMatrixMessage(context.Context, *bridgev2.MatrixMessage) (*bridgev2.MatrixMessageResponse, error) {
	return nil, fmt.Errorf("cannot send: %s", u.reason)
}

// ResolveIdentifier and CreateChatWithGhost say "try the next login": bridgev2
// gives up on starting a chat at the first login that is not a resolver, and
// at the first error that is not ErrResolveIdentifierTryNext.
func (u *unavailableClient) ResolveIdentifier(context.Context, string, bool) (*bridgev2.ResolveIdentifierResponse, error) {
	return nil, fmt.Errorf("%w: %s", bridgev2.ErrResolveIdentifierTryNext, u.reason)
}

func (u *unavailableClient) CreateChatWithGhost(context.Context, *bridgev2.Ghost) (*bridgev2.CreateChatResponse, error) {
	return nil, fmt.Errorf("%w: %s", bridgev2.ErrResolveIdentifierTryNext, u.reason)
}
