package teamsemu

import (
	"context"
	"html"
	"regexp"
	"strings"
)

// Demo is the seeded demo world.
type Demo struct {
	Work     *User // the account to bridge (work)
	Consumer *User // a Teams free account to bridge
	Bob      *User
	Carol    *User
	Friend   *User // consumer contact of Consumer
	DM       string
	Group    string
	Team     Team
}

// SeedDemo creates a small organisation with history: the demo account, two
// colleagues with a DM and a group chat, a team with channels and a reply
// chain, and a Teams free account with a friend.
func (e *Emulator) SeedDemo() *Demo {
	// History is not news: OnMessage hooks stay quiet while seeding.
	e.mu.Lock()
	e.hooksPaused = true
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.hooksPaused = false
		e.mu.Unlock()
	}()
	d := &Demo{
		Work: e.AddUser("demo@contoso.com", "Demo User"), Bob: e.AddUser("bob@contoso.com", "Bob Brown"),
		Carol: e.AddUser("carol@contoso.com", "Carol Clark"), Consumer: e.AddConsumerUser("demo@outlook.com", "Demo Free"),
		Friend: e.AddConsumerUser("friend@outlook.com", "Frida Friend"),
	}
	d.DM = e.OneToOne(d.Bob.MRI, d.Work.MRI)
	e.SendText(d.Bob.MRI, d.DM, "Morning! Did you see the release notes?")
	e.SendText(d.Work.MRI, d.DM, "Not yet, reading now.")
	d.Group = e.CreateGroup(d.Carol.MRI, "Project Phoenix", d.Work.MRI, d.Bob.MRI)
	e.Send(d.Carol.MRI, d.Group, "<p>Kick-off is <b>Thursday</b>, agenda in the wiki.</p>")
	id := e.SendWith(d.Bob.MRI, d.Group, `<p><span itemscope="" itemtype="http://schema.skype.com/Mention" itemid="0">Demo User</span> can you take the notes?</p>`,
		SendOptions{Mentions: []string{d.Work.MRI}})
	e.React(d.Carol.MRI, d.Group, id, "like")
	d.Team = e.CreateTeam(d.Carol.MRI, "Engineering", []string{"Backend"}, d.Work.MRI, d.Bob.MRI)
	root := e.SendText(d.Carol.MRI, d.Team.Channels[1], "Deploy window moved to 15:00.")
	e.SendText(d.Bob.MRI, d.Team.Channels[1]+";messageid="+root, "Works for me.")
	fdm := e.OneToOne(d.Friend.MRI, d.Consumer.MRI)
	e.SendText(d.Friend.MRI, fdm, "Hey, found you on Teams!")
	return d
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// Colleagues returns an OnMessage hook that makes the others answer: when a
// bridged account (given by email) writes into a chat, one other member
// types, reacts with a like and replies. emu returns nil while the hook
// should stay quiet (e.g. during seeding).
func Colleagues(ctx context.Context, emu func() *Emulator, bridged ...string) func(Message) {
	return func(m Message) {
		e := emu()
		if e == nil || ctx.Err() != nil || strings.HasPrefix(m.MessageType, "ThreadActivity/") || m.Deleted {
			return
		}
		isBridged := map[string]bool{}
		for _, b := range bridged {
			if u := e.UserByEmail(b); u != nil {
				isBridged[u.MRI] = true
			}
		}
		if !isBridged[m.From] {
			return
		}
		conv := m.Conversation
		if m.Root != "" {
			conv += ";messageid=" + m.Root
		}
		for mri := range e.Members(m.Conversation) {
			if isBridged[mri] {
				continue
			}
			e.Typing(mri, m.Conversation)
			e.React(mri, m.Conversation, m.ID, "like")
			text := strings.TrimSpace(html.UnescapeString(tagRE.ReplaceAllString(m.Content, " ")))
			if len(text) > 60 {
				text = text[:60] + "…"
			}
			e.SendText(mri, conv, "Got it: "+text)
			break // one answer per message keeps group chats readable
		}
	}
}
