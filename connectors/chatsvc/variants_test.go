package chatsvc

import (
	"testing"
	"time"
)

// Direct-parsing tests of the message, conversation, thread and event
// shapes both references show, with and without their optional fields.

func TestMessageShapeVariants(t *testing.T) {
	at := time.Date(2021, 4, 11, 9, 31, 49, 362000000, time.UTC)
	for _, tc := range []struct {
		name, raw          string
		id, cmid, sender   string
		conv, root         string
		when               time.Time
		edited, deleted    bool
		emotions, mentions int
		properties         bool
	}{
		{name: "no properties, no clientmessageid", raw: `{"id":"1618133509362","version":"1618133509362","type":"Message","messagetype":"RichText/Html","contenttype":"text","content":"<p>x</p>",
			"from":"https://emea.ng.msg.teams.microsoft.com/v1/users/ME/contacts/8:orgid:fa814989-41d0-4d4b-a365-e5f44e406847","conversationid":"19:a@thread.v2",
			"composetime":"2021-04-11T09:31:49.3620000Z","originalarrivaltime":"2021-04-11T09:31:49.3620000Z"}`,
			id: "1618133509362", sender: "8:orgid:fa814989-41d0-4d4b-a365-e5f44e406847", conv: "19:a@thread.v2", when: at},
		{name: "skype millisecond times and bare MRI", raw: `{"id":"1618133509362","clientmessageid":"1618133509361","messagetype":"RichText","content":"x","from":"8:anna.7",
			"conversationLink":"https://client-s.gateway.messenger.live.com/v1/users/ME/conversations/19:a0b1@thread.skype","composetime":"2021-04-11T09:31:49.362Z","originalarrivaltime":"2021-04-11T09:31:49.362Z","properties":{}}`,
			id: "1618133509362", cmid: "1618133509361", sender: "8:anna.7", conv: "19:a0b1@thread.skype", when: at, properties: true},
		{name: "composetime only", raw: `{"clientmessageid":"9","messagetype":"Text","content":"x","from":"8:x","to":"8:joe.4","composetime":"2021-04-11T09:31:49.362+00:00"}`,
			cmid: "9", sender: "8:x", conv: "8:joe.4", when: at},
		{name: "times as ms numbers and strings", raw: `{"id":1618133509362,"version":1618133509999,"messagetype":"Text","content":"x","from":"8:x","to":"19:a@thread.v2",
			"composetime":1618133509000,"originalarrivaltime":"1618133509362","properties":{"edittime":"1618133509999"}}`,
			id: "1618133509362", sender: "8:x", conv: "19:a@thread.v2", when: at, edited: true, properties: true},
		{name: "times without zone or fraction", raw: `{"id":"1","messagetype":"Text","content":"x","to":"19:a@thread.v2","originalarrivaltime":"2021-04-11T09:31:49"}`,
			id: "1", conv: "19:a@thread.v2", when: at.Truncate(time.Second)},
		{name: "channel reply link and escaped from", raw: `{"id":"1618133509400","messagetype":"RichText/Html","content":"r","rootMessageId":"1618133509362",
			"from":"https://h/v1/users/ME/contacts/8%3Aorgid%3Aabc","conversationLink":"https://h/v1/users/ME/conversations/19%3A10dd%40thread.tacv2%3Bmessageid%3D1618133509362"}`,
			id: "1618133509400", sender: "8:orgid:abc", conv: "19:10dd@thread.tacv2", root: "1618133509362", when: time.UnixMilli(1618133509400).UTC()},
		{name: "reactions as array, mentions as array", raw: `{"id":"2","messagetype":"RichText/Html","content":"x","to":"19:a@thread.v2","originalarrivaltime":"2021-04-11T09:31:49.362Z",
			"properties":{"emotions":[{"key":"like","users":[{"mri":"8:orgid:a","time":1668285027384,"value":"1668285027230"}]},{"key":"heart","users":[]}],
			"mentions":[{"@type":"http://schema.skype.com/Mention","itemid":0,"mri":"8:orgid:j","mentionType":"person","displayName":"Jane"}]}}`,
			id: "2", conv: "19:a@thread.v2", when: at, emotions: 1, mentions: 1, properties: true},
		{name: "reactions and mentions as JSON strings", raw: `{"id":"2","messagetype":"RichText/Html","content":"x","to":"19:a@thread.v2","originalarrivaltime":"2021-04-11T09:31:49.362Z",
			"properties":{"emotions":"[{\"key\":\"like\",\"users\":[{\"mri\":\"8:orgid:a\",\"time\":\"1668285027384\",\"value\":1668285027230}]}]",
			"mentions":"[{\"@type\":\"http://schema.skype.com/Mention\",\"itemid\":\"0\",\"mri\":\"8:orgid:j\"}]"}}`,
			id: "2", conv: "19:a@thread.v2", when: at, emotions: 1, mentions: 1, properties: true},
		{name: "teams delete", raw: `{"id":"3","messagetype":"RichText/Html","content":"","to":"19:a@thread.v2","originalarrivaltime":"2021-04-11T09:31:49.362Z","properties":{"deletetime":1618133519362}}`,
			id: "3", conv: "19:a@thread.v2", when: at, deleted: true, properties: true},
		{name: "skype legacy edit without clientmessageid", raw: `{"id":"4","skypeeditedid":"1451606399999","messagetype":"RichText","content":"fixed<e_m ts=\"1526383416\" ts_ms=\"1526383417250\" a=\"joe\" t=\"61\"/>","to":"8:joe.4","originalarrivaltime":"2021-04-11T09:31:49.362Z"}`,
			id: "4", conv: "8:joe.4", when: at, edited: true},
		{name: "properties as a JSON string", raw: `{"id":"5","messagetype":"Text","content":"x","to":"8:joe.4","originalarrivaltime":"2021-04-11T09:31:49.362Z","properties":"{\"edittime\":\"1618133519362\"}"}`,
			id: "5", conv: "8:joe.4", when: at, edited: true, properties: true},
		{name: "properties null or junk", raw: `{"id":"6","messagetype":"Text","content":"x","to":"8:joe.4","originalarrivaltime":"2021-04-11T09:31:49.362Z","properties":""}`,
			id: "6", conv: "8:joe.4", when: at},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseMessage([]byte(tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			conv, root := m.Conversation()
			if string(m.ID) != tc.id || string(m.ClientMessageID) != tc.cmid || m.Sender() != tc.sender || conv != tc.conv || root != tc.root {
				t.Fatalf("id %q cmid %q sender %q conv %q root %q", m.ID, m.ClientMessageID, m.Sender(), conv, root)
			}
			if !m.Time().Equal(tc.when) {
				t.Fatalf("time %v, want %v", m.Time(), tc.when)
			}
			if m.IsEdited() != tc.edited || m.IsDeleted() != tc.deleted || (m.Properties != nil) != tc.properties {
				t.Fatalf("edited %v deleted %v properties %v", m.IsEdited(), m.IsDeleted(), m.Properties)
			}
			ems, err := m.Emotions()
			if err != nil || len(ems) != tc.emotions {
				t.Fatalf("emotions %+v %v", ems, err)
			}
			ms, err := m.Mentions()
			if err != nil || len(ms) != tc.mentions || tc.mentions > 0 && (ms[0].MRI != "8:orgid:j" || ms[0].ItemID.Int() != 0) {
				t.Fatalf("mentions %+v %v", ms, err)
			}
		})
	}
}

func TestThreadMemberShapes(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		ids       []string
		roles     []string
		names     []string
	}{
		{name: "teams thread GET", raw: `{"id":"19:a@thread.v2","type":"Thread","version":1618133509362,
			"members":[{"id":"8:orgid:a","role":"Admin","userLink":"https://h/v1/users/ME/contacts/8:orgid:a","linkedMri":"","friendlyName":"Ann","meetingMemberType":0},
			           {"id":"8:orgid:b","role":"User","userLink":"","linkedMri":"","friendlyName":""}],
			"properties":{"topic":"Project","threadType":"chat","creator":"8:orgid:a","createdat":"1618133509362","historydisclosed":"false","uniquerosterthread":"false"}}`,
			ids: []string{"8:orgid:a", "8:orgid:b"}, roles: []string{"Admin", "User"}, names: []string{"Ann", ""}},
		{name: "skype thread GET", raw: `{"id":"19:x@thread.skype","type":"Thread","version":1451606400000,
			"members":[{"id":"8:anna.7","role":"Admin","type":"ThreadMember","userLink":"https://h/v1/users/8:anna.7","linkedMri":"","friendlyName":"","capabilities":[],"cid":0,"userTile":""}],
			"properties":{"topic":"Team chat","creator":"8:anna.7","createdat":"1451606400000","historydisclosed":"true","joiningenabled":"true","capabilities":["AddMember","ChangeTopic"]}}`,
			ids: []string{"8:anna.7"}, roles: []string{"Admin"}, names: []string{""}},
		{name: "member named only by userLink", raw: `{"id":"19:x@thread.skype","members":[{"userLink":"https://h/v1/users/8:joe.4","role":"user"}]}`,
			ids: []string{"8:joe.4"}, roles: []string{"user"}, names: []string{""}},
		{name: "member id as URL, lower-case friendlyname", raw: `{"id":"19:x@thread.v2","members":[{"id":"https://h/v1/users/ME/contacts/8:live:bob","friendlyname":"Bob"}]}`,
			ids: []string{"8:live:bob"}, roles: []string{""}, names: []string{"Bob"}},
		{name: "no members", raw: `{"id":"19:x@thread.v2","properties":{"topic":"t"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := ParseEventMessage([]byte(`{"id":1002,"type":"EventMessage","resourceType":"ThreadUpdate","time":"2024-05-08T03:19:56Z","resource":` + tc.raw + `}`))
			if err != nil {
				t.Fatal(err)
			}
			th, err := ev.Thread()
			if err != nil || len(th.Members) != len(tc.ids) {
				t.Fatalf("%+v %v", th, err)
			}
			for i, m := range th.Members {
				if m.ID != tc.ids[i] || m.Role != tc.roles[i] || m.FriendlyName != tc.names[i] {
					t.Fatalf("member %d %+v", i, m)
				}
			}
		})
	}
}

func TestConversationShapes(t *testing.T) {
	for _, tc := range []struct {
		name, raw        string
		oneToOne, system bool
		topic            string
		horizon          Horizon
		last             bool
	}{
		{name: "teams group", raw: `{"id":"19:uni01_abc@thread.v2","type":"Conversation","version":1769191432285,"targetLink":"https://h/v1/threads/19:uni01_abc@thread.v2",
			"properties":{"consumptionhorizon":"1769191432285;1769191500000;8271","lastimreceivedtime":"2026-01-23T18:03:52.285Z","isemptyconversation":"False"},
			"threadProperties":{"topic":"Project","threadType":"chat","productThreadType":"Chat","uniquerosterthread":"false","membercount":"3"},
			"lastMessage":{"id":"1769191432285","messagetype":"Text","content":"x"},"memberProperties":{"role":"Admin"}}`,
			topic: "Project", horizon: Horizon{MessageID: "1769191432285", Time: time.UnixMilli(1769191500000).UTC(), Third: "8271"}, last: true},
		{name: "consumer 1:1 by productThreadType", raw: `{"id":"19:uni01_x@thread.v2","threadProperties":{"productThreadType":"OneToOneChat"},"properties":{"consumptionhorizon":"1;2;0"}}`,
			oneToOne: true, horizon: Horizon{MessageID: "1", Time: time.UnixMilli(2).UTC(), Third: "0"}},
		{name: "work 1:1 without thread properties", raw: `{"id":"19:a_b@unq.gbl.spaces","properties":{}}`, oneToOne: true},
		{name: "skype 1:1, empty lastMessage", raw: `{"id":"8:joe.4","type":"Conversation","version":1451606400000,"properties":{"clearedat":"1451606400000","consumptionhorizon":"0;0;0"},"lastMessage":{}}`,
			oneToOne: true, horizon: Horizon{Third: "0"}, last: true},
		{name: "notes feed", raw: `{"id":"48:notes","threadProperties":{"threadType":"streamofnotes"}}`, system: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := ParseEventMessage([]byte(`{"id":"1003","resourceType":"ConversationUpdate","resource":` + tc.raw + `}`))
			if err != nil {
				t.Fatal(err)
			}
			c, err := ev.Conversation()
			if err != nil {
				t.Fatal(err)
			}
			if c.IsOneToOne() != tc.oneToOne || c.IsSystemFeed() != tc.system || c.Topic() != tc.topic || c.Horizon() != tc.horizon || (c.LastMessage != nil) != tc.last {
				t.Fatalf("%+v horizon %+v", c, c.Horizon())
			}
		})
	}
}
