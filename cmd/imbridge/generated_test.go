package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestMain lets the tests run the real binary: the test executable re-executes
// itself with IMBRIDGE_TEST_RUN_MAIN=1 and only the bridge's arguments (mxmain's
// flag parser reads os.Args as the process got them).
func TestMain(m *testing.M) {
	if os.Getenv("IMBRIDGE_TEST_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func runMain(t *testing.T, dir string, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "IMBRIDGE_TEST_RUN_MAIN=1")
	return cmd.CombinedOutput()
}

// exampleDomain is the homeserver domain registration.yaml is generated for;
// mxmain refuses to write a registration for the example config's example.com.
const exampleDomain = "example.org"

func TestConfigExampleIsWhatTheBinaryWrites(t *testing.T) {
	dir := t.TempDir()
	if out, err := runMain(t, dir, "-e", "-c", "config.yaml"); err != nil {
		t.Fatalf("imbridge -e: %v\n%s", err, out)
	}
	generated, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(generated, committed) {
		t.Fatal("config.example.yaml differs from what `imbridge -e` writes; run `make generate`")
	}
}

var randomRegistrationFields = regexp.MustCompile(`(?m)^(as_token|hs_token|sender_localpart): .*$`)

func TestRegistrationIsWhatTheBinaryWrites(t *testing.T) {
	dir := t.TempDir()
	example, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := bytes.Replace(example, []byte("domain: example.com"), []byte("domain: "+exampleDomain), 1)
	if err = os.WriteFile(filepath.Join(dir, "config.yaml"), cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runMain(t, dir, "-g", "-c", "config.yaml", "-r", "registration.yaml")
	if err != nil {
		t.Fatalf("imbridge -g: %v\n%s", err, out)
	}
	// The example config must load cleanly: mxmain's config loader prints
	// "Ignoring ..." for every field it cannot use.
	if strings.Contains(string(out), "Ignoring") {
		t.Errorf("loading the example config printed warnings:\n%s", out)
	}
	generated, err := os.ReadFile(filepath.Join(dir, "registration.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("../../registration.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mask := func(b []byte) string { return randomRegistrationFields.ReplaceAllString(string(b), "$1: <random>") }
	if mask(generated) != mask(committed) {
		t.Fatalf("registration.yaml differs from what `imbridge -g` writes (apart from tokens); run `make generate`\n--- generated\n%s\n--- committed\n%s", generated, committed)
	}
	for _, field := range []string{"as_token", "hs_token", "sender_localpart"} {
		if !regexp.MustCompile(`(?m)^` + field + `: \S+$`).Match(generated) {
			t.Errorf("generated registration lacks %s", field)
		}
	}
}
