package ucwaemu

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
)

// seed002Events holds the event batches (sender arrays only) a real
// Skype for Business server sent a UCWA client: makeMeAvailable's
// effects, an incoming invitation from "Sandeep Shantharam (EXTERNAL)"
// with "Hello.. This is Sandeep Here..", the participant, the invitation
// completing with Failure/Declined, and the conversation's teardown.
//
//go:embed seed002_events.json
var seed002Events string

// Identifiers of the capture, rewritten on replay.
const (
	seedAppID    = "10502278016"
	seedUserAddr = "karl.gutwin@biogen.com"
	seedUserName = "Karl Gutwin"
	seedGUID     = "bfe92194-aed3-49d0-9f1b-8d916b8fe6db"
	// SeedPeerSIP and SeedPeerName identify the captured sender.
	SeedPeerSIP  = "sip:sandeep.shantharam@biogen.com"
	SeedPeerName = "Sandeep Shantharam (EXTERNAL)"
	// SeedFirstMessage is the captured first message, decoded.
	SeedFirstMessage = "Hello.. This is Sandeep Here.."
	// SeedBatches is the number of batches ReplaySeed002 queues.
	SeedBatches = 5
)

// ReplaySeed002 queues the captured event sequence into the application's
// event channel, one batch per captured response, with hrefs rewritten to
// this application and the captured local user replaced by the
// application's user. The captured sender is added to the directory (no
// password) so its contact and presence links resolve.
func (e *Emulator) ReplaySeed002(appID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.apps[appID]
	if !ok || a.deleted {
		return fmt.Errorf("ucwaemu: replay: no application %q", appID)
	}
	peerAddr, _ := normalizeAddr(SeedPeerSIP)
	if _, exists := e.users[peerAddr]; !exists {
		photo, err := defaultPhoto(peerAddr)
		if err != nil {
			return fmt.Errorf("ucwaemu: replay: %w", err)
		}
		e.users[peerAddr] = &user{addr: peerAddr, name: SeedPeerName, photo: photo, photoType: "image/png", available: "Online"}
	}
	text := strings.NewReplacer(
		"/applications/"+seedAppID+"/", "/applications/"+a.id+"/",
		seedUserAddr, a.user.addr,
		seedUserName, a.user.name,
		seedGUID, a.guid,
	).Replace(seed002Events)
	var batches []struct {
		Sender []struct {
			Rel    string `json:"rel"`
			Href   string `json:"href"`
			Events []obj  `json:"events"`
		} `json:"sender"`
	}
	if err := json.Unmarshal([]byte(text), &batches); err != nil {
		return fmt.Errorf("ucwaemu: replay: embedded capture: %w", err)
	}
	for _, b := range batches {
		var items []item
		for _, s := range b.Sender {
			for _, ev := range s.Events {
				items = append(items, item{s.Rel, s.Href, ev})
			}
		}
		e.emit(a, true, items...)
	}
	return nil
}
