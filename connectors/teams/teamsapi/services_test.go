package teamsapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// TestServiceCallErrors: every middle tier call reports a refusal the same
// way, through the one request loop: a *chatsvc.Error naming the route
// (never the query, which may carry addresses), its code and its
// Retry-After. Only the people search, which someone waits for, waits out
// a short 429 once; the other calls leave the retrying to their callers.
func TestServiceCallErrors(t *testing.T) {
	refused := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"errorCode":"Busy","message":"try later"}`)
	}
	ss := newSearchServer(t, refused)
	a := ss.auth(t, Work, "")
	_, err := a.Profiles(context.Background(), []string{"8:orgid:ali"})
	var ce *chatsvc.Error
	if !errors.As(err, &ce) || ce.StatusCode != http.StatusServiceUnavailable || ce.Path != "/beta/users/fetchShortProfile" || ce.Code != "Busy" {
		t.Fatalf("profiles error %#v (%v); want the 503 naming the route without its query", ce, err)
	}

	throttled := newSearchServer(t, retryAfter("1", http.StatusTooManyRequests))
	_, err = throttled.auth(t, Work, "").Profiles(context.Background(), []string{"8:orgid:ali"})
	if !errors.As(err, &ce) || ce.StatusCode != http.StatusTooManyRequests || ce.RetryAfter != time.Second || throttled.hits() != 1 {
		t.Fatalf("throttled profiles: %v after %d requests; want the 429 with its Retry-After at once", err, throttled.hits())
	}
	search := newSearchServer(t, retryAfter("1", http.StatusTooManyRequests), func(w http.ResponseWriter) { _, _ = io.WriteString(w, "[]") })
	if _, err = search.auth(t, Work, "").SearchPeople(context.Background(), "ali", 5); err != nil || search.hits() != 2 {
		t.Fatalf("search after a 429: %v after %d requests; want it waited out and answered", err, search.hits())
	}
}
