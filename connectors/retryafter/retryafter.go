// Package retryafter is how imbridge's protocol clients (UCWA, the chat
// service, Skype's and Teams' side services) wait before a retry: reading
// how long a server asks for in its Retry-After header, and sleeping it
// out without outliving the request's context.
package retryafter

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Max is the longest wait Parse returns: a server asking for more (or a
// number too large for a time.Duration) is taken to mean a day, which every
// caller's retry policy treats as "give up for now".
const Max = 24 * time.Hour

// Parse reads a Retry-After value: delta seconds (fractions allowed) or an
// HTTP-date (RFC 1123, RFC 850 or asctime, as http.ParseTime accepts),
// relative to now. A negative delay or a date in the past gives zero;
// anything else unreadable gives ok=false.
func Parse(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		switch {
		case secs != secs: // NaN
			return 0, false
		case secs <= 0:
			return 0, true
		case secs >= Max.Seconds():
			return Max, true
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), Max), true
}

// Sleep waits d before a retry, or less when ctx ends first (then its
// error): the clients' default Config.Sleep.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
