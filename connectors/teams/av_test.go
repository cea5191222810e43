package teams

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/teams/teamsapi"
	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
)

var (
	mp4Bytes = []byte("\x00\x00\x00\x18ftypmp42 fake video")
	oggBytes = []byte("OggS\x00\x02 fake voice")
	gifBytes = []byte("GIF89a fake animation")
)

func (e *env) loginFree() {
	e.t.Helper()
	token := e.emu.IssueRefreshToken(e.free.MRI, teamsapi.TeamsPersonalClientID, "")
	e.h.CommandPrompt(alice, "login teams-token", "Account type")
	e.h.CommandPrompt(alice, "free", "Refresh token")
	e.h.CommandExpect(alice, token, "Signed in to Microsoft Teams")
	e.connected(e.free)
}

// waitMedia waits for a message of msgType from sender in room.
func (e *env) waitMedia(room id.RoomID, sender id.UserID, msgType event.MessageType) *event.MessageEventContent {
	e.t.Helper()
	var got *event.MessageEventContent
	e.h.WaitFor("a "+string(msgType)+" from "+string(sender), func() bool {
		for _, m := range e.h.Matrix.Messages(room) {
			if mc := m.Message(); mc != nil && m.Sender == sender && mc.MsgType == msgType {
				got = mc
				return true
			}
		}
		return false
	})
	return got
}

// A Matrix video goes to AMS as an object AMS transcodes
// (sharing/videototranscode, uploaded as its original) and a voice message
// as audio; Teams free gets the URIObject messages it shows them with.
func TestVideoAndVoiceFromMatrixToTeamsFree(t *testing.T) {
	e := newEnv(t)
	e.loginFree()
	dm := e.emu.OneToOne(e.frank.MRI, e.free.MRI)
	e.emu.SendText(e.frank.MRI, dm, "show me")
	room := e.room(e.free, dm)
	e.waitTexts(room, e.ghost(e.frank), "show me")

	evt := e.h.SendMatrix(room, alice, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgVideo, Body: "clip.mp4",
		URL: e.h.Matrix.PutMedia(mp4Bytes), Info: &event.FileInfo{MimeType: "video/mp4", Size: len(mp4Bytes)}})
	if st := e.status(evt); !isSuccess(st) {
		t.Fatalf("video send status %+v", st)
	}
	evt = e.h.SendMatrix(room, alice, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgAudio, Body: "Voice message.ogg",
		URL: e.h.Matrix.PutMedia(oggBytes), Info: &event.FileInfo{MimeType: "audio/ogg", Size: len(oggBytes)},
		MSC3245Voice: &event.MSC3245Voice{}, MSC1767Audio: &event.MSC1767Audio{Duration: 2000}})
	if st := e.status(evt); !isSuccess(st) {
		t.Fatalf("voice send status %+v", st)
	}
	sent := e.sentBy(e.free, 2)
	for i, want := range []struct {
		msgType, objType, slot string
		kind                   chatsvc.URIObjectKind
		data                   []byte
	}{
		{teamsapi.VideoMessageType, teamsapi.AMSVideo, "original", chatsvc.URIVideo, mp4Bytes},
		{teamsapi.AudioMessageType, teamsapi.AMSAudio, "audio", chatsvc.URIAudio, oggBytes},
	} {
		m := sent[i]
		obj, err := chatsvc.ParseURIObject(m.Content)
		if err != nil || m.MessageType != want.msgType || obj.Kind() != want.kind || len(m.AMSReferences) != 1 || obj.DocID != m.AMSReferences[0] {
			t.Fatalf("Teams got %s %q (%+v, %v)", m.MessageType, m.Content, obj, err)
		}
		if typ := e.emu.ObjectType(obj.DocID); typ != want.objType {
			t.Errorf("AMS object %s is a %q, want %q", obj.DocID, typ, want.objType)
		}
		if got, ok := e.emu.Object(obj.DocID, want.slot); !ok || !bytes.Equal(got, want.data) {
			t.Errorf("AMS holds %q under %s", got, want.slot)
		}
	}
}

// Work clients get a link to the object's playable view, as for files; the
// object is still a transcoded video.
func TestVideoFromMatrixToTeamsWork(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "the demo?")
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "the demo?")
	evt := e.h.SendMatrix(room, alice, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgVideo, Body: "demo.mp4",
		URL: e.h.Matrix.PutMedia(mp4Bytes), Info: &event.FileInfo{MimeType: "video/mp4", Size: len(mp4Bytes)}})
	if st := e.status(evt); !isSuccess(st) {
		t.Fatalf("send status %+v", st)
	}
	m := e.sentBy(e.me, 1)[0]
	if len(m.AMSReferences) != 1 || !strings.Contains(m.Content, "/v1/objects/"+m.AMSReferences[0]+"/views/video") || !strings.Contains(m.Content, "demo.mp4") {
		t.Fatalf("Teams got %s %q", m.MessageType, m.Content)
	}
	if typ := e.emu.ObjectType(m.AMSReferences[0]); typ != teamsapi.AMSVideo {
		t.Errorf("AMS object is a %q, want %q", typ, teamsapi.AMSVideo)
	}
}

// A Teams free video arrives as a Matrix video, a voice message as a Matrix
// voice message, each with the AMS bytes.
func TestVideoAndVoiceFromTeamsFree(t *testing.T) {
	e := newEnv(t)
	e.loginFree()
	dm := e.emu.OneToOne(e.frank.MRI, e.free.MRI)
	vid := e.emu.UploadObject(e.frank.MRI, dm, teamsapi.AMSVideo, "holiday.mp4", "video/mp4", mp4Bytes)
	e.emu.SendWith(e.frank.MRI, dm, teamsapi.VideoURIObject(e.url+"/ams/v1/objects/"+vid, vid, "holiday.mp4", int64(len(mp4Bytes))),
		teamsemu.SendOptions{MessageType: teamsapi.VideoMessageType, AMSReferences: []string{vid}})
	room := e.room(e.free, dm)
	video := e.waitMedia(room, e.ghost(e.frank), event.MsgVideo)
	if got, ok := e.h.Matrix.Media(video.URL); !ok || !bytes.Equal(got, mp4Bytes) || video.Body != "holiday.mp4" {
		t.Fatalf("Matrix got %q named %q", got, video.Body)
	}
	voice := e.emu.UploadObject(e.frank.MRI, dm, teamsapi.AMSAudio, "voice.m4a", "audio/mp4", oggBytes)
	e.emu.SendWith(e.frank.MRI, dm, teamsapi.AudioURIObject(e.url+"/ams/v1/objects/"+voice, voice, "voice.m4a", int64(len(oggBytes))),
		teamsemu.SendOptions{MessageType: teamsapi.AudioMessageType, AMSReferences: []string{voice}})
	audio := e.waitMedia(room, e.ghost(e.frank), event.MsgAudio)
	if got, ok := e.h.Matrix.Media(audio.URL); !ok || !bytes.Equal(got, oggBytes) {
		t.Fatalf("Matrix got %q", got)
	}
	if audio.MSC3245Voice == nil {
		t.Error("a Teams voice message is not a Matrix voice message")
	}
}

// A GIF picked from Giphy in Teams arrives as a Matrix image with its
// bytes (fetched without credentials); one on a host that is not Giphy's
// is not fetched, and its link is shown instead.
func TestGiphyFromTeamsIsAnImage(t *testing.T) {
	var gotAuth []string
	giphy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = append(gotAuth, r.Header.Get("Authorization")+r.Header.Get("Authentication"))
		w.Header().Set("Content-Type", "image/gif")
		_, _ = w.Write(gifBytes)
	}))
	t.Cleanup(giphy.Close)
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.Send(e.bob.MRI, dm, `<p><readonly title="GIF" itemtype="http://schema.skype.com/Giphy" contenteditable="false">`+
		`<img alt="dancing cat" src="`+giphy.URL+`/media/abc/giphy.gif" itemscope="" itemtype="http://schema.skype.com/Giphy" title="GIF"></readonly></p>`)
	room := e.room(e.me, dm)
	img := e.waitMedia(room, e.ghost(e.bob), event.MsgImage)
	if got, ok := e.h.Matrix.Media(img.URL); !ok || !bytes.Equal(got, gifBytes) || img.Info == nil || img.Info.MimeType != "image/gif" {
		t.Fatalf("Matrix got %q (%+v)", got, img.Info)
	}
	if len(gotAuth) != 1 || gotAuth[0] != "" {
		t.Errorf("the GIF host saw credentials %q", gotAuth)
	}
	e.emu.Send(e.bob.MRI, dm, `<p><img alt="sneaky" src="https://evil.example/x.gif" itemtype="http://schema.skype.com/Giphy"></p>`)
	notice := e.waitMedia(room, e.ghost(e.bob), event.MsgNotice)
	if !strings.Contains(notice.Body, "https://evil.example/x.gif") {
		t.Fatalf("the unfetched GIF's notice %q has no link", notice.Body)
	}
}
