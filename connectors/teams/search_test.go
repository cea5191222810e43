package teams

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/imbridge/imbridge/connectors/teams/teamsapi"
	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
)

// TestSearchFindsDirectoryColleagues: `search` finds a colleague of the
// tenant the bridge never met (not the user, not another organisation's
// people), names their ghost, and `start-chat` with the result opens a
// working DM. With the directory switched off, search still finds the
// people the bridge has met, and only those.
func TestSearchFindsDirectoryColleagues(t *testing.T) {
	e := newEnv(t)
	alina := e.emu.AddUser("alina.ortiz@contoso.com", "Alina Ortiz")
	e.emu.AddUserInTenant("alistair@fabrikam.example", "Alistair Other", "0a0a0a0a-1111-2222-3333-444444444444")
	e.login(e.me)
	lid := string(e.loginID(e.me))

	found := e.h.Command(alice, "search "+lid+" ali")
	if !strings.Contains(found, "Alina Ortiz") || !strings.Contains(found, alina.MRI) {
		t.Fatalf("search ali found %q, want Alina Ortiz from the directory", found)
	}
	if strings.Contains(found, "Alice Adams") || strings.Contains(found, "* `"+string(ghostID(e.me.MRI))) {
		t.Fatalf("search ali lists the user themself: %q", found)
	}
	if strings.Contains(found, "Alistair") {
		t.Fatalf("search ali lists another organisation's person: %q", found)
	}
	if reqs := e.emu.Requests("/beta/users/searchV2"); len(reqs) != 1 || reqs[0].Status != http.StatusOK || reqs[0].Body != `"ali"` {
		t.Fatalf("directory requests %+v", reqs)
	}
	// The search named the ghost and gave it the address, as GetUserInfo does.
	e.h.WaitFor("alina's ghost to be named by the search", func() bool {
		p := e.h.Matrix.Profile(e.ghost(alina))
		return p != nil && p.DisplayName == "Alina Ortiz"
	})
	ghost, err := e.h.Bridge.GetExistingGhostByID(e.h.Ctx, ghostID(alina.MRI))
	if err != nil || ghost == nil {
		t.Fatalf("alina's ghost: %v", err)
	}
	if gm, err := ghostMeta.Get(ghost.Metadata); err != nil || gm.Email != "alina.ortiz@contoso.com" || gm.Name != "Alina Ortiz" {
		t.Fatalf("alina's ghost metadata %+v, %v", gm, err)
	}
	if ghost.AvatarSet {
		t.Fatal("the search marked alina's avatar looked up: her picture would never be fetched")
	}

	e.h.Command(alice, "start-chat "+lid+" teams:"+alina.MRI)
	dm, ok := teamsapi.OneOnOneID(e.me.MRI, alina.MRI)
	if !ok {
		t.Fatal("no derived 1:1 id")
	}
	room := e.room(e.me, dm)
	if st := e.status(e.h.SendText(room, alice, "hi alina")); !isSuccess(st) {
		t.Fatalf("send status %+v", st)
	}
	if m := e.sentBy(e.me, 1)[0]; m.Conversation != dm || !strings.Contains(m.Content, "hi alina") {
		t.Fatalf("sent %+v, want into %s", m, dm)
	}

	// Without the directory: Carol, never met, is not found; Alina, met, is.
	e.emu.SetDirectorySearch(false)
	if found := e.h.Command(alice, "search "+lid+" clark"); strings.Contains(found, "Carol Clark") {
		t.Fatalf("with the directory off, search found %q: carol was never met", found)
	}
	if found := e.h.Command(alice, "search "+lid+" ORTIZ"); !strings.Contains(found, "Alina Ortiz") {
		t.Fatalf("with the directory off, search found %q, want the met Alina Ortiz", found)
	}
	// By address among the met people: the ghost's identifiers.
	if found := e.h.Command(alice, "search "+lid+" ortiz@contoso"); !strings.Contains(found, "Alina Ortiz") {
		t.Fatalf("with the directory off, search by address found %q", found)
	}
	var unavailable int
	for _, r := range e.emu.Requests("/beta/users/searchV2") {
		if r.Status == http.StatusNotFound {
			unavailable++
		}
	}
	if unavailable != 3 {
		t.Fatalf("%d searches met the switched-off directory, want 3", unavailable)
	}
}

// TestStartChatByEmailAddress: an address typed into start-chat is looked
// up in the middle tier (work: the address lookup; Teams free: the address
// search), and an unknown one says nobody was found.
func TestStartChatByEmailAddress(t *testing.T) {
	t.Run("work", func(t *testing.T) {
		e := newEnv(t)
		e.login(e.me)
		lid := string(e.loginID(e.me))
		e.h.Command(alice, "start-chat "+lid+" teams:Carol@Contoso.com")
		dm, _ := teamsapi.OneOnOneID(e.me.MRI, e.carol.MRI)
		room := e.room(e.me, dm)
		if st := e.status(e.h.SendText(room, alice, "hi carol")); !isSuccess(st) {
			t.Fatalf("send status %+v", st)
		}
		if reqs := e.emu.Requests("/mt/beta/users/Carol@Contoso.com"); len(reqs) == 0 || !strings.Contains(reqs[0].Query, "isMailAddress=true") {
			t.Fatalf("address lookups %+v", reqs)
		}
		if found := e.h.Command(alice, "search "+lid+" carol@contoso.com"); !strings.Contains(found, "Carol Clark") {
			t.Fatalf("search by address found %q", found)
		}
		if reply := e.h.Command(alice, "resolve-identifier "+lid+" teams:nobody@contoso.com"); strings.Contains(strings.ReplaceAll(reply, lid, ""), "8:orgid:") {
			t.Fatalf("an unknown address resolved: %q", reply)
		}
	})
	t.Run("free", func(t *testing.T) {
		e := newEnv(t)
		e.login(e.free)
		lid := string(e.loginID(e.free))
		if found := e.h.Command(alice, "search "+lid+" frank@outlook.com"); !strings.Contains(found, "Frank Friend") || !strings.Contains(found, e.frank.MRI) {
			t.Fatalf("Teams free search by address found %q", found)
		}
		// Teams free has no search by name, and Frank's ghost came only
		// from the address search above: by name the met people answer.
		if found := e.h.Command(alice, "search "+lid+" friend"); !strings.Contains(found, "Frank Friend") {
			t.Fatalf("Teams free search by name found %q, want the met Frank", found)
		}
		if n := len(e.emu.Requests("/beta/users/searchV2")); n != 0 {
			t.Fatalf("Teams free asked the work directory %d times", n)
		}
	})
}

// TestSearchMergesCapsAndSurvivesAFailingDirectory: a person both in the
// directory and met is listed once; at most 20 people are listed; a failing
// directory leaves the met people, and with nobody met the failure is the
// answer.
func TestSearchMergesCapsAndSurvivesAFailingDirectory(t *testing.T) {
	e := newEnv(t)
	for i := range 25 {
		e.emu.AddUser(fmt.Sprintf("zed%02d@contoso.com", i), fmt.Sprintf("Zed Number%02d", i))
	}
	e.login(e.me)
	lid := string(e.loginID(e.me))
	e.h.Command(alice, "start-chat "+lid+" teams:"+e.carol.MRI)
	e.h.WaitFor("carol's ghost to be named", func() bool {
		p := e.h.Matrix.Profile(e.ghost(e.carol))
		return p != nil && p.DisplayName == "Carol Clark"
	})

	found := e.h.Command(alice, "search "+lid+" clark")
	if n := strings.Count(found, "`"+string(ghostID(e.carol.MRI))+"`"); n != 1 {
		t.Fatalf("carol (in the directory and met) listed %d times: %q", n, found)
	}
	found = e.h.Command(alice, "search "+lid+" zed")
	if n := strings.Count(found, "\n* "); n != searchLimit {
		t.Fatalf("search zed listed %d people, want %d: %q", n, searchLimit, found)
	}

	e.emu.InjectFault(teamsemu.Fault{PathContains: "/beta/users/searchV2", Status: http.StatusServiceUnavailable})
	if found := e.h.Command(alice, "search "+lid+" clark"); !strings.Contains(found, "Carol Clark") {
		t.Fatalf("with a failing directory, search found %q, want the met Carol", found)
	}
	if found := e.h.Command(alice, "search "+lid+" nobody-matches-this"); !strings.Contains(found, "Search failed") || !strings.Contains(found, "503") {
		t.Fatalf("with a failing directory and nobody met, search said %q, want the failure", found)
	}
}
