package teams

// media.go: videos, voice messages and GIFs, both ways. Images and files
// are in convert.go and handlematrix.go, which call in here.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	xhtml "golang.org/x/net/html"
	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/teams/teamsapi"
)

// amsKind is the AMS object type a Matrix file of msgType is uploaded as:
// videos are transcoded by AMS (sharing/videototranscode, teams-web §5),
// audio is a voice message.
func amsKind(msgType event.MessageType) string {
	switch msgType {
	case event.MsgImage, event.CapMsgSticker: // a sticker goes as a picture
		return teamsapi.AMSImage
	case event.MsgVideo:
		return teamsapi.AMSVideo
	case event.MsgAudio:
		return teamsapi.AMSAudio
	}
	return teamsapi.AMSFile
}

// avMessage is the Teams message showing an uploaded video or audio
// object. Teams free shows them the way it shows files, as URIObject
// messages (Media_Video, Media_AudioMsg); work clients get a link to the
// object's playable view with the caption, as for files.
func (c *Client) avMessage(kind, base, objectID, name string, size int64, caption string) (msgType, content string) {
	uri := strings.TrimRight(base, "/") + "/v1/objects/" + objectID
	if c.meta.Deployment == string(teamsapi.Consumer) {
		if kind == teamsapi.AMSVideo {
			return teamsapi.VideoMessageType, teamsapi.VideoURIObject(uri, objectID, name, size)
		}
		return teamsapi.AudioMessageType, teamsapi.AudioURIObject(uri, objectID, name, size)
	}
	view, icon := "video", "🎬"
	if kind == teamsapi.AMSAudio {
		view, icon = "audio", "🎤"
	}
	link := uri + "/views/" + view
	return "RichText/Html", `<p>` + icon + ` <a href="` + link + `">` + chatsvc.TextToHTML(name) + `</a></p>` + caption
}

// markVoice makes a Teams voice message (Audio.1/Message.1) a Matrix voice
// message (MSC3245), which clients show with a player instead of as a file.
func markVoice(content *event.MessageEventContent, obj *chatsvc.URIObject) {
	if content == nil || obj == nil || obj.Kind() != chatsvc.URIAudio || content.MsgType != event.MsgAudio {
		return
	}
	content.MSC3245Voice = &event.MSC3245Voice{}
	if content.MSC1767Audio == nil {
		content.MSC1767Audio = &event.MSC1767Audio{}
	}
}

// giphySchema marks a GIF picked from Giphy in a Teams message.
const giphySchema = "http://schema.skype.com/Giphy"

// maxGIFSize caps a Giphy download.
const maxGIFSize = 25 << 20

// giphyImages lists the Giphy GIFs of a Teams message body (their src and
// alt text).
func giphyImages(content string) []struct{ src, alt string } {
	if !strings.Contains(content, giphySchema) {
		return nil
	}
	doc, err := xhtml.Parse(strings.NewReader(content))
	if err != nil {
		return nil
	}
	var out []struct{ src, alt string }
	var walk func(n *xhtml.Node)
	walk = func(n *xhtml.Node) {
		if n.Type == xhtml.ElementNode && n.Data == "img" && strings.EqualFold(nodeAttr(n, "itemtype"), giphySchema) {
			if src := strings.TrimSpace(nodeAttr(n, "src")); src != "" {
				out = append(out, struct{ src, alt string }{src, nodeAttr(n, "alt")})
			}
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch)
		}
	}
	walk(doc)
	return out
}

func nodeAttr(n *xhtml.Node, key string) string {
	for _, a := range n.Attr {
		if strings.EqualFold(a.Key, key) {
			return a.Val
		}
	}
	return ""
}

// giphyParts are the Matrix images of the Giphy GIFs in a Teams message
// (the shared converter keeps only their alt text). A GIF that cannot be
// fetched becomes a notice with its link, never nothing.
func (c *Client) giphyParts(ctx context.Context, intent bridgev2.MatrixAPI, portal *bridgev2.Portal, m *chatsvc.Message, meta any) []*bridgev2.ConvertedMessagePart {
	var parts []*bridgev2.ConvertedMessagePart
	for i, g := range giphyImages(m.Content) {
		name := "giphy.gif"
		content, err := c.gifContent(ctx, intent, portal, g.src, name)
		if err != nil {
			c.log.Warn().Err(err).Str("message_id", string(m.ID)).Msg("Giphy GIF not bridged; sending its link")
			content = &event.MessageEventContent{MsgType: event.MsgNotice, Body: "GIF: " + firstNonEmpty(g.alt, "from Giphy") + " " + g.src}
		} else if g.alt != "" {
			content.Body = g.alt
			content.FileName = name
		}
		parts = append(parts, &bridgev2.ConvertedMessagePart{ID: networkid.PartID("gif" + strconv.Itoa(i)), Type: event.EventMessage, Content: content, DBMetadata: meta})
	}
	return parts
}

// gifContent downloads a Giphy GIF (no credentials go with it) and
// uploads it to Matrix.
func (c *Client) gifContent(ctx context.Context, intent bridgev2.MatrixAPI, portal *bridgev2.Portal, src, name string) (*event.MessageEventContent, error) {
	u, err := url.Parse(src)
	if err != nil || !c.gifHostAllowed(u) {
		return nil, fmt.Errorf("GIF host of %q is not Giphy's", src)
	}
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 || !c.gifHostAllowed(req.URL) {
			return errors.New("GIF redirect leaves Giphy")
		}
		return nil
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch GIF: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch GIF: HTTP %d", resp.StatusCode)
	}
	mimeType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if !strings.HasPrefix(mimeType, "image/") {
		return nil, fmt.Errorf("fetch GIF: content type %q is no image", mimeType)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxGIFSize+1))
	if err != nil {
		return nil, fmt.Errorf("fetch GIF: %w", err)
	}
	if len(data) > maxGIFSize {
		return nil, fmt.Errorf("fetch GIF: larger than %d bytes", maxGIFSize)
	}
	uri, file, err := intent.UploadMedia(ctx, portal.MXID, data, name, mimeType)
	if err != nil {
		return nil, fmt.Errorf("upload GIF to Matrix: %w", err)
	}
	return &event.MessageEventContent{MsgType: event.MsgImage, Body: name, URL: uri, File: file,
		Info: &event.FileInfo{MimeType: mimeType, Size: len(data)}}, nil
}

// gifHostAllowed accepts Giphy's https hosts; with the insecure switch (tests,
// the demo) also loopback addresses.
func (c *Client) gifHostAllowed(u *url.URL) bool {
	host := strings.ToLower(u.Hostname())
	if u.Scheme == "https" && (host == "giphy.com" || strings.HasSuffix(host, ".giphy.com")) {
		return true
	}
	if c.conn.Config.AllowInsecureHTTP && (u.Scheme == "http" || u.Scheme == "https") {
		ip := net.ParseIP(host)
		return host == "localhost" || ip != nil && ip.IsLoopback()
	}
	return false
}
