package lync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/connectors/bridgekit"
	"github.com/imbridge/imbridge/connectors/msgfmt"
)

// Skype for Business IM has no edits, deletions, reactions, files or
// locations. Element does not show com.beeper.room_features, so whatever
// cannot travel as it is gets a visible notice in the room saying what
// happened, instead of vanishing with only a log line:
//   - an edit goes out as a new IM marked as a correction,
//   - a deletion or a reaction stays on the Matrix side, with a notice,
//   - files, images and locations go out as text (a link or a description),
//     with a notice saying so,
//   - whitespace-only messages are not sent, with a notice,
//   - m.notice messages are not sent either: notices are bot output, which
//     Skype for Business users would take for the Matrix user's own words.
//     The notice in reply says so. (bridgev2 drops m.notice before the
//     connector sees it, silently, unless bridge.bridge_notices is on, so
//     imbridge's example config turns it on. bridgev2 ignores events from
//     its own bot and ghosts, so these notices cannot loop.)

var (
	_ bridgev2.EditHandlingNetworkAPI      = (*Client)(nil)
	_ bridgev2.RedactionHandlingNetworkAPI = (*Client)(nil)
	_ bridgev2.ReactionHandlingNetworkAPI  = (*Client)(nil)
)

// correctionPrefix marks an edit sent as a new IM, as Lync users write
// corrections by hand.
const correctionPrefix = "Correction: "

// roomNotice posts a notice from the bridge bot into the portal room.
func (c *Client) roomNotice(ctx context.Context, portal *bridgev2.Portal, text string) {
	bridgekit.RoomNotice(ctx, c.conn.Env.Bridge, portal, &c.log, text)
}

// refuseNotice answers an m.notice with a notice of the bot's, in reply
// to it, and returns the failure status for it. bridgev2 itself never posts
// an error notice about an m.notice, so this is the only visible word.
func (c *Client) refuseNotice(ctx context.Context, portal *bridgev2.Portal, evt *event.Event) error {
	c.log.Warn().Stringer("event_id", evt.ID).Stringer("sender", evt.Sender).
		Msg("Not sending an m.notice to Skype for Business")
	if portal != nil && portal.MXID != "" {
		// A reply, so it is clear which notice; no mention (no ping).
		content := &event.MessageEventContent{
			MsgType:   event.MsgNotice,
			Body:      noticeRefusal,
			RelatesTo: (&event.RelatesTo{}).SetReplyTo(evt.ID),
			Mentions:  &event.Mentions{},
		}
		if _, err := c.conn.Env.Bridge.Bot.SendMessage(ctx, portal.MXID, event.EventMessage, &event.Content{Parsed: content}, nil); err != nil {
			c.log.Err(err).Msg("Failed to post a notice in a portal room")
		}
	}
	return bridgev2.WrapErrorInStatus(errors.New("m.notice messages are not sent to Skype for Business")).
		WithErrorReason(event.MessageStatusUnsupported).WithIsCertain(true).WithSendNotice(false).
		WithMessage(noticeRefusal)
}

// noticeRefusal is what the room is told about an m.notice.
const noticeRefusal = "This notice was not sent to Skype for Business: notices (m.notice) are bot output and stay on the Matrix side."

// HandleMatrixEdit sends the edited text as a new IM marked as a
// correction, through the same ordered queue as messages.
func (c *Client) HandleMatrixEdit(ctx context.Context, msg *bridgev2.MatrixEdit) error {
	if err := c.CheckPortal(msg.Portal); err != nil {
		return err
	}
	if msg.Content.MsgType == event.MsgNotice {
		return c.refuseNotice(ctx, msg.Portal, msg.Event)
	}
	text := strings.TrimSpace(msg.Content.Body)
	if text == "" {
		return bridgev2.WrapErrorInStatus(errors.New("empty edit")).WithErrorReason(event.MessageStatusUnsupported).WithIsCertain(true)
	}
	html := ""
	if msg.Content.Format == event.FormatHTML && msg.Content.FormattedBody != "" {
		html = correctionPrefix + msgfmt.SanitizeHTML(msg.Content.FormattedBody)
	}
	portal := msg.Portal
	c.push(&outgoing{
		portal: portal, evt: msg.Event, txnID: networkid.TransactionID(newGUID()),
		text: correctionPrefix + text, html: html, queued: time.Now(),
		done: func(_ string, err error) {
			if err != nil {
				c.log.Warn().Err(err).Stringer("event_id", msg.Event.ID).Msg("Correction not delivered")
				c.roomNotice(context.Background(), portal, "Your edit could not be sent to Skype for Business as a correction: "+statusMessage(err))
			}
		},
	})
	return nil
}

// HandleMatrixMessageRemove leaves the message in the Skype for Business
// chat, which cannot delete messages, and says so in the room.
func (c *Client) HandleMatrixMessageRemove(ctx context.Context, msg *bridgev2.MatrixMessageRemove) error {
	if err := c.CheckPortal(msg.Portal); err != nil {
		return err
	}
	c.roomNotice(ctx, msg.Portal, "Skype for Business cannot delete messages: the message you removed here is still shown in the Skype for Business chat.")
	return bridgev2.ErrRedactionsNotSupported
}

// PreHandleMatrixReaction refuses reactions, which Skype for Business chats
// cannot carry, with a notice in the room.
func (c *Client) PreHandleMatrixReaction(ctx context.Context, msg *bridgev2.MatrixReaction) (bridgev2.MatrixReactionPreResponse, error) {
	c.roomNotice(ctx, msg.Portal, fmt.Sprintf("Skype for Business chats have no reactions: your %s was not sent.", reactionKey(msg)))
	return bridgev2.MatrixReactionPreResponse{}, bridgev2.ErrReactionsNotSupported
}

func (c *Client) HandleMatrixReaction(ctx context.Context, msg *bridgev2.MatrixReaction) (*database.Reaction, error) {
	return nil, bridgev2.ErrReactionsNotSupported
}

func (c *Client) HandleMatrixReactionRemove(ctx context.Context, msg *bridgev2.MatrixReactionRemove) error {
	return bridgev2.ErrReactionsNotSupported
}

func reactionKey(msg *bridgev2.MatrixReaction) string {
	if msg.Content != nil && msg.Content.RelatesTo.Key != "" {
		return "reaction " + msg.Content.RelatesTo.Key
	}
	return "reaction"
}

// statusMessage is the user-facing part of a delivery error.
func statusMessage(err error) string {
	var st bridgev2.MessageStatus
	if errors.As(err, &st) && st.Message != "" {
		return st.Message
	}
	return "it was not delivered"
}
