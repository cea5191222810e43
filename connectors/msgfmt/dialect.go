package msgfmt

import (
	"context"
	"time"

	"maunium.net/go/mautrix/id"
)

// Dialect is the markup a remote network speaks. Each connector converts
// with its own dialect, one call each way: ToMatrix for what arrives,
// FromMatrix for what it sends.
type Dialect int

const (
	// Lync is Skype for Business (UCWA): plain HTML with inline styles, no
	// mention or quote markup; messages carry a plain part beside the HTML.
	Lync Dialect = iota + 1
	// Teams is the Teams chat service's RichText/Html: HTML with Mention
	// spans (resolved through properties.mentions), Emoji images and Reply
	// blockquotes.
	Teams
	// Skype is the Skype web chat's RichText: text with literal line breaks
	// and a few tags (<b>, <i>, <s>, <pre>, <a>, <font>), <at id> mentions,
	// <ss> emoticons and <quote> blocks.
	Skype
)

func (d Dialect) String() string {
	switch d {
	case Lync:
		return "lync"
	case Teams:
		return "teams"
	case Skype:
		return "skype"
	}
	return "unknown"
}

// Remote is a message body as a remote network delivered it.
type Remote struct {
	// Content is the message's content field: HTML for RichText and
	// RichText/Html, text for Text.
	Content string
	// Plain says Content is plain text (messagetype Text, or a Lync plain
	// part): no markup, though Skype may still escape entities in it.
	Plain bool
	// Mentions is the Teams properties.mentions list (decoded), which the
	// content's Mention spans point into by itemid. Skype and Lync: nil.
	Mentions []RemoteMention
	// EmoteOffset is Skype's skypeemoteoffset: the content is a /me
	// message whose first EmoteOffset characters are the sender's name.
	EmoteOffset int
}

// RemoteMention is one mentioned person: an entry of Teams'
// properties.mentions, or a Skype <at> tag.
type RemoteMention struct {
	// ItemID links a Teams Mention span (itemid attribute) to this entry.
	// The spans are numbered in order from 0 when sending; on receipt the
	// number, not the position in the list, decides who is meant.
	ItemID int
	// UserID is the remote user: an MRI such as 8:orgid:<guid> or 8:live:x.
	UserID string
	// DisplayName is the name the mention shows.
	DisplayName string
	// MentionType is Teams' mentionType ("person" when sending).
	MentionType string
}

// MentionResolver maps a remote user to the Matrix user that stands for them.
type MentionResolver interface {
	// MatrixUser returns the Matrix user for a remote user ID (an MRI): the
	// user's ghost, or a bridge user's own Matrix ID for their own account,
	// and the name to show when the message gives none. ok is false when
	// the ID is not one the bridge can stand for; the mention then stays
	// text.
	MatrixUser(ctx context.Context, remoteID string) (userID id.UserID, name string, ok bool)
}

// MentionFormatter maps a mentioned Matrix user to the remote user.
type MentionFormatter interface {
	// RemoteUser returns the remote user ID (an MRI) and the name to show
	// for a Matrix user a message mentions: a ghost's remote user, or the
	// remote account of a logged-in bridge user. ok is false for anyone
	// else; the mention is then sent as their name in plain text.
	RemoteUser(ctx context.Context, userID id.UserID) (remoteID, name string, ok bool)
}

// ResolverFunc adapts a function to MentionResolver.
type ResolverFunc func(ctx context.Context, remoteID string) (id.UserID, string, bool)

// MatrixUser calls f.
func (f ResolverFunc) MatrixUser(ctx context.Context, remoteID string) (id.UserID, string, bool) {
	return f(ctx, remoteID)
}

// FormatterFunc adapts a function to MentionFormatter.
type FormatterFunc func(ctx context.Context, userID id.UserID) (string, string, bool)

// RemoteUser calls f.
func (f FormatterFunc) RemoteUser(ctx context.Context, userID id.UserID) (string, string, bool) {
	return f(ctx, userID)
}

// Quote is the message a reply quotes: found in a remote message (ToMatrix)
// or written into one (FromMatrix).
type Quote struct {
	// MessageID is the quoted message's remote ID (Teams' itemid, Skype's
	// messageid attribute); received quotes may name none.
	MessageID string
	// AuthorID is the quoted author's MRI (Skype's bare author name gets
	// the 8: prefix).
	AuthorID   string
	AuthorName string
	// Text is the quoted text, plain.
	Text string
	// Time is when the quoted message was sent, when the markup says.
	Time time.Time
	// Conversation is the Skype quote's conversation attribute: the chat
	// ID, with the 8: prefix left off for one-to-one chats.
	Conversation string
}
