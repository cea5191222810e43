package skype

import (
	"testing"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/database"

	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// A group whose member list leaves the user out still has them as a member
// of the new room: otherwise bridgev2 creates it without inviting them and
// its first encrypted messages reach none of their devices.
func TestGroupInfoAlwaysHasTheUser(t *testing.T) {
	c := &Client{meta: &LoginMetadata{UserID: "carol"}}
	c.Login = &bridgev2.UserLogin{UserLogin: &database.UserLogin{ID: "skype:carol"}}
	th := &chatsvc.Thread{ID: "19:g@thread.skype", Members: []chatsvc.Member{{ID: "8:bob"}, {ID: "8:dave"}}}
	info := c.threadInfo(th)
	self := c.sender(c.selfMRI())
	m, ok := info.Members.MemberMap[self.Sender]
	if !ok || !m.IsFromMe {
		t.Fatalf("the user is not a member of the group room: %+v", info.Members.MemberMap)
	}
	if len(info.Members.MemberMap) != 3 {
		t.Fatalf("members = %d, want bob, dave and the user", len(info.Members.MemberMap))
	}
}
