package teams

import (
	"bytes"
	"strings"
	"testing"

	"maunium.net/go/mautrix/event"

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
