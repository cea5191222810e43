package lync

import (
	"sync"

	"maunium.net/go/mautrix/bridgev2/networkid"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/lync/ucwa"
)

// liveConv is a UCWA conversation of the current application. It lives only
// as long as the conversation: its href dies when it ends, while the portal
// (keyed by the colleague's SIP address, or a group's threadId) stays.
type liveConv struct {
	href      string
	threadID  string
	remote    string // the colleague's SIP address in a 1:1 conversation
	group     bool
	portal    networkid.PortalKey
	messaging *ucwa.Messaging
	connected chan struct{} // closed once messaging is Connected
	ended     bool
	joiningIM bool          // addMessaging sent for a conference
	first     *firstMessage // the invitation's message (see firstmessage.go)
}

func (lc *liveConv) isConnected() bool {
	select {
	case <-lc.connected:
		return !lc.ended && lc.messaging != nil && lc.messaging.State == "Connected"
	default:
		return false
	}
}

// markConnected releases everyone waiting for the conversation; callers hold
// convState.mu, which makes the check-and-close safe.
func (lc *liveConv) markConnected() {
	select {
	case <-lc.connected:
	default:
		close(lc.connected)
	}
}

// opResult is how an outgoing operation (an invitation or a message) ended.
type opResult struct {
	ok      bool
	reason  *ucwa.ErrorInfo
	convRef string
}

// convState tracks live conversations, participants and pending operations.
type convState struct {
	mu           sync.Mutex
	byHref       map[string]*liveConv
	byPortal     map[networkid.PortalID]*liveConv
	participants map[string]string // participant href → SIP address
	names        map[string]string // SIP address → display name
	ops          map[string]chan opResult
}

func (s *convState) init() {
	s.byHref = map[string]*liveConv{}
	s.byPortal = map[networkid.PortalID]*liveConv{}
	s.participants = map[string]string{}
	s.names = map[string]string{}
	s.ops = map[string]chan opResult{}
}

// reset forgets every conversation: the server closed them (resync, resume
// or a new application). Pending operations fail.
func (s *convState) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, lc := range s.byHref {
		lc.ended = true
	}
	for op, ch := range s.ops {
		select {
		case ch <- opResult{reason: &ucwa.ErrorInfo{Code: "SessionReset", Message: "the Skype for Business session was reset"}}:
		default:
		}
		delete(s.ops, op)
	}
	s.byHref = map[string]*liveConv{}
	s.byPortal = map[networkid.PortalID]*liveConv{}
	s.participants = map[string]string{}
}

// conv returns the live conversation at href, creating it.
func (s *convState) conv(href string) *liveConv {
	lc := s.byHref[href]
	if lc == nil {
		lc = &liveConv{href: href, connected: make(chan struct{})}
		s.byHref[href] = lc
	}
	return lc
}

// bind ties a live conversation to its portal.
func (s *convState) bind(lc *liveConv, key networkid.PortalKey) {
	lc.portal = key
	s.byPortal[key.ID] = lc
}

// isLive reports, under the lock, whether lc can carry a message now.
func (s *convState) isLive(lc *liveConv) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return lc.isConnected()
}

func (s *convState) forPortal(id networkid.PortalID) *liveConv {
	s.mu.Lock()
	defer s.mu.Unlock()
	lc := s.byPortal[id]
	if lc == nil || lc.ended {
		return nil
	}
	return lc
}

func (s *convState) addOp(id string) chan opResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan opResult, 1)
	s.ops[id] = ch
	return ch
}

func (s *convState) dropOp(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.ops, id)
}

// finishOp reports an operation's outcome; callers hold mu.
func (s *convState) finishOp(id string, res opResult) {
	if ch, ok := s.ops[id]; ok {
		ch <- res
		delete(s.ops, id)
	}
}

func (s *convState) nameOf(sip string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.names[sip]
}

// dmPortal is the portal of the 1:1 chat with a colleague: the same room
// across conversations, invitations and restarts.
func (c *Client) dmPortal(sip string) networkid.PortalKey {
	return networkid.PortalKey{ID: ids.PortalID(ids.Lync, normalizeSIP(sip)), Receiver: c.Login.ID}
}

const groupPrefix = "thread:"

// groupPortal is the portal of a multi-party conversation, keyed by its
// threadId (which, unlike a SIP address, never contains "@").
func (c *Client) groupPortal(threadID string) networkid.PortalKey {
	return networkid.PortalKey{ID: ids.PortalID(ids.Lync, groupPrefix+threadID), Receiver: c.Login.ID}
}
