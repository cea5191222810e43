package chatsvc

import (
	"html"
	"regexp"
	"strings"
)

// Message bodies are converted to and from Matrix by connectors/msgfmt,
// the one HTML converter of the bridge. What stays here is what the wire
// model itself needs: the edit marker (a Skype-lineage delete is an edit
// whose content is empty once the marker is gone) and AMS object ids in
// URLs (URIObject bodies).

var editMarker = regexp.MustCompile(`(?is)^\s*Edited previous message:\s*|<e_m\b[^>]*?(/>|>\s*</e_m>)`)

// StripEditMarker removes the Skype-lineage edit marker (<e_m .../> and the
// "Edited previous message: " prefix).
func StripEditMarker(content string) string {
	return editMarker.ReplaceAllString(content, "")
}

// amsObjectFromURL is the object id in an AMS URL
// (https://<ams>/v1/objects/<id>[/views/<view>]), or "".
func amsObjectFromURL(src string) string {
	_, rest, ok := strings.Cut(src, "/v1/objects/")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "/")
	return id
}

// TextToHTML escapes plain text for a RichText/Html body (a file name as a
// link label in a media message). Message text itself goes through
// msgfmt.FromMatrix.
func TextToHTML(text string) string {
	return strings.ReplaceAll(html.EscapeString(text), "\n", "<br>")
}
