//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/lync/ucwaemu"
	"github.com/imbridge/imbridge/testenv"
	"github.com/imbridge/imbridge/testenv/mxclient"
)

// Issue 7 item 15: the first messages of a new encrypted group portal must
// be readable. The bridge's crypto shares a room's first megolm session with
// the devices of the room's invited and joined users when it sends the
// first message, so the user has to be invited by then, whatever the
// server's participant list looks like (the emulator lists the user's own
// participant as a real server does: only a me link). Before item 14 was
// fixed that participant took the user's place in the member list: the
// bridge logged "Sending to-device messages to share group session" with
// device_count=0, the user was invited only by the next event after a
// restart, and the first messages stayed "unable to decrypt".
//
// These tests add what a person's set-up has and the older test did not:
// a second device that signed in after the management room existed, and a
// person who accepts the invitation only after the first messages are in
// the room. Each test also reads the bridge's log: every room key of the
// portal must have gone to each of the user's devices.

// TestLyncGroupFirstMessagesReadable: two colleagues write into a new group
// chat before the user accepts its invitation; both of the user's devices
// read every message.
func TestLyncGroupFirstMessagesReadable(t *testing.T) {
	acct := startLyncAccount(t, 5*time.Minute, 9, "grp", "Group Tester", []string{"gann", "gben"})
	ctx, emu, suffix, aliceSIP, user, mgmt := acct.ctx, acct.emu, acct.suffix, acct.aliceSIP, acct.user, acct.mgmt
	ann, ben := acct.colleagues[0], acct.colleagues[1]
	admin := newSynapseAdmin(t, ctx)
	phone := admin.secondDevice(t, ctx, user, mgmt, aliceSIP)

	inviteMark, mark, phoneMark := user.InviteMark(), user.Mark(), phone.Mark()
	first := "Kick-off in five minutes [" + suffix + "]"
	thread, err := emu.Peer(ann).StartGroup([]string{ben, aliceSIP}, "Project "+suffix, first)
	if err != nil {
		t.Fatal(err)
	}
	// Ben writes as soon as the user's Skype for Business session can hear
	// him (its IM joined the conference), before anyone on Matrix acts.
	func() {
		wctx, cancel := context.WithTimeout(ctx, lyncStepTimeout)
		defer cancel()
		if err := emu.WaitFor(wctx, func() bool {
			info, ok := emu.Thread(thread)
			return ok && slices.Contains(info.InIM, "sip:"+aliceSIP)
		}); err != nil {
			t.Fatalf("the bridge did not join the group conversation's IM: %v", err)
		}
	}()
	second := "Agenda attached [" + suffix + "]"
	if err := emu.Peer(ben).Say(thread, second); err != nil {
		t.Fatal(err)
	}
	room := waitGroupInvite(t, ctx, user, inviteMark, mgmt)
	// The person looks at the invitation only once both messages are in
	// the room, as in Element a while later.
	admin.waitEncryptedFrom(t, ctx, room, 2, lyncGhost(ann), lyncGhost(ben))
	if err := user.Join(ctx, room); err != nil {
		t.Fatal(err)
	}
	third := "Minutes will follow [" + suffix + "]"
	if err := emu.Peer(ann).Say(thread, third); err != nil {
		t.Fatal(err)
	}
	for _, dev := range []struct {
		cli  *mxclient.Client
		mark int
		name string
	}{{user, mark, "the first device"}, {phone, phoneMark, "the second device"}} {
		waitGhostMessage(t, ctx, dev.cli, room, lyncGhost(ann), dev.mark, first, "the group's first message on "+dev.name)
		waitGhostMessage(t, ctx, dev.cli, room, lyncGhost(ben), dev.mark, second, "the group's second message on "+dev.name)
		waitGhostMessage(t, ctx, dev.cli, room, lyncGhost(ann), dev.mark, third, "the message after the join on "+dev.name)
		// The second device cannot read the management room's messages
		// from before it signed in (no device can); the portal's it must.
		if errs := undecryptableFrom(dev.cli, lyncGhost(ann), lyncGhost(ben)); len(errs) > 0 {
			t.Errorf("%s could not decrypt %d of the colleagues' messages, e.g. %v", dev.name, len(errs), errs[0])
		}
	}
	if errs := user.DecryptionErrors(); len(errs) > 0 {
		t.Errorf("the first device could not decrypt %d events, e.g. %v", len(errs), errs[0])
	}
	checkRoomKeysShared(t, room, user.UserID, user.DeviceID, phone.DeviceID)
}

// TestLyncEscalatedGroupFirstMessagesReadable: a 1:1 chat that gains a third
// person becomes a new group portal; its first message, sent before the
// user accepts the invitation, must be readable.
func TestLyncEscalatedGroupFirstMessagesReadable(t *testing.T) {
	acct := startLyncAccount(t, 5*time.Minute, 11, "esc", "Escalation Tester", []string{"eann", "eben"})
	ctx, emu, suffix, aliceSIP, user, mgmt := acct.ctx, acct.emu, acct.suffix, acct.aliceSIP, acct.user, acct.mgmt
	ann, ben := acct.colleagues[0], acct.colleagues[1]
	admin := newSynapseAdmin(t, ctx)
	inviteMark, mark := user.InviteMark(), user.Mark()
	thread, err := emu.Peer(ann).SendIM(aliceSIP, "one to one first ["+suffix+"]")
	if err != nil {
		t.Fatal(err)
	}
	dm := joinLyncPortal(t, ctx, user, inviteMark, mgmt, lyncGhost(ann))
	waitGhostMessage(t, ctx, user, dm, lyncGhost(ann), mark, "one to one first ["+suffix+"]", "the 1:1 message")
	inviteMark = user.InviteMark()
	if err := emu.Peer(ann).AddParticipant(thread, ben); err != nil {
		t.Fatal(err)
	}
	text := "now we are three [" + suffix + "]"
	if err := emu.Peer(ben).Say(thread, text); err != nil {
		t.Fatal(err)
	}
	room := waitGroupInvite(t, ctx, user, inviteMark, mgmt)
	admin.waitEncryptedFrom(t, ctx, room, 1, lyncGhost(ben))
	if err := user.Join(ctx, room); err != nil {
		t.Fatal(err)
	}
	waitGhostMessage(t, ctx, user, room, lyncGhost(ben), mark, text, "the group's first message")
	if errs := user.DecryptionErrors(); len(errs) > 0 {
		t.Errorf("%d events could not be decrypted, e.g. %v", len(errs), errs[0])
	}
	checkRoomKeysShared(t, room, user.UserID, user.DeviceID)
}

// TestLyncGroupFirstMessagesReadableWhenParticipantsUnreadable: the server
// cannot list the group's participants while its room is created (503);
// the user is invited anyway and reads the first message.
func TestLyncGroupFirstMessagesReadableWhenParticipantsUnreadable(t *testing.T) {
	acct := startLyncAccount(t, 5*time.Minute, 13, "grpf", "Group Fault Tester", []string{"fann", "fben"})
	ctx, emu, suffix, aliceSIP, user, mgmt := acct.ctx, acct.emu, acct.suffix, acct.aliceSIP, acct.user, acct.mgmt
	ann, ben := acct.colleagues[0], acct.colleagues[1]
	admin := newSynapseAdmin(t, ctx)
	inviteMark, mark := user.InviteMark(), user.Mark()
	emu.SetRandomFaults(&ucwaemu.RandomFaults{Rate: 1, Method: http.MethodGet,
		PathContains: []string{"/participants"}, Statuses: []int{http.StatusServiceUnavailable}})
	t.Cleanup(func() { emu.SetRandomFaults(nil) })
	first := "Can anyone read this? [" + suffix + "]"
	thread, err := emu.Peer(ann).StartGroup([]string{ben, aliceSIP}, "Outage "+suffix, first)
	if err != nil {
		t.Fatal(err)
	}
	room := waitGroupInvite(t, ctx, user, inviteMark, mgmt)
	admin.waitEncryptedFrom(t, ctx, room, 1, lyncGhost(ann))
	emu.SetRandomFaults(nil)
	if err := user.Join(ctx, room); err != nil {
		t.Fatal(err)
	}
	second := "Back to normal [" + suffix + "]"
	if err := emu.Peer(ben).Say(thread, second); err != nil {
		t.Fatal(err)
	}
	waitGhostMessage(t, ctx, user, room, lyncGhost(ann), mark, first, "the group's first message")
	waitGhostMessage(t, ctx, user, room, lyncGhost(ben), mark, second, "the message after the outage")
	if errs := user.DecryptionErrors(); len(errs) > 0 {
		t.Errorf("%d events could not be decrypted, e.g. %v", len(errs), errs[0])
	}
	checkRoomKeysShared(t, room, user.UserID, user.DeviceID)
}

// undecryptableFrom returns cli's decryption errors for events from the
// given senders.
func undecryptableFrom(cli *mxclient.Client, senders ...id.UserID) []error {
	var out []error
	for _, err := range cli.DecryptionErrors() {
		for _, s := range senders {
			if strings.Contains(err.Error(), " from "+s.String()+":") {
				out = append(out, err)
				break
			}
		}
	}
	return out
}

// waitGroupInvite waits for the invitation to a new portal room.
func waitGroupInvite(t *testing.T, ctx context.Context, user *mxclient.Client, inviteMark int, mgmt id.RoomID) id.RoomID {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, lyncStepTimeout)
	defer cancel()
	inv, err := user.WaitForInvite(wctx, inviteMark, isChatInvite(mgmt))
	if err != nil {
		t.Fatalf("the group chat did not invite the user to a portal room (%s): %v", sharesWithoutDevices(), err)
	}
	return inv.RoomID
}

// synapseAdmin is a Synapse server admin, for what no room member can see
// or do: a room's events before the user joins, another device's login.
type synapseAdmin struct{ cli *mautrix.Client }

func newSynapseAdmin(t *testing.T, ctx context.Context) *synapseAdmin {
	t.Helper()
	suffix, err := testenv.RandomString(4)
	if err != nil {
		t.Fatal(err)
	}
	password, err := testenv.RandomString(12)
	if err != nil {
		t.Fatal(err)
	}
	u, err := env.Synapse.RegisterUser(ctx, "admin-"+suffix, password, true)
	if err != nil {
		t.Fatalf("register a server admin: %v", err)
	}
	cli, err := mautrix.NewClient(env.Synapse.URL, u.UserID, u.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	return &synapseAdmin{cli: cli}
}

func (a *synapseAdmin) do(ctx context.Context, method, path string, body, out any) error {
	_, err := a.cli.MakeFullRequest(ctx, mautrix.FullRequest{Method: method, URL: env.Synapse.URL + path, RequestJSON: body, ResponseJSON: out})
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return nil
}

// secondDevice signs the user in on a second encrypting device, as a phone
// beside the desktop, after the management room and the bridge login
// exist. It returns once the bridge has read a command sent from it, so
// the bridge has met the device before the group chat starts.
func (a *synapseAdmin) secondDevice(t *testing.T, ctx context.Context, user *mxclient.Client, mgmt id.RoomID, sip string) *mxclient.Client {
	t.Helper()
	password, err := testenv.RandomString(12)
	if err != nil {
		t.Fatal(err)
	}
	path := "/_synapse/admin/v2/users/" + url.PathEscape(user.UserID.String())
	if err := a.do(ctx, http.MethodPut, path, map[string]any{"password": password, "logout_devices": false}, &struct{}{}); err != nil {
		t.Fatalf("set a password for the second device's login: %v", err)
	}
	login, err := env.Synapse.Login(ctx, user.UserID.Localpart(), password)
	if err != nil {
		t.Fatal(err)
	}
	phone, err := mxclient.New(ctx, mxclient.Options{
		HomeserverURL: env.Synapse.URL, UserID: user.UserID, AccessToken: login.AccessToken,
		DeviceID: login.DeviceID, StoreDir: t.TempDir(),
	})
	if err != nil {
		t.Fatalf("start the second device: %v", err)
	}
	t.Cleanup(func() {
		if err := phone.Close(); err != nil {
			t.Errorf("close the second device: %v", err)
		}
	})
	wctx, cancel := context.WithTimeout(ctx, lyncStepTimeout)
	defer cancel()
	if err := phone.WaitForEncryption(wctx, mgmt); err != nil {
		t.Fatal(err)
	}
	// The room key of the phone's first message goes to the members its
	// state store knows; the encryption event can be stored before the
	// bot's membership from the same sync, and a key shared with nobody is
	// a message the bot can never read.
	if err := phone.WaitForMembership(wctx, mgmt, env.BotMXID, event.MembershipJoin); err != nil {
		t.Fatal(err)
	}
	mark := user.Mark()
	if _, err := phone.SendText(wctx, mgmt, "list-logins"); err != nil {
		t.Fatal(err)
	}
	if _, err := user.WaitForMessage(wctx, mgmt, env.BotMXID, mark, containsAll(sip)); err != nil {
		t.Fatalf("the bot did not answer a command from the second device: %v", err)
	}
	return phone
}

// waitEncryptedFrom waits until room holds n encrypted events from the
// given senders, read as the server admin (the user may not be in it yet).
func (a *synapseAdmin) waitEncryptedFrom(t *testing.T, ctx context.Context, room id.RoomID, n int, senders ...id.UserID) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, lyncStepTimeout)
	defer cancel()
	path := "/_synapse/admin/v1/rooms/" + url.PathEscape(room.String()) + "/messages?dir=b&limit=100"
	var got int
	for {
		var resp struct {
			Chunk []*event.Event `json:"chunk"`
		}
		if err := a.do(wctx, http.MethodGet, path, nil, &resp); err != nil {
			t.Fatal(err)
		}
		got = 0
		for _, evt := range resp.Chunk {
			if evt.Type == event.EventEncrypted && slices.Contains(senders, evt.Sender) {
				got++
			}
		}
		if got >= n {
			return
		}
		select {
		case <-wctx.Done():
			t.Fatalf("room %s holds %d encrypted messages from %v, want %d: %v", room, got, senders, n, wctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// keyShare is one "Sending to-device messages to share group session" line
// of mautrix's crypto in the bridge's log: which devices got a room key.
type keyShare struct {
	Time        string                                      `json:"time"`
	Message     string                                      `json:"message"`
	RoomID      id.RoomID                                   `json:"room_id"`
	DeviceCount int                                         `json:"device_count"`
	Devices     map[id.UserID]map[id.DeviceID]id.Curve25519 `json:"destination_map"`
}

const keyShareMessage = "Sending to-device messages to share group session"

// readKeyShares reads the room key shares of the bridge's debug log.
func readKeyShares() ([]keyShare, error) {
	f, err := os.Open(env.Bridge.LogPath)
	if err != nil {
		return nil, fmt.Errorf("open the bridge log: %w", err)
	}
	defer f.Close()
	var out []keyShare
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		if !strings.Contains(string(line), keyShareMessage) {
			continue
		}
		var ks keyShare
		if err := json.Unmarshal(line, &ks); err == nil && ks.Message == keyShareMessage {
			out = append(out, ks)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read the bridge log: %w", err)
	}
	return out, nil
}

// checkRoomKeysShared fails unless every room key the bridge shared in room
// went to each of the user's devices, and at least one was shared.
func checkRoomKeysShared(t *testing.T, room id.RoomID, user id.UserID, devices ...id.DeviceID) {
	t.Helper()
	all, err := readKeyShares()
	if err != nil {
		t.Fatal(err)
	}
	var shares []keyShare
	for _, ks := range all {
		if ks.RoomID == room {
			shares = append(shares, ks)
		}
	}
	if len(shares) == 0 {
		t.Errorf("the bridge log has no %q line for %s (did mautrix change what it logs?)", keyShareMessage, room)
	}
	for _, ks := range shares {
		for _, d := range devices {
			if _, ok := ks.Devices[user][d]; !ok {
				t.Errorf("at %s the bridge shared a room key of %s with %d devices (%v), not with %s of %s", ks.Time, room, ks.DeviceCount, ks.Devices, d, user)
			}
		}
	}
}

// sharesWithoutDevices describes the room keys the bridge shared with no
// device at all, for failure messages.
func sharesWithoutDevices() string {
	all, err := readKeyShares()
	if err != nil {
		return err.Error()
	}
	var rooms []string
	for _, ks := range all {
		if ks.DeviceCount == 0 {
			rooms = append(rooms, ks.Time+" "+ks.RoomID.String())
		}
	}
	if len(rooms) == 0 {
		return "no room key was shared with zero devices"
	}
	return "room keys shared with device_count=0: " + strings.Join(rooms, ", ")
}
