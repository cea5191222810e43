package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestExampleConfigDefaults(t *testing.T) {
	dir := t.TempDir()
	if out, err := runMain(t, dir, "-e", "-c", "config.yaml"); err != nil {
		t.Fatalf("imbridge -e: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Bridge struct {
			SendReconnectWait string `yaml:"send_reconnect_wait"`
			BridgeNotices     bool   `yaml:"bridge_notices"`
		}
		AppService struct {
			Bot struct {
				Avatar yaml.Node
			}
		} `yaml:"appservice"`
		Matrix struct {
			DeliveryReceipts    bool `yaml:"delivery_receipts"`
			MessageErrorNotices bool `yaml:"message_error_notices"`
		}
		Encryption struct {
			Allow, Default bool
		}
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	if !cfg.Encryption.Allow || !cfg.Encryption.Default {
		t.Errorf("encryption.allow/default = %v/%v, want true/true (Element encrypts DMs with the bot)", cfg.Encryption.Allow, cfg.Encryption.Default)
	}
	if !cfg.Matrix.DeliveryReceipts || !cfg.Matrix.MessageErrorNotices {
		t.Errorf("matrix.delivery_receipts/message_error_notices = %v/%v, want true/true", cfg.Matrix.DeliveryReceipts, cfg.Matrix.MessageErrorNotices)
	}
	if cfg.Bridge.SendReconnectWait != "30s" {
		t.Errorf("bridge.send_reconnect_wait = %q, want 30s", cfg.Bridge.SendReconnectWait)
	}
	if !cfg.Bridge.BridgeNotices {
		t.Errorf("bridge.bridge_notices = false, want true (else bridgev2 drops m.notice before a connector can answer it)")
	}
	if avatar := cfg.AppService.Bot.Avatar; avatar.Tag != "!!str" || avatar.Value != "" {
		t.Errorf("appservice.bot.avatar is %s %q, want an empty string (null makes mxmain warn on every start)", avatar.Tag, avatar.Value)
	}
}

func TestExampleConfigToStdout(t *testing.T) {
	out, err := runMain(t, t.TempDir(), "--generate-example-config", "-c", "-")
	if err != nil {
		t.Fatalf("imbridge -e -c -: %v\n%s", err, out)
	}
	committed, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != string(committed) {
		t.Error("`imbridge -e -c -` printed something other than config.example.yaml")
	}
}

func TestExampleConfigDoesNotOverwrite(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("mine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runMain(t, dir, "-e", "-c", "config.yaml")
	if err == nil || !strings.Contains(string(out), "already exists") {
		t.Fatalf("imbridge -e over an existing file: err %v, output %s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "config.yaml")); string(b) != "mine\n" {
		t.Fatalf("existing config was changed to %q", b)
	}
}

func TestExampleRequest(t *testing.T) {
	for _, tc := range []struct {
		args []string
		path string
		ok   bool
	}{
		{[]string{"-e"}, "config.yaml", true},
		{[]string{"-e", "-c", "x.yaml"}, "x.yaml", true},
		{[]string{"-c", "x.yaml", "--generate-example-config"}, "x.yaml", true},
		{[]string{"--generate-example-config", "--config=-"}, "-", true},
		{[]string{"-ec", "y.yaml"}, "y.yaml", true},
		{[]string{"-g", "-c", "x.yaml"}, "", false},
		{[]string{}, "", false},
		{[]string{"-e", "-h"}, "", false},
		{[]string{"-e", "--version"}, "", false},
		{[]string{"-e", "--version-json"}, "", false},
		{[]string{"-e", "--no-such-flag"}, "", false},
	} {
		path, ok := exampleRequest(tc.args)
		if path != tc.path || ok != tc.ok {
			t.Errorf("exampleRequest(%q) = %q, %v; want %q, %v", tc.args, path, ok, tc.path, tc.ok)
		}
	}
}

func TestSetYAMLValues(t *testing.T) {
	doc := strings.Join([]string{
		"# top comment",
		"a:",
		"    # allow: here is a comment",
		"    allow: false",
		"    list:",
		"        - allow: false",
		"b:",
		"    allow: false",
		"    nested:",
		"        allow: false",
		"",
	}, "\n")
	got, err := setYAMLValues(doc, []struct{ path, value string }{{"b.allow", "true"}, {"b.nested.allow", `""`}})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(doc, "b:\n    allow: false\n    nested:\n        allow: false", "b:\n    allow: true\n    nested:\n        allow: \"\"", 1)
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	for _, bad := range []string{"c.allow", "a", "a.missing"} {
		if _, err := setYAMLValues(doc, []struct{ path, value string }{{bad, "x"}}); err == nil {
			t.Errorf("setYAMLValues(%s) succeeded", bad)
		}
	}
	dup := doc + "b:\n    allow: false\n"
	if _, err := setYAMLValues(dup, []struct{ path, value string }{{"b.allow", "true"}}); err == nil {
		t.Error("a path found twice was accepted")
	}
}
