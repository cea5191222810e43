package bridgetest

import (
	"fmt"
	"strings"

	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/bridgev2/status"
	"maunium.net/go/mautrix/id"
)

// Helpers the protocol connectors' test environments share.

// Texts returns the bodies of the messages sender sent into room, in order,
// edits included.
func (h *Harness) Texts(room id.RoomID, sender id.UserID) []string {
	var out []string
	for _, m := range h.Matrix.Messages(room) {
		if m.Sender == sender && m.Message() != nil {
			out = append(out, m.Message().Body)
		}
	}
	return out
}

// TextsWithoutEdits is Texts without the edits (m.replace events).
func (h *Harness) TextsWithoutEdits(room id.RoomID, sender id.UserID) []string {
	var out []string
	for _, m := range h.Matrix.Messages(room) {
		if m.Sender == sender && m.Message() != nil && m.Message().RelatesTo.GetReplaceID() == "" {
			out = append(out, m.Message().Body)
		}
	}
	return out
}

// WaitTexts waits until texts(room, sender) (Texts or TextsWithoutEdits) is
// exactly want, and fails the test with what was said so far when it is not.
func (h *Harness) WaitTexts(texts func(id.RoomID, id.UserID) []string, room id.RoomID, sender id.UserID, want ...string) {
	h.T.Helper()
	err := h.Matrix.Wait(h.Ctx, DefaultWait, fmt.Sprintf("%s to have said %q", sender, want), func() bool {
		return strings.Join(texts(room, sender), "\x00") == strings.Join(want, "\x00")
	})
	if err != nil {
		h.T.Fatalf("%v; said so far: %q", err, texts(room, sender))
	}
}

// WaitStatus waits for the bridge's delivery status of a Matrix event.
func (h *Harness) WaitStatus(evt id.EventID) MessageStatus {
	h.T.Helper()
	var st MessageStatus
	h.WaitFor("a status for "+string(evt), func() bool {
		for _, s := range h.Matrix.Statuses() {
			if s.EventID == evt {
				st = s
				return true
			}
		}
		return false
	})
	return st
}

// stateReporter is a login's client that remembers its last bridge state
// (protocol.ClientBase).
type stateReporter interface {
	LastState() status.BridgeStateEvent
}

// WaitConnected waits until the login's client is logged in and reports
// CONNECTED (and also(), when given, holds).
func (h *Harness) WaitConnected(what string, login networkid.UserLoginID, also func() bool) {
	h.T.Helper()
	h.WaitFor(what, func() bool {
		ul := h.Bridge.GetCachedUserLoginByID(login)
		if ul == nil || ul.Client == nil || !ul.Client.IsLoggedIn() {
			return false
		}
		sr, ok := ul.Client.(stateReporter)
		return ok && sr.LastState() == status.StateConnected && (also == nil || also())
	})
}

// LoginClient is the client of a loaded login, as the connector's type C; it
// fails the test when the login is not loaded or has another client type.
func LoginClient[C any](h *Harness, login networkid.UserLoginID) C {
	h.T.Helper()
	var zero C
	ul := h.Bridge.GetCachedUserLoginByID(login)
	if ul == nil {
		h.T.Fatalf("no login %s", login)
		return zero
	}
	c, ok := ul.Client.(C)
	if !ok {
		h.T.Fatalf("login %s has a %T client", login, ul.Client)
	}
	return c
}
