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
	"github.com/imbridge/imbridge/connectors/chatbridge"
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
	loop     bridgekit.SessionKeeper // the session goroutine (run), its backoff and BAD_CREDENTIALS
	// Backfill is bridgev2's FetchMessages over the chat service's history
	// (backfill.go).
	chatbridge.Backfill

	// evMu serialises pushes, catch-ups and their retries, so the catch-up
	// point moves in order.
	evMu      sync.Mutex
	point     time.Time       // catch-up point (zero: never synced)
	failed    bool            // a message since point could not be bridged
	heldConvs map[string]bool // chats whose live pushes wait for the retry
	retryTick chan struct{}
	dedupe    *teamsapi.Deduper
	gaps      gapFloor // where a message_loss catch-up starts (events.go)
	// deletedHere holds ids of messages deleted from Matrix (this run).
	deletedHere sync.Map
	horizons    bridgekit.ReadPositions
	typingSent  sync.Map // conversation → time of the last typing notice sent
	sends       sends    // Matrix messages on their way to Teams (outbox.go, sent.go)
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
	client.Backfill = client.newBackfill()
	client.loop = bridgekit.SessionKeeper{
		Network: "Microsoft Teams", Code: "teams", Log: &client.log, SendState: client.SendState, Notice: client.notice,
		Backoff:    bridgekit.ReconnectBackoff(c.RetryBackoffMin),
		RunSession: client.session, Refused: signInRefused, OnRefused: client.badCredentials,
		Down: func() { client.loggedIn.Store(false) },
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
	c.meta.lock.Set(&c.meta.SealedCredentials, sealed)
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
	c.loop.Connect(ctx, c.log, c.Retired, c.loadError, c.run)
}

func (c *Client) Disconnect() {
	c.sends.stop()
	c.loop.Stop()
	c.loggedIn.Store(false)
}

// LogoutRemote forgets the login; bridgev2 then deletes the row with the
// sealed credentials. Teams has no server-side session to end; the sends
// still pending are shown failed (logout.go).
func (c *Client) LogoutRemote(ctx context.Context) { c.Disconnect(); c.failSendsOnLogout(ctx) }

// run keeps the session up (bridgekit.SessionKeeper): sign-in chain, first
// sync or catch-up, Trouter; beside it run the retries of messages that
// could not be bridged, the read-horizon poll and the profile refresh.
func (c *Client) run(ctx context.Context) {
	go c.retryLoop(ctx)
	go c.pollHorizons(ctx)
	go c.refreshProfilesLoop(ctx)
	c.loop.Run(ctx)
}

// signInRefused tells the errors that mean Teams no longer accepts the
// stored sign-in: retrying them would only hammer the token endpoint.
func signInRefused(err error) bool {
	return errors.Is(err, teamsapi.ErrReloginNeeded) || errors.Is(err, chatsvc.ErrUnauthorized)
}

func (c *Client) session(ctx context.Context) error {
	c.migrateTeamSpaces(ctx)
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
	c.settleLeftovers(ctx)
	if c.point.IsZero() {
		if err = c.initialSync(ctx); err != nil {
			return fmt.Errorf("first sync: %w", err)
		}
	}
	tr := c.auth.NewTrouter(teamsapi.TrouterConfig{
		EPID:              c.meta.lock.Get(&c.meta.EPID),
		OnEvent:           c.onPush,
		OnGap:             c.onGap,
		OnState:           c.onTrouterState,
		GapOnFirstConnect: true,
		MinBackoff:        c.conn.TrouterBackoff,
		Dedupe:            c.dedupe,
		UserAgent:         "imbridge",
	})
	if epid := tr.EPID(); epid != c.meta.lock.Get(&c.meta.EPID) {
		c.meta.lock.Set(&c.meta.EPID, epid)
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
	why := err.Error()
	var re *teamsapi.ReloginError
	if errors.As(err, &re) {
		why = firstNonEmpty(re.Description, re.Code)
	}
	c.loop.Refuse(ctx, err, why, fmt.Sprintf("Microsoft Teams no longer accepts the bridge's sign-in (%s). Sign in again with `login teams`; your chats stay as they are.", why))
}

// notice tells the user something in their management room.
func (c *Client) notice(ctx context.Context, text string) {
	bridgekit.Notice(ctx, c.conn.Env.Bridge, c.Login, &c.log, "Microsoft Teams", c.Login.RemoteName, text)
}

// catchUpPoint is where the catch-up point is stored (c.point holds it).
func (c *Client) catchUpPoint() bridgekit.CatchUpPoint {
	return bridgekit.CatchUpPoint{Cursors: c.conn.Env.DB.Cursor, Login: c.Login.ID, Stream: catchUpStream, Log: &c.log}
}

// loadPoint reads the stored catch-up point into c.point; an unreadable one
// is taken as an hour ago.
func (c *Client) loadPoint(ctx context.Context) error {
	t, err := c.catchUpPoint().Load(ctx, time.Hour)
	if err != nil {
		return err
	}
	c.evMu.Lock()
	defer c.evMu.Unlock()
	c.point = t
	return c.loadFloor(ctx)
}

// advance moves the catch-up point (caller holds evMu) and stores it.
func (c *Client) advance(ctx context.Context, t time.Time) {
	c.catchUpPoint().Advance(ctx, &c.point, t)
}

// native returns the conversation ID of one of this protocol's portals.
func native(portal *bridgev2.Portal) string { return bridgekit.Conversation(ids.Teams, portal) }

func (c *Client) portalKey(conv string) networkid.PortalKey {
	return bridgekit.PortalKey(ids.Teams, conv, c.Login.ID)
}

func isSelf(a, b string) bool { return strings.EqualFold(a, b) }
