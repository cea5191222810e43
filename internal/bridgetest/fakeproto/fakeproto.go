// Package fakeproto is a minimal imbridge protocol for tests: a username
// login, remote messages a test injects by hand, identifier resolution, search
// and contacts. It exercises everything the multiplexer does for real ones,
// and lets a real protocol's tests run beside a second network.
package fakeproto

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	up "go.mau.fi/util/configupgrade"
	"maunium.net/go/mautrix/bridgev2"
	bridgedb "maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/bridgev2/simplevent"
	"maunium.net/go/mautrix/bridgev2/status"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/bridge/protocol"
)

// Proto is the fake protocol.
type Proto struct {
	id     ids.Protocol
	config struct {
		Greeting string `yaml:"greeting"`
	}
	env *protocol.Env
	// Clients are the loaded clients by login ID (the latest per login).
	Clients map[networkid.UserLoginID]*Client
	// Handled lists "<login>:<portal>" for each Matrix message a client got.
	Handled []string

	loopMu sync.Mutex
	loops  int // clients connected and not yet disconnected: each would run an event loop

	// ClaimPrefix, if set, is an identifier syntax only this protocol has
	// (like Teams' "8:orgid:"); every protocol takes e-mail-like addresses.
	ClaimPrefix string
	// AskCode makes the login ask for a code after the name: two prompts in
	// a row, as real logins ask for an address and then a password.
	AskCode bool
}

func (f *Proto) ClaimsIdentifier(identifier string) bool {
	return f.ClaimPrefix != "" && strings.HasPrefix(identifier, f.ClaimPrefix)
}

// accepts is the fake's identifier syntax: an address, or its own prefix.
func (f *Proto) accepts(native string) bool {
	return strings.Contains(native, "@") || f.ClaimsIdentifier(native)
}

// RunningLoops is how many of the protocol's clients are connected.
func (f *Proto) RunningLoops() int {
	f.loopMu.Lock()
	defer f.loopMu.Unlock()
	return f.loops
}

type LoginMeta struct {
	Token string `json:"token"`
}

// PortalMeta is the fake portal metadata.
type PortalMeta struct {
	Topic string `json:"topic"`
}

// New makes a fake protocol that registers as p.
func New(p ids.Protocol) *Proto {
	return &Proto{id: p, Clients: map[networkid.UserLoginID]*Client{}}
}

func (f *Proto) ID() ids.Protocol { return f.id }
func (f *Proto) Info() event.BridgeInfoSection {
	return event.BridgeInfoSection{ID: string(f.id), DisplayName: "Fake " + string(f.id)}
}
func (f *Proto) ExampleConfig() string {
	return "# What the fake says first.\ngreeting: hello\n"
}
func (f *Proto) ConfigData() any { return &f.config }
func (f *Proto) UpgradeConfig(helper up.Helper) {
	helper.Copy(up.Str, "greeting")
}
func (f *Proto) ValidateConfig() error {
	if f.config.Greeting == "" {
		return fmt.Errorf("greeting: must not be empty")
	}
	return nil
}
func (f *Proto) MetaTypes() bridgedb.MetaTypes {
	return bridgedb.MetaTypes{
		UserLogin: protocol.NewKind[LoginMeta](f.id).Creator(),
		Portal:    protocol.NewKind[PortalMeta](f.id).Creator(),
	}
}
func (f *Proto) GeneralCapabilities() *bridgev2.NetworkGeneralCapabilities {
	return &bridgev2.NetworkGeneralCapabilities{}
}
func (f *Proto) Init(env *protocol.Env)          { f.env = env }
func (f *Proto) Start(ctx context.Context) error { return nil }
func (f *Proto) Stop()                           {}
func (f *Proto) LoginFlows() []bridgev2.LoginFlow {
	return []bridgev2.LoginFlow{{ID: string(f.id), Name: "Fake " + string(f.id), Description: "Log in with a name"}}
}
func (f *Proto) CreateLogin(ctx context.Context, user *bridgev2.User, flowID string) (bridgev2.LoginProcess, error) {
	return &loginProcess{proto: f, user: user}, nil
}
func (f *Proto) LoadUserLogin(ctx context.Context, login *bridgev2.UserLogin) error {
	meta, err := protocol.NewKind[LoginMeta](f.id).Get(login.Metadata)
	if err != nil {
		return err
	}
	c := &Client{ClientBase: protocol.ClientBase{Proto: f.id, Net: f.Info(), Login: login}, proto: f, Token: meta.Token}
	f.Clients[login.ID] = c
	login.Client = c
	return nil
}

type loginProcess struct {
	proto *Proto
	user  *bridgev2.User
}

func (l *loginProcess) Start(ctx context.Context) (*bridgev2.LoginStep, error) {
	fields := []bridgev2.LoginInputDataField{{Type: bridgev2.LoginInputFieldTypeUsername, ID: "name", Name: "Name"}}
	if l.proto.AskCode {
		fields = append(fields, bridgev2.LoginInputDataField{Type: bridgev2.LoginInputFieldTypePassword, ID: "code", Name: "Code"})
	}
	return &bridgev2.LoginStep{
		Type: bridgev2.LoginStepTypeUserInput, StepID: "name", Instructions: "Enter a name",
		UserInputParams: &bridgev2.LoginUserInputParams{Fields: fields},
	}, nil
}
func (l *loginProcess) Cancel() {}
func (l *loginProcess) SubmitUserInput(ctx context.Context, input map[string]string) (*bridgev2.LoginStep, error) {
	name := input["name"]
	ul, err := l.user.NewLogin(ctx, &bridgedb.UserLogin{
		ID: ids.UserLoginID(l.proto.id, name), RemoteName: name,
		Metadata: protocol.NewKind[LoginMeta](l.proto.id).Wrap(&LoginMeta{Token: "tok-" + name}),
	}, &bridgev2.NewLoginParams{DeleteOnConflict: true})
	if err != nil {
		return nil, err
	}
	go ul.Client.Connect(ul.Log.WithContext(context.Background()))
	return &bridgev2.LoginStep{Type: bridgev2.LoginStepTypeComplete, StepID: "done", Instructions: "Logged in as " + name,
		CompleteParams: &bridgev2.LoginCompleteParams{UserLoginID: ul.ID, UserLogin: ul}}, nil
}

// Client is a fake login's client.
type Client struct {
	protocol.ClientBase
	proto   *Proto
	Token   string
	running bool // guarded by proto.loopMu
}

// Connect starts the client's "event loop", as a real protocol would; a
// retired client does nothing (protocol.ClientBase.Retire).
func (c *Client) Connect(ctx context.Context) {
	c.proto.loopMu.Lock()
	if c.Retired() || c.running {
		c.proto.loopMu.Unlock()
		return
	}
	c.running = true
	c.proto.loops++
	c.proto.loopMu.Unlock()
	c.SendState(status.BridgeState{StateEvent: status.StateConnected})
}
func (c *Client) Disconnect() {
	c.proto.loopMu.Lock()
	defer c.proto.loopMu.Unlock()
	if c.running {
		c.running = false
		c.proto.loops--
	}
}

// IsRunning reports whether the client is connected.
func (c *Client) IsRunning() bool {
	c.proto.loopMu.Lock()
	defer c.proto.loopMu.Unlock()
	return c.running
}
func (c *Client) IsLoggedIn() bool                 { return c.IsRunning() }
func (c *Client) LogoutRemote(ctx context.Context) { c.Disconnect() }
func (c *Client) IsThisUser(ctx context.Context, userID networkid.UserID) bool {
	return string(userID) == ids.MakeAddress(c.Proto, c.Login.RemoteName)
}
func (c *Client) GetChatInfo(ctx context.Context, portal *bridgev2.Portal) (*bridgev2.ChatInfo, error) {
	if err := c.CheckPortal(portal); err != nil {
		return nil, err
	}
	name := "Chat " + string(portal.ID)
	peer := networkid.UserID(ids.Make(c.Proto, "peer@example.com"))
	return &bridgev2.ChatInfo{Name: &name, Members: &bridgev2.ChatMemberList{IsFull: true, MemberMap: bridgev2.ChatMemberMap{
		peer: {EventSender: bridgev2.EventSender{Sender: peer}},
		networkid.UserID(ids.MakeAddress(c.Proto, c.Login.RemoteName)): {EventSender: bridgev2.EventSender{IsFromMe: true}},
	}}}, nil
}
func (c *Client) GetUserInfo(ctx context.Context, ghost *bridgev2.Ghost) (*bridgev2.UserInfo, error) {
	name := "Peer of " + string(c.Proto)
	return &bridgev2.UserInfo{Name: &name}, nil
}
func (c *Client) GetCapabilities(ctx context.Context, portal *bridgev2.Portal) *event.RoomFeatures {
	return &event.RoomFeatures{ID: "fake"}
}
func (c *Client) HandleMatrixMessage(ctx context.Context, msg *bridgev2.MatrixMessage) (*bridgev2.MatrixMessageResponse, error) {
	if err := c.CheckPortal(msg.Portal); err != nil {
		return nil, err
	}
	c.proto.Handled = append(c.proto.Handled, fmt.Sprintf("%s:%s", c.Login.ID, msg.Portal.ID))
	return &bridgev2.MatrixMessageResponse{DB: &bridgedb.Message{
		ID: ids.MessageID(c.Proto, string(msg.Event.ID)), SenderID: networkid.UserID(ids.MakeAddress(c.Proto, c.Login.RemoteName)), Timestamp: time.Now(),
	}}, nil
}

// Receive injects a remote text message from the peer into a portal.
func (c *Client) Receive(portalNative, msgNative, text string) {
	peer := networkid.UserID(ids.Make(c.Proto, "peer@example.com"))
	c.Login.QueueRemoteEvent(&simplevent.Message[string]{
		EventMeta: simplevent.EventMeta{
			Type: bridgev2.RemoteEventMessage, PortalKey: networkid.PortalKey{ID: ids.PortalID(c.Proto, portalNative), Receiver: c.Login.ID},
			Sender: bridgev2.EventSender{Sender: peer}, CreatePortal: true, Timestamp: time.Now(),
		},
		ID: ids.MessageID(c.Proto, msgNative), Data: text,
		ConvertMessageFunc: func(ctx context.Context, portal *bridgev2.Portal, intent bridgev2.MatrixAPI, data string) (*bridgev2.ConvertedMessage, error) {
			return &bridgev2.ConvertedMessage{Parts: []*bridgev2.ConvertedMessagePart{{Type: event.EventMessage, Content: &event.MessageEventContent{MsgType: event.MsgText, Body: data}}}}, nil
		},
	})
}

func (c *Client) GetContactList(ctx context.Context) ([]*bridgev2.ResolveIdentifierResponse, error) {
	peer := networkid.UserID(ids.Make(c.Proto, "peer@example.com"))
	ghost, err := c.proto.env.Bridge.GetGhostByID(ctx, peer)
	if err != nil {
		return nil, err
	}
	name := "Peer " + string(c.Proto)
	return []*bridgev2.ResolveIdentifierResponse{{Ghost: ghost, UserID: peer, UserInfo: &bridgev2.UserInfo{Name: &name}}}, nil
}

var (
	_ bridgev2.IdentifierResolvingNetworkAPI = (*Client)(nil)
	_ bridgev2.GhostDMCreatingNetworkAPI     = (*Client)(nil)
	_ bridgev2.UserSearchingNetworkAPI       = (*Client)(nil)
)

func (c *Client) dmKey(native string) networkid.PortalKey {
	return networkid.PortalKey{ID: ids.PortalID(c.Proto, "dm-"+native), Receiver: c.Login.ID}
}

// ResolveIdentifier follows the contract of every protocol client: "try next"
// for what is not its own and while disconnected.
func (c *Client) ResolveIdentifier(ctx context.Context, identifier string, createChat bool) (*bridgev2.ResolveIdentifierResponse, error) {
	native, own := ids.OwnIdentifier(c.Proto, identifier)
	if !own || !c.proto.accepts(native) {
		return nil, fmt.Errorf("%w: %q is not a %s identifier", bridgev2.ErrResolveIdentifierTryNext, identifier, c.Proto)
	}
	if !c.IsLoggedIn() {
		return nil, fmt.Errorf("%w: %s login is disconnected", bridgev2.ErrResolveIdentifierTryNext, c.Proto)
	}
	userID := ids.UserID(c.Proto, native)
	ghost, err := c.proto.env.Bridge.GetGhostByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	name := "Resolved by " + string(c.Proto)
	resp := &bridgev2.ResolveIdentifierResponse{Ghost: ghost, UserID: userID, UserInfo: &bridgev2.UserInfo{Name: &name}}
	if createChat {
		resp.Chat = &bridgev2.CreateChatResponse{PortalKey: c.dmKey(native)}
	}
	return resp, nil
}

func (c *Client) CreateChatWithGhost(ctx context.Context, ghost *bridgev2.Ghost) (*bridgev2.CreateChatResponse, error) {
	native, err := ids.Parse(c.Proto, string(ghost.ID))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", bridgev2.ErrResolveIdentifierTryNext, err)
	}
	if !c.IsLoggedIn() {
		return nil, fmt.Errorf("%w: %s login is disconnected", bridgev2.ErrResolveIdentifierTryNext, c.Proto)
	}
	return &bridgev2.CreateChatResponse{PortalKey: c.dmKey(native)}, nil
}

func (c *Client) SearchUsers(ctx context.Context, query string) ([]*bridgev2.ResolveIdentifierResponse, error) {
	userID := networkid.UserID(ids.MakeAddress(c.Proto, query+"@"+string(c.Proto)+".example"))
	ghost, err := c.proto.env.Bridge.GetGhostByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	name := "Found on " + string(c.Proto)
	return []*bridgev2.ResolveIdentifierResponse{{Ghost: ghost, UserID: userID, UserInfo: &bridgev2.UserInfo{Name: &name}}}, nil
}

// ReceiveShared is Receive into a portal without a receiver (a chat that
// all logins in it share, as with split portals off).
func (c *Client) ReceiveShared(portalNative, msgNative, text string) {
	peer := networkid.UserID(ids.Make(c.Proto, "peer@example.com"))
	c.Login.QueueRemoteEvent(&simplevent.Message[string]{
		EventMeta: simplevent.EventMeta{
			Type: bridgev2.RemoteEventMessage, PortalKey: networkid.PortalKey{ID: ids.PortalID(c.Proto, portalNative)},
			Sender: bridgev2.EventSender{Sender: peer}, CreatePortal: true, Timestamp: time.Now(),
		},
		ID: ids.MessageID(c.Proto, msgNative), Data: text,
		ConvertMessageFunc: func(ctx context.Context, portal *bridgev2.Portal, intent bridgev2.MatrixAPI, data string) (*bridgev2.ConvertedMessage, error) {
			return &bridgev2.ConvertedMessage{Parts: []*bridgev2.ConvertedMessagePart{{Type: event.EventMessage, Content: &event.MessageEventContent{MsgType: event.MsgText, Body: data}}}}, nil
		},
	})
}
