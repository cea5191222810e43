package skype

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/imbridge/imbridge/connectors/skype/skypeemu"
)

func TestConfigValidation(t *testing.T) {
	c := New().Config
	c.CredentialKey = "test-key"
	if err := c.validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	c.MsgsHost = "http://msgs.example"
	if err := c.validate(); err == nil || !strings.Contains(err.Error(), "allow_insecure_http") {
		t.Fatalf("plain http accepted: %v", err)
	}
	c.AllowInsecureHTTP = true
	if err := c.validate(); err != nil {
		t.Fatalf("plain http with the switch: %v", err)
	}
	c.ReadReceiptPoll = 500 * time.Millisecond
	if err := c.validate(); err == nil || !strings.Contains(err.Error(), "read_receipt_poll") {
		t.Fatalf("a read_receipt_poll under a second was accepted: %v", err)
	}
	c.ReadReceiptPoll = 2 * time.Second
	c.EdgeURL = "not a url"
	if err := c.validate(); err == nil {
		t.Fatal("a relative URL was accepted")
	}
}

func TestRefusePrivateAddresses(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:443", "10.1.2.3:443", "192.168.0.1:80", "169.254.1.1:443", "[::1]:443", "[fd00::1]:443", "0.0.0.0:443"} {
		if err := refusePrivate("tcp", addr, nil); !errors.Is(err, errPrivateAddress) {
			t.Errorf("%s: %v", addr, err)
		}
	}
	if err := refusePrivate("tcp", "52.1.2.3:443", nil); err != nil {
		t.Errorf("public address refused: %v", err)
	}
}

// Without allow_private_addresses the emulator on 127.0.0.1 is out of
// reach, and the login says why instead of sending the password there.
func TestLoginRefusesPrivateAddress(t *testing.T) {
	e := newEnv(t, func(e *env, _ *skypeemu.Options) { e.noPrivate = true })
	e.h.CommandPrompt(carolMX, "login skype", "E-mail or Skype name")
	e.h.CommandPrompt(carolMX, carol, "Password")
	e.h.CommandExpect(carolMX, carolPass, "private or local network address")
	for _, r := range e.emu.Requests() {
		t.Fatalf("the emulator was reached: %+v", r)
	}
}
