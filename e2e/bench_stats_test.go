//go:build e2e

package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestBenchPercentile(t *testing.T) {
	var samples []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		samples = append(samples, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want float64
	}{{0.50, 50}, {0.99, 99}, {1, 100}, {0, 1}} {
		if got := percentileMs(samples, c.p); got != c.want {
			t.Errorf("percentileMs(1..100 ms, %v) = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentileMs(nil, 0.5); got != 0 {
		t.Errorf("percentileMs(nil) = %v, want 0", got)
	}
	if samples[0] != 100*time.Millisecond {
		t.Error("percentileMs sorted the caller's samples in place")
	}
}

func TestBenchInterleavedIsBalanced(t *testing.T) {
	first := map[side]int{}
	for i := range 8 {
		order := interleaved(i)
		if order[0] == order[1] {
			t.Fatalf("interleaved(%d) = %v: a side twice", i, order)
		}
		first[order[0]]++
	}
	if first[viaBridge] != 4 || first[direct] != 4 {
		t.Errorf("over 8 samples the bridge went first %d times and the direct send %d times, want 4 each", first[viaBridge], first[direct])
	}
}

func TestBenchLatencyMetrics(t *testing.T) {
	m := latencyMetrics(map[side][]time.Duration{
		viaBridge: {12 * time.Millisecond, 12 * time.Millisecond},
		direct:    {10 * time.Millisecond, 10 * time.Millisecond},
	})
	if m["ratio-p50"] != 1.2 || m["added-p50-ms"] != 2 || m["bridge-p99-ms"] != 12 || m["direct-p50-ms"] != 10 {
		t.Errorf("latencyMetrics = %v, want ratio-p50 1.2, added-p50-ms 2, bridge-p99-ms 12, direct-p50-ms 10", m)
	}
}

func TestBenchMedianRate(t *testing.T) {
	rounds := func(rates ...float64) []roundResult {
		var rs []roundResult
		for _, r := range rates {
			rs = append(rs, roundResult{rate: r})
		}
		return rs
	}
	for _, c := range []struct {
		in   []roundResult
		want float64
	}{
		{rounds(10, 100, 20), 20},
		{rounds(8, 100, 90, 110), 95}, // one slow round does not drag it down
		{nil, 0},
	} {
		if got := medianRate(c.in); got != c.want {
			t.Errorf("medianRate(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// TestBenchChatSendsStamps: chatSends stamps only the message posts the
// emulator accepted, under the sender and the unescaped conversation id,
// with the markup's text, and counts polls while they are held.
func TestBenchChatSendsStamps(t *testing.T) {
	release := make(chan struct{})
	emu := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/poll"):
			<-release
		case r.Header.Get("X-Refuse") != "":
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			w.WriteHeader(http.StatusCreated)
		}
	})
	s := newChatSends(func(r *http.Request) string { return r.Header.Get("X-User") })
	srv := httptest.NewServer(s.Wrap(emu))
	defer srv.Close()
	post := func(user, path, body string, refuse bool) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-User", user)
		if refuse {
			req.Header.Set("X-Refuse", "1")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	before := time.Now()
	post("alice", "/v1/users/ME/conversations/8%3Abob/messages", `{"content":"<b>hi</b> &amp; bye","clientmessageid":"1"}`, false)
	post("alice", "/v1/users/ME/conversations/8%3Abob/messages", `{"content":"throttled"}`, true)
	post("alice", "/v1/users/ME/conversations/8%3Abob/messages/5/properties", `{"content":"not a send"}`, false)
	post("carol", "/v1/users/ME/conversations/8:bob/messages", `{"content":"from carol"}`, false)
	got := s.Sent("alice", "8:bob")
	if len(got) != 1 || got[0].Text != "hi & bye" || got[0].Time.Before(before) {
		t.Errorf("alice's sends to 8:bob = %+v, want one, %q, stamped after %v", got, "hi & bye", before)
	}
	if got := s.Sent("carol", "8:bob"); len(got) != 1 || got[0].Text != "from carol" {
		t.Errorf("carol's sends to 8:bob = %+v, want one, %q", got, "from carol")
	}

	done := make(chan struct{})
	go func() {
		defer close(done)
		post("alice", "/v1/users/ME/endpoints/x/subscriptions/0/poll", "", false)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitChange(ctx, func() bool { return s.Polling("alice") }); err != nil {
		t.Fatalf("alice's poll is never seen as held: %v", err)
	}
	if s.Polling("carol") {
		t.Error("carol is polling, though only alice's poll is held")
	}
	close(release)
	<-done
	if err := s.WaitChange(ctx, func() bool { return !s.Polling("alice") }); err != nil {
		t.Errorf("alice's poll is still counted after it ended: %v", err)
	}
}
