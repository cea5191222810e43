package chatsvc

import (
	"testing"
	"time"
)

// The real work-channel fixture from the reference (§2.3).
const fixtureMessage = `{"id":"1618133509362","sequenceId":2,"clientmessageid":"3905287147909359600","version":"1618133509362",
 "conversationid":"19:10dd@thread.tacv2",
 "conversationLink":"https://emea.ng.msg.teams.microsoft.com/v1/users/ME/conversations/19:10dd@thread.tacv2;messageid=1618133509362",
 "type":"Message","messagetype":"RichText/Html","contenttype":"text",
 "content":"<div><div>Hello everyone <span class=\"animated-emoticon-20-smile\" title=\"Smiley\" type=\"(smile)\"><img itemid=\"smile\" itemscope=\"\" itemtype=\"http://schema.skype.com/Emoji\" src=\"https://statics.teams.cdn.office.net/evergreen-assets/skype/v2/smile/20.png\" alt=\"🙂\" style=\"width:20px; height:20px\"></span></div>\n</div>",
 "amsreferences":[],
 "from":"https://emea.ng.msg.teams.microsoft.com/v1/users/ME/contacts/8:orgid:fa814989-41d0-4d4b-a365-e5f44e406847",
 "imdisplayname":"Denys Vitali",
 "composetime":"2021-04-11T09:31:49.3620000Z","originalarrivaltime":"2021-04-11T09:31:49.3620000Z",
 "properties":{}}`

func TestParseFixtureMessage(t *testing.T) {
	m, err := ParseMessage([]byte(fixtureMessage))
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "1618133509362" || m.SequenceID.Int() != 2 || m.Sender() != "8:orgid:fa814989-41d0-4d4b-a365-e5f44e406847" {
		t.Fatalf("%+v", m)
	}
	conv, root := m.Conversation()
	if conv != "19:10dd@thread.tacv2" || root != "1618133509362" {
		t.Fatalf("conversation %q root %q", conv, root)
	}
	if want := time.Date(2021, 4, 11, 9, 31, 49, 362000000, time.UTC); !m.Time().Equal(want) {
		t.Fatalf("time %v", m.Time())
	}
	if m.IsEdited() || m.IsDeleted() || m.Kind() != KindText {
		t.Fatal("flags")
	}
}

func TestMessageVariants(t *testing.T) {
	// Numbers where strings are usual, bare MRI in from, edittime as a number,
	// emotions as a JSON string (AADI) with history to collapse.
	m, err := ParseMessage([]byte(`{"id":1700000000001,"version":1700000000500,"messagetype":"Text","content":"hi",
	  "from":"8:live:bob","to":"19:uni01_x@thread.v2","originalarrivaltime":"2023-11-14T22:13:20.001Z",
	  "properties":{"edittime":1700000000500,"emotions":"[{\"key\":\"like\",\"users\":[{\"mri\":\"8:a\",\"time\":1,\"value\":\"1\"},{\"mri\":\"8:a\",\"time\":5,\"value\":\"5\"},{\"mri\":\"8:b\",\"time\":2}]},{\"key\":\"heart\",\"users\":[]}]"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if m.Sender() != "8:live:bob" || m.VersionInt() != 1700000000500 || !m.IsEdited() || m.EditTime().UnixMilli() != 1700000000500 {
		t.Fatalf("%+v", m)
	}
	if conv, _ := m.Conversation(); conv != "19:uni01_x@thread.v2" {
		t.Fatalf("conv from to: %q", conv)
	}
	ems, err := m.Emotions()
	if err != nil || len(ems) != 1 || len(ems[0].Users) != 2 || ems[0].Users[0].Time.Int() != 5 {
		t.Fatalf("emotions %+v %v", ems, err)
	}
	// Deleted: deletetime, or deletiontime, or a Skype edit with empty content.
	for _, raw := range []string{
		`{"id":"1","messagetype":"RichText/Html","content":"","properties":{"deletetime":"1700000000000"}}`,
		`{"id":"1","messagetype":"RichText/Html","content":"","properties":{"deletiontime":1700000000000}}`,
		`{"id":"1","messagetype":"RichText","content":"<e_m ts=\"1526383416\" ts_ms=\"1526383417250\" a=\"joe\" t=\"61\"/>","skypeeditedid":"99"}`,
	} {
		m, err := ParseMessage([]byte(raw))
		if err != nil || !m.IsDeleted() {
			t.Fatalf("%s: deleted=%v %v", raw, m != nil && m.IsDeleted(), err)
		}
	}
	// edittime "0" / "" is no edit.
	m, _ = ParseMessage([]byte(`{"id":"1","messagetype":"Text","content":"x","properties":{"edittime":""}}`))
	if m.IsEdited() {
		t.Fatal("empty edittime counted as an edit")
	}
}

func TestEventMessageShapes(t *testing.T) {
	ev, err := ParseEventMessage([]byte(`{"id":1001,"type":"EventMessage","resourceType":"NewMessage","time":"2026-10-07T13:41:03Z",
	 "resourceLink":"https://notifications.skype.net/v1/users/ME/conversations/19:uni01_abc@thread.v2/messages/1791380463186",
	 "resource":{"id":"1791380463186","clientmessageid":"3669409457167652347","version":"1791380463186",
	   "type":"Message","messagetype":"RichText/Html","contenttype":"text","content":"<p>hi</p>",
	   "from":"https://notifications.skype.net/v1/users/ME/contacts/8:live:bob","imdisplayname":"Bob",
	   "conversationLink":"https://notifications.skype.net/v1/users/ME/conversations/19:uni01_abc@thread.v2",
	   "to":"19:uni01_abc@thread.v2","threadtype":"chat","isactive":true,
	   "composetime":"2026-10-07T13:41:02.9790000Z","originalarrivaltime":"2026-10-07T13:41:02.9790000Z",
	   "properties":{"importance":"","subject":""}}}`))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ev.Message()
	if err != nil || m.ClientMessageID != "3669409457167652347" || m.Sender() != "8:live:bob" {
		t.Fatalf("%+v %v", m, err)
	}
	if c, _ := m.Conversation(); c != "19:uni01_abc@thread.v2" {
		t.Fatalf("conv %q", c)
	}
	// A resource without id or conversation takes them from resourceLink.
	ev, _ = ParseEventMessage([]byte(`{"id":"7","resourceType":"MessageUpdate","resourceLink":"https://h/v1/users/ME/conversations/19%3Aa%40thread.v2/messages/55","resource":{"messagetype":"Text","content":"x"}}`))
	m, err = ev.Message()
	if err != nil || m.ID != "55" {
		t.Fatalf("%+v %v", m, err)
	}
	if c, _ := m.Conversation(); c != "19:a@thread.v2" {
		t.Fatalf("conv %q", c)
	}
	if _, err := ParseEventMessage([]byte(`{"id":1}`)); err == nil {
		t.Fatal("event without resourceType accepted")
	}
	ev, _ = ParseEventMessage([]byte(`{"resourceType":"ThreadUpdate","resource":{"id":"19:a@thread.v2","members":[{"id":"8:x","role":"Admin"}],"properties":{"topic":"T","membercount":3,"nested":{"x":1}}}}`))
	th, err := ev.Thread()
	if err != nil || th.Topic() != "T" || len(th.Members) != 1 || th.Properties.Get("membercount") != "3" {
		t.Fatalf("%+v %v", th, err)
	}
	if _, err := ev.Message(); err == nil {
		t.Fatal("thread update decoded as a message")
	}
}

func TestHorizonVariants(t *testing.T) {
	for in, want := range map[string]Horizon{
		"1769191432285;1769191500000;8271":  {MessageID: "1769191432285", Time: time.UnixMilli(1769191500000).UTC(), Third: "8271"},
		"1769191432285;1769191500000;0":     {MessageID: "1769191432285", Time: time.UnixMilli(1769191500000).UTC(), Third: "0"},
		"0;0;0":                             {Third: "0"},
		"1451606399999,1451606400000,14516": {MessageID: "1451606399999", Time: time.UnixMilli(1451606400000).UTC(), Third: "14516"},
	} {
		got, ok := ParseHorizon(in)
		if !ok || got != want {
			t.Fatalf("%q: %+v", in, got)
		}
	}
	h := Horizon{MessageID: "5", Time: time.UnixMilli(9), Third: "cm"}
	if h.String() != "5;9;cm" || (Horizon{}).String() != "0;0;0" {
		t.Fatalf("%q", h.String())
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"5": 5 * time.Second, "0": 0, "1.5": 1500 * time.Millisecond,
		"Thu, 01 Jan 2026 00:00:30 GMT":    30 * time.Second,
		"Thursday, 01-Jan-26 00:01:00 GMT": time.Minute,
		"Wed, 31 Dec 2025 00:00:00 GMT":    0,
	} {
		got, ok := ParseRetryAfter(in, now)
		if !ok || got != want {
			t.Fatalf("%q: %v %v", in, got, ok)
		}
	}
	if _, ok := ParseRetryAfter("soon", now); ok {
		t.Fatal("garbage accepted")
	}
}

func TestThreadActivityVariants(t *testing.T) {
	for _, tc := range []struct {
		mtype, content, kind, initiator, target, value string
	}{
		{"ThreadActivity/AddMember", "<addmember><eventtime>1</eventtime><initiator>8:orgid:a</initiator><target>8:orgid:b</target><target>8:orgid:c</target></addmember>", "AddMember", "8:orgid:a", "8:orgid:b", ""},
		{"ThreadActivity/TopicUpdate", "<topicupdate><eventtime>1</eventtime><initiator>8:joe.4</initiator><value>Team &amp; chat</value></topicupdate>", "TopicUpdate", "8:joe.4", "", "Team & chat"},
		{"ThreadActivity/RoleUpdate", "<roleupdate><eventtime>1</eventtime><initiator>8:a</initiator><target><id>8:joe.4</id><role>admin</role></target></roleupdate>", "RoleUpdate", "8:a", "8:joe.4", ""},
		{"ThreadActivity/MemberJoined", `{"members":[{"id":"8:orgid:x","friendlyname":"X","meetingMemberType":1}]}`, "MemberJoined", "", "8:orgid:x", ""},
		{"ThreadActivity/SpaceTopicUpdated", `{"oldValue":"a","newValue":"b","user":"8:orgid:u"}`, "SpaceTopicUpdated", "8:orgid:u", "", "b"},
		// Written by HTML-minded clients: HTML entities and a bare ampersand.
		{"ThreadActivity/TopicUpdate", "<topicupdate><eventtime>1</eventtime><initiator>8:joe.4</initiator><value>Tea&nbsp;& chat</value></topicupdate>", "TopicUpdate", "8:joe.4", "", "Tea\u00a0& chat"},
		{"ThreadActivity/DeleteMember", "<deletemember><eventtime>1451606400000</eventtime><initiator>8:anna.7</initiator><target>8:joe.4</target><target>8:fred.2</target></deletemember>", "DeleteMember", "8:anna.7", "8:joe.4", ""},
		{"ThreadActivity/PictureUpdate", "<pictureupdate><eventtime>1</eventtime><initiator>8:anna.7</initiator><value>URL@https://api.asm.skype.com/v1/objects/0-x/views/avatar_fullsize</value></pictureupdate>", "PictureUpdate", "8:anna.7", "", "URL@https://api.asm.skype.com/v1/objects/0-x/views/avatar_fullsize"},
	} {
		a, err := ParseThreadActivity(&Message{MessageType: tc.mtype, Content: tc.content})
		if err != nil {
			t.Fatalf("%s: %v", tc.mtype, err)
		}
		if a.Type != tc.kind || a.Initiator != tc.initiator || a.Value != tc.value || (tc.target != "" && (len(a.Targets) == 0 || a.Targets[0].MRI != tc.target)) {
			t.Fatalf("%s: %+v", tc.mtype, a)
		}
	}
	if _, err := ParseThreadActivity(&Message{MessageType: "Text"}); err == nil {
		t.Fatal("text parsed as activity")
	}
	if _, err := ParseThreadActivity(&Message{MessageType: "ThreadActivity/AddMember", Content: "<addmember"}); err == nil {
		t.Fatal("broken XML accepted")
	}
}

func TestCallEvents(t *testing.T) {
	ev, err := ParseCallEvent(&Message{MessageType: "Event/Call", Content: `<partlist type="ended" alt=""><part identity="8:orgid:a"><name>A</name><duration>61</duration></part><part identity="8:orgid:b"><name>B</name></part></partlist>`})
	if err != nil || ev.Type != "ended" || len(ev.Parts) != 2 || ev.Parts[0].Duration != "61" || ev.Parts[1].Name != "B" {
		t.Fatalf("%+v %v", ev, err)
	}
	ev, err = ParseCallEvent(&Message{MessageType: "ThreadActivity/CallStarted"})
	if err != nil || ev.Type != "started" {
		t.Fatalf("%+v %v", ev, err)
	}
	if KindOf("ThreadActivity/CallEnded") != KindCall || KindOf("ThreadActivity/AddMember") != KindThreadActivity || KindOf("Control/Typing") != KindTyping || KindOf("RichText/Media_GenericFile") != KindMedia {
		t.Fatal("kinds")
	}
}

func TestConversationClassification(t *testing.T) {
	for id, tp := range map[string]ThreadProperties{
		"19:a_b@unq.gbl.spaces": {},
		"19:uni01_x@thread.v2":  {"productThreadType": "OneToOneChat"},
		"19:x@thread.v2":        {"uniquerosterthread": "true"},
		"8:joe.4":               {},
	} {
		if !IsOneToOne(id, tp) {
			t.Fatalf("%s should be 1:1", id)
		}
	}
	if IsOneToOne("19:x@thread.v2", ThreadProperties{"uniquerosterthread": "false"}) {
		t.Fatal("group counted as 1:1")
	}
	if !IsSystemFeed("48:notes") || IsSystemFeed("19:x@thread.v2") {
		t.Fatal("system feeds")
	}
	if c, r := SplitThreadID("19:c@thread.tacv2;messageid=123"); c != "19:c@thread.tacv2" || r != "123" {
		t.Fatal("split")
	}
	if escapeID("19:c@thread.tacv2;messageid=1") != "19%3Ac%40thread.tacv2%3Bmessageid%3D1" {
		t.Fatal(escapeID("19:c@thread.tacv2;messageid=1"))
	}
}
