package teams

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
)

// picture encodes a tiny real image of one colour.
func picture(t *testing.T, kind string, c color.Color) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for x := range 8 {
		for y := range 8 {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	var err error
	if kind == "png" {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// waitAvatar waits until the Matrix profile of mxid shows exactly data as
// its avatar, and returns the avatar's URI.
func (e *env) waitAvatar(what string, mxid id.UserID, data []byte) id.ContentURIString {
	e.t.Helper()
	var uri id.ContentURIString
	e.h.WaitFor(what, func() bool {
		p := e.h.Matrix.Profile(mxid)
		if p == nil || p.AvatarURL == "" {
			return false
		}
		got, ok := e.h.Matrix.Media(p.AvatarURL)
		uri = p.AvatarURL
		return ok && bytes.Equal(got, data)
	})
	return uri
}

// resyncGhost does what bridgev2 does when it refreshes a ghost: asks the
// login for the person's info and applies it.
func (e *env) resyncGhost(c *Client, u *teamsemu.User) *bridgev2.Ghost {
	e.t.Helper()
	ctx := context.Background()
	ghost, err := e.h.Bridge.GetGhostByID(ctx, ghostID(u.MRI))
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := c.GetUserInfo(ctx, ghost)
	if err != nil {
		e.t.Fatalf("user info of %s: %v", u.Email, err)
	}
	ghost.UpdateInfo(ctx, info)
	return ghost
}

func (e *env) avatarURL(mxid id.UserID) id.ContentURIString {
	if p := e.h.Matrix.Profile(mxid); p != nil {
		return p.AvatarURL
	}
	return ""
}

// TestDMGhostGetsTheTeamsProfilePicture: the DM partner's and the user's
// own ghost show their Teams pictures; a resync with the same picture
// uploads nothing, a changed picture is uploaded and shown, a removed one
// is removed, and a person who never had one gets no avatar events.
func TestDMGhostGetsTheTeamsProfilePicture(t *testing.T) {
	e := newEnv(t)
	bobPic := picture(t, "jpeg", color.RGBA{R: 180, G: 40, B: 40, A: 255})
	myPic := picture(t, "png", color.RGBA{G: 160, A: 255})
	e.emu.SetAvatar(e.bob.MRI, bobPic)
	e.emu.SetAvatar(e.me.MRI, myPic)
	c := e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "see my new picture")
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "see my new picture")
	first := e.waitAvatar("bob's ghost to show his Teams picture", e.ghost(e.bob), bobPic)
	e.waitAvatar("alice's own ghost to show her Teams picture", e.ghost(e.me), myPic)

	// The same picture again: checked, but not uploaded again.
	before := len(e.emu.Requests("/profilepicturev2"))
	ghost := e.resyncGhost(c, e.bob)
	if n := len(e.emu.Requests("/profilepicturev2")); n != before+1 {
		t.Fatalf("the resync made %d picture requests, want 1", n-before)
	}
	if got := e.avatarURL(e.ghost(e.bob)); got != first || ghost.AvatarMXC != first {
		t.Fatalf("an unchanged picture was uploaded again: %s, then %s (ghost row %s)", first, got, ghost.AvatarMXC)
	}

	// A new picture replaces it.
	newPic := picture(t, "png", color.RGBA{B: 200, A: 255})
	e.emu.SetAvatar(e.bob.MRI, newPic)
	e.resyncGhost(c, e.bob)
	second := e.waitAvatar("bob's ghost to show his new picture", e.ghost(e.bob), newPic)
	if second == first {
		t.Fatalf("the changed picture kept the old URI %s", first)
	}

	// A removed picture removes the avatar; a second resync changes nothing.
	e.emu.SetAvatar(e.bob.MRI, nil)
	e.resyncGhost(c, e.bob)
	if got := e.avatarURL(e.ghost(e.bob)); got != "" {
		t.Fatalf("the removed picture is still shown: %s", got)
	}
	if g := e.resyncGhost(c, e.bob); g.AvatarMXC != "" || g.AvatarID != "" || !g.AvatarSet {
		t.Fatalf("ghost after removal: id %q mxc %q set %v", g.AvatarID, g.AvatarMXC, g.AvatarSet)
	}
}

// TestGhostWithoutPictureHasNoAvatar: a person without a Teams picture gets
// no avatar (nor a removal), and a failing picture call keeps the avatar a
// ghost has.
func TestGhostWithoutPictureHasNoAvatar(t *testing.T) {
	e := newEnv(t)
	c := e.login(e.me)
	g := e.resyncGhost(c, e.carol)
	if g.AvatarMXC != "" || g.AvatarID != "" || !g.AvatarSet || g.Name != "Carol Clark" {
		t.Fatalf("carol's ghost: name %q id %q mxc %q set %v", g.Name, g.AvatarID, g.AvatarMXC, g.AvatarSet)
	}
	if p := e.h.Matrix.Profile(e.ghost(e.carol)); p == nil || p.AvatarURL != "" {
		t.Fatalf("carol's profile %+v", p)
	}

	pic := picture(t, "jpeg", color.RGBA{R: 90, G: 90, A: 255})
	e.emu.SetAvatar(e.carol.MRI, pic)
	e.resyncGhost(c, e.carol)
	uri := e.waitAvatar("carol's ghost to show her picture", e.ghost(e.carol), pic)

	// The middle tier failing is not "no picture": the avatar stays.
	f := e.emu.InjectFault(teamsemu.Fault{PathContains: "/profilepicturev2", Status: 503})
	g = e.resyncGhost(c, e.carol)
	if e.emu.FaultHits(f) == 0 {
		t.Fatal("the resync did not ask for the picture")
	}
	if got := e.avatarURL(e.ghost(e.carol)); got != uri || g.AvatarMXC != uri {
		t.Fatalf("a failed picture read changed the avatar: %s -> %s", uri, got)
	}
}

// TestProfileRefreshBringsChangedPictures: the periodic refresh pass reads
// the user's and their DM partners' pictures again; changed ones reach
// Matrix, unchanged ones are not uploaded again, and people the login has
// no DM with are left alone.
func TestProfileRefreshBringsChangedPictures(t *testing.T) {
	e := newEnv(t)
	bobPic := picture(t, "jpeg", color.RGBA{R: 30, G: 30, B: 200, A: 255})
	e.emu.SetAvatar(e.bob.MRI, bobPic)
	c := e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "hi")
	e.waitTexts(e.room(e.me, dm), e.ghost(e.bob), "hi")
	first := e.waitAvatar("bob's ghost to show his picture", e.ghost(e.bob), bobPic)
	e.resyncGhost(c, e.carol) // a ghost, but no DM partner

	// Nothing changed: both are read, neither is uploaded again.
	before := len(e.emu.Requests("/profilepicturev2"))
	if n := c.refreshProfiles(context.Background(), 0); n != 2 {
		t.Fatalf("refreshed %d people, want the user and bob", n)
	}
	var asked []string
	for _, r := range e.emu.Requests("/profilepicturev2")[before:] {
		asked = append(asked, r.Path)
	}
	if len(asked) != 2 || asked[0] != "/mt/beta/users/"+e.me.MRI+"/profilepicturev2" || asked[1] != "/mt/beta/users/"+e.bob.MRI+"/profilepicturev2" {
		t.Fatalf("the refresh asked for %v", asked)
	}
	if got := e.avatarURL(e.ghost(e.bob)); got != first {
		t.Fatalf("an unchanged picture was uploaded again: %s -> %s", first, got)
	}

	// Bob and the user change their pictures in Teams.
	bobNew := picture(t, "png", color.RGBA{R: 250, G: 200, A: 255})
	myNew := picture(t, "png", color.RGBA{G: 90, B: 90, A: 255})
	e.emu.SetAvatar(e.bob.MRI, bobNew)
	e.emu.SetAvatar(e.me.MRI, myNew)
	c.refreshProfiles(context.Background(), 0)
	if got := e.waitAvatar("bob's ghost to show his new picture", e.ghost(e.bob), bobNew); got == first {
		t.Fatalf("the new picture kept the old URI %s", got)
	}
	e.waitAvatar("the user's own ghost to show her new picture", e.ghost(e.me), myNew)
}
