package lync

import (
	"context"

	"github.com/imbridge/imbridge/connectors/lync/ucwa"
)

// rebuildConversations re-learns the conversations of a resumed application
// (the bridge restarted while they stayed open on the server), so replies go
// into them instead of starting new ones.
func (c *Client) rebuildConversations(ctx context.Context) {
	convs, err := c.api.Conversations(ctx)
	if err != nil {
		c.log.Warn().Err(err).Msg("Cannot list active conversations after resuming")
		return
	}
	for i := range convs {
		conv := &convs[i]
		href := conv.Self()
		if href == "" {
			continue
		}
		parts, err := c.api.Participants(ctx, conv)
		if err != nil {
			c.log.Warn().Err(err).Str("conversation", href).Msg("Cannot list participants")
			continue
		}
		var remotes []string
		for i := range parts {
			if p := &parts[i]; !c.isLocalParticipant(p) && p.URI != "" {
				remotes = append(remotes, normalizeSIP(p.URI))
			}
		}
		messaging, err := c.api.Messaging(ctx, conv.Links.Href("messaging"))
		if err != nil {
			continue
		}
		c.conv.mu.Lock()
		lc := c.conv.conv(href)
		lc.threadID = conv.ThreadID
		lc.messaging = messaging
		switch {
		case len(remotes) == 1 && conv.ParticipantCount <= 2:
			lc.remote = remotes[0]
			c.conv.bind(lc, c.dmPortal(remotes[0]))
		case len(remotes) > 1 && conv.ThreadID != "":
			lc.group = true
			c.conv.bind(lc, c.groupPortal(conv.ThreadID))
		}
		if messaging.State == "Connected" {
			lc.markConnected()
		}
		c.conv.mu.Unlock()
	}
}

// isLocalParticipant tells the user's own participant from the others.
// Servers mark it differently: "local": true (the reference), only a "me"
// link (the real server of seed 002), or neither, leaving the SIP address.
func (c *Client) isLocalParticipant(p *ucwa.Participant) bool {
	return p.Local || p.Links.Has("me") || (p.URI != "" && normalizeSIP(p.URI) == normalizeSIP(c.meta.SIP))
}
