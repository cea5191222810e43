package bridgetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// Intent is the fake MatrixAPI of one user (the bot or a ghost).
type Intent struct {
	m    *Matrix
	mxid id.UserID
}

var _ bridgev2.MatrixAPI = (*Intent)(nil)

func (in *Intent) GetMXID() id.UserID   { return in.mxid }
func (in *Intent) IsDoublePuppet() bool { return false }

func (in *Intent) record(roomID id.RoomID, evtType event.Type, stateKey *string, content *event.Content, ts time.Time) id.EventID {
	m := in.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if ts.IsZero() {
		ts = time.Now()
	}
	evt := &Event{
		RoomID: roomID, ID: id.EventID(m.newID("$ev")), Sender: in.mxid, Type: evtType,
		StateKey: stateKey, Content: content, Timestamp: ts, Recorded: time.Now(),
	}
	m.events = append(m.events, evt)
	if room := m.rooms[roomID]; room != nil && stateKey != nil {
		room.State[evtType.Type+"|"+*stateKey] = content
		if evtType == event.StateMember {
			if mc, ok := content.Parsed.(*event.MemberEventContent); ok {
				room.Members[id.UserID(*stateKey)] = mc.Membership
			}
		}
	}
	m.notify()
	return evt.ID
}

func (in *Intent) SendMessage(ctx context.Context, roomID id.RoomID, evtType event.Type, content *event.Content, extra *bridgev2.MatrixSendExtra) (*mautrix.RespSendEvent, error) {
	var ts time.Time
	if extra != nil {
		ts = extra.Timestamp
	}
	if err := in.requireJoined(roomID); err != nil {
		return nil, err
	}
	accept, err := in.m.sendFault(roomID, in.mxid, content)
	if !accept {
		return nil, err
	}
	evtID := in.record(roomID, evtType, nil, content, ts)
	in.m.answerDelay(roomID, in.mxid, content)
	if err != nil {
		return nil, err
	}
	return &mautrix.RespSendEvent{EventID: evtID}, nil
}

func (in *Intent) requireJoined(roomID id.RoomID) error {
	in.m.mu.Lock()
	defer in.m.mu.Unlock()
	room := in.m.rooms[roomID]
	if room == nil {
		return fmt.Errorf("M_NOT_FOUND: room %s does not exist", roomID)
	}
	if room.Members[in.mxid] != event.MembershipJoin {
		return fmt.Errorf("M_FORBIDDEN: %s is not in room %s", in.mxid, roomID)
	}
	return nil
}

func (in *Intent) SendState(ctx context.Context, roomID id.RoomID, evtType event.Type, stateKey string, content *event.Content, ts time.Time) (*mautrix.RespSendEvent, error) {
	return &mautrix.RespSendEvent{EventID: in.record(roomID, evtType, &stateKey, content, ts)}, nil
}

func (in *Intent) MarkRead(ctx context.Context, roomID id.RoomID, eventID id.EventID, ts time.Time) error {
	in.m.mu.Lock()
	defer in.m.mu.Unlock()
	in.m.receipts = append(in.m.receipts, Receipt{RoomID: roomID, UserID: in.mxid, EventID: eventID})
	in.m.notify()
	return nil
}

func (in *Intent) MarkUnread(ctx context.Context, roomID id.RoomID, unread bool) error { return nil }

func (in *Intent) MarkTyping(ctx context.Context, roomID id.RoomID, typingType bridgev2.TypingType, timeout time.Duration) error {
	in.m.mu.Lock()
	defer in.m.mu.Unlock()
	in.m.typing = append(in.m.typing, Typing{RoomID: roomID, UserID: in.mxid, Typing: timeout > 0, Timeout: timeout})
	in.m.notify()
	return nil
}

func (in *Intent) DownloadMedia(ctx context.Context, uri id.ContentURIString, file *event.EncryptedFileInfo) ([]byte, error) {
	in.m.mu.Lock()
	defer in.m.mu.Unlock()
	data, ok := in.m.media[uri]
	if !ok {
		return nil, fmt.Errorf("M_NOT_FOUND: media %s", uri)
	}
	return bytes.Clone(data), nil
}

func (in *Intent) DownloadMediaToFile(ctx context.Context, uri id.ContentURIString, file *event.EncryptedFileInfo, writable bool, callback func(*os.File) error) error {
	data, err := in.DownloadMedia(ctx, uri, file)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp("", "bridgetest-media-*")
	if err != nil {
		return err
	}
	defer func() { _ = f.Close(); _ = os.Remove(f.Name()) }()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if _, err = f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return callback(f)
}

func (in *Intent) UploadMedia(ctx context.Context, roomID id.RoomID, data []byte, fileName, mimeType string) (id.ContentURIString, *event.EncryptedFileInfo, error) {
	return in.m.PutMedia(data), nil, nil
}

func (in *Intent) UploadMediaStream(ctx context.Context, roomID id.RoomID, size int64, requireFile bool, cb bridgev2.FileStreamCallback) (id.ContentURIString, *event.EncryptedFileInfo, error) {
	var buf bytes.Buffer
	res, err := cb(&buf)
	if err != nil {
		return "", nil, err
	}
	data := buf.Bytes()
	if res != nil && res.ReplacementFile != "" {
		if data, err = os.ReadFile(res.ReplacementFile); err != nil {
			return "", nil, err
		}
	}
	return in.m.PutMedia(data), nil, nil
}

func (in *Intent) profile() *Profile {
	p := in.m.profiles[in.mxid]
	if p == nil {
		p = &Profile{}
		in.m.profiles[in.mxid] = p
	}
	return p
}

func (in *Intent) SetDisplayName(ctx context.Context, name string) error {
	in.m.mu.Lock()
	defer in.m.mu.Unlock()
	in.profile().DisplayName = name
	in.m.notify()
	return nil
}

func (in *Intent) SetAvatarURL(ctx context.Context, avatarURL id.ContentURIString) error {
	in.m.mu.Lock()
	defer in.m.mu.Unlock()
	in.profile().AvatarURL = avatarURL
	in.m.notify()
	return nil
}

func (in *Intent) SetExtraProfileMeta(ctx context.Context, data any) error { return nil }
func (in *Intent) SetProfile(ctx context.Context, data any) error          { return nil }

func (in *Intent) CreateRoom(ctx context.Context, req *mautrix.ReqCreateRoom) (id.RoomID, error) {
	m := in.m
	m.mu.Lock()
	roomID := id.RoomID(m.newID("!room") + ":" + ServerName)
	room := &Room{ID: roomID, Request: req, Members: map[id.UserID]event.Membership{in.mxid: event.MembershipJoin}, State: map[string]*event.Content{}}
	for _, u := range req.Invite {
		room.Members[u] = event.MembershipInvite
	}
	for _, u := range req.BeeperInitialMembers {
		room.Members[u] = event.MembershipJoin
	}
	for _, st := range req.InitialState {
		c := st.Content
		sk := ""
		if st.StateKey != nil {
			sk = *st.StateKey
		}
		room.State[st.Type.Type+"|"+sk] = &c
	}
	m.rooms[roomID] = room
	m.notify()
	m.mu.Unlock()
	return roomID, nil
}

func (in *Intent) DeleteRoom(ctx context.Context, roomID id.RoomID, puppetsOnly bool) error {
	in.m.mu.Lock()
	defer in.m.mu.Unlock()
	if room := in.m.rooms[roomID]; room != nil {
		room.Deleted = true
	}
	in.m.notify()
	return nil
}

func (in *Intent) EnsureJoined(ctx context.Context, roomID id.RoomID, params ...bridgev2.EnsureJoinedParams) error {
	in.m.mu.Lock()
	defer in.m.mu.Unlock()
	room := in.m.rooms[roomID]
	if room == nil {
		return fmt.Errorf("M_NOT_FOUND: room %s does not exist", roomID)
	}
	room.Members[in.mxid] = event.MembershipJoin
	in.m.notify()
	return nil
}

func (in *Intent) EnsureInvited(ctx context.Context, roomID id.RoomID, userID id.UserID) error {
	in.m.mu.Lock()
	defer in.m.mu.Unlock()
	room := in.m.rooms[roomID]
	if room == nil {
		return fmt.Errorf("M_NOT_FOUND: room %s does not exist", roomID)
	}
	if room.Members[userID] != event.MembershipJoin {
		room.Members[userID] = event.MembershipInvite
	}
	in.m.notify()
	return nil
}

func (in *Intent) TagRoom(ctx context.Context, roomID id.RoomID, tag event.RoomTag, isTagged bool) error {
	return nil
}

func (in *Intent) MuteRoom(ctx context.Context, roomID id.RoomID, until time.Time) error { return nil }

func (in *Intent) GetEvent(ctx context.Context, roomID id.RoomID, eventID id.EventID) (*event.Event, error) {
	in.m.mu.Lock()
	defer in.m.mu.Unlock()
	for _, e := range in.m.events {
		if e.ID == eventID && e.RoomID == roomID {
			return &event.Event{RoomID: roomID, ID: eventID, Sender: e.Sender, Type: e.Type, StateKey: e.StateKey, Content: *e.Content}, nil
		}
	}
	return nil, fmt.Errorf("M_NOT_FOUND: event %s", eventID)
}

// PutMedia stores bytes on the fake media repository and returns their URI.
func (m *Matrix) PutMedia(data []byte) id.ContentURIString {
	m.mu.Lock()
	defer m.mu.Unlock()
	uri := id.ContentURIString("mxc://" + ServerName + "/" + m.newID("media"))
	m.media[uri] = bytes.Clone(data)
	return uri
}
