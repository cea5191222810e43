// Package mxclient is an end-to-end-encrypting Matrix client for tests and
// the demo, acting like a user in Element: it creates encrypted DMs,
// sends encrypted messages, and records every timeline message (decrypted),
// membership change and typing notification it syncs, so tests can wait
// for the bridge's reactions.
//
// It uses mautrix's cryptohelper with a SQLite store, so it needs the
// goolm build tag like the bridge itself.
package mxclient

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto/cryptohelper"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// Options identify an existing Matrix session (e.g. from shared-secret
// registration) to run as.
type Options struct {
	HomeserverURL string
	UserID        id.UserID
	AccessToken   string
	DeviceID      id.DeviceID
	// StoreDir holds the crypto and state SQLite database.
	StoreDir string
	// Log receives client and crypto logs (default: discarded).
	Log *zerolog.Logger
}

// Client is a syncing, encrypting Matrix client.
type Client struct {
	*mautrix.Client
	crypto *cryptohelper.CryptoHelper

	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever something is recorded
	events  []*Received
	typing  map[id.RoomID][]id.UserID
	invites []Invite
	decErrs []error
	syncErr error

	cancelSync context.CancelFunc
	syncDone   chan struct{}
}

// Received is a timeline message as the user sees it.
type Received struct {
	// Event is the decrypted event for encrypted messages.
	Event *event.Event
	// Encrypted is true when the event arrived as m.room.encrypted.
	Encrypted bool
}

// New creates the client, sets up encryption (uploading device keys) and
// starts syncing in the background.
func New(ctx context.Context, opts Options) (*Client, error) {
	cli, err := mautrix.NewClient(opts.HomeserverURL, opts.UserID, opts.AccessToken)
	if err != nil {
		return nil, fmt.Errorf("create matrix client: %w", err)
	}
	cli.DeviceID = opts.DeviceID
	cli.Log = zerolog.Nop()
	if opts.Log != nil {
		cli.Log = *opts.Log
	}
	c := &Client{Client: cli, changed: make(chan struct{}), typing: map[id.RoomID][]id.UserID{}}
	// Each client has its own store, so the pickle key only has to stay
	// the same for this store; it protects nothing in a test.
	helper, err := cryptohelper.NewCryptoHelper(cli, []byte("mxclient:"+opts.UserID.String()), filepath.Join(opts.StoreDir, "crypto.db"))
	if err != nil {
		return nil, fmt.Errorf("create crypto helper: %w", err)
	}
	helper.DecryptErrorCallback = func(evt *event.Event, err error) {
		c.record(func() { c.decErrs = append(c.decErrs, fmt.Errorf("event %s from %s: %w", evt.ID, evt.Sender, err)) })
	}
	if err := helper.Init(ctx); err != nil {
		return nil, fmt.Errorf("init encryption for %s: %w", opts.UserID, err)
	}
	cli.Crypto = helper
	c.crypto = helper

	syncer := cli.Syncer.(*mautrix.DefaultSyncer)
	syncer.OnEventType(event.EventMessage, c.onMessage)
	// Membership lives in the state store; recording nothing still wakes
	// up waiters so they re-check it.
	syncer.OnEventType(event.StateMember, func(context.Context, *event.Event) { c.record(func() {}) })
	syncer.OnSync(c.onSyncInvites)
	syncer.OnEventType(event.EphemeralEventTyping, c.onTyping)

	syncCtx, cancel := context.WithCancel(context.Background())
	c.cancelSync, c.syncDone = cancel, make(chan struct{})
	go func() {
		defer close(c.syncDone)
		if err := cli.SyncWithContext(syncCtx); err != nil && !errors.Is(err, context.Canceled) {
			c.record(func() { c.syncErr = err })
		}
	}()
	return c, nil
}

// Close stops syncing and closes the crypto store.
func (c *Client) Close() error {
	c.cancelSync()
	<-c.syncDone
	if err := c.crypto.Close(); err != nil {
		return fmt.Errorf("close crypto store: %w", err)
	}
	return nil
}

// record applies a change under the lock and wakes up waiters.
func (c *Client) record(change func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	change()
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *Client) onMessage(_ context.Context, evt *event.Event) {
	c.record(func() {
		c.events = append(c.events, &Received{Event: evt, Encrypted: evt.Mautrix.WasEncrypted})
	})
}

// onSyncInvites records the invitations of a sync response, with the
// room type from the invite's stripped state (spaces are rooms too).
func (c *Client) onSyncInvites(_ context.Context, resp *mautrix.RespSync, _ string) bool {
	var invites []Invite
	for roomID, room := range resp.Rooms.Invite {
		inv := Invite{RoomID: roomID}
		invited := false
		for _, evt := range room.State.Events {
			switch {
			case evt.Type == event.StateCreate:
				inv.RoomType, _ = evt.Content.Raw["type"].(string)
			case evt.Type == event.StateMember && evt.GetStateKey() == c.UserID.String():
				if m, _ := evt.Content.Raw["membership"].(string); m == string(event.MembershipInvite) {
					invited = true
					inv.Sender = evt.Sender
					inv.IsDirect, _ = evt.Content.Raw["is_direct"].(bool)
				}
			}
		}
		if invited {
			invites = append(invites, inv)
		}
	}
	if len(invites) > 0 {
		c.record(func() { c.invites = append(c.invites, invites...) })
	}
	return true
}

func (c *Client) onTyping(_ context.Context, evt *event.Event) {
	users := append([]id.UserID(nil), evt.Content.AsTyping().UserIDs...)
	c.record(func() { c.typing[evt.RoomID] = users })
}

// CreateEncryptedDM creates a direct chat with invitee the way Element
// does: private, is_direct, and encrypted from the first event with
// m.megolm.v1.aes-sha2. It returns once the client's state store knows
// the room is encrypted, so later sends are encrypted.
func (c *Client) CreateEncryptedDM(ctx context.Context, invitee id.UserID) (id.RoomID, error) {
	resp, err := c.CreateRoom(ctx, &mautrix.ReqCreateRoom{
		Preset:   "trusted_private_chat",
		IsDirect: true,
		Invite:   []id.UserID{invitee},
		InitialState: []*event.Event{{
			Type:    event.StateEncryption,
			Content: event.Content{Parsed: &event.EncryptionEventContent{Algorithm: id.AlgorithmMegolmV1}},
		}},
	})
	if err != nil {
		return "", fmt.Errorf("create encrypted DM with %s: %w", invitee, err)
	}
	return resp.RoomID, c.WaitForEncryption(ctx, resp.RoomID)
}

// Invite is an invitation of the client's user to a room, as synced.
type Invite struct {
	RoomID id.RoomID
	Sender id.UserID
	// IsDirect is the invitation's is_direct flag (a DM).
	IsDirect bool
	// RoomType is the type of m.room.create, e.g. "m.space"; "" for
	// ordinary rooms.
	RoomType string
}

// InviteMark returns a position in the invitation log; WaitForInvite only
// looks at invitations received after it.
func (c *Client) InviteMark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.invites)
}

// Invites returns the invitations received since mark.
func (c *Client) Invites(mark int) []Invite {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Invite(nil), c.invites[mark:]...)
}

// WaitForInvite waits for an invitation received after mark for which
// match returns true (match may be nil).
func (c *Client) WaitForInvite(ctx context.Context, mark int, match func(Invite) bool) (Invite, error) {
	var found Invite
	err := c.waitFor(ctx, "an invitation", func() bool {
		for _, inv := range c.Invites(mark) {
			if match == nil || match(inv) {
				found = inv
				return true
			}
		}
		return false
	})
	if err != nil {
		return Invite{}, fmt.Errorf("%w; invitations seen since mark: %+v", err, c.Invites(mark))
	}
	return found, nil
}

// Join joins room (e.g. after an invitation) and waits until the synced
// state shows the user joined, so the room's state (such as its
// encryption) is known.
func (c *Client) Join(ctx context.Context, room id.RoomID) error {
	if _, err := c.JoinRoomByID(ctx, room); err != nil {
		return fmt.Errorf("join %s: %w", room, err)
	}
	return c.WaitForMembership(ctx, room, c.UserID, event.MembershipJoin)
}

// WaitForEncryption waits until the synced state says room is encrypted,
// so that sends into it are encrypted.
func (c *Client) WaitForEncryption(ctx context.Context, room id.RoomID) error {
	return c.waitFor(ctx, "room "+room.String()+" to be known as encrypted", func() bool {
		enc, err := c.StateStore.IsEncrypted(ctx, room)
		return err == nil && enc
	})
}

// WaitForMembership waits until the synced state shows user with the given
// membership in room.
func (c *Client) WaitForMembership(ctx context.Context, room id.RoomID, user id.UserID, membership event.Membership) error {
	return c.waitFor(ctx, fmt.Sprintf("%s to be %s in %s", user, membership, room), func() bool {
		return c.StateStore.IsMembership(ctx, room, user, membership)
	})
}

// SendText sends a text message, encrypted if the room is encrypted.
func (c *Client) SendText(ctx context.Context, room id.RoomID, body string) (id.EventID, error) {
	resp, err := c.SendMessageEvent(ctx, room, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgText, Body: body})
	if err != nil {
		return "", fmt.Errorf("send %q to %s: %w", body, room, err)
	}
	return resp.EventID, nil
}

// Mark returns a position in the received-message log; WaitForMessage
// only looks at messages received after it.
func (c *Client) Mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.events)
}

// Messages returns the messages received in room since mark.
func (c *Client) Messages(room id.RoomID, mark int) []*Received {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*Received
	for _, r := range c.events[mark:] {
		if r.Event.RoomID == room {
			out = append(out, r)
		}
	}
	return out
}

// WaitForMessage waits for a message in room from sender, received after
// mark, for which match returns true (match may be nil). On timeout the
// error lists what was received instead.
func (c *Client) WaitForMessage(ctx context.Context, room id.RoomID, sender id.UserID, mark int, match func(*event.MessageEventContent) bool) (*Received, error) {
	var found *Received
	err := c.waitFor(ctx, fmt.Sprintf("a matching message from %s in %s", sender, room), func() bool {
		for _, r := range c.Messages(room, mark) {
			if r.Event.Sender == sender && (match == nil || match(r.Event.Content.AsMessage())) {
				found = r
				return true
			}
		}
		return false
	})
	if err != nil {
		var seen []string
		for _, r := range c.Messages(room, mark) {
			seen = append(seen, fmt.Sprintf("%s (encrypted=%t): %q", r.Event.Sender, r.Encrypted, r.Event.Content.AsMessage().Body))
		}
		return nil, fmt.Errorf("%w; messages seen since mark: %q; decryption errors: %v", err, seen, c.DecryptionErrors())
	}
	return found, nil
}

// SetTyping sends a typing notification (30s timeout) or clears it.
func (c *Client) SetTyping(ctx context.Context, room id.RoomID, typing bool) error {
	if _, err := c.UserTyping(ctx, room, typing, 30*time.Second); err != nil {
		return fmt.Errorf("set typing=%t in %s: %w", typing, room, err)
	}
	return nil
}

// WaitForTyping waits until the synced typing list of room does (or, with
// typing false, does not) contain user.
func (c *Client) WaitForTyping(ctx context.Context, room id.RoomID, user id.UserID, typing bool) error {
	return c.waitFor(ctx, fmt.Sprintf("%s typing=%t in %s", user, typing, room), func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, u := range c.typing[room] {
			if u == user {
				return typing
			}
		}
		return !typing
	})
}

// DecryptionErrors returns the errors of events that could not be
// decrypted, for failure messages.
func (c *Client) DecryptionErrors() []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]error(nil), c.decErrs...)
}

// waitFor re-evaluates cond whenever the sync loop records something, and
// at least every 250ms (state-store updates are not signalled), until it
// holds, sync fails, or ctx ends. Callers bound ctx.
func (c *Client) waitFor(ctx context.Context, what string, cond func() bool) error {
	for {
		c.mu.Lock()
		changed, syncErr := c.changed, c.syncErr
		c.mu.Unlock()
		if cond() {
			return nil
		}
		if syncErr != nil {
			return fmt.Errorf("waiting for %s: sync failed: %w", what, syncErr)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-changed:
		case <-time.After(250 * time.Millisecond):
		}
	}
}
