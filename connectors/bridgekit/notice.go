package bridgekit

import (
	"context"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/event"
)

// Notice tells a login's user something in their management room, as
// "network (account): text". A context that has ended (a session stopping)
// does not keep the notice from being sent.
func Notice(ctx context.Context, br *bridgev2.Bridge, login *bridgev2.UserLogin, log *zerolog.Logger, network, account, text string) {
	if ctx == nil || ctx.Err() != nil {
		ctx = context.Background()
	}
	roomID, err := login.User.GetManagementRoom(ctx)
	if err != nil {
		log.Err(err).Msg("No management room for a notice")
		return
	}
	_, err = br.Bot.SendMessage(ctx, roomID, event.EventMessage, &event.Content{
		Parsed: &event.MessageEventContent{MsgType: event.MsgNotice, Body: network + " (" + account + "): " + text},
	}, nil)
	if err != nil {
		log.Err(err).Msg("Failed to send a notice")
	}
}

// RoomNotice posts a notice from the bridge bot into a portal room (what a
// protocol cannot carry, a send that failed late); a portal without a room
// gets none. It mentions nobody.
func RoomNotice(ctx context.Context, br *bridgev2.Bridge, portal *bridgev2.Portal, log *zerolog.Logger, text string) {
	if portal == nil || portal.MXID == "" {
		return
	}
	_, err := br.Bot.SendMessage(ctx, portal.MXID, event.EventMessage, &event.Content{
		Parsed: &event.MessageEventContent{MsgType: event.MsgNotice, Body: text, Mentions: &event.Mentions{}},
	}, nil)
	if err != nil {
		log.Err(err).Msg("Failed to post a notice in a portal room")
	}
}
