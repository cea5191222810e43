package lync

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix/bridgev2/bridgeconfig"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/lync/ucwaemu"
	"github.com/imbridge/imbridge/internal/bridgetest"
)

// withBridgeNotices turns on bridge.bridge_notices, as imbridge's example
// config has it: without it bridgev2 drops m.notice before the connector.
func withBridgeNotices() envOption {
	return func(e *env, _ *ucwaemu.Options) {
		prev := e.bridgeConfig
		e.bridgeConfig = func(c *bridgeconfig.BridgeConfig) {
			if prev != nil {
				prev(c)
			}
			c.BridgeNotices = true
		}
	}
}

// Item 10, m.notice: a notice from Matrix (bot output) is not sent to Skype
// for Business, where it would read as the user's own words; the room gets
// a notice in reply saying so, and the message's status says it failed. An
// edit turning a message into a notice is refused the same way.
func TestMatrixNoticeIsAnsweredNotSent(t *testing.T) {
	e := newEnv(t, withBridgeNotices())
	e.login()
	if _, err := e.emu.Peer(bobSIP).SendIM(aliceSIP, "hello"); err != nil {
		t.Fatal(err)
	}
	room := e.dmRoom(bobSIP)
	e.waitTexts(room, e.ghost(bobSIP), "hello")

	notice := e.h.SendMatrix(room, alice, event.EventMessage, &event.MessageEventContent{
		MsgType: event.MsgNotice, Body: "Build #12 passed",
	})
	reply := e.waitNoticeReply(room, notice)
	if !strings.Contains(reply.Body, "not sent to Skype for Business") {
		t.Errorf("the bot answered the m.notice with %q, want it to say it was not sent to Skype for Business", reply.Body)
	}
	if reply.MsgType != event.MsgNotice {
		t.Errorf("the bot's answer is %s, want m.notice (it must not look like a message of the chat)", reply.MsgType)
	}
	if st := e.status(notice); st.Status == event.MessageStatusSuccess || st.Reason != event.MessageStatusUnsupported {
		t.Errorf("status of the m.notice = %+v, want a failure with reason %s", st, event.MessageStatusUnsupported)
	}

	// An ordinary message after it goes out, and it is the first and only
	// thing bob gets: messages of a portal are handled in order, so the
	// notice would have arrived before it.
	orig := e.sendMatrix(room, "see you at 3")
	if got := e.received(bobSIP, 1); len(got) != 1 || got[0].Text != "see you at 3" {
		t.Fatalf("bob received %+v, want only the ordinary message", got)
	}
	if st := e.status(orig); !isSuccess(st) {
		t.Fatalf("status of the ordinary message = %+v", st)
	}

	edit := e.h.SendMatrix(room, alice, event.EventMessage, &event.MessageEventContent{
		MsgType: event.MsgText, Body: "* Build #13 passed",
		NewContent: &event.MessageEventContent{MsgType: event.MsgNotice, Body: "Build #13 passed"},
		RelatesTo:  &event.RelatesTo{Type: event.RelReplace, EventID: orig},
	})
	e.waitNoticeReply(room, edit)
	barrier := e.sendMatrix(room, "bye")
	if st := e.status(barrier); !isSuccess(st) {
		t.Fatalf("status of the last message = %+v", st)
	}
	var texts []string
	for _, m := range e.emu.Received(bobSIP) {
		texts = append(texts, m.Text)
	}
	if strings.Join(texts, "|") != "see you at 3|bye" {
		t.Errorf("bob received %q, want only the two ordinary messages (no notice, no correction made of one)", texts)
	}
	if n := len(e.noticeReplies(room, notice)); n != 1 {
		t.Errorf("the m.notice was answered %d times, want once", n)
	}
}

// waitNoticeReply waits for the bot's message in reply to evt.
func (e *env) waitNoticeReply(room id.RoomID, evt id.EventID) *event.MessageEventContent {
	e.t.Helper()
	var got *event.MessageEventContent
	e.h.WaitFor("the bot's answer to "+string(evt), func() bool {
		if replies := e.noticeReplies(room, evt); len(replies) > 0 {
			got = replies[0]
			return true
		}
		return false
	})
	return got
}

func (e *env) noticeReplies(room id.RoomID, evt id.EventID) []*event.MessageEventContent {
	var out []*event.MessageEventContent
	for _, m := range e.h.Matrix.Messages(room) {
		if c := m.Message(); m.Sender == bridgetest.BotMXID && c != nil && c.RelatesTo.GetReplyTo() == evt {
			out = append(out, c)
		}
	}
	return out
}
