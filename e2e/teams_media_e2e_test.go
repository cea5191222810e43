//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"maunium.net/go/mautrix/crypto/attachment"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/teams/teamsapi"
	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
	"github.com/imbridge/imbridge/testenv/mxclient"
)

// checkTeamsMedia sends an image and a file from sender into conv and checks
// the user gets both in the encrypted portal with the bytes intact, then
// sends an image and a file from Matrix and checks AMS holds their bytes and
// Teams got the messages that show them (Teams free: a file is a URIObject
// message; work: a link to the AMS object).
func checkTeamsMedia(t *testing.T, ctx context.Context, cli *mxclient.Client, room id.RoomID, conv string, me, sender *teamsemu.User) {
	t.Helper()
	emu := teamsEmu
	ghost := teamsGhost(sender.MRI)
	mark := cli.Mark()

	// Teams → Matrix: an image and a file.
	png := []byte("\x89PNG\r\n\x1a\nan e2e image payload")
	img := emu.UploadObject(sender.MRI, conv, teamsapi.AMSImage, "cat.png", "image/png", png)
	emu.SendWith(sender.MRI, conv, "<p>look</p>"+teamsapi.ImageHTML(emu.URL()+"/ams", img), teamsemu.SendOptions{AMSReferences: []string{img}})
	got := waitGhost(t, ctx, cli, room, ghost, mark, "the Teams image", func(c *event.MessageEventContent) bool { return c.MsgType == event.MsgImage })
	checkMatrixMedia(t, ctx, cli, got.Event.Content.AsMessage(), png, "the Teams image")

	pdf := []byte("%PDF-1.4 an e2e file payload")
	file := emu.UploadObject(sender.MRI, conv, teamsapi.AMSFile, "q3.pdf", "application/pdf", pdf)
	emu.SendWith(sender.MRI, conv, chatsvc.FileURIObject(emu.URL()+"/ams/v1/objects/"+file, file, "q3.pdf", int64(len(pdf))),
		teamsemu.SendOptions{MessageType: "RichText/Media_GenericFile", AMSReferences: []string{file}})
	got = waitGhost(t, ctx, cli, room, ghost, mark, "the Teams file", func(c *event.MessageEventContent) bool { return c.MsgType == event.MsgFile })
	fc := got.Event.Content.AsMessage()
	if fc.Body != "q3.pdf" && fc.FileName != "q3.pdf" {
		t.Errorf("the Teams file is named %q/%q in Matrix, want q3.pdf", fc.Body, fc.FileName)
	}
	checkMatrixMedia(t, ctx, cli, fc, pdf, "the Teams file")

	// Matrix → Teams: an image and a file, encrypted as Element sends them.
	sendMatrixMedia(t, ctx, cli, room, event.MsgImage, "dog.png", "image/png", png)
	m := waitTeams(t, conv, "the Matrix image", func(m teamsemu.Message) bool {
		return m.From == me.MRI && len(m.AMSReferences) == 1 && bytes.Contains([]byte(m.Content), []byte("AMSImage"))
	})
	if data, ok := emu.Object(m.AMSReferences[0], "imgpsh"); !ok || !bytes.Equal(data, png) {
		t.Errorf("AMS holds %q for the Matrix image, want its bytes", data)
	}
	report := []byte("an e2e report body")
	sendMatrixMedia(t, ctx, cli, room, event.MsgFile, "report.txt", "text/plain", report)
	var docID string
	if me.Consumer {
		m = waitTeams(t, conv, "the Matrix file", func(m teamsemu.Message) bool {
			return m.From == me.MRI && m.MessageType == "RichText/Media_GenericFile"
		})
		obj, err := chatsvc.ParseURIObject(m.Content)
		if err != nil || obj.OriginalName != "report.txt" || len(m.AMSReferences) != 1 || obj.DocID != m.AMSReferences[0] {
			t.Fatalf("Teams got the Matrix file as %q (%+v, %v)", m.Content, obj, err)
		}
		docID = obj.DocID
	} else {
		// A work account gets a link to the AMS object.
		m = waitTeams(t, conv, "the Matrix file", func(m teamsemu.Message) bool {
			return m.From == me.MRI && strings.Contains(m.Content, "report.txt") && len(m.AMSReferences) == 1
		})
		docID = m.AMSReferences[0]
		if !strings.Contains(m.Content, "/v1/objects/"+docID+"/views/original") {
			t.Errorf("the Matrix file reached Teams as %q, want a link to AMS object %s", m.Content, docID)
		}
	}
	if data, ok := emu.Object(docID, "original"); !ok || !bytes.Equal(data, report) {
		t.Errorf("AMS holds %q for the Matrix file, want its bytes", data)
	}

	// Matrix → Teams: a video goes to AMS to be transcoded; Teams free
	// gets a Media_Video message, work a link to its video view.
	clip := []byte("\x00\x00\x00\x18ftypmp42 an e2e video payload")
	sendMatrixMedia(t, ctx, cli, room, event.MsgVideo, "clip.mp4", "video/mp4", clip)
	m = waitTeams(t, conv, "the Matrix video", func(m teamsemu.Message) bool {
		return m.From == me.MRI && strings.Contains(m.Content, "clip.mp4") && len(m.AMSReferences) == 1
	})
	if me.Consumer && m.MessageType != teamsapi.VideoMessageType {
		t.Errorf("the Matrix video reached Teams free as a %s, want %s", m.MessageType, teamsapi.VideoMessageType)
	}
	if typ := emu.ObjectType(m.AMSReferences[0]); typ != teamsapi.AMSVideo {
		t.Errorf("the Matrix video is an AMS %q, want %q", typ, teamsapi.AMSVideo)
	}
	if data, ok := emu.Object(m.AMSReferences[0], "original"); !ok || !bytes.Equal(data, clip) {
		t.Errorf("AMS holds %q for the Matrix video, want its bytes", data)
	}
	if me.Consumer {
		// Teams free → Matrix: a video message is a Matrix video.
		vid := emu.UploadObject(sender.MRI, conv, teamsapi.AMSVideo, "holiday.mp4", "video/mp4", clip)
		emu.SendWith(sender.MRI, conv, teamsapi.VideoURIObject(emu.URL()+"/ams/v1/objects/"+vid, vid, "holiday.mp4", int64(len(clip))),
			teamsemu.SendOptions{MessageType: teamsapi.VideoMessageType, AMSReferences: []string{vid}})
		got = waitGhost(t, ctx, cli, room, ghost, mark, "the Teams video", func(c *event.MessageEventContent) bool { return c.MsgType == event.MsgVideo })
		checkMatrixMedia(t, ctx, cli, got.Event.Content.AsMessage(), clip, "the Teams video")
	}
}

// checkMatrixMedia downloads (and decrypts) a message's media and compares
// it with want.
func checkMatrixMedia(t *testing.T, ctx context.Context, cli *mxclient.Client, c *event.MessageEventContent, want []byte, what string) {
	t.Helper()
	raw := c.URL
	if c.File != nil {
		raw = c.File.URL
	} else {
		t.Errorf("%s is not an encrypted file in the encrypted portal", what)
	}
	uri, err := raw.Parse()
	if err != nil {
		t.Fatalf("%s has a bad media URL %q: %v", what, raw, err)
	}
	data, err := cli.DownloadBytes(ctx, uri)
	if err != nil {
		t.Fatalf("download %s: %v", what, err)
	}
	if c.File != nil {
		if err := c.File.DecryptInPlace(data); err != nil {
			t.Fatalf("decrypt %s: %v", what, err)
		}
	}
	if !bytes.Equal(data, want) {
		t.Errorf("%s has %q in Matrix, want %q", what, data, want)
	}
}

// sendMatrixMedia uploads data encrypted and sends it as a message.
func sendMatrixMedia(t *testing.T, ctx context.Context, cli *mxclient.Client, room id.RoomID, msgType event.MessageType, name, mime string, data []byte) {
	t.Helper()
	ef := attachment.NewEncryptedFile()
	cipher := append([]byte(nil), data...)
	ef.EncryptInPlace(cipher)
	up, err := cli.UploadBytes(ctx, cipher, "application/octet-stream")
	if err != nil {
		t.Fatalf("upload %s: %v", name, err)
	}
	content := &event.MessageEventContent{MsgType: msgType, Body: name, Info: &event.FileInfo{MimeType: mime, Size: len(data)},
		File: &event.EncryptedFileInfo{EncryptedFile: *ef, URL: up.ContentURI.CUString()}}
	if _, err := cli.SendMessageEvent(ctx, room, event.EventMessage, content); err != nil {
		t.Fatalf("send %s: %v", name, err)
	}
}
