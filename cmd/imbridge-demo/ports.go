package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/imbridge/imbridge/testenv/bridgeproc"
)

// demoPort is one fixed 127.0.0.1 port of the demo, with the flag and the
// make variable that choose it (README "Demo").
type demoPort struct {
	port    int
	what    string
	flag    string
	makeVar string
	// keptIn names the file that fixed the port on an earlier run; then
	// the flag no longer changes it.
	keptIn string
}

// demoPorts lists the ports this run will listen on: the flags' values,
// except where the data directory already fixed one (the bridge's port is
// in the homeserver's registration, the Lync emulator's in the bridge's
// stored login).
func demoPorts(dataDir string, o options) ([]demoPort, error) {
	bridgePort, bridgeKept, err := savedBridgePort(dataDir)
	if err != nil {
		return nil, err
	}
	ports := []demoPort{
		{port: o.hsPort, what: "the homeserver (Synapse)", flag: "-hs-port", makeVar: "DEMO_HS_PORT"},
		{port: o.bridgePort, what: "the bridge's appservice API", flag: "-bridge-port", makeVar: "DEMO_BRIDGE_PORT"},
		{port: o.lyncPort, what: "the Skype for Business (UCWA) emulator", flag: "-lync-port", makeVar: "DEMO_LYNC_PORT"},
		{port: o.metricsPort, what: "the bridge's metrics", flag: "-metrics-port", makeVar: "DEMO_METRICS_PORT"},
		{port: o.teamsPort, what: "the Microsoft Teams emulator", flag: "-teams-port", makeVar: "DEMO_ARGS=-teams-port"},
		{port: o.skypePort, what: "the Skype web API emulator", flag: "-skype-port", makeVar: "DEMO_ARGS=-skype-port"},
	}
	if bridgeKept {
		ports[1].port, ports[1].keptIn = bridgePort, bridgeConfigPath(dataDir)
	}
	lync, err := loadLyncState(dataDir, o.lyncPort)
	if err != nil {
		return nil, err
	}
	if lync.Port != o.lyncPort {
		ports[2].port, ports[2].keptIn = lync.Port, lyncStatePath(dataDir)
	}
	return ports, nil
}

func bridgeConfigPath(dataDir string) string { return filepath.Join(dataDir, "bridge", "config.yaml") }

// savedBridgePort reads appservice.port from an earlier run's bridge config.
func savedBridgePort(dataDir string) (port int, kept bool, err error) {
	path := bridgeConfigPath(dataDir)
	if _, err := os.Stat(path); err != nil {
		return 0, false, nil
	}
	cfg, err := bridgeproc.OpenConfig(path)
	if err != nil {
		return 0, false, err
	}
	if found, err := cfg.Get("appservice.port", &port); err != nil || !found {
		return 0, false, err
	}
	return port, true, nil
}

// checkPorts fails with one line naming the first port that is invalid,
// used twice, or already taken on 127.0.0.1, and how to pick another, so
// a busy port does not surface later as a Synapse traceback.
func checkPorts(ports []demoPort) error {
	for i, p := range ports {
		if p.port <= 0 || p.port > 65535 {
			return fmt.Errorf("%s: port %d is not a TCP port (%s)", p.what, p.port, p.flag)
		}
		for _, q := range ports[:i] {
			if q.port == p.port {
				return fmt.Errorf("port %d is given to both %s and %s; choose another with %s or make demo %s=<port>",
					p.port, q.what, p.what, p.flag, p.makeVar)
			}
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)))
		if err != nil {
			if p.keptIn != "" {
				return fmt.Errorf("port %d of %s is already in use on 127.0.0.1; an earlier run fixed it in %s, so stop what uses it or start over with a new -data directory",
					p.port, p.what, p.keptIn)
			}
			return fmt.Errorf("port %d of %s is already in use on 127.0.0.1; choose another with %s or make demo %s=<port>",
				p.port, p.what, p.flag, p.makeVar)
		}
		_ = l.Close()
	}
	return nil
}
