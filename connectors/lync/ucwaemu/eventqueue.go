package ucwaemu

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// queued is one event waiting in an application's queue.
type queued struct {
	senderRel  string
	senderHref string
	event      obj
	group      int
	solo       bool         // delivered in a batch of its own group only
	expiry     *serverTimer // set for incoming messages that must be fetched in time
}

// eventQueue implements the ack protocol: batch N is answered to
// "?ack=N" and kept until "?ack=N+1" proves it arrived, so a repeated
// request gets the same batch and every event is delivered exactly once.
type eventQueue struct {
	pending     []*queued
	ack         int    // number of the last batch handed out
	last        []byte // body of batch ack until acknowledged
	parked      *pget
	groups      int
	resume      bool          // next batch carries resume instead of next
	pollTimeout time.Duration // remembered "timeout" parameter
}

// pget is a parked event request.
type pget struct {
	done   chan struct{}
	status int
	body   []byte
	timer  *serverTimer
}

type item struct {
	senderRel, senderHref string
	event                 obj
}

// emit appends one group of events to a's queue and wakes a parked
// request. Caller holds e.mu.
func (e *Emulator) emit(a *application, solo bool, items ...item) []*queued {
	if a.deleted || len(items) == 0 {
		return nil
	}
	q := &a.queue
	q.groups++
	out := make([]*queued, 0, len(items))
	for _, it := range items {
		qe := &queued{senderRel: it.senderRel, senderHref: it.senderHref, event: e.withoutEmbedded(it.event), group: q.groups, solo: solo}
		q.pending = append(q.pending, qe)
		out = append(out, qe)
	}
	if q.parked != nil {
		e.releaseParked(a, http.StatusOK, e.takeBatch(a))
	}
	e.notifyLocked()
	return out
}

// withoutEmbedded returns ev without its _embedded when the options leave
// it out for the event's link rel.
func (e *Emulator) withoutEmbedded(ev obj) obj {
	if _, ok := ev["_embedded"]; !ok || len(e.opts.OmitEventEmbedded) == 0 {
		return ev
	}
	l, _ := ev["link"].(obj)
	rel, _ := l["rel"].(string)
	if !slices.Contains(e.opts.OmitEventEmbedded, "*") && !slices.Contains(e.opts.OmitEventEmbedded, rel) {
		return ev
	}
	out := maps.Clone(ev)
	delete(out, "_embedded")
	return out
}

// takeBatch numbers and freezes the next batch. Caller holds e.mu.
func (e *Emulator) takeBatch(a *application) []byte {
	q := &a.queue
	n := q.ack + 1
	var take []*queued
	if len(q.pending) > 0 {
		first := q.pending[0]
		for _, qe := range q.pending {
			if first.solo && qe.group != first.group {
				break
			}
			if !first.solo && qe.solo {
				break
			}
			take = append(take, qe)
		}
		q.pending = q.pending[len(take):]
	}
	var senders []obj
	for _, qe := range take {
		e.cancel(qe.expiry)
		qe.expiry = nil
		if k := len(senders); k > 0 && senders[k-1]["href"] == qe.senderHref {
			senders[k-1]["events"] = append(senders[k-1]["events"].([]obj), qe.event)
			continue
		}
		senders = append(senders, obj{"rel": qe.senderRel, "href": qe.senderHref, "events": []obj{qe.event}})
	}
	links := obj{"self": link(a.eventsHref(n))}
	if q.resume {
		links["resume"] = link(a.eventsHref(n + 1))
	} else {
		links["next"] = link(a.eventsHref(n + 1))
	}
	batch := obj{"_links": links}
	if len(senders) > 0 {
		batch["sender"] = senders
	}
	body, _ := json.Marshal(batch)
	q.ack, q.last, q.resume = n, body, false
	return body
}

// releaseParked answers the parked request. Caller holds e.mu.
func (e *Emulator) releaseParked(a *application, status int, body []byte) {
	pg := a.queue.parked
	if pg == nil {
		return
	}
	a.queue.parked = nil
	e.cancel(pg.timer)
	pg.status, pg.body = status, body
	close(pg.done)
}

func errorBody(status int, subcode, message string) []byte {
	b, _ := json.Marshal(obj{"code": codeFor(status), "subcode": subcode, "message": message})
	return b
}

func (e *Emulator) handleEvents(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	a, ok := e.authApp(w, r)
	if !ok {
		e.mu.Unlock()
		return
	}
	q := &a.queue
	now := e.opts.Clock.Now()
	if v := r.URL.Query().Get("timeout"); v != "" {
		if secs, err := strconv.Atoi(v); err == nil {
			q.pollTimeout = min(max(time.Duration(secs)*time.Second, e.opts.MinPollTimeout), e.opts.MaxPollTimeout)
		}
	}
	if q.parked != nil {
		// The newest request wins; the older one learns it was replaced.
		e.releaseParked(a, http.StatusConflict, errorBody(http.StatusConflict, "PGetReplaced", "The pending GET was replaced by a newer one."))
	}
	e.cancel(a.expiry)
	a.expiry = nil
	ack, err := strconv.Atoi(r.URL.Query().Get("ack"))
	var status = http.StatusOK
	var body []byte
	var pg *pget
	switch {
	case err == nil && ack == q.ack && q.last != nil:
		body = q.last
	case err == nil && ack == q.ack+1:
		q.last = nil
		if e.opts.ResumeAfter > 0 && !a.lastRelease.IsZero() && now.Sub(a.lastRelease) > e.opts.ResumeAfter {
			e.resetTransient(a)
		}
		if len(q.pending) > 0 || q.resume {
			body = e.takeBatch(a)
			break
		}
		pg = &pget{done: make(chan struct{})}
		q.parked = pg
		hold := e.opts.PollTimeout
		if q.pollTimeout > 0 {
			hold = q.pollTimeout
		}
		pg.timer = e.after(hold, func() {
			if a.queue.parked == pg {
				e.releaseParked(a, http.StatusOK, e.takeBatch(a))
			}
		})
		e.notifyLocked()
	default:
		target := q.ack + 1
		if q.last != nil {
			target = q.ack
		}
		body, _ = json.Marshal(obj{"_links": obj{
			"self":   link(a.eventsHref(ack)),
			"resync": link(a.eventsHref(target)),
		}})
	}
	e.mu.Unlock()

	if pg != nil {
		select {
		case <-pg.done:
			status, body = pg.status, pg.body
		case <-r.Context().Done():
			e.mu.Lock()
			if q.parked == pg {
				q.parked = nil
				e.cancel(pg.timer)
			}
			e.released(a)
			e.mu.Unlock()
			return
		case <-e.closing:
			writeError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "Server shutting down.")
			return
		}
	}
	// The countdown starts before the answer is written so that a test
	// advancing a fake clock after reading the answer sees it running.
	e.mu.Lock()
	e.released(a)
	e.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// released records that an event request ended and, if none is parked,
// starts the inactivity countdown after which the server drops the
// application. Caller holds e.mu.
func (e *Emulator) released(a *application) {
	if a.deleted || e.closed {
		return
	}
	a.lastRelease = e.opts.Clock.Now()
	if a.queue.parked == nil && a.expiry == nil {
		a.expiry = e.after(e.opts.AppExpiry, func() { e.deleteApp(a, "InactiveApplicationExpired") })
	}
}

// waitCtx sleeps d of wall time unless the request or the emulator ends
// first; it reports whether the full time passed.
func (e *Emulator) waitCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-e.closing:
		return false
	}
}
