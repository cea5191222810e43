package ucwa

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// people returns the embedded people resource of the application.
func (c *Client) people(ctx context.Context) (*Resource, error) {
	app := c.Application()
	if app == nil {
		return nil, ErrNoApplication
	}
	p, err := appResource[Resource](ctx, c, app, "people")
	if err == nil {
		return p, nil
	}
	if app, err = c.RefreshApplication(ctx); err != nil {
		return nil, err
	}
	return appResource[Resource](ctx, c, app, "people")
}

// Contacts lists the user's contact list.
func (c *Client) Contacts(ctx context.Context) ([]Contact, error) {
	p, err := c.people(ctx)
	if err != nil {
		return nil, fmt.Errorf("list contacts: %w", err)
	}
	href, err := linkOf(p.Links, "myContacts", "people")
	if err != nil {
		return nil, fmt.Errorf("list contacts: %w", err)
	}
	out, err := collection[Contact](ctx, c, href, "contact")
	if err != nil {
		return nil, fmt.Errorf("list contacts: %w", err)
	}
	return out, nil
}

// Search looks people up in the directory. limit <= 0 leaves the server
// default.
func (c *Client) Search(ctx context.Context, query string, limit int) ([]Contact, error) {
	p, err := c.people(ctx)
	if err != nil {
		return nil, fmt.Errorf("search people: %w", err)
	}
	href, err := linkOf(p.Links, "search", "people")
	if err != nil {
		return nil, fmt.Errorf("search people: %w", err)
	}
	q := url.Values{"query": {query}}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	resp, err := c.call(ctx, request{method: http.MethodGet, href: href, query: q})
	if err != nil {
		return nil, fmt.Errorf("search people: %w", err)
	}
	var res Resource
	if err := jsonDecode(resp, &res); err != nil {
		return nil, fmt.Errorf("search people: %w", err)
	}
	out, err := embeddedList[Contact](res.Embedded, "contact")
	if err != nil {
		return nil, fmt.Errorf("search people: %w", err)
	}
	return out, nil
}

// Contact reads a contact (for example the "contact" link of a message).
func (c *Client) Contact(ctx context.Context, href string) (*Contact, error) {
	var v Contact
	if err := c.getJSON(ctx, href, &v); err != nil {
		return nil, fmt.Errorf("get contact: %w", err)
	}
	return &v, nil
}

// ContactPresence reads a contact's presence (a "contactPresence" link).
func (c *Client) ContactPresence(ctx context.Context, href string) (*ContactPresence, error) {
	var v ContactPresence
	if err := c.getJSON(ctx, href, &v); err != nil {
		return nil, fmt.Errorf("get contact presence: %w", err)
	}
	return &v, nil
}

// Photo downloads a contact photo (a "contactPhoto" or me "photo" link) and
// returns its bytes and content type.
func (c *Client) Photo(ctx context.Context, href string) ([]byte, string, error) {
	req := request{method: http.MethodGet, href: href, accept: "image/*"}
	if ck := c.photoCookieFor(href); ck != nil {
		// Browsers fetch photos with this cookie rather than the token.
		req.header = http.Header{"Cookie": {ck.Name + "=" + ck.Value}}
	}
	resp, err := c.call(ctx, req)
	if err != nil {
		return nil, "", fmt.Errorf("get photo: %w", err)
	}
	ct := resp.header.Get("Content-Type")
	if ct == "" {
		ct = http.DetectContentType(resp.body)
	}
	return resp.body, ct, nil
}

// SubscribePresence asks for presence updates of the given SIP URIs for
// minutes (10..30; 0 means the usual 15) and returns the subscription's
// href. Renew it before it lapses by subscribing again. Updates arrive from
// sender "people" as events with link rel "contactPresence" (in rel
// "contact"), usually without _embedded: read the link with ContactPresence.
func (c *Client) SubscribePresence(ctx context.Context, uris []string, minutes int) (string, error) {
	if len(uris) == 0 {
		return "", fmt.Errorf("subscribe presence: no contacts")
	}
	if minutes == 0 {
		minutes = 15
	}
	minutes = min(max(minutes, 10), 30)
	p, err := c.people(ctx)
	if err != nil {
		return "", fmt.Errorf("subscribe presence: %w", err)
	}
	href, err := linkOf(p.Links, "presenceSubscriptions", "people")
	if err != nil {
		return "", fmt.Errorf("subscribe presence: %w", err)
	}
	resp, err := c.postJSON(ctx, href, map[string]any{"duration": minutes, "uris": uris})
	if err != nil {
		return "", fmt.Errorf("subscribe presence: %w", err)
	}
	if loc := resp.header.Get("Location"); loc != "" {
		return loc, nil
	}
	var res Resource
	if len(resp.body) > 0 && json.Unmarshal(resp.body, &res) == nil && res.Self() != "" {
		return res.Self(), nil
	}
	return "", nil
}

// photoCookieFor returns the application's cwt_ucwa cookie when href lies
// under its path (and the connection is https when the cookie says secure).
func (c *Client) photoCookieFor(href string) *http.Cookie {
	c.mu.Lock()
	ck := c.photoCookie
	c.mu.Unlock()
	if ck == nil {
		return nil
	}
	u, err := c.resolve(href)
	if err != nil {
		return nil
	}
	if ck.Path != "" && u.Path != ck.Path && !strings.HasPrefix(u.Path, strings.TrimSuffix(ck.Path, "/")+"/") {
		return nil
	}
	if ck.Secure && u.Scheme != "https" && !c.cfg.AllowInsecureHTTP {
		return nil
	}
	return ck
}
