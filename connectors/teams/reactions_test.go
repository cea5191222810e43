package teams

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix/event"
)

// A Matrix reaction with no named Teams reaction goes to Teams in the form
// Teams carries arbitrary Unicode reactions in, "<hex codepoints>_<name>",
// and that key (and the named ones) reads back as the same emoji.
func TestUnicodeReactionKeys(t *testing.T) {
	for emoji, want := range map[string]string{
		"🦄":        "1f984_unicornface",
		"😀":        "1f600_grinningface",
		"👨‍💻":      "1f468-200d-1f4bb_man",
		"☺️":       "263a_whitesmilingface",
		"👍":        "like", // named reactions stay named
		"❤️":       "heart",
		"+1":       "+1", // text stays text
		"custom;0": "custom;0",
	} {
		got := reactionKey(emoji)
		if got != want {
			t.Errorf("reactionKey(%q) = %q, want %q", emoji, got, want)
		}
		if back := reactionEmoji(got); strings.ReplaceAll(back, "\ufe0f", "") != strings.ReplaceAll(emoji, "\ufe0f", "") {
			if want != "like" && want != "heart" {
				t.Errorf("reactionEmoji(%q) = %q, want %q back", got, back, emoji)
			}
		}
	}
}

// Both ways through the bridge: a Matrix 🦄 reaches Teams as 1f984_unicornface
// and its echo is not a second reaction; a Teams reaction in either form
// (named, or codepoints) reaches Matrix as its emoji.
func TestUnicodeReactionsBothWays(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	bobMsg := e.emu.SendText(e.bob.MRI, dm, "new mascot?")
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "new mascot?")
	target := e.eventFor(room, bobMsg)
	e.h.SendMatrix(room, alice, event.EventReaction, &event.ReactionEventContent{RelatesTo: event.RelatesTo{
		Type: event.RelAnnotation, EventID: target, Key: "🦄"}})
	e.waitEmu("alice's unicorn on bob's message", func() bool {
		m := e.find(dm, bobMsg)
		return m != nil && len(m.Reactions["1f984_unicornface"]) == 1 && m.Reactions["1f984_unicornface"][0] == e.me.MRI
	})
	e.emu.React(e.bob.MRI, dm, bobMsg, "1f389_partypopper")
	e.emu.React(e.bob.MRI, dm, bobMsg, "laugh")
	reactions := func() map[string]int {
		n := map[string]int{}
		for _, ev := range e.h.Matrix.Events(room) {
			if ev.Type == event.EventReaction && ev.Content.AsReaction().RelatesTo.EventID == target {
				n[string(ev.Sender)+" "+ev.Content.AsReaction().RelatesTo.Key]++
			}
		}
		return n
	}
	e.h.WaitFor("bob's 🎉 and 😆 in Matrix", func() bool {
		n := reactions()
		return n[string(e.ghost(e.bob))+" 🎉"] == 1 && n[string(e.ghost(e.bob))+" 😆"] == 1
	})
	for k, v := range reactions() {
		if v != 1 || strings.HasSuffix(k, " 🦄") && !strings.HasPrefix(k, string(alice)) {
			t.Errorf("reaction %q appears %d times", k, v)
		}
	}
}
