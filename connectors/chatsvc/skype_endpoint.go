package chatsvc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// This file holds the Skype-lineage calls of the chat service: endpoint
// presence documents, keep-alive, event subscriptions with HTTP long poll
// and acknowledgements. Teams delivers events through Trouter instead, so
// only the Skype client uses them; they live here because they are calls on
// the same host with the same credential handling as every other chat call.

// Skype error codes carried in {"errorCode":..} bodies.
const (
	// CodeUnknownEndpoint (729): "You must create an endpoint before
	// performing this operation" — register again, then resubscribe.
	CodeUnknownEndpoint = "729"
	// CodeUnknownSubscription (450): "Subscription requested could not be
	// found" — resubscribe.
	CodeUnknownSubscription = "450"
	// CodeThrottled (803): authentication/endpoint creation rate limit.
	CodeThrottled = "803"
)

// IsUnknownEndpoint reports a 729 answer (the endpoint lapsed or was never created).
func IsUnknownEndpoint(err error) bool { return hasCode(err, CodeUnknownEndpoint) }

// IsUnknownSubscription reports a 450 answer.
func IsUnknownSubscription(err error) bool { return hasCode(err, CodeUnknownSubscription) }

func hasCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// DefaultInterestedResources is the subscription the Skype web documentation
// describes (threads, contacts, messages and conversation properties).
var DefaultInterestedResources = []string{
	"/v1/threads/ALL",
	"/v1/users/ME/contacts/ALL",
	"/v1/users/ME/conversations/ALL/messages",
	"/v1/users/ME/conversations/ALL/properties",
}

func endpointPath(endpoint string) string {
	if endpoint == "" {
		endpoint = "SELF"
	}
	return "/v1/users/ME/endpoints/" + escapeID(endpoint)
}

// EndpointPresenceDoc is the document that makes an endpoint usable for
// messaging (PUT .../presenceDocs/messagingService).
type EndpointPresenceDoc struct {
	EPName  string // privateInfo.epname, e.g. "skype"
	Version string // publicInfo.version
	// Type is publicInfo.type: 1 = web.
	Type int
}

// PutEndpointPresenceDoc publishes the endpoint's presence document.
func (c *Client) PutEndpointPresenceDoc(ctx context.Context, endpoint string, doc EndpointPresenceDoc) error {
	if doc.EPName == "" {
		doc.EPName = "skype"
	}
	if doc.Version == "" {
		doc.Version = "908/1.30.0.128"
	}
	if doc.Type == 0 {
		doc.Type = 1
	}
	body := map[string]any{
		"id": "messagingService", "type": "EndpointPresenceDoc", "selfLink": "uri",
		"privateInfo": map[string]any{"epname": doc.EPName},
		"publicInfo": map[string]any{"capabilities": "", "type": doc.Type, "skypeNameVersion": "skype.com",
			"nodeInfo": "xx", "version": doc.Version},
	}
	if _, err := c.do(ctx, request{method: http.MethodPut, path: endpointPath(endpoint) + "/presenceDocs/messagingService", body: body}); err != nil {
		return fmt.Errorf("publish endpoint presence: %w", err)
	}
	return nil
}

// EndpointLink is one of the user's endpoints as the presence listing names it.
type EndpointLink struct {
	EndpointID string
	Link       string
}

// EndpointPresenceDocs lists the user's endpoints (GET
// /users/ME/presenceDocs/messagingService?view=expanded).
func (c *Client) EndpointPresenceDocs(ctx context.Context) ([]EndpointLink, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/v1/users/ME/presenceDocs/messagingService", query: url.Values{"view": {"expanded"}}})
	if err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	var body struct {
		Docs []struct {
			Link string `json:"link"`
		} `json:"endpointPresenceDocs"`
	}
	if err := decode(resp, &body, "endpoint presence docs"); err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	out := make([]EndpointLink, 0, len(body.Docs))
	for _, d := range body.Docs {
		l := EndpointLink{Link: d.Link}
		if _, rest, ok := strings.Cut(d.Link, "/endpoints/"); ok {
			id, _, _ := strings.Cut(rest, "/")
			if u, err := url.PathUnescape(id); err == nil {
				id = u
			}
			l.EndpointID = id
		}
		out = append(out, l)
	}
	return out, nil
}

// EndpointActive is the keep-alive ping (POST .../endpoints/{id}/active);
// timeout is in seconds (the web client sends 12).
func (c *Client) EndpointActive(ctx context.Context, endpoint string, timeout int) error {
	if timeout <= 0 {
		timeout = 12
	}
	if _, err := c.do(ctx, request{method: http.MethodPost, path: endpointPath(endpoint) + "/active", body: map[string]int{"timeout": timeout}}); err != nil {
		return fmt.Errorf("endpoint keep-alive: %w", err)
	}
	return nil
}

// DeleteEndpoint removes an endpoint (sign-out).
func (c *Client) DeleteEndpoint(ctx context.Context, endpoint string) error {
	if _, err := c.do(ctx, request{method: http.MethodDelete, path: endpointPath(endpoint)}); err != nil {
		return fmt.Errorf("delete endpoint: %w", err)
	}
	return nil
}

// SetEndpointProperty sets one endpoint property, e.g.
// supportsMessageProperties=true.
func (c *Client) SetEndpointProperty(ctx context.Context, endpoint, name string, value any) error {
	if _, err := c.do(ctx, request{method: http.MethodPut, path: endpointPath(endpoint) + "/properties",
		query: url.Values{"name": {name}}, body: map[string]any{name: value}}); err != nil {
		return fmt.Errorf("set endpoint property %s: %w", name, err)
	}
	return nil
}

// Subscribe creates the long-poll subscription (id 0) on endpoint ("" or
// "SELF" for the special self endpoint).
func (c *Client) Subscribe(ctx context.Context, endpoint string, resources []string) error {
	if len(resources) == 0 {
		resources = DefaultInterestedResources
	}
	body := map[string]any{"interestedResources": resources, "template": "raw", "channelType": "httpLongPoll"}
	if _, err := c.do(ctx, request{method: http.MethodPost, path: endpointPath(endpoint) + "/subscriptions", body: body}); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	return nil
}

// SetInterestedResources replaces the subscription's resource list (used to
// opt in to contacts' presence: one /v1/users/ME/contacts/8:x per contact).
func (c *Client) SetInterestedResources(ctx context.Context, endpoint string, resources []string) error {
	if _, err := c.do(ctx, request{method: http.MethodPut, path: endpointPath(endpoint) + "/subscriptions/0",
		query: url.Values{"name": {"interestedResources"}}, body: map[string]any{"interestedResources": resources}}); err != nil {
		return fmt.Errorf("update subscription: %w", err)
	}
	return nil
}

// PollEvents long-polls subscription 0 once. ackID > 0 cumulatively
// acknowledges every event up to it (the ?ackId= form); per-message acks go
// through Ack. It returns the events in the order the service sent them.
func (c *Client) PollEvents(ctx context.Context, endpoint string, ackID int64) ([]EventMessage, error) {
	var q url.Values
	if ackID > 0 {
		q = url.Values{"ackId": {strconv.FormatInt(ackID, 10)}}
	}
	resp, err := c.do(ctx, request{method: http.MethodPost, path: endpointPath(endpoint) + "/subscriptions/0/poll", query: q})
	if err != nil {
		return nil, fmt.Errorf("poll events: %w", err)
	}
	if len(strings.TrimSpace(string(resp.body))) == 0 {
		return nil, nil
	}
	var body struct {
		Events []json.RawMessage `json:"eventMessages"`
	}
	if err := decode(resp, &body, "event poll"); err != nil {
		return nil, fmt.Errorf("poll events: %w", err)
	}
	out := make([]EventMessage, 0, len(body.Events))
	for _, raw := range body.Events {
		ev, err := ParseEventMessage(raw)
		if err != nil {
			// One undecodable entry must not cost the others.
			c.cfg.Log.Warn().Err(err).Int("bytes", len(raw)).Msg("Dropping undecodable event message from poll")
			continue
		}
		out = append(out, *ev)
	}
	return out, nil
}

// AckRequired returns the ackrequired URL of a NewMessage resource ("" when
// the event needs no ack).
func (ev *EventMessage) AckRequired() string {
	var r struct {
		Ack string `json:"ackrequired"`
	}
	if len(ev.Resource) == 0 || ev.Resource[0] != '{' || json.Unmarshal(ev.Resource, &r) != nil {
		return ""
	}
	return r.Ack
}

var ackPath = regexp.MustCompile(`^/v1/users/ME/conversations/ALL/messages/[0-9]+/ack$`)

// Ack posts an event's ackrequired URL. Only the path is taken from it, and
// only when it is an ack path: the call always goes to this client's own
// host, because the service names regional hosts (db4-client-s...) in
// ackrequired that the registration token must not be sent to.
func (c *Client) Ack(ctx context.Context, ackURL string) error {
	u, err := url.Parse(ackURL)
	if err != nil {
		return fmt.Errorf("ack %q: %w", ackURL, ErrForeignLink)
	}
	p := u.EscapedPath()
	if basePath := c.base.EscapedPath(); basePath != "" && strings.EqualFold(u.Host, c.base.Host) {
		p = strings.TrimPrefix(p, basePath)
	}
	if !ackPath.MatchString(p) {
		return fmt.Errorf("ack %q: %w", ackURL, ErrForeignLink)
	}
	if _, err := c.do(ctx, request{method: http.MethodPost, path: p}); err != nil {
		return fmt.Errorf("ack: %w", err)
	}
	return nil
}

// SetPresence sets the user's own availability: Online, Busy, Hidden
// (appears offline), Away or Idle.
func (c *Client) SetPresence(ctx context.Context, status string) error {
	if _, err := c.do(ctx, request{method: http.MethodPut, path: "/v1/users/ME/presenceDocs/messagingService", body: map[string]string{"status": status}}); err != nil {
		return fmt.Errorf("set presence %s: %w", status, err)
	}
	return nil
}

// SetThreadProperty sets one thread property (joiningenabled,
// historydisclosed, moderatedthread, picture...).
func (c *Client) SetThreadProperty(ctx context.Context, thread, name string, value any) error {
	if _, err := c.do(ctx, request{method: http.MethodPut, path: "/v1/threads/" + escapeID(thread) + "/properties",
		query: url.Values{"name": {name}}, body: map[string]any{name: value}}); err != nil {
		return fmt.Errorf("set %s of %s: %w", name, thread, err)
	}
	return nil
}

// SetConversationProperty sets one of the user's conversation properties
// (e.g. alerts=false to mute).
func (c *Client) SetConversationProperty(ctx context.Context, conv, name, value string) error {
	if _, err := c.do(ctx, request{method: http.MethodPut, path: convPath(conv) + "/properties",
		query: url.Values{"name": {name}}, body: map[string]string{name: value}}); err != nil {
		return fmt.Errorf("set %s of %s: %w", name, conv, err)
	}
	return nil
}

// ClearHistory deletes a conversation's history for this user only.
func (c *Client) ClearHistory(ctx context.Context, conv string) error {
	if _, err := c.do(ctx, request{method: http.MethodDelete, path: convPath(conv) + "/messages"}); err != nil {
		return fmt.Errorf("clear history of %s: %w", conv, err)
	}
	return nil
}
