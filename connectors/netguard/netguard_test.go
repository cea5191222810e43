package netguard

import (
	"errors"
	"net"
	"net/netip"
	"testing"
)

func TestIsPrivate(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1": true, "::1": true, "10.1.2.3": true, "172.16.0.9": true, "192.168.1.1": true,
		"169.254.169.254": true, "fe80::1": true, "fc00::1": true, "0.0.0.0": true, "::": true,
		"0.1.2.3": true, "100.64.0.1": true, "100.127.255.254": true, "224.0.0.1": true, "ff02::1": true,
		"::ffff:10.0.0.1": true, "::ffff:127.0.0.1": true,
		"52.1.2.3": false, "100.128.0.1": false, "8.8.8.8": false, "2606:4700::1111": false, "::ffff:52.1.2.3": false,
	} {
		if got := IsPrivate(netip.MustParseAddr(addr)); got != want {
			t.Errorf("IsPrivate(%s) = %v, want %v", addr, got, want)
		}
		if got := IsPrivateIP(net.ParseIP(addr)); got != want {
			t.Errorf("IsPrivateIP(%s) = %v, want %v", addr, got, want)
		}
	}
	if !IsPrivate(netip.Addr{}) || !IsPrivateIP(nil) {
		t.Error("an invalid address must count as private")
	}
}

func TestControlRefusesPrivateAddresses(t *testing.T) {
	refusal := errors.New("refused")
	control := Control(refusal)
	for _, addr := range []string{"127.0.0.1:443", "[::1]:80", "10.0.0.5:443", "[::ffff:192.168.0.1]:443", "100.64.1.1:443", "not-an-ip:443"} {
		if err := control("tcp", addr, nil); !errors.Is(err, refusal) {
			t.Errorf("%s: got %v, want the refusal", addr, err)
		}
	}
	if err := control("tcp", "52.1.2.3:443", nil); err != nil {
		t.Errorf("a public address was refused: %v", err)
	}
	if err := control("tcp", "no-port", nil); err == nil || errors.Is(err, refusal) {
		t.Errorf("a malformed address: got %v, want a dial error", err)
	}
}
