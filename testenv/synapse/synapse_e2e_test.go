//go:build e2e

package synapse_test

import (
	"context"
	"errors"
	"testing"

	"github.com/imbridge/imbridge/testenv/synapse"
)

// TestSynapseRegisterAndLogin checks the harness itself: Synapse starts
// from the chroot, the shared-secret registration works, and the new user
// can log in with its password.
func TestSynapseRegisterAndLogin(t *testing.T) {
	ctx := context.Background()
	hs := synapse.StartT(t, synapse.Options{})

	user, err := hs.RegisterUser(ctx, "alice", "alice-password", false)
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	if want := hs.UserID("alice"); user.UserID != want {
		t.Fatalf("registered user ID = %s, want %s", user.UserID, want)
	}
	if user.AccessToken == "" {
		t.Fatal("registration returned no access token")
	}
	if _, err := hs.RegisterUser(ctx, "alice", "other", false); !errors.Is(err, synapse.ErrUserInUse) {
		t.Fatalf("second registration of alice: err = %v, want ErrUserInUse", err)
	}

	cli, err := hs.Login(ctx, "alice", "alice-password")
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	who, err := cli.Whoami(ctx)
	if err != nil {
		t.Fatalf("whoami: %v", err)
	}
	if who.UserID != user.UserID {
		t.Fatalf("whoami = %s, want %s", who.UserID, user.UserID)
	}
	if _, err := hs.Login(ctx, "alice", "wrong-password"); err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
}
