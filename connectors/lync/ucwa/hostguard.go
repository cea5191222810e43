package ucwa

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/imbridge/imbridge/connectors/netguard"
)

// Two guards keep a hostile or compromised server (or a bridge user typing
// a discovery URL) from turning the bridge into a credential leak or a
// network scanner:
//
//   - Host pinning: the access token and the password go only to hosts the
//     sign-in discovered (the discovery URL and the hosts its root, user
//     and redirect links led to) or that a resumed state names. An href
//     pointing anywhere else is refused with ErrForeignHost.
//   - Address filtering: unless Config.AllowPrivateAddresses, connections
//     to the addresses package netguard lists (loopback, link-local,
//     private, shared, multicast, unspecified) are refused with
//     ErrPrivateAddress, whatever name led to them (the check is on the
//     connected address, so DNS tricks do not help).

var (
	// ErrForeignHost: a server-given URL points at a host the sign-in did
	// not discover; no token or password is sent there.
	ErrForeignHost = errors.New("ucwa: refusing a host the sign-in did not discover")
	// ErrPrivateAddress: a URL resolved to a loopback, link-local or private
	// address (see Config.AllowPrivateAddresses).
	ErrPrivateAddress = errors.New("ucwa: refusing to connect to a private or local address")
)

// trust records host (as in URL.Host, lower case) as one the sign-in
// discovered.
func (c *Client) trust(rawURL string) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.trusted == nil {
		c.trusted = map[string]bool{}
	}
	c.trusted[strings.ToLower(u.Host)] = true
}

func (c *Client) isTrusted(host string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.trusted[strings.ToLower(host)]
}

// checkTrusted refuses to send credentials to u unless its host is pinned.
func (c *Client) checkTrusted(u *url.URL, what string) error {
	if c.isTrusted(u.Host) {
		return nil
	}
	return fmt.Errorf("%w: %s would go to %s", ErrForeignHost, what, u.Host)
}

type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// guardDial refuses connections that end up at a private address.
func guardDial(dial dialFunc) dialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if ap, perr := netip.ParseAddrPort(conn.RemoteAddr().String()); perr == nil && netguard.IsPrivate(ap.Addr()) {
			_ = conn.Close()
			host, _, _ := net.SplitHostPort(addr)
			return nil, fmt.Errorf("%w: %s is %s", ErrPrivateAddress, host, ap.Addr())
		}
		return conn, nil
	}
}

// guardTransport returns rt with the private-address filter in its dialer.
func guardTransport(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	t, ok := rt.(*http.Transport)
	if !ok {
		return guardedRoundTripper{rt}
	}
	t = t.Clone()
	dial := t.DialContext
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	t.DialContext = guardDial(dial)
	if t.DialTLSContext != nil {
		t.DialTLSContext = guardDial(t.DialTLSContext)
	}
	return t
}

// guardedRoundTripper filters by name resolution when the transport's
// dialer cannot be reached (a caller-supplied RoundTripper).
type guardedRoundTripper struct{ next http.RoundTripper }

func (g guardedRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	addrs, err := net.DefaultResolver.LookupNetIP(req.Context(), "ip", req.URL.Hostname())
	if err == nil {
		for _, a := range addrs {
			if netguard.IsPrivate(a) {
				return nil, fmt.Errorf("%w: %s is %s", ErrPrivateAddress, req.URL.Hostname(), a)
			}
		}
	}
	return g.next.RoundTrip(req)
}
