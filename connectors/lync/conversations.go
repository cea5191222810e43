package lync

import (
	"net/url"
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
	// opsByHref finds an operation by the Location its POST answered (the
	// invitation or message href), for servers that echo no operation ID
	// or one we never sent (lync-ucwa.md §6.2 names two parameters for it).
	opsByHref map[string]string
	// early holds completions that matched no operation, by href: the
	// event channel can report a message before its POST's answer is read.
	early      map[string]opResult
	earlyOrder []string
}

// maxEarly bounds the completions kept for operations not known yet; the
// oldest go first (they belong to operations nobody waits for any more).
const maxEarly = 64

func (s *convState) init() {
	s.byHref = map[string]*liveConv{}
	s.byPortal = map[networkid.PortalID]*liveConv{}
	s.participants = map[string]string{}
	s.names = map[string]string{}
	s.ops = map[string]chan opResult{}
	s.opsByHref = map[string]string{}
	s.early = map[string]opResult{}
	s.earlyOrder = nil
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
	s.opsByHref = map[string]string{}
	s.early = map[string]opResult{}
	s.earlyOrder = nil
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
	for href, op := range s.opsByHref {
		if op == id {
			delete(s.opsByHref, href)
		}
	}
}

// locate records the href the POST of operation id answered (its
// Location), and settles the operation if its completion came first.
func (s *convState) locate(id, href string) {
	if href == "" {
		return
	}
	key := hrefKey(href)
	s.mu.Lock()
	defer s.mu.Unlock()
	if res, ok := s.early[key]; ok {
		delete(s.early, key)
		s.finishOp(id, res)
		return
	}
	if _, waiting := s.ops[id]; waiting {
		s.opsByHref[key] = id
	}
}

// finishOp reports an operation's outcome; callers hold mu.
func (s *convState) finishOp(id string, res opResult) {
	if ch, ok := s.ops[id]; ok {
		ch <- res
		delete(s.ops, id)
	}
}

// finishOutgoing settles the operation an Outgoing completion reports: by
// the operation ID the server echoed, else by the completed resource's
// href. A completion matching neither is kept a while, for a POST whose
// answer is still on its way. Callers hold mu.
func (s *convState) finishOutgoing(opID, href string, res opResult) {
	if _, ok := s.ops[opID]; ok && opID != "" {
		s.finishOp(opID, res)
		return
	}
	if href == "" {
		return
	}
	key := hrefKey(href)
	if id, ok := s.opsByHref[key]; ok {
		delete(s.opsByHref, key)
		s.finishOp(id, res)
		return
	}
	if _, dup := s.early[key]; !dup {
		s.earlyOrder = append(s.earlyOrder, key)
	}
	s.early[key] = res
	for len(s.earlyOrder) > maxEarly {
		delete(s.early, s.earlyOrder[0])
		s.earlyOrder = s.earlyOrder[1:]
	}
}

// hrefKey compares hrefs the server wrote absolute in one place (a
// Location) and relative in another (an event link): path and query only.
func hrefKey(href string) string {
	u, err := url.Parse(href)
	if err != nil || u.Path == "" {
		return href
	}
	u.Scheme, u.Host, u.User, u.Fragment = "", "", nil, ""
	return u.String()
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
