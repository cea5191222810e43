package teams

import (
	"encoding/json"
	"testing"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/connectors/chatsvc"
)

const selfMRI = "8:orgid:00000000-0000-0000-0000-0000000000aa"

// infoClient is a Client with just enough state for the chat-info mapping.
func infoClient() *Client {
	c := &Client{meta: &LoginMetadata{MRI: selfMRI}, log: zerolog.Nop()}
	c.Login = &bridgev2.UserLogin{UserLogin: &database.UserLogin{ID: "teams:login"}}
	return c
}

func thread(t *testing.T, raw string) *chatsvc.Thread {
	t.Helper()
	var th chatsvc.Thread
	if err := json.Unmarshal([]byte(raw), &th); err != nil {
		t.Fatalf("thread fixture: %v", err)
	}
	return &th
}

// A group, meeting or channel thread whose member list leaves the user out
// still creates its room with the user in it: bridgev2 invites only the
// listed members, and the room's first encrypted messages would otherwise
// reach none of the user's devices.
func TestNewRoomAlwaysHasTheUserAmongItsMembers(t *testing.T) {
	c := infoClient()
	for name, raw := range map[string]string{
		"group":   `{"id":"19:g@thread.v2","members":[{"id":"8:orgid:b","role":"Admin"},{"id":"8:orgid:c","role":"User"}],"properties":{"threadType":"chat","topic":"Plans"}}`,
		"meeting": `{"id":"19:meeting_abc@thread.v2","members":[{"id":"8:orgid:b","role":"Admin"}],"properties":{"threadType":"meeting","topic":"Sync"}}`,
		"channel": `{"id":"19:ch@thread.tacv2","members":[{"id":"8:orgid:b"}],"properties":{"threadType":"topic","topic":"Design","spaceId":"19:team@thread.tacv2"}}`,
		"no list": `{"id":"19:g@thread.v2","properties":{"threadType":"chat","topic":"Plans"}}`,
	} {
		info := c.threadInfo(thread(t, raw))
		me, ok := info.Members.MemberMap[c.selfGhost()]
		if !ok || !me.IsFromMe || me.Membership != event.MembershipJoin {
			t.Errorf("%s: the user is not a joined member of the new room: %+v", name, info.Members.MemberMap)
		}
		if info.Members.IsFull {
			t.Errorf("%s: a member list without the user is taken as the full roster (a resync would kick by it)", name)
		}
	}
}

// Only an authoritative member list is full: one that names the user and
// is as long as the thread's member count. A thread read without members or
// with a roster cut short never lets bridgev2 remove everyone else.
func TestChatInfoIsFullOnlyForAnAuthoritativeMemberList(t *testing.T) {
	c := infoClient()
	cases := []struct {
		name string
		raw  string
		full bool
	}{
		{"whole roster", `{"id":"19:g@thread.v2","members":[{"id":"` + selfMRI + `","role":"Admin"},{"id":"8:orgid:b"}],"properties":{"threadType":"chat","membercount":"2"}}`, true},
		{"whole roster, no count", `{"id":"19:g@thread.v2","members":[{"id":"` + selfMRI + `"},{"id":"8:orgid:b"},{"id":"28:bot"}],"properties":{"threadType":"chat"}}`, true},
		{"roster cut short", `{"id":"19:g@thread.v2","members":[{"id":"` + selfMRI + `"},{"id":"8:orgid:b"}],"properties":{"threadType":"chat","membercount":"250"}}`, false},
		{"members missing", `{"id":"19:g@thread.v2","properties":{"threadType":"chat","membercount":"3"}}`, false},
		{"members empty", `{"id":"19:g@thread.v2","members":[],"properties":{"threadType":"chat"}}`, false},
		{"user left out", `{"id":"19:g@thread.v2","members":[{"id":"8:orgid:b"},{"id":"8:orgid:c"}],"properties":{"threadType":"chat","membercount":"2"}}`, false},
	}
	for _, tc := range cases {
		info := c.threadInfo(thread(t, tc.raw))
		if info.Members.IsFull != tc.full {
			t.Errorf("%s: IsFull = %v, want %v", tc.name, info.Members.IsFull, tc.full)
		}
		if _, ok := info.Members.MemberMap[c.selfGhost()]; !ok {
			t.Errorf("%s: the user is missing from the members", tc.name)
		}
	}
	// The same rule holds for a team's space, read from its root thread.
	members, _ := c.threadMembers(thread(t, `{"id":"19:team@thread.tacv2","members":[{"id":"8:orgid:b"}],"properties":{"threadType":"space","membercount":"40"}}`))
	if members.IsFull {
		t.Error("a team root thread with a partial roster makes the space's member list full")
	}
}

// A 1:1 thread read whole is a DM with the other person and the user, full.
func TestOneToOneThreadIsAFullDM(t *testing.T) {
	c := infoClient()
	info := c.threadInfo(thread(t, `{"id":"19:uni01_x@thread.v2","members":[{"id":"`+selfMRI+`"},{"id":"8:live:bob"}],"properties":{"threadType":"chat","uniquerosterthread":"true","membercount":"2"}}`))
	if info.Type == nil || *info.Type != database.RoomTypeDM || !info.Members.IsFull || len(info.Members.MemberMap) != 2 {
		t.Fatalf("1:1 thread: %+v %+v", info.Type, info.Members)
	}
}
