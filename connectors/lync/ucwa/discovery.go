package ucwa

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// discoveryCandidates lists the root URLs to try, in the documented order.
func (c *Client) discoveryCandidates() []string {
	if c.cfg.DiscoveryURL != "" {
		return []string{c.cfg.DiscoveryURL}
	}
	d := strings.ToLower(strings.TrimSpace(c.cfg.Domain))
	return []string{"https://lyncdiscoverinternal." + d + "/", "https://lyncdiscover." + d + "/"}
}

// discover returns the absolute user URL. Failures of the individual hosts
// are summarised, not wrapped, so that errors.Is reports ErrDiscoveryFailed
// rather than ErrUnreachable: for a caller, an unresolvable discovery host
// means an unknown domain.
func (c *Client) discover(ctx context.Context) (string, error) {
	var reasons []string
	var insecure error // a refusal by policy, which the caller should see
	for _, root := range c.discoveryCandidates() {
		user, err := c.followRoot(ctx, root)
		if err == nil {
			return user, nil
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("autodiscovery: %w", ctx.Err())
		}
		if errors.Is(err, ErrInsecureURL) || errors.Is(err, ErrPrivateAddress) {
			insecure = err
		}
		reasons = append(reasons, err.Error())
	}
	if insecure != nil {
		return "", fmt.Errorf("%w: %w", ErrDiscoveryFailed, insecure)
	}
	return "", fmt.Errorf("%w for %q: %s", ErrDiscoveryFailed, c.cfg.Domain, strings.Join(reasons, "; "))
}

// followRoot reads a root resource, following "redirect" links, until one
// offers a "user" link.
func (c *Client) followRoot(ctx context.Context, root string) (string, error) {
	current := root
	seen := map[string]bool{}
	for range maxRedirects + 1 {
		if seen[current] {
			return "", fmt.Errorf("autodiscovery redirect loop at %s", current)
		}
		seen[current] = true
		c.trust(current)
		// An HTTP redirect of the root to another domain (a captive portal,
		// a parked domain) is a failed lookup, not an answer.
		rctx := context.WithValue(ctx, discoveryDomainKey{}, c.discoveryDomains(current))
		resp, err := c.call(rctx, request{method: http.MethodGet, href: current, noAuth: true})
		if err != nil {
			return "", err
		}
		var res Resource
		if err := json.Unmarshal(resp.body, &res); err != nil {
			return "", fmt.Errorf("%w: root %s: %w", ErrMalformedResponse, resp.url.Host, err)
		}
		if user := res.Links.Href("user"); user != "" {
			abs, err := absoluteLink(resp.url, user, c)
			if err == nil {
				c.trust(abs)
			}
			return abs, err
		}
		redirect := res.Links.Href("redirect")
		if redirect == "" {
			return "", fmt.Errorf("%w: root %s has neither user nor redirect link", ErrMalformedResponse, resp.url.Host)
		}
		if current, err = absoluteLink(resp.url, redirect, c); err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("autodiscovery: more than %d redirects", maxRedirects)
}

// absoluteLink resolves href against the URL it was read from and checks
// the result is a URL we may follow.
func absoluteLink(from *url.URL, href string, c *Client) (string, error) {
	u, err := url.Parse(href)
	if err != nil {
		return "", fmt.Errorf("%w: bad link: %w", ErrMalformedResponse, err)
	}
	u = from.ResolveReference(u)
	if u.Host == "" || u.User != nil {
		return "", fmt.Errorf("%w: unusable link %q", ErrMalformedResponse, href)
	}
	if err := c.checkScheme(u); err != nil {
		return "", err
	}
	return u.String(), nil
}

// discoveryDomainKey marks a root lookup's context with the domains its
// HTTP redirects must stay in.
type discoveryDomainKey struct{}

// discoveryDomains are the domains a root lookup's HTTP redirects may go
// to: the SIP domain (configured, or that of the user name) and the parent
// domain of the root's host (lyncdiscover.contoso.com → contoso.com).
func (c *Client) discoveryDomains(root string) []string {
	var out []string
	if d := strings.ToLower(strings.TrimSpace(c.cfg.Domain)); d != "" {
		out = append(out, d)
	}
	if _, d, ok := strings.Cut(strings.TrimPrefix(c.cfg.Username, "sip:"), "@"); ok && d != "" {
		out = append(out, strings.ToLower(d))
	}
	if u, err := url.Parse(root); err == nil && u.Hostname() != "" {
		host := strings.ToLower(u.Hostname())
		if _, parent, ok := strings.Cut(host, "."); ok && strings.Contains(parent, ".") && net.ParseIP(host) == nil {
			host = parent
		}
		out = append(out, host)
	}
	return out
}

// inAnyDomain reports whether host is one of domains or a subdomain of one.
func inAnyDomain(host string, domains []string) bool {
	host = strings.ToLower(host)
	for _, d := range domains {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}
