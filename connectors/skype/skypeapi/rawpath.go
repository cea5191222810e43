package skypeapi

import (
	"net/http"
	"net/url"
	"strings"
)

// rawIDs puts conversation and member ids into messaging paths the way the
// Skype clients do (8:joe.4, 19:x@thread.skype), where the shared
// chat-service client escapes them as the Teams web client does (%3A, %40).
// The decoded path is unchanged, so the service sees the same resource. It
// also fixes the few queries where Skype's form differs (skypeQuery).
type rawIDs struct{ next http.RoundTripper }

var unescapeIDChars = strings.NewReplacer("%3A", ":", "%3a", ":", "%40", "@")

func (t rawIDs) RoundTrip(req *http.Request) (*http.Response, error) {
	escaped := req.URL.EscapedPath()
	raw := unescapeIDChars.Replace(escaped)
	query := skypeQuery(req.Method, req.URL.Path, req.URL.RawQuery)
	if raw == escaped && query == req.URL.RawQuery {
		return t.next.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.URL.RawPath = raw
	r.URL.RawQuery = query
	return t.next.RoundTrip(r)
}

// skypeMessagesView is the history view skpy and the web client ask for
// (§7.2); the shared client's Teams form lacks supportsExtendedHistory.
const skypeMessagesView = "supportsExtendedHistory|msnp24Equivalent|supportsMessageProperties"

// skypeQuery adjusts the query of the shared chat-service calls where
// Skype's wire form differs from Teams': a message DELETE carries no
// behavior=softDelete (§6.3), and history GETs use Skype's view.
func skypeQuery(method, path, rawQuery string) string {
	rest, ok := strings.CutPrefix(path, "/v1/users/ME/conversations/")
	if !ok || rawQuery == "" {
		return rawQuery
	}
	_, sub, _ := strings.Cut(rest, "/")
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return rawQuery
	}
	switch {
	case method == http.MethodDelete && strings.HasPrefix(sub, "messages/") && !strings.Contains(sub[len("messages/"):], "/"):
		if !q.Has("behavior") {
			return rawQuery
		}
		q.Del("behavior")
	case method == http.MethodGet && sub == "messages" && q.Get("view") != "" && !strings.Contains(q.Get("view"), "supportsExtendedHistory"):
		q.Set("view", skypeMessagesView)
	default:
		return rawQuery
	}
	return q.Encode()
}

// withRawIDs wraps hc's transport.
func withRawIDs(hc *http.Client) *http.Client {
	c := *hc
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = rawIDs{next: next}
	return &c
}
