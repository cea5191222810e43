package bridgetest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/bridgev2/status"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// ServerName is the fake homeserver's name; MXIDs in tests end in ":test".
const ServerName = "test"

// BotMXID is the bridge bot's user ID on the fake homeserver.
const BotMXID = id.UserID("@imbridgebot:" + ServerName)

// Event is one thing the bridge did in a Matrix room.
type Event struct {
	RoomID    id.RoomID
	ID        id.EventID
	Sender    id.UserID
	Type      event.Type
	StateKey  *string
	Content   *event.Content
	Timestamp time.Time
	// Recorded is when the fake homeserver received the event (Timestamp is
	// what the bridge asked for, often the remote message's time).
	Recorded time.Time
}

// Message returns the event's message content, or nil for other kinds.
func (e *Event) Message() *event.MessageEventContent {
	if e.Content == nil {
		return nil
	}
	switch msg := e.Content.Parsed.(type) {
	case *event.MessageEventContent:
		return msg
	case event.MessageEventContent: // bridgev2 sends some notices by value
		return &msg
	}
	return nil
}

// Room is a room the bridge created or was told about.
type Room struct {
	ID      id.RoomID
	Request *mautrix.ReqCreateRoom
	Members map[id.UserID]event.Membership
	State   map[string]*event.Content // "type|state_key"
	Deleted bool
}

// Typing is one typing notification a ghost sent.
type Typing struct {
	RoomID  id.RoomID
	UserID  id.UserID
	Typing  bool
	Timeout time.Duration
}

// Receipt is one read receipt a ghost (or double puppet) sent.
type Receipt struct {
	RoomID  id.RoomID
	UserID  id.UserID
	EventID id.EventID
}

// MessageStatus is one delivery status the bridge reported for a Matrix event.
type MessageStatus struct {
	EventID id.EventID
	Status  event.MessageStatus
	Reason  event.MessageStatusReason
	Error   string
	Message string
}

// Matrix is a fake bridgev2.MatrixConnector that records what the bridge sends
// and lets tests wait for it. It is safe for concurrent use.
type Matrix struct {
	// DirectMedia is the bridge config's direct_media.enabled (set it
	// before the bridge starts).
	DirectMedia bool

	mu       sync.Mutex
	changed  chan struct{}
	nextID   int
	bridge   *bridgev2.Bridge
	rooms    map[id.RoomID]*Room
	events   []*Event
	typing   []Typing
	receipts []Receipt
	statuses []MessageStatus
	states   []status.BridgeState
	profiles map[id.UserID]*Profile
	media    map[id.ContentURIString][]byte
}

// Profile is a ghost's Matrix profile as the bridge last set it.
type Profile struct {
	DisplayName string
	AvatarURL   id.ContentURIString
}

var _ bridgev2.MatrixConnector = (*Matrix)(nil)

// NewMatrix creates an empty fake homeserver.
func NewMatrix() *Matrix {
	return &Matrix{
		changed:  make(chan struct{}),
		rooms:    map[id.RoomID]*Room{},
		profiles: map[id.UserID]*Profile{},
		media:    map[id.ContentURIString][]byte{},
	}
}

// notify wakes every waiter; callers hold mu.
func (m *Matrix) notify() {
	close(m.changed)
	m.changed = make(chan struct{})
}

func (m *Matrix) newID(prefix string) string {
	m.nextID++
	return fmt.Sprintf("%s%d", prefix, m.nextID)
}

func (m *Matrix) Init(br *bridgev2.Bridge) { m.bridge = br }

// Start does what bridgev2's Matrix connector does at start for the features
// the fake has: with direct media on, it requires the network connector to
// serve direct media and tells it so.
func (m *Matrix) Start(ctx context.Context) error {
	if !m.DirectMedia {
		return nil
	}
	dmn, ok := m.bridge.Network.(bridgev2.DirectMediableNetwork)
	if !ok {
		return fmt.Errorf("direct media is enabled in config, but the network connector does not support it")
	}
	dmn.SetUseDirectMedia()
	return nil
}
func (m *Matrix) PreStop() {}
func (m *Matrix) Stop()    {}

func (m *Matrix) GetCapabilities() *bridgev2.MatrixCapabilities {
	return &bridgev2.MatrixCapabilities{}
}

const ghostPrefix = "@imbridge_"

func (m *Matrix) FormatGhostMXID(userID networkid.UserID) id.UserID {
	return id.UserID(ghostPrefix + id.EncodeUserLocalpart(string(userID)) + ":" + ServerName)
}

func (m *Matrix) ParseGhostMXID(userID id.UserID) (networkid.UserID, bool) {
	s := string(userID)
	if !strings.HasPrefix(s, ghostPrefix) || !strings.HasSuffix(s, ":"+ServerName) {
		return "", false
	}
	local := strings.TrimSuffix(strings.TrimPrefix(s, ghostPrefix), ":"+ServerName)
	decoded, err := id.DecodeUserLocalpart(local)
	if err != nil {
		return "", false
	}
	return networkid.UserID(decoded), true
}

func (m *Matrix) GhostIntent(userID networkid.UserID) bridgev2.MatrixAPI {
	return &Intent{m: m, mxid: m.FormatGhostMXID(userID)}
}

func (m *Matrix) NewUserIntent(ctx context.Context, userID id.UserID, accessToken string) (bridgev2.MatrixAPI, string, error) {
	return nil, "", errors.New("double puppeting is not supported by the fake homeserver")
}

func (m *Matrix) BotIntent() bridgev2.MatrixAPI { return &Intent{m: m, mxid: BotMXID} }

func (m *Matrix) SendBridgeStatus(ctx context.Context, state *status.BridgeState) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.states = append(m.states, *state)
	m.notify()
	return nil
}

func (m *Matrix) SendMessageStatus(ctx context.Context, st *bridgev2.MessageStatus, evt *bridgev2.MessageStatusEventInfo) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ms := MessageStatus{EventID: evt.SourceEventID, Status: st.Status, Reason: st.ErrorReason, Message: st.Message}
	if st.InternalError != nil {
		ms.Error = st.InternalError.Error()
	}
	m.statuses = append(m.statuses, ms)
	m.notify()
}

func (m *Matrix) GenerateContentURI(ctx context.Context, mediaID networkid.MediaID) (id.ContentURIString, error) {
	return id.ContentURIString("mxc://" + ServerName + "/direct-" + base64.RawURLEncoding.EncodeToString(mediaID)), nil
}

func (m *Matrix) ParseContentURI(ctx context.Context, uri id.ContentURIString) (networkid.MediaID, error) {
	rest, ok := strings.CutPrefix(string(uri), "mxc://"+ServerName+"/direct-")
	if !ok {
		return nil, fmt.Errorf("%s is not a direct media URI", uri)
	}
	return base64.RawURLEncoding.DecodeString(rest)
}

func (m *Matrix) GetPowerLevels(ctx context.Context, roomID id.RoomID) (*event.PowerLevelsEventContent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	room := m.rooms[roomID]
	if room == nil {
		return nil, fmt.Errorf("room %s not found", roomID)
	}
	if c := room.State[event.StatePowerLevels.Type+"|"]; c != nil {
		if pl, ok := c.Parsed.(*event.PowerLevelsEventContent); ok {
			return pl, nil
		}
	}
	if room.Request != nil && room.Request.PowerLevelOverride != nil {
		return room.Request.PowerLevelOverride, nil
	}
	return &event.PowerLevelsEventContent{}, nil
}

func (m *Matrix) GetMembers(ctx context.Context, roomID id.RoomID) (map[id.UserID]*event.MemberEventContent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	room := m.rooms[roomID]
	if room == nil {
		return nil, fmt.Errorf("room %s not found", roomID)
	}
	out := make(map[id.UserID]*event.MemberEventContent, len(room.Members))
	for user, ms := range room.Members {
		out[user] = &event.MemberEventContent{Membership: ms}
	}
	return out, nil
}

func (m *Matrix) GetMemberInfo(ctx context.Context, roomID id.RoomID, userID id.UserID) (*event.MemberEventContent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	room := m.rooms[roomID]
	if room == nil {
		return nil, fmt.Errorf("room %s not found", roomID)
	}
	if ms, ok := room.Members[userID]; ok {
		return &event.MemberEventContent{Membership: ms}, nil
	}
	return nil, nil
}

func (m *Matrix) BatchSend(ctx context.Context, roomID id.RoomID, req *mautrix.ReqBeeperBatchSend, extras []*bridgev2.MatrixSendExtra) (*mautrix.RespBeeperBatchSend, error) {
	return nil, errors.New("batch sending is not supported by the fake homeserver")
}

func (m *Matrix) GenerateDeterministicRoomID(key networkid.PortalKey) id.RoomID {
	return id.RoomID(fmt.Sprintf("!%s.%s:%s", key.ID, key.Receiver, ServerName))
}

func (m *Matrix) GenerateDeterministicEventID(roomID id.RoomID, key networkid.PortalKey, msgID networkid.MessageID, partID networkid.PartID) id.EventID {
	return id.EventID(fmt.Sprintf("$%s.%s.%s", roomID, msgID, partID))
}

func (m *Matrix) GenerateReactionEventID(roomID id.RoomID, target *database.Message, sender networkid.UserID, emojiID networkid.EmojiID) id.EventID {
	return id.EventID(fmt.Sprintf("$%s.%s.%s.%s", roomID, target.ID, sender, emojiID))
}

func (m *Matrix) ServerName() string { return ServerName }

// AddRoom registers a room that exists on the homeserver without the bridge
// having created it (a user's DM with the bot, a room a ghost is invited to).
func (m *Matrix) AddRoom(roomID id.RoomID, members map[id.UserID]event.Membership) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rooms[roomID] = &Room{ID: roomID, Members: members, State: map[string]*event.Content{}}
	m.notify()
}
