//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"
)

type registration struct {
	ID              string `yaml:"id"`
	URL             string `yaml:"url"`
	ASToken         string `yaml:"as_token"`
	HSToken         string `yaml:"hs_token"`
	SenderLocalpart string `yaml:"sender_localpart"`
	Namespaces      struct {
		Users []struct {
			Regex     string `yaml:"regex"`
			Exclusive bool   `yaml:"exclusive"`
		} `yaml:"users"`
	} `yaml:"namespaces"`
}

// TestSynapseLoadsGeneratedRegistration checks that the appservice
// registration Synapse runs with is the file `imbridge -g` wrote, that its
// tokens match the bridge config, and that Synapse honours the as_token.
func TestSynapseLoadsGeneratedRegistration(t *testing.T) {
	requireEnv(t)
	generated, err := os.ReadFile(env.Bridge.RegistrationPath)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := os.ReadFile(env.Synapse.AppserviceFile(0))
	if err != nil {
		t.Fatalf("registration file Synapse was configured with: %v", err)
	}
	if !bytes.Equal(generated, loaded) {
		t.Fatalf("Synapse loaded a registration that differs from the -g output:\n--- generated ---\n%s\n--- loaded ---\n%s", generated, loaded)
	}
	var reg registration
	if err := yaml.Unmarshal(generated, &reg); err != nil {
		t.Fatalf("parse registration: %v", err)
	}
	cfg, err := env.Bridge.Config()
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"id", reg.ID, cfg.GetString("appservice.id")},
		{"id", reg.ID, "imbridge"},
		{"url", reg.URL, env.Bridge.AppserviceURL},
		{"as_token", reg.ASToken, cfg.GetString("appservice.as_token")},
		{"hs_token", reg.HSToken, cfg.GetString("appservice.hs_token")},
	}
	for _, c := range checks {
		if c.got == "" || c.got != c.want {
			// Tokens are secrets, but these are throwaway test values.
			t.Errorf("registration %s = %q, want %q (from the bridge config)", c.name, c.got, c.want)
		}
	}
	botCovered := false
	for _, ns := range reg.Namespaces.Users {
		if re, err := regexp.Compile(ns.Regex); err == nil && ns.Exclusive && re.MatchString(env.BotMXID.String()) {
			botCovered = true
		}
	}
	if !botCovered {
		t.Errorf("no exclusive user namespace covers the bot %s: %+v", env.BotMXID, reg.Namespaces.Users)
	}

	// Synapse accepts the as_token only if it loaded this registration.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	as, err := mautrix.NewClient(env.Synapse.URL, "", reg.ASToken)
	if err != nil {
		t.Fatal(err)
	}
	who, err := as.Whoami(ctx)
	if err != nil {
		t.Fatalf("whoami with the registration's as_token: %v", err)
	}
	if want := id.NewUserID(reg.SenderLocalpart, env.Synapse.ServerName); who.UserID != want {
		t.Errorf("as_token belongs to %s, want the appservice sender %s", who.UserID, want)
	}
}
