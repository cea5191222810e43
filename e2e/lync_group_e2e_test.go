//go:build e2e

package e2e

import (
	"context"
	"testing"
	"time"
)

// TestLyncGroupFirstMessagesReadable is issue 7 item 15: the first messages
// of a new encrypted group portal must be readable, i.e. their room key was
// shared with the user's device although the user joins only after them.
func TestLyncGroupFirstMessagesReadable(t *testing.T) {
	acct := startLyncAccount(t, 5*time.Minute, 9, "grp", "Group Tester", []string{"gann", "gben"})
	ctx, emu, suffix, aliceSIP, user, mgmt := acct.ctx, acct.emu, acct.suffix, acct.aliceSIP, acct.user, acct.mgmt
	ann, ben := acct.colleagues[0], acct.colleagues[1]

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
	acct := startLyncAccount(t, 5*time.Minute, 11, "esc", "Escalation Tester", []string{"eann", "eben"})
	ctx, emu, suffix, aliceSIP, user, mgmt := acct.ctx, acct.emu, acct.suffix, acct.aliceSIP, acct.user, acct.mgmt
	ann, ben := acct.colleagues[0], acct.colleagues[1]
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
