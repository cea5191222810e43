package chatsvc

import (
	"errors"
	"net/http"
	"strings"
)

// GuardRedirects returns a copy of hc whose redirects never carry the named
// credential headers to another host. Go strips only Authorization and
// cookies on such a redirect; the chat-lineage headers (Authentication,
// RegistrationToken, X-Skypetoken) would otherwise follow a Location to any
// host. With refuse, a redirect to another host is not followed at all:
// the 3xx answer comes back as it is. hc's own CheckRedirect still runs.
func GuardRedirects(hc *http.Client, refuse bool, headers ...string) *http.Client {
	if hc == nil {
		hc = &http.Client{}
	}
	guarded := *hc
	inner := hc.CheckRedirect
	guarded.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && !strings.EqualFold(req.URL.Host, via[0].URL.Host) {
			if refuse {
				return http.ErrUseLastResponse
			}
			for _, h := range headers {
				req.Header.Del(h)
			}
		}
		if inner != nil {
			return inner(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &guarded
}
