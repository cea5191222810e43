package lync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/bridgev2/status"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/bridge/protocol"
	"github.com/imbridge/imbridge/connectors/bridgekit"
	"github.com/imbridge/imbridge/connectors/lync/ucwa"
)

// rediscoverAfter is how many sessions in a row may fail to reach the saved
// server before the bridge looks the server up again.
const rediscoverAfter = 5

// duplicateWindow is how close together two replaced event requests must be
// to mean that another program uses the same application.
const duplicateWindow = 2 * time.Minute

// Names of the rows this connector keeps in imbridge's own tables.
const (
	sessionScope = "ucwa-session" // sync state: ucwa.State without the cursor
	eventsStream = "ucwa-events"  // event cursor: the next event-channel URL
)

// Client is one login's connection to Skype for Business: the bridgev2
// NetworkAPI of a Lync login.
type Client struct {
	protocol.ClientBase
	conn *Connector
	meta *LoginMetadata
	log  zerolog.Logger

	api       *ucwa.Client
	loadError error // why the stored credentials cannot be used, if they cannot

	loggedIn atomic.Bool // the session is connected
	// usable: the login has credentials the server has not refused and was
	// not stopped; while it is usable but not connected it is reconnecting,
	// and sends wait for it (IsLoggedIn reports usable logins).
	usable atomic.Bool
	sends  sendQueues
	// process names this Client's pending-message records (outbound_restart.go).
	process    string
	outgoingMu sync.Mutex
	// queuedHere holds the hrefs of messages this process queued (and has
	// not settled yet), which a restart cannot know about.
	queuedHere sync.Map
	// batchesHandled counts event batches handled, so run can tell a
	// session that worked (and reset its backoff) from one that did not.
	batchesHandled atomic.Int64
	loop           bridgekit.Session // the session goroutine (run)
	tokenMu        sync.Mutex        // serialises token saves (lastToken, SealedToken)
	lastToken      ucwa.Token

	conv   convState
	typing typingSender
}

var (
	_ bridgev2.NetworkAPI                             = (*Client)(nil)
	_ bridgev2.TypingHandlingNetworkAPI               = (*Client)(nil)
	_ bridgev2.IdentifierResolvingNetworkAPI          = (*Client)(nil)
	_ bridgev2.ContactListingNetworkAPI               = (*Client)(nil)
	_ bridgev2.UserSearchingNetworkAPI                = (*Client)(nil)
	_ bridgev2.GhostDMCreatingNetworkAPI              = (*Client)(nil)
	_ bridgev2.PersonalFilteringCustomizingNetworkAPI = (*Client)(nil)
)

func (c *Connector) newAPI(username, password, discoveryURL, endpointID string) (*ucwa.Client, error) {
	if discoveryURL == "" {
		discoveryURL = c.Config.DiscoveryURL
	}
	return ucwa.New(ucwa.Config{
		HTTPClient:            c.HTTPClient,
		Username:              username,
		Password:              password,
		DiscoveryURL:          discoveryURL,
		AllowInsecureHTTP:     c.Config.AllowInsecureHTTP,
		AllowPrivateAddresses: c.Config.AllowPrivateAddresses,
		EndpointID:            endpointID,
		UserAgent:             c.Config.UserAgent,
		Culture:               c.Config.Culture,
		PollTimeout:           time.Duration(c.Config.EventTimeout) * time.Second,
		BackoffMin:            c.RetryBackoffMin,
	})
}

// newClient builds a login's client without network I/O (LoadUserLogin runs
// under bridgev2's cache lock).
func (c *Connector) newClient(login *bridgev2.UserLogin) (*Client, error) {
	meta, err := loginMeta.Get(login.Metadata)
	if err != nil {
		return nil, err
	}
	client := &Client{
		ClientBase: protocol.ClientBase{Proto: ids.Lync, Net: c.Info(), Login: login},
		conn:       c,
		meta:       meta,
		log:        login.Log.With().Str("protocol", "lync").Logger(),
		process:    newGUID(),
	}
	client.conv.init()
	password, err := c.Box.Open(meta.SealedPassword, string(login.ID))
	if err != nil {
		client.loadError = fmt.Errorf("the stored password cannot be opened (was network.lync.credential_key changed?): %w", err)
		return client, nil
	}
	if client.api, err = c.newAPI(meta.Username, string(password), meta.DiscoveryURL, meta.EndpointID); err != nil {
		client.loadError = err
		return client, nil
	}
	if meta.SealedToken != "" {
		if raw, err := c.Box.Open(meta.SealedToken, string(login.ID)); err == nil {
			var tok ucwa.Token
			if json.Unmarshal(raw, &tok) == nil && time.Now().Before(tok.Expiry) {
				client.api.SetToken(tok)
				client.lastToken = tok
			}
		}
	}
	return client, nil
}

// adopt takes over the signed-in client of a just-finished login and saves
// its session, so Connect resumes it instead of signing in again.
func (c *Client) adopt(ctx context.Context, api *ucwa.Client) {
	c.api, c.loadError = api, nil
	c.saveState(ctx, api.State())
}

// IsLoggedIn reports a login that is connected or reconnecting: bridgev2
// then hands it Matrix messages, which wait for the connection, instead of
// failing them with "not logged in" during a reconnect.
func (c *Client) IsLoggedIn() bool { return c.loggedIn.Load() || c.usable.Load() }

func (c *Client) IsThisUser(ctx context.Context, userID networkid.UserID) bool {
	return userID == ids.UserID(ids.Lync, c.meta.SIP)
}

// Connect resumes (or starts) the UCWA session and runs the event channel
// until Disconnect. It never blocks on the network for longer than a sign-in.
func (c *Client) Connect(ctx context.Context) {
	if c.Retired() {
		// Replaced by a newer client for the same login (see protocol.ClientBase.Retire).
		return
	}
	if c.loadError != nil {
		c.SendState(status.BridgeState{StateEvent: status.StateBadCredentials, Error: "lync-credentials", Message: c.loadError.Error()})
		return
	}
	c.loop.Start(c.log, c.Retired, func(ctx context.Context) {
		c.usable.Store(true)
		go c.failLeftoverOutgoing(ctx)
	}, c.run)
}

func (c *Client) Disconnect() {
	c.loop.Stop()
	c.typing.stopAll()
	c.loggedIn.Store(false)
}

// LogoutRemote ends the server-side application; bridgev2 then deletes the
// login row, and with it the sealed password and every imbridge_* row.
func (c *Client) LogoutRemote(ctx context.Context) {
	c.usable.Store(false)
	c.Disconnect()
	if c.api != nil {
		if err := c.api.Close(ctx); err != nil {
			c.log.Warn().Err(err).Msg("Failed to delete the UCWA application on logout")
		}
	}
}

// run keeps the session up: it resumes or signs in, then polls events;
// transient failures back off and retry, bad credentials stop it.
func (c *Client) run(ctx context.Context) {
	backoff := bridgekit.Backoff{Min: orDefault(c.conn.RetryBackoffMin, time.Second), Max: 2 * time.Minute}
	var lastReplaced time.Time
	unreachable := 0
	for ctx.Err() == nil {
		c.SendState(status.BridgeState{StateEvent: status.StateConnecting})
		handled := c.batchesHandled.Load()
		err := c.session(ctx)
		if c.batchesHandled.Load() > handled {
			// The session worked for a while: this failure is a new one,
			// not the next of a series.
			backoff.Reset()
		}
		if ctx.Err() != nil {
			return
		}
		switch {
		case errors.Is(err, ucwa.ErrInvalidCredentials):
			c.loggedIn.Store(false)
			c.usable.Store(false)
			c.SendState(status.BridgeState{StateEvent: status.StateBadCredentials, Error: "lync-invalid-credentials",
				Message: "Skype for Business no longer accepts the stored password. Log in again with `login lync`."})
			return
		case errors.Is(err, ucwa.ErrDuplicateInstance):
			// One replaced poll can be a proxy repeating a request; two in a
			// row mean another program polls this application, and the two
			// would steal each other's events.
			if time.Since(lastReplaced) > duplicateWindow {
				lastReplaced = time.Now()
				c.log.Warn().Msg("Event request replaced by someone else; polling again once")
				continue
			}
			c.loggedIn.Store(false)
			c.usable.Store(false)
			c.SendState(status.BridgeState{StateEvent: status.StateUnknownError, Error: "lync-duplicate-instance",
				Message: "Another program is using this login's Skype for Business application; stopped to avoid losing messages."})
			return
		}
		if errors.Is(err, ucwa.ErrUnreachable) {
			unreachable++
		} else {
			unreachable = 0
		}
		if unreachable == rediscoverAfter {
			// The saved URLs may point at a server that moved: sign in from
			// discovery again (at the price of a new application).
			c.log.Warn().Msg("Server unreachable repeatedly; discovering it again")
			c.forgetSession(ctx)
			c.notice(ctx, "The Skype for Business server could not be reached for a while, so the bridge is looking it up again. Messages sent to you meanwhile may have been missed.")
		}
		c.log.Warn().Err(err).Dur("retry_in", backoff.Current()).Msg("Skype for Business session failed")
		c.SendState(status.BridgeState{StateEvent: status.StateTransientDisconnect, Error: "lync-disconnected", Message: err.Error()})
		if !backoff.Wait(ctx) {
			return
		}
	}
}

// session resumes the saved application (or makes a new one) and runs the
// event channel and the activity reports until either fails.
func (c *Client) session(ctx context.Context) error {
	var saved ucwa.State
	hadState, err := c.conn.Env.DB.SyncState.Get(ctx, c.Login.ID, sessionScope, &saved)
	if err != nil {
		return err
	}
	if saved.EventsURL, err = c.conn.Env.DB.Cursor.Get(ctx, c.Login.ID, eventsStream); err != nil {
		return err
	}
	resumed, err := c.api.Resume(ctx, saved)
	if err != nil {
		return err
	}
	if !c.api.State().Available {
		if err = c.api.MakeMeAvailable(ctx, ucwa.AvailabilityOptions{}); err != nil && !ucwa.IsAlreadyExists(err) {
			return err
		}
	}
	if resumed {
		c.rebuildConversations(ctx)
	}
	if hadState && saved.ApplicationHref != "" && !resumed {
		c.conv.reset()
		c.notice(ctx, "Your Skype for Business session had expired and was started again. Messages sent to you while the bridge was away may have been missed.")
	}
	c.saveState(ctx, c.api.State())
	c.loggedIn.Store(true)
	c.SendState(status.BridgeState{StateEvent: status.StateConnected})

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		if err := c.api.KeepAlive(ctx, c.conn.Config.ActivityInterval); err != nil && ctx.Err() == nil {
			c.log.Warn().Err(err).Msg("Activity reports stopped")
		}
	}()
	return c.api.RunEvents(ctx, c.handleUpdate)
}

// saveState persists the session (and the token, sealed, when it changed) so
// a restart resumes without a new sign-in and without missing events.
func (c *Client) saveState(ctx context.Context, st ucwa.State) {
	cursor := st.EventsURL
	st.EventsURL = ""
	if err := c.conn.Env.DB.SyncState.Put(ctx, c.Login.ID, sessionScope, st); err != nil {
		c.log.Err(err).Msg("Failed to save the UCWA session")
	}
	if cursor != "" {
		if err := c.conn.Env.DB.Cursor.Put(ctx, c.Login.ID, eventsStream, cursor); err != nil {
			c.log.Err(err).Msg("Failed to save the event cursor")
		}
	}
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	if tok := c.api.Token(); tok != c.lastToken && tok.AccessToken != "" {
		raw, _ := json.Marshal(tok)
		sealed, err := c.conn.Box.Seal(raw, string(c.Login.ID))
		if err == nil {
			c.meta.setSealedToken(sealed)
			err = c.Login.Save(ctx)
		}
		if err != nil {
			c.log.Err(err).Msg("Failed to save the access token")
			return
		}
		c.lastToken = tok
	}
}

// forgetSession drops the saved session URLs (keeping the cursor's row, which
// a new application replaces), so the next attempt starts from discovery.
func (c *Client) forgetSession(ctx context.Context) {
	if err := c.conn.Env.DB.SyncState.Delete(ctx, c.Login.ID, sessionScope); err != nil {
		c.log.Err(err).Msg("Failed to forget the saved session")
	}
}

// notice tells the user something in their management room.
func (c *Client) notice(ctx context.Context, text string) {
	bridgekit.Notice(ctx, c.conn.Env.Bridge, c.Login, &c.log, "Skype for Business", c.meta.SIP, text)
}
