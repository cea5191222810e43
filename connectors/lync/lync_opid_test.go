package lync

import (
	"testing"
	"time"

	"github.com/imbridge/imbridge/connectors/lync/ucwaemu"
)

// lync-ucwa.md §6.2: the reference names the sendMessage correlation
// parameter operationId, the worked example OperationContext; a server
// reads one of them. Replays of recorded traffic echo operation IDs the
// bridge never sent. Either way a delivered message must be reported
// delivered: the bridge also correlates by the Location the POST answered.
func TestDeliveryConfirmedWhateverTheServerEchoes(t *testing.T) {
	for name, opts := range map[string]func(*ucwaemu.Options){
		"reads operationId":      func(o *ucwaemu.Options) { o.OperationIDParam = "operationId" },
		"reads OperationContext": func(o *ucwaemu.Options) { o.OperationIDParam = "OperationContext" },
		"echoes no operation ID": func(o *ucwaemu.Options) { o.OperationIDEcho = "none" },
		"echoes a foreign ID":    func(o *ucwaemu.Options) { o.OperationIDEcho = "foreign" },
		"foreign, nothing embedded": func(o *ucwaemu.Options) {
			o.OperationIDEcho = "foreign"
			nothingEmbedded(o)
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, withEmu(opts))
			e.conn.DeliveryTimeout = 5 * time.Second
			e.login()
			// A reply in a conversation bob started (sendMessage).
			_, room := e.startDM("hello")
			if st := e.status(e.sendMatrix(room, "reply")); !isSuccess(st) {
				t.Fatalf("reply status %+v", st)
			}
			// A chat alice starts (startMessaging), then a message in it.
			e.h.CommandExpect(alice, "start-chat "+string(aliceLID)+" "+carolSIP, "Created a chat")
			carolRoom := e.dmRoom(carolSIP)
			for _, text := range []string{"hi carol", "second"} {
				if st := e.status(e.sendMatrix(carolRoom, text)); !isSuccess(st) {
					t.Fatalf("status of %q: %+v", text, st)
				}
			}
			if got := e.received(bobSIP, 1); got[0].Text != "reply" {
				t.Fatalf("bob received %+v", got)
			}
			if got := e.received(carolSIP, 2); got[0].Text != "hi carol" || got[1].Text != "second" {
				t.Fatalf("carol received %+v", got)
			}
		})
	}
}
