package skypeemu

import (
	"context"
	"fmt"
	"html"
	"regexp"
	"strings"
	"sync"
	"time"
)

// The demo's Skype world (cmd/imbridge-demo): an account to sign in with,
// contacts with a chat history, a group, and colleagues who answer.

// Demo names the seeded accounts and chats.
type Demo struct {
	// Account is the demo user's Skype account; Password signs it in.
	Account  *User
	Password string
	// Bob has a 1:1 history with the account; Alice and Bob share the
	// group Group ("Weekend trip", "" when seeded without history) with it.
	Bob, Alice *User
	Group      string
}

// DemoPassword is the demo account's password.
const DemoPassword = "demo"

// SeedDemo creates the demo accounts and, with history, their chats. The
// accounts are always the same, so a demo restarted on an empty emulator
// signs the stored login in again with the same password; a restart seeds
// no history, which the bridge would otherwise bridge a second time (the
// messages get new ids).
func (e *Emulator) SeedDemo(history bool) *Demo {
	d := &Demo{Password: DemoPassword}
	d.Account = e.AddUser("live:demo", "Demo User", DemoPassword)
	d.Bob = e.AddUser("bob.demo", "Bob Builder", "bob-demo")
	d.Alice = e.AddUser("alice.demo", "Alice Archer", "alice-demo")
	e.AddContact(d.Account.Name, d.Bob.Name)
	e.AddContact(d.Account.Name, d.Alice.Name)
	if !history {
		return d
	}
	e.Send(d.Bob.Name, d.Account.Name, "Hey! Did you see the photos from Saturday?")
	e.Send(d.Account.Name, d.Bob.Name, "Not yet, send them over")
	e.Send(d.Bob.Name, d.Account.Name, `They're on the way <ss type="smile">:)</ss>`)
	d.Group = e.CreateGroup(d.Alice.Name, "Weekend trip", d.Account.Name, d.Bob.Name)
	e.Send(d.Alice.Name, d.Group, "Train at 9:10 on Saturday, platform 4.")
	e.Send(d.Bob.Name, d.Group, "I'll bring the <b raw_pre=\"*\" raw_post=\"*\">snacks</b>.")
	return d
}

var markupTag = regexp.MustCompile(`<[^>]*>`)

// Colleagues answers what the demo account (Skype name demoName) writes:
// the other person of a 1:1, or in a group each other member in turn, types
// for a moment and then answers. live returns the emulator once seeding is
// done (nil before, so history is not answered); the answers stop with ctx.
func Colleagues(ctx context.Context, live func() *Emulator, demoName string) func(Posted) {
	var mu sync.Mutex
	turn := 0
	return func(p Posted) {
		e := live()
		if e == nil || p.From != "8:"+demoName || strings.HasPrefix(strings.ToLower(p.Type), "control/") {
			return
		}
		var others []string
		for _, m := range p.Members {
			if m != p.From {
				others = append(others, m)
			}
		}
		if len(others) == 0 {
			return
		}
		mu.Lock()
		who := strings.TrimPrefix(others[turn%len(others)], "8:")
		turn++
		mu.Unlock()
		conv := p.Thread
		if conv == "" {
			conv = demoName
		}
		answer := colleagueAnswer(p)
		if !pause(ctx, 700*time.Millisecond) {
			return
		}
		e.Typing(who, conv)
		if !pause(ctx, 1500*time.Millisecond) {
			return
		}
		e.Send(who, conv, answer)
	}
}

// colleagueAnswer is what a colleague says to a message.
func colleagueAnswer(p Posted) string {
	switch {
	case strings.HasPrefix(p.Type, "RichText/UriObject"), strings.HasPrefix(p.Type, "RichText/Media"):
		return `Got it, thanks for the file <ss type="like">(y)</ss>`
	case strings.Contains(p.Content, "<quote"):
		return "Good point, replying to that: agreed."
	}
	text := strings.TrimSpace(html.UnescapeString(markupTag.ReplaceAllString(p.Content, "")))
	if len([]rune(text)) > 80 {
		text = string([]rune(text)[:80]) + "…"
	}
	return fmt.Sprintf("You said “%s” <ss type=\"smile\">:)</ss> Sounds good to me.", html.EscapeString(text))
}

func pause(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
