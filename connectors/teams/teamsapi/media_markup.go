package teamsapi

import (
	"html"
	"strconv"
	"strings"
)

// Message types of AMS video and audio messages (the URIObject lineage
// Teams free shares with Skype).
const (
	VideoMessageType = "RichText/Media_Video"
	AudioMessageType = "RichText/Media_AudioMsg"
)

// VideoURIObject is the body of a RichText/Media_Video message showing the
// AMS video object at uri (https://<ams>/v1/objects/<id>): its transcoded
// "video" view, with a thumbnail, and a link for clients that show only text.
func VideoURIObject(uri, objectID, name string, size int64) string {
	return mediaURIObject("Video.1/Message.1", uri, objectID, name, size, "video", "thumbnail")
}

// AudioURIObject is the body of a RichText/Media_AudioMsg message (a voice
// message) for the AMS audio object at uri.
func AudioURIObject(uri, objectID, name string, size int64) string {
	return mediaURIObject("Audio.1/Message.1", uri, objectID, name, size, "audio", "")
}

func mediaURIObject(typ, uri, objectID, name string, size int64, view, thumb string) string {
	u := html.EscapeString(strings.TrimRight(uri, "/"))
	n := html.EscapeString(name)
	link := u + "/views/" + view
	var b strings.Builder
	b.WriteString(`<URIObject type="` + typ + `" uri="` + u + `" doc_id="` + html.EscapeString(objectID) + `"`)
	if thumb != "" {
		b.WriteString(` url_thumbnail="` + u + `/views/` + thumb + `"`)
	}
	b.WriteString(`><Title>Title: ` + n + `</Title><Description>Description: ` + n + `</Description>`)
	b.WriteString(`<a href="` + link + `">` + link + `</a>`)
	b.WriteString(`<OriginalName v="` + n + `"/><FileSize v="` + strconv.FormatInt(size, 10) + `"/></URIObject>`)
	return b.String()
}
