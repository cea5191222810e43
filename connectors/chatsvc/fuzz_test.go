package chatsvc

import (
	"testing"
)

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
	_, _ = m.Mentions()
	_ = StripEditMarker(m.Content)
	switch m.Kind() {
	case KindThreadActivity:
		_, _ = ParseThreadActivity(m)
	case KindCall:
		_, _ = ParseCallEvent(m)
	}
}
