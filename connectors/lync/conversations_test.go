package lync

import (
	"fmt"
	"testing"
)

func settled(ch chan opResult) (opResult, bool) {
	select {
	case res := <-ch:
		return res, true
	default:
		return opResult{}, false
	}
}

// An Outgoing completion settles its operation by the echoed operation ID,
// else by the href the POST answered, whichever of the POST answer and the
// event comes first; absolute and relative hrefs are the same resource.
func TestOutgoingCompletionCorrelation(t *testing.T) {
	var s convState
	s.init()
	const msg = "/ucwa/oauth/v1/applications/105/communication/conversations/21a1/messaging/messages/2"

	byID := s.addOp("op-id")
	s.mu.Lock()
	s.finishOutgoing("op-id", "/elsewhere", opResult{ok: true})
	s.mu.Unlock()
	if res, ok := settled(byID); !ok || !res.ok {
		t.Fatal("an echoed operation ID did not settle its operation")
	}

	// Event first (with an ID we never sent), then the POST's Location.
	early := s.addOp("op-early")
	s.mu.Lock()
	s.finishOutgoing("5028e824-2268-4b14-9e59-1abad65ff393", msg, opResult{ok: true})
	s.mu.Unlock()
	if _, ok := settled(early); ok {
		t.Fatal("settled before its href was known")
	}
	s.locate("op-early", "https://lyncweb.corp.example"+msg)
	if res, ok := settled(early); !ok || !res.ok {
		t.Fatal("a completion that came before the POST answer was lost")
	}

	// Location first, then a failed completion without an operation ID.
	late := s.addOp("op-late")
	s.locate("op-late", "https://lyncweb.corp.example"+msg+"3")
	s.mu.Lock()
	s.finishOutgoing("", msg+"3", opResult{ok: false})
	s.mu.Unlock()
	if res, ok := settled(late); !ok || res.ok {
		t.Fatalf("failure by href: settled=%v result=%+v", ok, res)
	}
	s.dropOp("op-late")
	if len(s.opsByHref) != 0 {
		t.Fatalf("href index keeps %v after the operations ended", s.opsByHref)
	}

	// Completions nobody claims are bounded.
	s.mu.Lock()
	for i := range maxEarly * 3 {
		s.finishOutgoing("", fmt.Sprintf("%s/%d", msg, i), opResult{ok: true})
	}
	s.mu.Unlock()
	if len(s.early) != maxEarly || len(s.earlyOrder) != maxEarly {
		t.Fatalf("%d unclaimed completions kept (%d in order), want %d", len(s.early), len(s.earlyOrder), maxEarly)
	}
}
