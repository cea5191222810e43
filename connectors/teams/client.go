package teams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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
	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/teams/teamsapi"
)

// catchUpStream is the imbridge cursor row holding the catch-up point: the
// arrival time up to which every message is known to be in Matrix.
const catchUpStream = "teams-catchup"

// Client is one login's connection to Teams: the bridgev2 NetworkAPI of a
// Teams login.
type Client struct {
	protocol.ClientBase
	conn *Connector
	meta *LoginMetadata
	log  zerolog.Logger

	auth      *teamsapi.Auth
	loadError error // why the stored credentials cannot be used, if they cannot

	chatMu sync.RWMutex
	chat   *chatsvc.Client

	loggedIn atomic.Bool
	loop     bridgekit.Session // the session goroutine (run)

	// evMu serialises pushes, catch-ups and their retries, so the catch-up
	// point moves in order.
	evMu      sync.Mutex
	point     time.Time       // catch-up point (zero: never synced)
	failed    bool            // a message since point could not be bridged
	heldConvs map[string]bool // chats whose live pushes wait for the retry
	retryTick chan struct{}
	dedupe    *teamsapi.Deduper
	gaps      gapFloor // where a message_loss catch-up starts (events.go)
	badOnce   sync.Once
	// deletedHere holds ids of messages deleted from Matrix (this run).
	deletedHere sync.Map
	horizons    horizonWatcher
	typingSent  sync.Map // conversation → time of the last typing notice sent
}

var (
	_ bridgev2.NetworkAPI                             = (*Client)(nil)
	_ bridgev2.EditHandlingNetworkAPI                 = (*Client)(nil)
	_ bridgev2.RedactionHandlingNetworkAPI            = (*Client)(nil)
	_ bridgev2.ReactionHandlingNetworkAPI             = (*Client)(nil)
	_ bridgev2.TypingHandlingNetworkAPI               = (*Client)(nil)
	_ bridgev2.ReadReceiptHandlingNetworkAPI          = (*Client)(nil)
	_ bridgev2.BackfillingNetworkAPI                  = (*Client)(nil)
	_ bridgev2.IdentifierResolvingNetworkAPI          = (*Client)(nil)
	_ bridgev2.GhostDMCreatingNetworkAPI              = (*Client)(nil)
	_ bridgev2.UserSearchingNetworkAPI                = (*Client)(nil)
	_ bridgev2.GroupCreatingNetworkAPI                = (*Client)(nil)
	_ bridgev2.PersonalFilteringCustomizingNetworkAPI = (*Client)(nil)
)

// newClient builds a login's client without network I/O (LoadUserLogin runs
// under bridgev2's cache lock).
func (c *Connector) newClient(login *bridgev2.UserLogin) (*Client, error) {
	meta, err := loginMeta.Get(login.Metadata)
	if err != nil {
		return nil, err
	}
	client := &Client{
		ClientBase: protocol.ClientBase{Proto: ids.Teams, Net: c.Info(), Login: login},
		conn:       c,
		meta:       meta,
		log:        login.Log.With().Str("protocol", "teams").Logger(),
		retryTick:  make(chan struct{}, 1),
		dedupe:     teamsapi.NewDeduper(0),
	}
	raw, err := c.Box.Open(meta.SealedCredentials, string(login.ID))
	if err != nil {
		client.loadError = fmt.Errorf("the stored sign-in cannot be opened (was network.teams.credential_key changed?): %w", err)
		return client, nil
	}
	var creds teamsapi.Credentials
	if err = json.Unmarshal(raw, &creds); err != nil {
		client.loadError = fmt.Errorf("the stored sign-in is unreadable: %w", err)
		return client, nil
	}
	cfg := c.apiConfig(teamsapi.Deployment(meta.Deployment))
	cfg.Log = client.log
	if client.auth, err = teamsapi.NewAuth(cfg, creds, client.storeCredentials); err != nil {
		client.loadError = err
	}
	return client, nil
}

// storeCredentials re-seals the credentials whenever the refresh token
// rotates: the old one may already be dead, so losing the new one would
// mean a new sign-in.
func (c *Client) storeCredentials(creds teamsapi.Credentials) {
	raw, err := json.Marshal(creds)
	if err != nil {
		c.log.Err(err).Msg("Failed to encode rotated credentials")
		return
	}
	sealed, err := c.conn.Box.Seal(raw, string(c.Login.ID))
	if err != nil {
		c.log.Err(err).Msg("Failed to seal rotated credentials")
		return
	}
	c.meta.SealedCredentials = sealed
	if err = c.Login.Save(context.Background()); err != nil {
		c.log.Err(err).Msg("Failed to save rotated credentials")
	}
}

func (c *Client) IsLoggedIn() bool { return c.loggedIn.Load() }

func (c *Client) selfGhost() networkid.UserID { return ids.UserID(ids.Teams, c.meta.MRI) }

func (c *Client) IsThisUser(ctx context.Context, userID networkid.UserID) bool {
	return userID == c.selfGhost()
}

func (c *Client) chatClient() *chatsvc.Client {
	c.chatMu.RLock()
	defer c.chatMu.RUnlock()
	return c.chat
}

// Connect starts the session in the background and returns at once.
func (c *Client) Connect(ctx context.Context) {
	if c.Retired() {
		return
	}
	if c.loadError != nil {
		c.badCredentials(ctx, c.loadError)
		return
	}
	c.loop.Start(c.log, c.Retired, nil, c.run)
}

func (c *Client) Disconnect() {
	c.loop.Stop()
	c.loggedIn.Store(false)
}

// LogoutRemote forgets the login; bridgev2 then deletes the row with the
// sealed credentials. Teams has no server-side session to end.
func (c *Client) LogoutRemote(ctx context.Context) { c.Disconnect() }

// run keeps the session up: sign-in chain, first sync or catch-up, Trouter.
// Transient failures back off; credentials the service refuses stop it for
// good (BAD_CREDENTIALS), so the token endpoint is never hammered.
func (c *Client) run(ctx context.Context) {
	backoff := bridgekit.Backoff{Min: orDefault(c.conn.RetryBackoffMin, time.Second), Max: 5 * time.Minute}
	go c.retryLoop(ctx)
	go c.pollHorizons(ctx)
	for ctx.Err() == nil {
		c.SendState(status.BridgeState{StateEvent: status.StateConnecting})
		err := c.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, teamsapi.ErrReloginNeeded) || errors.Is(err, chatsvc.ErrUnauthorized) {
			c.badCredentials(ctx, err)
			return
		}
		c.loggedIn.Store(false)
		c.log.Warn().Err(err).Dur("retry_in", backoff.Current()).Msg("Teams session failed")
		c.SendState(status.BridgeState{StateEvent: status.StateTransientDisconnect, Error: "teams-disconnected", Message: err.Error()})
		if !backoff.Wait(ctx) {
			return
		}
	}
}

func (c *Client) session(ctx context.Context) error {
	chat, err := c.auth.NewChatClient(ctx, chatsvc.RetryPolicy{})
	if err != nil {
		return fmt.Errorf("connect to the chat service: %w", err)
	}
	c.chatMu.Lock()
	c.chat = chat
	c.chatMu.Unlock()
	// Sending works over REST from here on, whatever the push channel does.
	c.loggedIn.Store(true)
	if err = c.loadPoint(ctx); err != nil {
		return err
	}
	if c.point.IsZero() {
		if err = c.initialSync(ctx); err != nil {
			return fmt.Errorf("first sync: %w", err)
		}
	}
	tr := c.auth.NewTrouter(teamsapi.TrouterConfig{
		EPID:              c.meta.EPID,
		OnEvent:           c.onPush,
		OnGap:             c.onGap,
		OnState:           c.onTrouterState,
		GapOnFirstConnect: true,
		MinBackoff:        c.conn.TrouterBackoff,
		Dedupe:            c.dedupe,
		UserAgent:         "imbridge",
	})
	if epid := tr.EPID(); epid != c.meta.EPID {
		c.meta.EPID = epid
		if err := c.Login.Save(ctx); err != nil {
			c.log.Err(err).Msg("Failed to save the Trouter endpoint id")
		}
	}
	return tr.Run(ctx)
}

func (c *Client) onTrouterState(up bool, err error) {
	if up {
		c.SendState(status.BridgeState{StateEvent: status.StateConnected})
		return
	}
	msg := "push channel disconnected"
	if err != nil {
		msg = err.Error()
	}
	if c.LastState() != status.StateBadCredentials {
		c.SendState(status.BridgeState{StateEvent: status.StateTransientDisconnect, Error: "teams-trouter", Message: msg})
	}
}

// badCredentials puts the login in BAD_CREDENTIALS and tells the user once.
func (c *Client) badCredentials(ctx context.Context, err error) {
	c.loggedIn.Store(false)
	why := err.Error()
	var re *teamsapi.ReloginError
	if errors.As(err, &re) {
		why = firstNonEmpty(re.Description, re.Code)
	}
	c.log.Warn().Err(err).Msg("Teams no longer accepts the stored sign-in")
	c.SendState(status.BridgeState{StateEvent: status.StateBadCredentials, Error: "teams-relogin",
		Message: "Microsoft Teams needs you to sign in again: " + why})
	c.badOnce.Do(func() {
		c.notice(ctx, fmt.Sprintf("Microsoft Teams no longer accepts the bridge's sign-in (%s). Sign in again with `login teams`; your chats stay as they are.", why))
	})
}

// notice tells the user something in their management room.
func (c *Client) notice(ctx context.Context, text string) {
	bridgekit.Notice(ctx, c.conn.Env.Bridge, c.Login, &c.log, "Microsoft Teams", c.Login.RemoteName, text)
}

func (c *Client) loadPoint(ctx context.Context) error {
	raw, err := c.conn.Env.DB.Cursor.Get(ctx, c.Login.ID, catchUpStream)
	if err != nil {
		return fmt.Errorf("load the catch-up point: %w", err)
	}
	c.evMu.Lock()
	defer c.evMu.Unlock()
	if raw == "" {
		c.point = time.Time{}
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		c.log.Warn().Str("value", raw).Msg("Unreadable catch-up point; catching up from an hour ago")
		t = time.Now().Add(-time.Hour)
	}
	c.point = t
	return nil
}

// advance moves the catch-up point (caller holds evMu) and stores it.
func (c *Client) advance(ctx context.Context, t time.Time) {
	if !t.After(c.point) {
		return
	}
	c.point = t
	if err := c.conn.Env.DB.Cursor.Put(ctx, c.Login.ID, catchUpStream, t.UTC().Format(time.RFC3339Nano)); err != nil {
		c.log.Err(err).Msg("Failed to save the catch-up point")
	}
}

// native returns the conversation ID of one of this protocol's portals.
func native(portal *bridgev2.Portal) string {
	n, _ := ids.Parse(ids.Teams, string(portal.ID))
	return n
}

func (c *Client) portalKey(conv string) networkid.PortalKey {
	return networkid.PortalKey{ID: ids.PortalID(ids.Teams, conv), Receiver: c.Login.ID}
}

func isSelf(a, b string) bool { return strings.EqualFold(a, b) }
