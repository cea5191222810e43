package ucwaemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// InjectEvents queues raw events (any JSON, well-formed UCWA or not) from
// one sender into the application's event channel, as one batch of their
// own. Tests use it for malformed input a real server could send.
func (e *Emulator) InjectEvents(appID, senderRel, senderHref string, events ...json.RawMessage) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.apps[appID]
	if !ok || a.deleted {
		return fmt.Errorf("ucwaemu: inject: no application %q", appID)
	}
	items := make([]item, 0, len(events))
	for _, raw := range events {
		var ev obj
		if err := json.Unmarshal(raw, &ev); err != nil {
			return fmt.Errorf("ucwaemu: inject: %w", err)
		}
		items = append(items, item{senderRel, senderHref, ev})
	}
	e.emit(a, true, items...)
	return nil
}

// ConversationHref is the href of the application's conversation in a
// thread, "" when it has none.
func (e *Emulator) ConversationHref(appID, threadID string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.apps[appID]
	if !ok {
		return ""
	}
	th := e.threads[threadID]
	if th == nil {
		return ""
	}
	if c := convOf(a, th); c != nil {
		return c.href()
	}
	return ""
}

// handleGetMessage serves a message resource, for clients that got a
// message event without _embedded (see Options.OmitMessageEmbedded).
func (e *Emulator) handleGetMessage(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, c, ok := e.convFor(w, r)
	if !ok {
		return
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	res, found := c.messages[n]
	if err != nil || !found {
		writeError(w, http.StatusNotFound, "", "No such message.")
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// messageEvent is the event announcing message n of c; the resource is
// kept for GETs and embedded unless the options say otherwise.
func (e *Emulator) messageEvent(c *appConv, n int, evType string, res obj) obj {
	if c.messages == nil {
		c.messages = map[int]obj{}
	}
	c.messages[n] = res
	ev := obj{"type": evType, "status": "Success",
		"link": obj{"rel": "message", "href": c.href() + "/messaging/messages/" + itoa(n)}}
	if !e.opts.OmitMessageEmbedded {
		ev["_embedded"] = obj{"message": res}
	}
	return ev
}
