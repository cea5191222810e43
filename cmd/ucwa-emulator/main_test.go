package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseUsers(t *testing.T) {
	t.Parallel()
	got, err := parseUsers("alice@contoso.com,pw,Alice Example, Jr.;\n# comment\nbob@contoso.com,secret\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].name != "Alice Example, Jr." || got[1].password != "secret" || got[1].name != "" {
		t.Fatalf("%+v", got)
	}
	if _, err := parseUsers("no-password-here"); err == nil {
		t.Fatal("entry without password accepted")
	}
}

func TestLoadUsersFromFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "users.txt")
	if err := os.WriteFile(path, []byte("carol@contoso.com,pw,Carol\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := loadUsers(path)
	if err != nil || len(got) != 1 || got[0].addr != "carol@contoso.com" {
		t.Fatalf("%+v %v", got, err)
	}
}
