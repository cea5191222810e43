package skype

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
	"github.com/imbridge/imbridge/connectors/skype/skypeapi"
)

// Client is one Skype login's NetworkAPI.
type Client struct {
	protocol.ClientBase
	conn *Connector
	log  zerolog.Logger
	meta *LoginMetadata
	// loadErr is why the stored credentials could not be opened; Connect
	// reports it as BAD_CREDENTIALS instead of trying.
	loadErr error
	api     *skypeapi.Client

	loop     bridgekit.SessionKeeper // the session goroutine, its backoff and BAD_CREDENTIALS
	loggedIn atomic.Bool
	// Backfill is bridgev2's FetchMessages over Skype's history
	// (backfill.go).
	chatbridge.Backfill
	// renewRefused remembers that Skype refused the stored password, so
	// concurrent calls (poll, ping, sends) do not each try it again: a
	// wrong password tried repeatedly earns the account a captcha.
	renewMu      sync.Mutex
	renewRefused error

	// evMu serialises event handling with catch-up, so the arrival cursor
	// only moves forward over messages that are in Matrix.
	evMu   sync.Mutex
	cursor time.Time

	// ownEdits counts edits and deletes the bridge made from Matrix whose
	// Skype echo (a skypeeditedid record) must not be applied again.
	ownMu    sync.Mutex
	ownEdits map[networkid.MessageID]int

	// pending are the clientmessageids this run sent and saw no echo of.
	pendingMu sync.Mutex
	pending   map[string]bool

	horizons bridgekit.ReadPositions // the other members' read positions (receipts.go)

	out  outbox    // Matrix messages on their way to Skype (outbox.go)
	left leftovers // the sends earlier runs left unfinished (sweep.go)
}

var (
	_ bridgev2.NetworkAPI                    = (*Client)(nil)
	_ bridgev2.EditHandlingNetworkAPI        = (*Client)(nil)
	_ bridgev2.RedactionHandlingNetworkAPI   = (*Client)(nil)
	_ bridgev2.TypingHandlingNetworkAPI      = (*Client)(nil)
	_ bridgev2.ReadReceiptHandlingNetworkAPI = (*Client)(nil)
	_ bridgev2.BackfillingNetworkAPI         = (*Client)(nil)
	_ skypeapi.Handler                       = (*Client)(nil)
)

func (c *Connector) newClient(login *bridgev2.UserLogin) (*Client, error) {
	meta, err := loginMeta.Get(login.Metadata)
	if err != nil {
		return nil, err
	}
	cl := &Client{
		ClientBase: protocol.ClientBase{Proto: ids.Skype, Net: c.Info(), Login: login},
		conn:       c, meta: meta, log: login.Log.With().Str("protocol", "skype").Logger(),
		ownEdits: map[networkid.MessageID]int{}, pending: map[string]bool{},
	}
	cl.Backfill = cl.newBackfill()
	// A session is registration, catch-up and the long poll (session).
	cl.loop = bridgekit.SessionKeeper{
		Network: "Skype", Code: "skype", Log: &cl.log, SendState: cl.SendState, Notice: cl.notice,
		Backoff:    bridgekit.ReconnectBackoff(c.RetryBackoffMin),
		RunSession: cl.session, Refused: needsLogin, OnRefused: cl.badCredentials,
		Down: func() { cl.loggedIn.Store(false) },
	}
	sess, err := c.openSession(login.ID, meta)
	if err != nil {
		cl.loadErr = err
		return cl, nil
	}
	opts := skypeapi.Options{OnSession: cl.storeSession}
	if meta.SealedPassword != "" {
		opts.Renew = cl.renew
	}
	cfg := c.apiConfig()
	cfg.Log = cl.log
	if cl.api, err = skypeapi.NewClient(cfg, *sess, opts); err != nil {
		cl.loadErr = err
	}
	return cl, nil
}

func (c *Connector) openSession(loginID networkid.UserLoginID, meta *LoginMetadata) (*skypeapi.Session, error) {
	sealed := meta.sealedToken()
	if sealed == "" {
		return nil, errors.New("no stored skypetoken")
	}
	raw, err := c.Box.Open(sealed, string(loginID))
	if err != nil {
		return nil, fmt.Errorf("open the stored skypetoken (was credential_key changed?): %w", err)
	}
	var s sealedSession
	if err = json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("decode the stored skypetoken: %w", err)
	}
	sess := &skypeapi.Session{SkypeToken: s.Token, UserID: s.UserID, SignInName: s.SignIn}
	if s.Expires > 0 {
		sess.Expires = time.Unix(s.Expires, 0)
	}
	return sess, nil
}

// renew signs in again with the sealed password (skypeapi calls it when
// the skypetoken is rejected or about to lapse).
func (c *Client) renew(ctx context.Context) (*skypeapi.Session, error) {
	c.renewMu.Lock()
	defer c.renewMu.Unlock()
	if c.renewRefused != nil {
		return nil, c.renewRefused
	}
	pw, err := c.conn.Box.Open(c.meta.SealedPassword, string(c.Login.ID))
	if err != nil {
		return nil, fmt.Errorf("open the stored password: %w", err)
	}
	auth, err := skypeapi.NewAuth(c.conn.apiConfig())
	if err != nil {
		return nil, err
	}
	user := c.meta.SignIn
	if user == "" {
		user = c.meta.UserID
	}
	sess, err := auth.Login(ctx, user, string(pw))
	if err != nil {
		err = fmt.Errorf("renew the skypetoken: %w", err)
		if needsLogin(err) {
			c.renewRefused = err
		}
		return nil, err
	}
	if sess.UserID != c.meta.UserID {
		return nil, fmt.Errorf("%w: the stored sign-in now belongs to %s, not %s", skypeapi.ErrBadCredentials, sess.UserID, c.meta.UserID)
	}
	return sess, nil
}

// storeSession seals a renewed skypetoken into the login row.
func (c *Client) storeSession(s skypeapi.Session) {
	sealed, err := sealSession(c.conn, string(c.Login.ID), &s)
	if err != nil {
		c.log.Err(err).Msg("Cannot seal the renewed skypetoken")
		return
	}
	c.meta.setSealedToken(sealed)
	if err = c.Login.Save(context.Background()); err != nil {
		c.log.Err(err).Msg("Cannot save the renewed skypetoken")
	}
}

func (c *Client) IsLoggedIn() bool { return c.loggedIn.Load() }

func (c *Client) selfMRI() string { return "8:" + c.meta.UserID }

func (c *Client) IsThisUser(ctx context.Context, userID networkid.UserID) bool {
	return userID == ghostID(c.selfMRI())
}

// Connect starts the event loop in the background and returns at once.
func (c *Client) Connect(ctx context.Context) {
	c.loop.Connect(ctx, c.log, c.Retired, c.loadErr, c.loop.Run)
}

func (c *Client) Disconnect() {
	c.loop.Stop()
	c.stopOutbox()
	c.loggedIn.Store(false)
}

// LogoutRemote ends the endpoint on Skype; bridgev2 then deletes the row
// with the sealed credentials.
func (c *Client) LogoutRemote(ctx context.Context) {
	c.failOutbox(errors.New("not sent: you signed out of Skype"))
	c.Disconnect()
	if c.api != nil {
		if err := c.api.Logout(ctx); err != nil {
			c.log.Warn().Err(err).Msg("Skype logout failed")
		}
	}
}

// needsLogin tells the errors that mean Skype no longer accepts the stored
// sign-in: retrying them would only earn the account a captcha.
func needsLogin(err error) bool {
	return errors.Is(err, skypeapi.ErrBadCredentials) || errors.Is(err, skypeapi.ErrTokenRejected) ||
		errors.Is(err, skypeapi.ErrAccountActionRequired)
}

func (c *Client) session(ctx context.Context) error {
	if err := c.api.Connect(ctx); err != nil {
		return fmt.Errorf("register with Skype: %w", err)
	}
	started := time.Now()
	endpoint := c.endpointID()
	c.loggedIn.Store(true)
	c.SendState(status.BridgeState{StateEvent: status.StateConnected})
	if err := c.startSync(ctx); err != nil {
		return err
	}
	c.sweepSent(ctx)
	if c.endpointID() != endpoint {
		// The sync renewed the session (a lapsed token): events queued on
		// the first endpoint are out of reach, and Listen only reports
		// gaps of endpoints it polled itself.
		c.log.Info().Msg("Skype endpoint replaced during the sync; catching up")
		c.HandleGap(ctx, started)
	}
	return c.api.Listen(ctx, c, skypeapi.ListenOptions{KeepAlive: c.conn.KeepAlive})
}

// badCredentials puts the login in BAD_CREDENTIALS and tells the user once.
func (c *Client) badCredentials(ctx context.Context, err error) {
	c.renewMu.Lock()
	if c.renewRefused != nil {
		// Whichever call noticed first, the cause is the refused renewal.
		err = c.renewRefused
	}
	c.renewMu.Unlock()
	why := "the skypetoken expired or was revoked"
	switch {
	case errors.Is(err, skypeapi.ErrBadCredentials):
		why = "the stored password was refused"
	case errors.Is(err, skypeapi.ErrAccountActionRequired):
		why = "the account needs attention in a browser (captcha, new terms or two-step verification)"
	case c.loadErr != nil:
		why = "the stored credentials cannot be opened"
	}
	c.loop.Refuse(ctx, err, why, fmt.Sprintf("Skype no longer accepts the bridge's sign-in for %s: %s. Sign in again with `login skype`; your chats stay as they are.", c.meta.UserID, why))
}

// notice tells the user something in their management room.
func (c *Client) notice(ctx context.Context, text string) {
	bridgekit.Notice(ctx, c.conn.Env.Bridge, c.Login, &c.log, "Skype", c.Login.RemoteName, text)
}

// native returns the conversation ID of one of this protocol's portals.
func native(portal *bridgev2.Portal) string { return bridgekit.Conversation(ids.Skype, portal) }

func (c *Client) portalKey(conv string) networkid.PortalKey {
	return bridgekit.PortalKey(ids.Skype, conv, c.Login.ID)
}

func ghostID(mri string) networkid.UserID { return ids.UserID(ids.Skype, strings.ToLower(mri)) }

// msgID is the bridgev2 ID of a Skype message: the conversation and the
// clientmessageid, which edits arriving from Skype name (skypeeditedid);
// a message without one is named by its server id.
func msgID(conv, clientID, serverID string) networkid.MessageID {
	if clientID != "" {
		return ids.MessageID(ids.Skype, conv+"/"+clientID)
	}
	return ids.MessageID(ids.Skype, conv+"/id:"+serverID)
}

func (c *Client) endpointID() string {
	if r := c.api.Registration(); r != nil {
		return r.EndpointID
	}
	return ""
}
