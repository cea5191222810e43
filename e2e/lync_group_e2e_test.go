//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/imbridge/imbridge/testenv"
)

// TestLyncGroupFirstMessagesReadable is issue 7 item 15: the first messages
// of a new encrypted group portal must be readable, i.e. their room key was
// shared with the user's device although the user joins only after them.
func TestLyncGroupFirstMessagesReadable(t *testing.T) {
	requireEnv(t)
	if lyncEmu == nil {
		t.Fatal("the UCWA emulator was not started by the set-up hook")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bridge debug log (JSON): %s", env.Bridge.LogPath)
		}
	})
	emu := lyncEmu
	suffix, err := testenv.RandomString(4)
	if err != nil {
		t.Fatal(err)
	}
	password, err := testenv.RandomString(8)
	if err != nil {
		t.Fatal(err)
	}
	aliceSIP := "grp." + suffix + "@corp.example"
	ann, ben := "gann."+suffix+"@corp.example", "gben."+suffix+"@corp.example"
	if err := emu.AddUser(aliceSIP, "Group Tester", password); err != nil {
		t.Fatal(err)
	}
	for _, sip := range []string{ann, ben} {
		if err := emu.AddUser(sip, strings.ToUpper(sip[:2]), ""); err != nil {
			t.Fatal(err)
		}
	}
	user := newUser(t, ctx, "grp")
	mgmt := openManagementRoom(t, ctx, user)
	lyncLogin(t, ctx, user, mgmt, aliceSIP, password, "Group Tester")

	inviteMark, mark := user.InviteMark(), user.Mark()
	first := "Kick-off in five minutes [" + suffix + "]"
	thread, err := emu.Peer(ann).StartGroup([]string{ben, aliceSIP}, "Project "+suffix, first)
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, lyncStepTimeout)
	inv, err := user.WaitForInvite(wctx, inviteMark, isChatInvite(mgmt))
	wcancel()
	if err != nil {
		t.Fatalf("the group chat did not invite the user to a portal room: %v", err)
	}
	if err := user.Join(ctx, inv.RoomID); err != nil {
		t.Fatal(err)
	}
	second := "Agenda attached [" + suffix + "]"
	if err := emu.Peer(ben).Say(thread, second); err != nil {
		t.Fatal(err)
	}
	waitGhostMessage(t, ctx, user, inv.RoomID, lyncGhost(ann), mark, first, "the group's first message")
	waitGhostMessage(t, ctx, user, inv.RoomID, lyncGhost(ben), mark, second, "the group's second message")
	if errs := user.DecryptionErrors(); len(errs) > 0 {
		t.Errorf("%d events could not be decrypted, e.g. %v", len(errs), errs[0])
	}
}

// TestLyncEscalatedGroupFirstMessagesReadable: a 1:1 chat that gains a third
// person becomes a new group portal; its first messages must be readable.
func TestLyncEscalatedGroupFirstMessagesReadable(t *testing.T) {
	requireEnv(t)
	if lyncEmu == nil {
		t.Fatal("the UCWA emulator was not started by the set-up hook")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	emu := lyncEmu
	suffix, err := testenv.RandomString(4)
	if err != nil {
		t.Fatal(err)
	}
	password, err := testenv.RandomString(8)
	if err != nil {
		t.Fatal(err)
	}
	aliceSIP := "esc." + suffix + "@corp.example"
	ann, ben := "eann."+suffix+"@corp.example", "eben."+suffix+"@corp.example"
	if err := emu.AddUser(aliceSIP, "Escalation Tester", password); err != nil {
		t.Fatal(err)
	}
	for _, sip := range []string{ann, ben} {
		if err := emu.AddUser(sip, strings.ToUpper(sip[:2]), ""); err != nil {
			t.Fatal(err)
		}
	}
	user := newUser(t, ctx, "esc")
	mgmt := openManagementRoom(t, ctx, user)
	lyncLogin(t, ctx, user, mgmt, aliceSIP, password, "Escalation Tester")
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
	wctx, wcancel := context.WithTimeout(ctx, lyncStepTimeout)
	inv, err := user.WaitForInvite(wctx, inviteMark, isChatInvite(mgmt))
	wcancel()
	if err != nil {
		t.Fatalf("the escalated chat did not invite the user to a group portal: %v", err)
	}
	if err := user.Join(ctx, inv.RoomID); err != nil {
		t.Fatal(err)
	}
	text := "now we are three [" + suffix + "]"
	if err := emu.Peer(ben).Say(thread, text); err != nil {
		t.Fatal(err)
	}
	waitGhostMessage(t, ctx, user, inv.RoomID, lyncGhost(ben), mark, text, "the group's first message")
	if errs := user.DecryptionErrors(); len(errs) > 0 {
		t.Errorf("%d events could not be decrypted, e.g. %v", len(errs), errs[0])
	}
}
