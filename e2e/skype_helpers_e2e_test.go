//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/skype/skypeapi"
	"github.com/imbridge/imbridge/connectors/skype/skypeemu"
	"github.com/imbridge/imbridge/testenv"
	"github.com/imbridge/imbridge/testenv/mxclient"
)

// skypeStepTimeout bounds each wait of the Skype tests; a step normally
// takes well under a second, a catch-up after a lost endpoint a few.
const skypeStepTimeout = 60 * time.Second

// skypePerson is an emulator account a test made.
type skypePerson struct {
	Name, Display, Password string
}

func (p skypePerson) MRI() string { return "8:" + p.Name }

// skypeAccount adds a uniquely named account to the emulator (live: names
// for Microsoft-account style ones), so tests and reruns never share state.
func skypeAccount(t *testing.T, local, display string) skypePerson {
	t.Helper()
	suffix, err := testenv.RandomString(4)
	if err != nil {
		t.Fatal(err)
	}
	password, err := testenv.RandomString(10)
	if err != nil {
		t.Fatal(err)
	}
	p := skypePerson{Name: local + strings.ToLower(suffix), Display: display, Password: password}
	skypeEmu.AddUser(p.Name, display, password)
	return p
}

// skypeLogin signs me in through the bot in the management room and waits
// until the account's endpoint polls for events.
func skypeLogin(t *testing.T, ctx context.Context, cli *mxclient.Client, mgmt id.RoomID, me skypePerson) {
	t.Helper()
	want := fmt.Sprintf("Signed in to Skype as %s (%s).", me.Display, me.Name)
	if reply := botCommand(t, ctx, cli, mgmt, "login skype "+me.Name+" "+me.Password, want); !strings.Contains(reply, want) {
		t.Fatalf("`login skype` said %q, want %q", reply, want)
	}
	if !waitSkypeCond(func() bool { return skypeEmu.Endpoints(me.Name).Polls > 0 }) {
		t.Fatalf("%s's endpoint never polled for events after the login", me.Name)
	}
}

// skypeClient signs a Skype user in directly against the emulator, for
// what the emulator's driver API does not do (files, emotes): the
// colleague's own Skype client.
func skypeClient(t *testing.T, ctx context.Context, p skypePerson) *skypeapi.Client {
	t.Helper()
	u := skypeEmu.URL()
	cfg := skypeapi.Config{LoginLiveURL: u, EdgeURL: u, LoginSkypeURL: u, APIURL: u, ContactsURL: u, ProfileURL: u,
		MsgsHost: u, ASMURL: u, AllowInsecureHTTP: true}
	auth, err := skypeapi.NewAuth(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := auth.Login(ctx, p.Name, p.Password)
	if err != nil {
		t.Fatalf("sign %s in to the emulator: %v", p.Name, err)
	}
	c, err := skypeapi.NewClient(cfg, *s, skypeapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitSkypeCond polls the emulator's state until cond holds.
func waitSkypeCond(cond func() bool) bool {
	deadline := time.Now().Add(skypeStepTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(25 * time.Millisecond) // polling a condition, not standing in for one
	}
	return true
}

// waitSkype waits until a message of conv (as viewer sees it) matches and
// returns it.
func waitSkype(t *testing.T, viewer, conv, what string, match func(skypeemu.Message) bool) skypeemu.Message {
	t.Helper()
	var found skypeemu.Message
	if !waitSkypeCond(func() bool {
		for _, m := range skypeEmu.Messages(viewer, conv) {
			if match(m) {
				found = m
				return true
			}
		}
		return false
	}) {
		t.Fatalf("timed out waiting for %s on the Skype side; %s has %s", what, conv, describeSkype(viewer, conv))
	}
	return found
}

func describeSkype(viewer, conv string) string {
	var parts []string
	for _, m := range skypeEmu.Messages(viewer, conv) {
		parts = append(parts, fmt.Sprintf("%s %s %s %q", m.ID, m.From, m.Type, m.Content))
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

// countSkypeIn counts from's original messages in conv whose text is text.
func countSkypeIn(viewer, conv, from, text string) int {
	n := 0
	for _, m := range skypeEmu.Messages(viewer, conv) {
		if m.From == from && m.EditedID == "" && !m.Deleted && teamsPlain(m.Content) == text {
			n++
		}
	}
	return n
}

// sendAndAwaitSkypeIn sends text into the portal and waits for conv to
// hold it as a message from me.
func sendAndAwaitSkypeIn(t *testing.T, ctx context.Context, cli *mxclient.Client, room id.RoomID, me skypePerson, conv, text string) {
	t.Helper()
	if _, err := cli.SendText(ctx, room, text); err != nil {
		t.Fatal(err)
	}
	if !waitSkypeCond(func() bool { return countSkypeIn(me.Name, conv, me.MRI(), text) > 0 }) {
		t.Fatalf("%q did not reach Skype as a message from %s; %s has %s", text, me.Name, conv, describeSkype(me.Name, conv))
	}
}

// skypeClientID is the clientmessageid of the message with server id
// serverID, which quotes and read markers name.
func skypeClientID(viewer, conv, serverID string) string {
	for _, m := range skypeEmu.Messages(viewer, conv) {
		if m.ID == serverID {
			return m.ClientMessageID
		}
	}
	return ""
}
