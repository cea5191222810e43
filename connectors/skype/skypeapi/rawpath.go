package skypeapi

import (
	"net/http"
	"strings"
)

// rawIDs puts conversation and member ids into messaging paths the way the
// Skype clients do (8:joe.4, 19:x@thread.skype), where the shared
// chat-service client escapes them as the Teams web client does (%3A, %40).
// The decoded path is unchanged, so the service sees the same resource.
type rawIDs struct{ next http.RoundTripper }

var unescapeIDChars = strings.NewReplacer("%3A", ":", "%3a", ":", "%40", "@")

func (t rawIDs) RoundTrip(req *http.Request) (*http.Response, error) {
	escaped := req.URL.EscapedPath()
	raw := unescapeIDChars.Replace(escaped)
	if raw == escaped {
		return t.next.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.URL.RawPath = raw
	return t.next.RoundTrip(r)
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
