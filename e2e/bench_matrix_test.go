//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// benchListener is a plain, unencrypted Matrix client: it /syncs, records
// when each message body first arrives, and joins every room it is invited
// to. It is what a user's client sees, minus rendering.
type benchListener struct {
	cli *mautrix.Client

	changed benchSignal
	mu      sync.Mutex
	seen    map[string]benchArrival // by body
	// receipts are the events someone other than the user sent a read
	// receipt for (the bridge bot's delivery receipts).
	receipts map[id.EventID]bool
	joinErrs []error
	syncErr  error

	cancel context.CancelFunc
	done   chan struct{}
}

type benchArrival struct {
	Room   id.RoomID
	Sender id.UserID
	Time   time.Time
}

func newBenchListener(hsURL string, user id.UserID, token string) (*benchListener, error) {
	cli, err := mautrix.NewClient(hsURL, user, token)
	if err != nil {
		return nil, fmt.Errorf("create matrix client for %s: %w", user, err)
	}
	l := &benchListener{cli: cli, seen: map[string]benchArrival{}, receipts: map[id.EventID]bool{}, done: make(chan struct{})}
	syncer := cli.Syncer.(*mautrix.DefaultSyncer)
	syncer.OnEventType(event.EventMessage, func(_ context.Context, evt *event.Event) {
		now := time.Now()
		body, _ := evt.Content.Raw["body"].(string)
		l.record(func() {
			if _, dup := l.seen[body]; !dup {
				l.seen[body] = benchArrival{Room: evt.RoomID, Sender: evt.Sender, Time: now}
			}
		})
	})
	syncer.OnEventType(event.EphemeralEventReceipt, func(_ context.Context, evt *event.Event) {
		receipt := evt.Content.AsReceipt() // the syncer has parsed it
		l.record(func() {
			for eventID, byType := range *receipt {
				for _, users := range byType {
					for userID := range users {
						if userID != user {
							l.receipts[eventID] = true
						}
					}
				}
			}
		})
	})
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	// Every invitation is accepted at once (the portal, and the login's
	// space), as a user would; the join runs beside the sync loop.
	joined := map[id.RoomID]bool{}
	syncer.OnSync(func(_ context.Context, resp *mautrix.RespSync, _ string) bool {
		for room := range resp.Rooms.Invite {
			if joined[room] {
				continue
			}
			joined[room] = true
			go func() {
				if _, err := cli.JoinRoomByID(ctx, room); err != nil && ctx.Err() == nil {
					l.record(func() { l.joinErrs = append(l.joinErrs, fmt.Errorf("join %s: %w", room, err)) })
				}
			}()
		}
		return true
	})
	go func() {
		defer close(l.done)
		if err := cli.SyncWithContext(ctx); err != nil && !errors.Is(err, context.Canceled) {
			l.record(func() { l.syncErr = err })
		}
	}()
	return l, nil
}

func (l *benchListener) Close() {
	l.cancel()
	<-l.done
}

func (l *benchListener) record(change func()) {
	l.mu.Lock()
	change()
	l.mu.Unlock()
	l.changed.notify()
}

// wait re-checks cond after every recorded change until it holds, and
// gives up when the sync loop failed or an invitation could not be
// accepted.
func (l *benchListener) wait(ctx context.Context, what string, cond func() bool) error {
	var failed error
	err := l.changed.wait(ctx, func() bool {
		l.mu.Lock()
		syncErr, joinErrs := l.syncErr, l.joinErrs
		l.mu.Unlock()
		switch {
		case cond():
		case syncErr != nil:
			failed = fmt.Errorf("waiting for %s: sync of %s failed: %w", what, l.cli.UserID, syncErr)
		case len(joinErrs) > 0:
			failed = fmt.Errorf("waiting for %s: %s could not accept an invitation: %w", what, l.cli.UserID, errors.Join(joinErrs...))
		default:
			return false
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("waiting for %s as %s: %w", what, l.cli.UserID, err)
	}
	return failed
}

func (l *benchListener) arrival(body string) (benchArrival, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.seen[body]
	return a, ok
}

func (l *benchListener) waitMessage(ctx context.Context, body string) (benchArrival, error) {
	var a benchArrival
	err := l.wait(ctx, fmt.Sprintf("message %q", body), func() bool {
		var ok bool
		a, ok = l.arrival(body)
		return ok
	})
	return a, err
}

// waitReceipt waits until someone other than the user sent a read receipt
// for eventID.
func (l *benchListener) waitReceipt(ctx context.Context, eventID id.EventID) error {
	return l.wait(ctx, fmt.Sprintf("a receipt for %s", eventID), func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.receipts[eventID]
	})
}

// waitAll waits until every body has arrived and returns the latest arrival.
func (l *benchListener) waitAll(ctx context.Context, bodies []string) (time.Time, error) {
	var last time.Time
	err := l.wait(ctx, fmt.Sprintf("%d messages", len(bodies)), func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		last = time.Time{}
		for _, b := range bodies {
			a, ok := l.seen[b]
			if !ok {
				return false
			}
			if a.Time.After(last) {
				last = a.Time
			}
		}
		return true
	})
	return last, err
}

// sendText sends an m.text message (PUT /send) into room as cli.
func sendText(ctx context.Context, cli *mautrix.Client, room id.RoomID, body string) error {
	_, err := sendTextID(ctx, cli, room, body)
	return err
}

// sendTextID is sendText returning the new event's ID.
func sendTextID(ctx context.Context, cli *mautrix.Client, room id.RoomID, body string) (id.EventID, error) {
	resp, err := cli.SendMessageEvent(ctx, room, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgText, Body: body})
	if err != nil {
		return "", fmt.Errorf("send %q to %s as %s: %w", body, room, cli.UserID, err)
	}
	return resp.EventID, nil
}

// directSender returns a client that sends as ghost with the bridge's own
// appservice token (?user_id=), the way the bridge itself sends: the
// homeserver-only baseline for remote→Matrix.
func directSender(hsURL, asToken string, ghost id.UserID) (*mautrix.Client, error) {
	cli, err := mautrix.NewClient(hsURL, ghost, asToken)
	if err != nil {
		return nil, fmt.Errorf("create appservice client for %s: %w", ghost, err)
	}
	cli.SetAppServiceUserID = true
	return cli, nil
}

// provisioner drives bridgev2's provisioning API with the shared secret,
// which logs users in without a chat with the bot: the scale benchmark
// needs a thousand logins.
type provisioner struct {
	base   string // …/_matrix/provision
	secret string
	http   *http.Client
}

type provStep struct {
	LoginID   string `json:"login_id"`
	Type      string `json:"type"`
	StepID    string `json:"step_id"`
	UserInput *struct {
		Fields []provField `json:"fields"`
	} `json:"user_input"`
	Cookies *struct {
		Fields []provField `json:"fields"`
	} `json:"cookies"`
	DisplayAndWait *struct {
		Data string `json:"data"`
	} `json:"display_and_wait"`
	Complete *struct {
		UserLoginID string `json:"user_login_id"`
	} `json:"complete"`
}

// provField is a field a user-input or cookie step asks for.
type provField struct {
	ID string `json:"id"`
}

func (p *provisioner) do(ctx context.Context, method, path string, user id.UserID, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode provisioning request: %w", err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path+"?user_id="+url.QueryEscape(user.String()), body)
	if err != nil {
		return fmt.Errorf("build provisioning request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+p.secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read %s answer: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decode %s answer: %w", path, err)
		}
	}
	return nil
}

// login runs flow for user, answering every user-input or cookie step
// from values (by field ID) and handing a display-and-wait step's data to
// display before waiting for it, and returns the new login's ID.
func (p *provisioner) login(ctx context.Context, user id.UserID, flow string, values map[string]string, display func(data string) error) (string, error) {
	var step provStep
	if err := p.do(ctx, http.MethodPost, "/v3/login/start/"+url.PathEscape(flow), user, nil, &step); err != nil {
		return "", fmt.Errorf("start %s login for %s: %w", flow, user, err)
	}
	for range 10 {
		var fields []provField
		switch {
		case step.Type == "complete" && step.Complete != nil:
			return step.Complete.UserLoginID, nil
		case step.Type == "display_and_wait" && step.DisplayAndWait != nil && display != nil:
			if err := display(step.DisplayAndWait.Data); err != nil {
				return "", fmt.Errorf("%s login for %s: step %s: %w", flow, user, step.StepID, err)
			}
		case step.Type == "user_input" && step.UserInput != nil:
			fields = step.UserInput.Fields
		case step.Type == "cookies" && step.Cookies != nil:
			fields = step.Cookies.Fields
		default:
			return "", fmt.Errorf("%s login for %s: step %s of type %q cannot be answered by the benchmark", flow, user, step.StepID, step.Type)
		}
		var body any // a display-and-wait step's wait takes none
		if step.Type != "display_and_wait" {
			answer := map[string]string{}
			for _, f := range fields {
				v, ok := values[f.ID]
				if !ok {
					return "", fmt.Errorf("%s login for %s: step %s asks for %q, which the driver did not provide", flow, user, step.StepID, f.ID)
				}
				answer[f.ID] = v
			}
			body = answer
		}
		path := fmt.Sprintf("/v3/login/step/%s/%s/%s", url.PathEscape(step.LoginID), url.PathEscape(step.StepID), step.Type)
		step = provStep{}
		if err := p.do(ctx, http.MethodPost, path, user, body, &step); err != nil {
			return "", fmt.Errorf("%s login for %s: %w", flow, user, err)
		}
	}
	return "", fmt.Errorf("%s login for %s did not complete in 10 steps", flow, user)
}
