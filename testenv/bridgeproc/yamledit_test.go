package bridgeproc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `# top comment
homeserver:
    # where the homeserver is
    address: http://example.localhost:8008
    domain: example.com
bridge:
    permissions:
        "*": relay
`

func TestConfigSetKeepsCommentsAndCreatesPaths(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(sample), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := OpenConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	edits := map[string]any{
		"homeserver.address":     "http://127.0.0.1:1234",
		"network.metrics.listen": "127.0.0.1:9",
		"bridge.permissions":     map[string]string{"*": "relay", "imbridge.test": "admin"},
	}
	for k, v := range edits {
		if err := cfg.Set(k, v); err != nil {
			t.Fatalf("Set(%s): %v", k, err)
		}
	}
	if err := cfg.Save(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{"# where the homeserver is", "# top comment"} {
		if !strings.Contains(text, want) {
			t.Errorf("comment %q lost:\n%s", want, text)
		}
	}
	reread, err := OpenConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := reread.GetString("homeserver.address"); got != "http://127.0.0.1:1234" {
		t.Errorf("homeserver.address = %q", got)
	}
	if got := reread.GetString("homeserver.domain"); got != "example.com" {
		t.Errorf("untouched homeserver.domain = %q", got)
	}
	if got := reread.GetString("network.metrics.listen"); got != "127.0.0.1:9" {
		t.Errorf("new key network.metrics.listen = %q", got)
	}
	var perms map[string]string
	if found, err := reread.Get("bridge.permissions", &perms); !found || err != nil || perms["imbridge.test"] != "admin" || perms["*"] != "relay" {
		t.Errorf("bridge.permissions = %v (found %t, err %v)", perms, found, err)
	}
}

func TestConfigSetThroughScalarFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(sample), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := OpenConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Set("homeserver.domain.sub", "x"); err == nil {
		t.Fatal("setting a key below a scalar succeeded")
	}
}
