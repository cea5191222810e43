package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
	"maunium.net/go/mautrix/mediaproxy"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/bridge/protocol"
)

// The connector-level optional interfaces of bridgev2, each handed to the
// protocol the call concerns (see protocol/hooks.go).
var (
	_ bridgev2.DirectMediableNetwork          = (*Connector)(nil)
	_ bridgev2.MaxFileSizeingNetwork          = (*Connector)(nil)
	_ bridgev2.TransactionIDGeneratingNetwork = (*Connector)(nil)
	_ bridgev2.NetworkResettingNetwork        = (*Connector)(nil)
	_ bridgev2.PushParsingNetwork             = (*Connector)(nil)
	_ bridgev2.SplitPortalMigratingNetwork    = (*Connector)(nil)
)

// enabledWith returns the enabled protocols that implement hook T.
func enabledWith[T any](c *Connector) []T {
	var out []T
	for _, p := range c.enabled() {
		if h, ok := p.(T); ok {
			out = append(out, h)
		}
	}
	return out
}

// hookOf returns protocol p's hook T if p is built in and enabled.
func hookOf[T any](c *Connector, p ids.Protocol) (T, bool) {
	var zero T
	proto := c.protocols[p]
	if proto == nil || !c.Config.Enabled(p) {
		return zero, false
	}
	h, ok := proto.(T)
	return h, ok
}

// SetUseDirectMedia is called by bridgev2 (before Start) when the bridge config
// turns direct media on. bridgev2 only serves mxc:// URIs that a connector
// generated from a media ID, so each protocol with the hook switches to direct
// media for its own files while the others keep uploading theirs. If no
// enabled protocol has the hook, Start fails, as bridgev2 itself does for a
// connector without direct media.
func (c *Connector) SetUseDirectMedia() {
	c.directMedia = true
	for _, h := range enabledWith[protocol.DirectMediaProtocol](c) {
		h.SetUseDirectMedia()
	}
}

// checkDirectMedia is the Start-time check described at SetUseDirectMedia.
func (c *Connector) checkDirectMedia() error {
	if !c.directMedia || len(enabledWith[protocol.DirectMediaProtocol](c)) > 0 {
		return nil
	}
	var names []string
	for _, p := range c.enabled() {
		names = append(names, string(p.ID()))
	}
	return fmt.Errorf("direct media is enabled in the bridge config (direct_media.enabled), but none of the enabled protocols %v serves direct media; turn it off", names)
}

// Download serves a direct media request through the protocol whose prefix the
// media ID carries.
func (c *Connector) Download(ctx context.Context, mediaID networkid.MediaID, params map[string]string) (mediaproxy.GetMediaResponse, error) {
	p, native, err := ids.ParseMediaID(mediaID)
	if err != nil {
		return nil, mautrix.MNotFound.WithMessage("Unknown media ID")
	}
	h, ok := hookOf[protocol.DirectMediaProtocol](c, p)
	if !ok {
		return nil, mautrix.MNotFound.WithMessage("%s media is not served directly", p)
	}
	return h.Download(ctx, native, params)
}

// SetMaxFileSize passes the homeserver's upload limit to every protocol that
// wants it.
func (c *Connector) SetMaxFileSize(maxSize int64) {
	for _, h := range enabledWith[protocol.MaxFileSizeProtocol](c) {
		h.SetMaxFileSize(maxSize)
	}
}

// GenerateTransactionID asks the protocol of the room's portal for the
// network-side transaction ID; "" (none) for rooms that are no portal or whose
// protocol has no such IDs.
func (c *Connector) GenerateTransactionID(userID id.UserID, roomID id.RoomID, eventType event.Type) networkid.RawTransactionID {
	if c.Bridge == nil {
		return ""
	}
	base := c.Bridge.BackgroundCtx
	if base == nil {
		base = context.Background()
	}
	ctx, cancel := context.WithTimeout(base, 10*time.Second)
	defer cancel()
	portal, err := c.Bridge.GetPortalByMXID(ctx, roomID)
	if err != nil || portal == nil {
		if err != nil {
			c.Bridge.Log.Warn().Err(err).Stringer("room_id", roomID).Msg("No portal to generate a transaction ID for")
		}
		return ""
	}
	p, err := ids.ProtocolOf(string(portal.ID))
	if err != nil {
		return ""
	}
	h, ok := hookOf[protocol.TransactionIDProtocol](c, p)
	if !ok {
		return ""
	}
	return h.GenerateTransactionID(userID, portal, eventType)
}

// ResetHTTPTransport resets the protocols that have their own transport.
func (c *Connector) ResetHTTPTransport() {
	for _, h := range enabledWith[protocol.NetworkResettingProtocol](c) {
		h.ResetHTTPTransport()
	}
}

// ResetNetworkConnections resets each protocol: the ones with the hook do it
// themselves; for the others every login is reloaded as bridgev2 would do
// (bridgev2 no longer does it for anyone once the connector has the hook).
func (c *Connector) ResetNetworkConnections() {
	manual := map[ids.Protocol]bool{}
	for _, p := range c.enabled() {
		if h, ok := p.(protocol.NetworkResettingProtocol); ok {
			h.ResetNetworkConnections()
		} else {
			manual[p.ID()] = true
		}
	}
	if c.Bridge == nil {
		return
	}
	for _, login := range c.Bridge.GetAllCachedUserLogins() {
		p, err := ids.ProtocolOf(string(login.ID))
		if err != nil || !manual[p] {
			continue
		}
		ctx := login.Log.WithContext(c.Bridge.BackgroundCtx)
		login.Client.Disconnect()
		if err = c.LoadUserLogin(ctx, login); err != nil {
			login.Log.Err(err).Msg("Failed to recreate the client for a network reset")
			continue
		}
		login.Client.Connect(ctx)
	}
}

// ParsePushNotification asks each protocol with push support in turn; the
// first that does not answer protocol.ErrNotThisProtocol parses it.
func (c *Connector) ParsePushNotification(ctx context.Context, data json.RawMessage) (networkid.UserLoginID, any, error) {
	for _, h := range enabledWith[protocol.PushParsingProtocol](c) {
		loginID, extra, err := h.ParsePushNotification(ctx, data)
		if errors.Is(err, protocol.ErrNotThisProtocol) {
			continue
		}
		return loginID, extra, err
	}
	return "", nil, errors.New("no enabled protocol recognises this push notification")
}

// PreSplitPortalMigrate lets each built-in protocol prepare its own tables.
func (c *Connector) PreSplitPortalMigrate(ctx context.Context) error {
	for _, p := range ids.Known {
		if h, ok := c.protocols[p].(protocol.SplitPortalMigratingProtocol); ok {
			if err := h.PreSplitPortalMigrate(ctx); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
		}
	}
	return nil
}
