package teams

import (
	"bytes"
	"strings"
	"testing"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/mediaproxy"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/msgfmt"

	"github.com/imbridge/imbridge/connectors/teams/teamsapi"
	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
)

var pngBytes = []byte("\x89PNG\r\n\x1a\nfake image payload")

func TestImageFromTeamsIsUploadedToMatrix(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	obj := e.emu.UploadObject(e.bob.MRI, dm, teamsapi.AMSImage, "cat.png", "image/png", pngBytes)
	e.emu.SendWith(e.bob.MRI, dm, "<p>look</p>"+teamsapi.ImageHTML(e.url+"/ams", obj), teamsemu.SendOptions{AMSReferences: []string{obj}})
	room := e.room(e.me, dm)
	var img *event.MessageEventContent
	e.h.WaitFor("bob's image in Matrix", func() bool {
		for _, m := range e.h.Matrix.Messages(room) {
			if mc := m.Message(); mc != nil && m.Sender == e.ghost(e.bob) && mc.MsgType == event.MsgImage {
				img = mc
				return true
			}
		}
		return false
	})
	data, ok := e.h.Matrix.Media(img.URL)
	if !ok || !bytes.Equal(data, pngBytes) {
		t.Fatalf("Matrix got %q, want the AMS bytes", data)
	}
	e.waitTexts(room, e.ghost(e.bob), "look", img.Body)
}

func TestImageFromMatrixIsUploadedToAMS(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "send me the picture")
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "send me the picture")
	uri := e.h.Matrix.PutMedia(pngBytes)
	evt := e.h.SendMatrix(room, alice, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgImage, Body: "cat.png",
		URL: uri, Info: &event.FileInfo{MimeType: "image/png", Size: len(pngBytes)}})
	if st := e.status(evt); !isSuccess(st) {
		t.Fatalf("send status %+v", st)
	}
	m := e.sentBy(e.me, 1)[0]
	if len(m.AMSReferences) != 1 || !strings.Contains(m.Content, "http://schema.skype.com/AMSImage") {
		t.Fatalf("Teams got %+v, want an AMS image message", m)
	}
	if data, ok := e.emu.Object(m.AMSReferences[0], "imgpsh"); !ok || !bytes.Equal(data, pngBytes) {
		t.Fatalf("AMS holds %q", data)
	}
}

func TestStartChatAndSearch(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	lid := string(e.loginID(e.me))
	e.h.Command(alice, "start-chat "+lid+" teams:"+e.carol.MRI)
	dm, ok := teamsapi.OneOnOneID(e.me.MRI, e.carol.MRI)
	if !ok {
		t.Fatal("no derived 1:1 id")
	}
	room := e.room(e.me, dm)
	evt := e.h.SendText(room, alice, "hi carol")
	if st := e.status(evt); !isSuccess(st) {
		t.Fatalf("send status %+v", st)
	}
	if m := e.sentBy(e.me, 1)[0]; m.Conversation != dm {
		t.Fatalf("sent into %s, want %s", m.Conversation, dm)
	}
	e.h.WaitFor("carol's ghost to be named", func() bool {
		p := e.h.Matrix.Profile(e.ghost(e.carol))
		return p != nil && p.DisplayName == "Carol Clark"
	})
	if found := e.h.Command(alice, "search "+lid+" clark"); !strings.Contains(found, "Carol Clark") {
		t.Fatalf("search found %q", found)
	}
}

func TestCreateGroupFromMatrix(t *testing.T) {
	e := newEnv(t)
	c := e.login(e.me)
	resp, err := c.CreateGroup(e.h.Ctx, &bridgev2.GroupCreateParams{
		Participants: []networkid.UserID{ids.UserID(ids.Teams, e.bob.MRI), ids.UserID(ids.Teams, e.carol.MRI)},
		Name:         &event.RoomNameEventContent{Name: "Offsite"},
	})
	if err != nil {
		t.Fatal(err)
	}
	conv, err := ids.Parse(ids.Teams, string(resp.PortalKey.ID))
	if err != nil {
		t.Fatal(err)
	}
	members := e.emu.Members(conv)
	if e.emu.Topic(conv) != "Offsite" || len(members) != 3 || members[e.bob.MRI] == "" || members[e.carol.MRI] == "" {
		t.Fatalf("Teams group %s: topic %q members %v", conv, e.emu.Topic(conv), members)
	}
	if resp.PortalInfo == nil || resp.PortalInfo.Name == nil || *resp.PortalInfo.Name != "Offsite" {
		t.Fatalf("portal info %+v", resp.PortalInfo)
	}
}

func TestSystemFeedsGetNoRoom(t *testing.T) {
	e := newEnv(t)
	c := e.login(e.me)
	c.evMu.Lock()
	ok := c.handleMessage(e.h.Ctx, &chatsvc.Message{ID: "1796000000000", MessageType: "RichText/Html", Content: "<p>note to self</p>",
		From: e.me.MRI, ConversationLink: e.url + "/v1/users/ME/conversations/48:notes"})
	c.evMu.Unlock()
	if !ok {
		t.Fatal("a notes message counts as not handled, which would hold the catch-up point")
	}
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "hi")
	e.waitTexts(e.room(e.me, dm), e.ghost(e.bob), "hi")
	for _, r := range e.h.Matrix.Rooms() {
		if r.Request != nil && strings.Contains(r.Request.Name, "note") {
			t.Fatalf("a room was made for the notes feed: %+v", r.Request)
		}
	}
	p, err := e.h.Bridge.GetExistingPortalByKey(e.h.Ctx, networkid.PortalKey{ID: ids.PortalID(ids.Teams, "48:notes"), Receiver: e.loginID(e.me)})
	if err == nil && p != nil && p.MXID != "" {
		t.Fatalf("48:notes has a room %s", p.MXID)
	}
}

func TestReplyFromTeamsIsMatrixReply(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	first := e.emu.SendText(e.bob.MRI, dm, "which day?")
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "which day?")
	target := e.eventFor(room, first)
	quote := msgfmt.TeamsReplyHTML(msgfmt.Quote{MessageID: first, AuthorID: e.bob.MRI, AuthorName: "Bob Brown", Text: "which day?"})
	e.emu.Send(e.bob.MRI, dm, quote+"<p>Friday</p>")
	e.waitTexts(room, e.ghost(e.bob), "which day?", "Friday")
	for _, m := range e.h.Matrix.Messages(room) {
		if mc := m.Message(); mc != nil && mc.Body == "Friday" {
			if mc.RelatesTo == nil || mc.RelatesTo.GetReplyTo() != target {
				t.Fatalf("the reply does not point at %s: %+v", target, mc.RelatesTo)
			}
		}
	}
}

func TestImageFromTeamsAsDirectMedia(t *testing.T) {
	e := newEnv(t, func(e *env, _ *teamsemu.Options) { e.directMedia = true })
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	obj := e.emu.UploadObject(e.bob.MRI, dm, teamsapi.AMSImage, "cat.png", "image/png", pngBytes)
	e.emu.SendWith(e.bob.MRI, dm, teamsapi.ImageHTML(e.url+"/ams", obj), teamsemu.SendOptions{AMSReferences: []string{obj}})
	room := e.room(e.me, dm)
	var img *event.MessageEventContent
	e.h.WaitFor("bob's image in Matrix", func() bool {
		for _, m := range e.h.Matrix.Messages(room) {
			if mc := m.Message(); mc != nil && m.Sender == e.ghost(e.bob) && mc.MsgType == event.MsgImage {
				img = mc
				return true
			}
		}
		return false
	})
	if _, uploaded := e.h.Matrix.Media(img.URL); uploaded {
		t.Fatal("the image was uploaded although direct media is on")
	}
	mediaID, err := e.h.Matrix.ParseContentURI(e.h.Ctx, img.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.h.Connector.(bridgev2.DirectMediableNetwork).Download(e.h.Ctx, mediaID, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err = resp.(*mediaproxy.GetMediaResponseData).WriteTo(&buf); err != nil || !bytes.Equal(buf.Bytes(), pngBytes) {
		t.Fatalf("direct media served %q (%v)", buf.Bytes(), err)
	}
}

func TestCallEventsAndSharedFilesAreShown(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendWith(e.bob.MRI, dm, `<partlist type="missed" alt=""><part identity="`+e.bob.MRI+`"><name>Bob Brown</name></part></partlist>`,
		teamsemu.SendOptions{MessageType: "Event/Call"})
	files := `[{"@type":"http://schema.skype.com/File","version":2,"id":"f1","itemid":"f1","fileName":"plan.xlsx","fileType":"xlsx","title":"plan.xlsx","type":"xlsx","state":"active","objectUrl":"https://contoso.sharepoint.com/plan.xlsx","fileInfo":{"shareUrl":"https://contoso.sharepoint.com/s/plan"}}]`
	e.emu.SendWith(e.bob.MRI, dm, "<p>the plan</p>", teamsemu.SendOptions{Properties: map[string]any{"files": files}})
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "📞 Missed Teams call", "the plan\n📎 plan.xlsx: https://contoso.sharepoint.com/s/plan")
}

func TestInvitingAGhostMakesTheDM(t *testing.T) {
	e := newEnv(t)
	c := e.login(e.me)
	ghost, err := e.h.Bridge.GetGhostByID(e.h.Ctx, ids.UserID(ids.Teams, e.carol.MRI))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.CreateChatWithGhost(e.h.Ctx, ghost)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := teamsapi.OneOnOneID(e.me.MRI, e.carol.MRI)
	if resp.PortalKey.ID != ids.PortalID(ids.Teams, want) || resp.PortalKey.Receiver != e.loginID(e.me) {
		t.Fatalf("portal %+v, want the 1:1 chat %s", resp.PortalKey, want)
	}
	if resp.PortalInfo == nil || resp.PortalInfo.Members == nil || resp.PortalInfo.Members.OtherUserID != ids.UserID(ids.Teams, e.carol.MRI) {
		t.Fatalf("portal info %+v does not name carol as the other user", resp.PortalInfo)
	}
	lyncGhost, err := e.h.Bridge.GetGhostByID(e.h.Ctx, ids.UserID(ids.Lync, "bob@corp.example"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateChatWithGhost(e.h.Ctx, lyncGhost); err != bridgev2.ErrResolveIdentifierTryNext {
		t.Fatalf("another protocol's ghost: %v, want ErrResolveIdentifierTryNext", err)
	}
}

func TestFileFromTeamsFreeIsUploadedToMatrix(t *testing.T) {
	e := newEnv(t)
	token := e.emu.IssueRefreshToken(e.free.MRI, teamsapi.TeamsPersonalClientID, "")
	e.h.CommandPrompt(alice, "login teams-token", "Account type")
	e.h.CommandPrompt(alice, "free", "Refresh token")
	e.h.CommandExpect(alice, token, "Signed in to Microsoft Teams")
	e.connected(e.free)
	dm := e.emu.OneToOne(e.frank.MRI, e.free.MRI)
	data := []byte("%PDF-1.4 quarterly numbers")
	obj := e.emu.UploadObject(e.frank.MRI, dm, teamsapi.AMSFile, "q3.pdf", "application/pdf", data)
	e.emu.SendWith(e.frank.MRI, dm, chatsvc.FileURIObject(e.url+"/ams/v1/objects/"+obj, obj, "q3.pdf", int64(len(data))),
		teamsemu.SendOptions{MessageType: "RichText/Media_GenericFile", AMSReferences: []string{obj}})
	room := e.room(e.free, dm)
	var file *event.MessageEventContent
	e.h.WaitFor("frank's file in Matrix", func() bool {
		for _, m := range e.h.Matrix.Messages(room) {
			if mc := m.Message(); mc != nil && m.Sender == e.ghost(e.frank) && mc.MsgType == event.MsgFile {
				file = mc
				return true
			}
		}
		return false
	})
	if got, ok := e.h.Matrix.Media(file.URL); !ok || !bytes.Equal(got, data) || file.Body != "q3.pdf" {
		t.Fatalf("Matrix got %q named %q", got, file.Body)
	}
}

func TestFileFromMatrixToTeamsFreeIsAURIObject(t *testing.T) {
	e := newEnv(t)
	token := e.emu.IssueRefreshToken(e.free.MRI, teamsapi.TeamsPersonalClientID, "")
	e.h.CommandPrompt(alice, "login teams-token", "Account type")
	e.h.CommandPrompt(alice, "free", "Refresh token")
	e.h.CommandExpect(alice, token, "Signed in to Microsoft Teams")
	e.connected(e.free)
	dm := e.emu.OneToOne(e.frank.MRI, e.free.MRI)
	e.emu.SendText(e.frank.MRI, dm, "send the report")
	room := e.room(e.free, dm)
	e.waitTexts(room, e.ghost(e.frank), "send the report")
	data := []byte("report body")
	evt := e.h.SendMatrix(room, alice, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgFile, Body: "report.txt",
		URL: e.h.Matrix.PutMedia(data), Info: &event.FileInfo{MimeType: "text/plain", Size: len(data)}})
	if st := e.status(evt); !isSuccess(st) {
		t.Fatalf("send status %+v", st)
	}
	m := e.sentBy(e.free, 1)[0]
	obj, err := chatsvc.ParseURIObject(m.Content)
	if err != nil || m.MessageType != "RichText/Media_GenericFile" || obj.OriginalName != "report.txt" || len(m.AMSReferences) != 1 || obj.DocID != m.AMSReferences[0] {
		t.Fatalf("Teams got %s %q (%+v, %v)", m.MessageType, m.Content, obj, err)
	}
	if got, ok := e.emu.Object(obj.DocID, "original"); !ok || !bytes.Equal(got, data) {
		t.Fatalf("AMS holds %q", got)
	}
}
