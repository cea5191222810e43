package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/imbridge/imbridge/testenv"
)

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for len(ports) < n {
		p, err := testenv.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(ports, p) {
			ports = append(ports, p)
		}
	}
	return ports
}

func testOptions(t *testing.T) options {
	p := freePorts(t, 6)
	return options{hsPort: p[0], bridgePort: p[1], lyncPort: p[2], metricsPort: p[3], teamsPort: p[4], skypePort: p[5]}
}

func TestCheckPortsFreePortsPass(t *testing.T) {
	ports, err := demoPorts(t.TempDir(), testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := checkPorts(ports); err != nil {
		t.Fatal(err)
	}
}

func TestCheckPortsNamesTheTakenPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	o := testOptions(t)
	o.hsPort = l.Addr().(*net.TCPAddr).Port
	ports, err := demoPorts(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	err = checkPorts(ports)
	if err == nil {
		t.Fatal("a taken homeserver port was accepted")
	}
	msg := err.Error()
	for _, want := range []string{fmt.Sprint(o.hsPort), "homeserver", "already in use", "-hs-port", "DEMO_HS_PORT"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error is more than one line: %q", msg)
	}
}

func TestCheckPortsRejectsTheSamePortTwice(t *testing.T) {
	o := testOptions(t)
	o.metricsPort = o.bridgePort
	ports, err := demoPorts(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkPorts(ports); err == nil || !strings.Contains(err.Error(), "DEMO_METRICS_PORT") {
		t.Fatalf("checkPorts = %v, want the metrics port named as a duplicate", err)
	}
}

func TestDemoPortsUsesThePortsAnEarlierRunFixed(t *testing.T) {
	dataDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dataDir, "bridge"), 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	saved := l.Addr().(*net.TCPAddr).Port
	cfg := fmt.Sprintf("appservice:\n    port: %d\n", saved)
	if err := os.WriteFile(bridgeConfigPath(dataDir), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ports, err := demoPorts(dataDir, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	if ports[1].port != saved || ports[1].keptIn == "" {
		t.Fatalf("bridge port = %d (kept in %q), want %d from the saved config", ports[1].port, ports[1].keptIn, saved)
	}
	err = checkPorts(ports)
	if err == nil || !strings.Contains(err.Error(), bridgeConfigPath(dataDir)) {
		t.Fatalf("checkPorts = %v, want the saved config named", err)
	}
}
