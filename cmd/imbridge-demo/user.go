package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/imbridge/imbridge/testenv"
	"github.com/imbridge/imbridge/testenv/synapse"
)

// demoUser is the Matrix account a person logs in with. Its password is
// generated once and kept in the data dir, so restarts print the same one.
type demoUser struct {
	Localpart string `json:"localpart"`
	Password  string `json:"password"`
	UserID    string `json:"user_id"`
}

func ensureUser(ctx context.Context, hs *synapse.Server, dataDir, localpart string) (*demoUser, error) {
	path := filepath.Join(dataDir, "demo-user.json")
	var u demoUser
	if data, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(data, &u); err != nil {
			return nil, fmt.Errorf("parse %s: %w", path, err)
		}
		if u.Localpart == localpart {
			return &u, nil
		}
	}
	password, err := testenv.RandomString(8)
	if err != nil {
		return nil, err
	}
	u = demoUser{Localpart: localpart, Password: password, UserID: hs.UserID(localpart).String()}
	// Admin, so the demo user can also use Synapse's admin API.
	if _, err := hs.RegisterUser(ctx, localpart, password, true); errors.Is(err, synapse.ErrUserInUse) {
		return nil, fmt.Errorf("matrix user %s exists but its password is not in %s; pick another -user", u.UserID, path)
	} else if err != nil {
		return nil, err
	}
	data, _ := json.MarshalIndent(u, "", "  ")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return nil, fmt.Errorf("save demo user: %w", err)
	}
	return &u, nil
}
