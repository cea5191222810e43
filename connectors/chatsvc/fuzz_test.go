package chatsvc

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzParseContent: the Teams/Skype HTML and mention parser must never
// panic, and every mention it reports must come with its visible text.
func FuzzParseContent(f *testing.F) {
	for _, seed := range []string{
		`<p>Hello <b>world</b></p>`,
		`<p><span itemscope="" itemtype="http://schema.skype.com/Mention" itemid="0">Jane Doe</span> hi</p>`,
		`<blockquote itemscope="" itemtype="http://schema.skype.com/Reply" itemid="1"><strong itemprop="mri" itemid="8:orgid:a">A</strong><span itemprop="time" itemid="1"></span><p itemprop="preview">q</p></blockquote><p>r</p>`,
		`<quote author="joe.4" authorname="Joe" timestamp="1"><legacyquote>[1] Joe: </legacyquote>x</quote>`,
		`hey <at id="8:anna.7">Anna</at><e_m ts="1" ts_ms="1" a="f" t="61"/>`,
		`<img itemtype="http://schema.skype.com/Emoji" alt="🙂"><img src="https://h/v1/objects/0-x/views/imgo">`,
		`<span itemtype="http://schema.skype.com/Mention" itemid="x"><span itemtype="http://schema.skype.com/Mention" itemid="1">n</span></span>`,
		`<<<>>>&&&<blockquote itemtype="http://schema.skype.com/Reply"`,
		fixtureMessage,
	} {
		f.Add("RichText/Html", seed, `[{"itemid":0,"mri":"8:orgid:j"},{"itemid":"1","mri":"8:x"}]`)
	}
	f.Add("Text", "a<b", "")
	f.Fuzz(func(t *testing.T, mtype, content, mentions string) {
		var ms []Mention
		_ = json.Unmarshal([]byte(mentions), &ms)
		c := ParseContent(mtype, content, ms)
		for _, m := range c.Mentions {
			if m.ItemID >= 0 && m.MRI != "" {
				found := false
				for _, want := range ms {
					if want.MRI == m.MRI {
						found = true
					}
				}
				if !found {
					t.Fatalf("mention MRI %q not from the mentions property", m.MRI)
				}
			}
		}
		if strings.EqualFold(mtype, "Text") && strings.Contains(c.Body, "<") {
			t.Fatalf("plain text produced markup: %q", c.Body)
		}
	})
}

// FuzzParseMessage: the message model and the event envelope must never
// panic on any input, and every accessor must be safe on what they accept.
func FuzzParseMessage(f *testing.F) {
	f.Add([]byte(fixtureMessage))
	f.Add([]byte(`{"id":1,"version":"2","messagetype":"ThreadActivity/AddMember","content":"<addmember><target>8:a</target></addmember>","properties":{"emotions":"[{\"key\":\"like\",\"users\":[{\"mri\":\"8:a\",\"time\":1}]}]","mentions":"[{\"itemid\":0,\"mri\":\"8:b\"}]","edittime":5,"deletetime":"6"}}`))
	f.Add([]byte(`{"id":"x","messagetype":"Event/Call","content":"<partlist type=\"ended\"><part identity=\"8:a\"><name>A</name></part></partlist>","skypeeditedid":"1","from":"","conversationLink":"https://h/v1/users/ME/conversations/19%3Ax%40thread.tacv2;messageid=9"}`))
	f.Add([]byte(`{"id":1001,"type":"EventMessage","resourceType":"NewMessage","resourceLink":"https://h/v1/users/ME/conversations/19:a@thread.v2/messages/5","resource":{"content":"x"}}`))
	f.Add([]byte(`{"resourceType":"ThreadUpdate","resource":{"id":"19:a","members":[{"id":"8:x"}],"properties":{"topic":["no"]}}}`))
	f.Add([]byte(`{"resourceType":"ConversationUpdate","resource":{"id":"19:a","properties":{"consumptionhorizon":"1;2;3"},"threadProperties":{"topic":1}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if m, err := ParseMessage(data); err == nil {
			exercise(m)
		}
		ev, err := ParseEventMessage(data)
		if err != nil {
			return
		}
		if m, err := ev.Message(); err == nil {
			exercise(m)
		}
		if c, err := ev.Conversation(); err == nil {
			_ = c.Horizon()
			_ = c.IsOneToOne()
			_ = c.Topic()
		}
		if th, err := ev.Thread(); err == nil {
			_ = th.IsOneToOne()
		}
	})
}

func exercise(m *Message) {
	_ = m.Sender()
	_, _ = m.Conversation()
	_ = m.IsEdited()
	_ = m.IsDeleted()
	_ = m.EditTime()
	_ = m.DeleteTime()
	_ = m.Time()
	_, _ = m.Emotions()
	ms, _ := m.Mentions()
	_ = ParseContent(m.MessageType, m.Content, ms)
	switch m.Kind() {
	case KindThreadActivity:
		_, _ = ParseThreadActivity(m)
	case KindCall:
		_, _ = ParseCallEvent(m)
	}
}
