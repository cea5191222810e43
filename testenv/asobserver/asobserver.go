// Package asobserver is a minimal Matrix application service that only
// records when Synapse pushes it each message event. The end-to-end
// benchmarks use it as the homeserver-only baseline for Matrix→remote
// latency: a client's send reaches it through exactly the path that reaches
// the bridge (Synapse's appservice transaction push), minus the bridge.
package asobserver

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/testenv"
)

// Observer is a running observing appservice.
type Observer struct {
	// URL is where Synapse pushes transactions.
	URL string
	// ASToken and HSToken are the registration's tokens.
	ASToken, HSToken string
	// Localpart is the appservice's own user (sender_localpart); invite
	// it to a room to have that room's events pushed.
	Localpart string

	srv    *http.Server
	served chan error

	mu      sync.Mutex
	changed chan struct{}
	seen    map[string]Arrival // by message body
	txns    int
	refused int
}

// Arrival is when a message event was pushed.
type Arrival struct {
	EventID id.EventID
	Sender  id.UserID
	RoomID  id.RoomID
	Time    time.Time
}

// Start listens on a free loopback port and serves the appservice API.
func Start(localpart string) (*Observer, error) {
	asToken, err := testenv.RandomString(16)
	if err != nil {
		return nil, err
	}
	hsToken, err := testenv.RandomString(16)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the observing appservice: %w", err)
	}
	o := &Observer{
		URL:       "http://" + l.Addr().String(),
		ASToken:   asToken,
		HSToken:   hsToken,
		Localpart: localpart,
		served:    make(chan error, 1),
		changed:   make(chan struct{}),
		seen:      map[string]Arrival{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /_matrix/app/v1/transactions/{txnID}", o.handleTransaction)
	// Synapse asks about users and rooms in the namespace; there are none
	// besides the sender.
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"errcode":"M_NOT_FOUND","error":"nothing here"}`))
	})
	o.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { o.served <- o.srv.Serve(l) }()
	return o, nil
}

// Close stops the server.
func (o *Observer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := o.srv.Shutdown(ctx); err != nil {
		_ = o.srv.Close()
	}
	if err := <-o.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("observing appservice: %w", err)
	}
	return nil
}

// WriteRegistration writes the registration file Synapse loads. The
// namespace is the appservice's own user only, so it never competes with
// the bridge's.
func (o *Observer) WriteRegistration(path, serverName string) error {
	reg := map[string]any{
		"id":               "imbridge-bench-observer",
		"url":              o.URL,
		"as_token":         o.ASToken,
		"hs_token":         o.HSToken,
		"sender_localpart": o.Localpart,
		"rate_limited":     false,
		"namespaces": map[string]any{
			"users": []map[string]any{{
				"exclusive": true,
				"regex":     "@" + regexp.QuoteMeta(o.Localpart) + ":" + regexp.QuoteMeta(serverName),
			}},
		},
	}
	data, err := yaml.Marshal(reg)
	if err != nil {
		return fmt.Errorf("encode observer registration: %w", err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write observer registration: %w", err)
	}
	return nil
}

// Client returns a Matrix client acting as the appservice's own user, for
// joining the rooms it should observe.
func (o *Observer) Client(homeserverURL, serverName string) (*mautrix.Client, error) {
	cli, err := mautrix.NewClient(homeserverURL, id.NewUserID(o.Localpart, serverName), o.ASToken)
	if err != nil {
		return nil, fmt.Errorf("create observer client: %w", err)
	}
	return cli, nil
}

func (o *Observer) handleTransaction(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	auth := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if auth == "" {
		auth = r.URL.Query().Get("access_token")
	}
	if subtle.ConstantTimeCompare([]byte(auth), []byte(o.HSToken)) != 1 {
		o.countRefused()
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"errcode":"M_FORBIDDEN","error":"bad hs_token"}`))
		return
	}
	var txn struct {
		Events []*event.Event `json:"events"`
	}
	if err := json.NewDecoder(r.Body).Decode(&txn); err != nil {
		o.countRefused()
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"errcode":"M_NOT_JSON","error":"bad transaction"}`))
		return
	}
	o.mu.Lock()
	o.txns++
	for _, evt := range txn.Events {
		if evt.Type != event.EventMessage {
			continue
		}
		body, _ := evt.Content.Raw["body"].(string)
		if _, dup := o.seen[body]; !dup {
			o.seen[body] = Arrival{EventID: evt.ID, Sender: evt.Sender, RoomID: evt.RoomID, Time: now}
		}
	}
	close(o.changed)
	o.changed = make(chan struct{})
	o.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{}`))
}

func (o *Observer) countRefused() {
	o.mu.Lock()
	o.refused++
	o.mu.Unlock()
}

// Transactions returns how many transactions were accepted and how many
// refused (bad token or body); a refusal makes Synapse back off, which
// would slow the baseline down.
func (o *Observer) Transactions() (accepted, refused int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.txns, o.refused
}

// Seen returns when the message with this body was first pushed.
func (o *Observer) Seen(body string) (Arrival, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	a, ok := o.seen[body]
	return a, ok
}

// Wait waits until cond holds, re-checking after every transaction.
func (o *Observer) Wait(ctx context.Context, cond func() bool) error {
	for {
		o.mu.Lock()
		ch := o.changed
		o.mu.Unlock()
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

// WaitSeen waits for the message with this body and returns its arrival.
func (o *Observer) WaitSeen(ctx context.Context, body string) (Arrival, error) {
	var a Arrival
	err := o.Wait(ctx, func() bool {
		var ok bool
		a, ok = o.Seen(body)
		return ok
	})
	if err != nil {
		return a, fmt.Errorf("wait for the observing appservice to get %q: %w", body, err)
	}
	return a, nil
}
