//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/imbridge/imbridge/testenv/bridgeproc"
)

// What the protocol drivers of the benchmarks share: serving an emulator,
// the bridge config edit that points at it, and (for the chat-service
// protocols, Teams and Skype) the stamping of the messages the bridge
// posts.

// serveBench serves h on a loopback port and returns its root URL
// ("http://127.0.0.1:port") and a cleanup that shuts the server down.
func serveBench(name string, h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen for the bench %s emulator: %w", name, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	cleanup := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Printf("bench: %s emulator server: %v\n", name, err)
		}
	}
	return "http://" + ln.Addr().String(), cleanup, nil
}

// configSettings is a bridge config edit that sets each key to its value.
func configSettings(settings map[string]any) func(*bridgeproc.Config) error {
	return func(cfg *bridgeproc.Config) error {
		for key, value := range settings {
			if err := cfg.Set(key, value); err != nil {
				return fmt.Errorf("set %s: %w", key, err)
			}
		}
		return nil
	}
}

// chatSends stands in front of a chat-service emulator (Teams or Skype,
// which share the wire) and stamps every message a client posts
// (POST /v1/users/ME/conversations/{conversation}/messages) the moment the
// emulator has accepted it, with its sender, conversation and text. It
// also counts each user's requests in flight on paths that end in /poll
// (Skype's held long poll). The emulators keep message times in
// milliseconds only, which is too coarse for a 10 ms latency.
type chatSends struct {
	// user names the account a request authenticates as ("" if none).
	user func(*http.Request) string

	changed benchSignal
	mu      sync.Mutex
	sent    map[chatKey][]benchDelivery
	polls   map[string]int
}

// chatKey is a sender and a conversation as the sender's client names it.
type chatKey struct{ from, conv string }

func newChatSends(user func(*http.Request) string) *chatSends {
	return &chatSends{user: user, sent: map[chatKey][]benchDelivery{}, polls: map[string]int{}}
}

// Wrap returns next with the stamping in front of it.
func (s *chatSends) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seg := unescapedSegments(r.URL)
		switch {
		case r.Method == http.MethodPost && len(seg) == 6 && seg[0] == "v1" && seg[1] == "users" && seg[3] == "conversations" && seg[5] == "messages":
			s.servePost(w, r, seg[4], next)
		case strings.HasSuffix(r.URL.Path, "/poll"):
			user := s.user(r)
			s.addPoll(user, 1)
			defer s.addPoll(user, -1)
			next.ServeHTTP(w, r)
		default:
			next.ServeHTTP(w, r) // Trouter's websocket upgrade needs the original writer
		}
	})
}

func (s *chatSends) servePost(w http.ResponseWriter, r *http.Request, conv string, next http.Handler) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	user := s.user(r) // asked before the emulator handles the send
	rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	next.ServeHTTP(rec, r)
	at := time.Now()
	var msg struct {
		Content string `json:"content"`
	}
	if rec.status/100 != 2 || user == "" || json.Unmarshal(body, &msg) != nil {
		return
	}
	s.mu.Lock()
	k := chatKey{user, conv}
	s.sent[k] = append(s.sent[k], benchDelivery{Text: markupText(msg.Content), Time: at})
	s.mu.Unlock()
	s.changed.notify()
}

func (s *chatSends) addPoll(user string, d int) {
	s.mu.Lock()
	s.polls[user] += d
	s.mu.Unlock()
	s.changed.notify()
}

// Sent lists what from posted into conv, oldest first.
func (s *chatSends) Sent(from, conv string) []benchDelivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]benchDelivery(nil), s.sent[chatKey{from, conv}]...)
}

// Polling reports whether user has a poll in flight.
func (s *chatSends) Polling(user string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.polls[user] > 0
}

// WaitChange blocks until cond holds, re-checking after every stamp and
// every poll that starts or ends.
func (s *chatSends) WaitChange(ctx context.Context, cond func() bool) error {
	return s.changed.wait(ctx, cond)
}

// benchSignal wakes everyone waiting for a change: each notify closes the
// channel the waiters hold and starts a new one.
type benchSignal struct {
	mu sync.Mutex
	ch chan struct{}
}

func (s *benchSignal) current() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *benchSignal) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
	}
	s.ch = make(chan struct{})
}

// wait re-checks cond after every notify until it holds or ctx ends; a
// change between the check and the wait is not missed, because the
// channel is taken before the check.
func (s *benchSignal) wait(ctx context.Context, cond func() bool) error {
	for {
		ch := s.current()
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// statusWriter remembers the status an http.Handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// unescapedSegments splits a URL path into its segments, each unescaped
// (conversation ids arrive with %3A, %40 and %3B or raw).
func unescapedSegments(u *url.URL) []string {
	seg := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	for i, p := range seg {
		if v, err := url.PathUnescape(p); err == nil {
			seg[i] = v
		}
	}
	return seg
}

var markupTag = regexp.MustCompile(`<[^>]*>`)

// markupText is the plain text of a chat-service message body (HTML,
// RichText markup or plain text).
func markupText(content string) string {
	return strings.TrimSpace(html.UnescapeString(markupTag.ReplaceAllString(content, "")))
}
