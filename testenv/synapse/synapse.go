// Package synapse runs a throwaway Synapse homeserver for end-to-end tests
// and the demo. Synapse comes from the Debian sid chroot that
// scripts/synapse.sh installs; it runs as `chroot ROOT python3 -m
// synapse.app.homeserver` and, sharing the host's network, listens on
// 127.0.0.1.
package synapse

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/imbridge/imbridge/testenv"
)

// RootEnv overrides the chroot directory, as in scripts/synapse.sh.
const RootEnv = "IMBRIDGE_SYNAPSE_ROOT"

// DefaultRoot is where scripts/synapse.sh installs the chroot.
const DefaultRoot = "/var/cache/imbridge/synapse-sid"

// installStamp is written by scripts/synapse.sh once the install finished.
const installStamp = ".imbridge-synapse-installed"

// Root returns the chroot directory in use.
func Root() string {
	if r := os.Getenv(RootEnv); r != "" {
		return r
	}
	return DefaultRoot
}

// Installed reports whether scripts/synapse.sh finished installing the
// chroot at root, and returns the Synapse version it recorded.
func Installed(root string) (version string, ok bool) {
	data, err := os.ReadFile(filepath.Join(root, installStamp))
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(data)), true
}

// Options configure a Synapse instance. The zero value is usable for tests.
type Options struct {
	// Root is the chroot (default: Root()).
	Root string
	// ServerName is the Matrix domain (default "imbridge.test").
	ServerName string
	// Port is the client API port on 127.0.0.1 (default: a free port).
	Port int
	// DataDir holds the config, database, media and logs (host path).
	// Default: a fresh directory under ROOT/tmp, deleted by Cleanup. A
	// directory outside the chroot is bind-mounted into it; its state is
	// kept across runs (the demo uses this).
	DataDir string
	// AppserviceFiles are registration files (host paths) that Synapse
	// loads. They are copied into the data dir on every Start, so a
	// regenerated registration is picked up on restart.
	AppserviceFiles []string
}

// Server is one Synapse instance.
type Server struct {
	// URL is the client-server API base URL, e.g. http://127.0.0.1:34567.
	URL string
	// ServerName is the Matrix domain.
	ServerName string
	// SharedSecret is the registration_shared_secret for the admin API.
	SharedSecret string

	root      string
	port      int
	hostDir   string // data dir as seen on the host
	chrootDir string // the same directory as seen inside the chroot
	mounted   bool   // hostDir is bind-mounted at root+chrootDir
	tempDir   bool   // hostDir was created by New and is removed by Cleanup
	asFiles   []string
	proc      *testenv.Process
}

// secrets persist in the data dir so a restarted demo Synapse keeps
// accepting old access tokens and the shared secret.
type secrets struct {
	SharedSecret   string `json:"registration_shared_secret"`
	MacaroonSecret string `json:"macaroon_secret_key"`
	FormSecret     string `json:"form_secret"`
}

// New prepares a Synapse instance: data dir, port and secrets. It does not
// start the process, so callers can learn the URL first (the bridge config
// needs it before the registration, which Synapse needs, exists).
func New(opts Options) (*Server, error) {
	root := opts.Root
	if root == "" {
		root = Root()
	}
	if _, ok := Installed(root); !ok {
		return nil, fmt.Errorf("synapse chroot not installed at %s: run scripts/synapse.sh install", root)
	}
	s := &Server{root: root, ServerName: opts.ServerName, port: opts.Port, asFiles: opts.AppserviceFiles}
	if s.ServerName == "" {
		s.ServerName = "imbridge.test"
	}
	if s.port == 0 {
		p, err := testenv.FreePort()
		if err != nil {
			return nil, err
		}
		s.port = p
	}
	s.URL = fmt.Sprintf("http://127.0.0.1:%d", s.port)
	if err := s.prepareDataDir(opts.DataDir); err != nil {
		return nil, err
	}
	sec, err := s.loadSecrets()
	if err != nil {
		s.Close(false)
		return nil, err
	}
	s.SharedSecret = sec.SharedSecret
	return s, nil
}

func (s *Server) prepareDataDir(dataDir string) error {
	if dataDir == "" {
		base := filepath.Join(s.root, "tmp")
		dir, err := os.MkdirTemp(base, "imbridge-synapse-")
		if err != nil {
			return fmt.Errorf("create synapse data dir under %s: %w", base, err)
		}
		s.hostDir, s.tempDir = dir, true
		s.chrootDir = "/tmp/" + filepath.Base(dir)
		return nil
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return fmt.Errorf("resolve synapse data dir %s: %w", dataDir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return fmt.Errorf("create synapse data dir: %w", err)
	}
	s.hostDir = abs
	if rel, err := filepath.Rel(s.root, abs); err == nil && !strings.HasPrefix(rel, "..") {
		s.chrootDir = "/" + rel
		return nil
	}
	// Outside the chroot: bind-mount it at a stable path derived from the
	// host path, so a leftover mount from a crashed run is simply reused.
	sum := sha256.Sum256([]byte(abs))
	s.chrootDir = "/run/imbridge-" + hex.EncodeToString(sum[:6])
	target := filepath.Join(s.root, s.chrootDir)
	if err := os.MkdirAll(target, 0o700); err != nil {
		return fmt.Errorf("create bind-mount target: %w", err)
	}
	if !isMountPoint(target) {
		if err := syscall.Mount(abs, target, "", syscall.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind-mount %s into the synapse chroot: %w", abs, err)
		}
	}
	s.mounted = true
	return nil
}

// isMountPoint compares device numbers of a directory and its parent.
func isMountPoint(dir string) bool {
	var st, parent syscall.Stat_t
	if syscall.Stat(dir, &st) != nil || syscall.Stat(filepath.Dir(dir), &parent) != nil {
		return false
	}
	return st.Dev != parent.Dev
}

func (s *Server) loadSecrets() (*secrets, error) {
	path := filepath.Join(s.hostDir, "secrets.json")
	var sec secrets
	if data, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(data, &sec); err != nil {
			return nil, fmt.Errorf("parse %s: %w", path, err)
		}
		return &sec, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read synapse secrets: %w", err)
	}
	for _, p := range []*string{&sec.SharedSecret, &sec.MacaroonSecret, &sec.FormSecret} {
		v, err := randomHex(24)
		if err != nil {
			return nil, err
		}
		*p = v
	}
	data, _ := json.Marshal(sec)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return nil, fmt.Errorf("write synapse secrets: %w", err)
	}
	return &sec, nil
}

// SetAppserviceFiles replaces the registration files loaded on the next
// Start (the registration is often generated after New, once the URL is
// known).
func (s *Server) SetAppserviceFiles(paths ...string) { s.asFiles = paths }

// DataDir returns the data directory as seen on the host.
func (s *Server) DataDir() string { return s.hostDir }

// LogPath returns the host path of homeserver.log.
func (s *Server) LogPath() string { return filepath.Join(s.hostDir, "homeserver.log") }

// AppserviceFile returns the host path of the i-th registration file as
// Synapse loads it (the copy inside the data dir).
func (s *Server) AppserviceFile(i int) string {
	return filepath.Join(s.hostDir, fmt.Sprintf("appservice-%d.yaml", i))
}

// writeFiles (re)writes config, log config, registrations and, once, the
// signing key.
func (s *Server) writeFiles() error {
	sec, err := s.loadSecrets()
	if err != nil {
		return err
	}
	vals := configValues{
		ServerName:     s.ServerName,
		PublicURL:      s.URL + "/",
		Port:           s.port,
		Dir:            s.chrootDir,
		SharedSecret:   sec.SharedSecret,
		MacaroonSecret: sec.MacaroonSecret,
		FormSecret:     sec.FormSecret,
	}
	for i, src := range s.asFiles {
		data, err := os.ReadFile(src)
		if err != nil {
			return fmt.Errorf("read appservice registration: %w", err)
		}
		if err := os.WriteFile(s.AppserviceFile(i), data, 0o600); err != nil {
			return fmt.Errorf("copy appservice registration into the chroot: %w", err)
		}
		vals.AppserviceFiles = append(vals.AppserviceFiles, fmt.Sprintf("%s/appservice-%d.yaml", s.chrootDir, i))
	}
	files := map[string]string{
		"homeserver.yaml": homeserverConfig(vals),
		"log.config":      logConfig(s.chrootDir),
	}
	keyPath := filepath.Join(s.hostDir, "signing.key")
	if _, err := os.Stat(keyPath); errors.Is(err, os.ErrNotExist) {
		key, err := signingKey()
		if err != nil {
			return err
		}
		files["signing.key"] = key
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(s.hostDir, name), []byte(content), 0o600); err != nil {
			return fmt.Errorf("write synapse %s: %w", name, err)
		}
	}
	return nil
}

// Start writes the config and starts Synapse, returning once the client
// API answers /_matrix/client/versions (or failing with the log tail).
func (s *Server) Start(ctx context.Context) error {
	if s.proc != nil && !s.proc.Exited() {
		return errors.New("synapse already running")
	}
	if err := s.writeFiles(); err != nil {
		return err
	}
	out, err := os.OpenFile(filepath.Join(s.hostDir, "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open synapse stdout log: %w", err)
	}
	defer out.Close() // the child keeps its own descriptor
	cmd := exec.Command("chroot", s.root, "python3", "-m", "synapse.app.homeserver",
		"-c", s.chrootDir+"/homeserver.yaml")
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C.UTF-8", "HOME=/tmp", "PYTHONUNBUFFERED=1"}
	cmd.Stdout, cmd.Stderr = out, out
	proc, err := testenv.StartProcess(cmd)
	if err != nil {
		return fmt.Errorf("start synapse: %w", err)
	}
	s.proc = proc
	if err := s.waitReady(ctx, 3*time.Minute); err != nil {
		_ = s.proc.Stop(10 * time.Second)
		return fmt.Errorf("%w\n--- synapse stdout.log ---\n%s\n--- homeserver.log ---\n%s", err,
			testenv.Tail(filepath.Join(s.hostDir, "stdout.log"), 30), testenv.Tail(s.LogPath(), 40))
	}
	return nil
}

// waitReady polls /_matrix/client/versions until it answers 200, the
// process exits, or the timeout passes.
func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	return testenv.WaitHTTPOK(ctx, s.URL+"/_matrix/client/versions", timeout, s.proc, "synapse")
}

// Pid returns the process ID of the running Synapse (the chroot execs
// python in place), or 0 before Start; the benchmarks read its CPU time.
func (s *Server) Pid() int {
	if s.proc == nil {
		return 0
	}
	return s.proc.Pid()
}

// Running reports whether the Synapse process is alive.
func (s *Server) Running() bool { return s.proc != nil && !s.proc.Exited() }

// Stop stops Synapse (SIGTERM to its process group, SIGKILL after 20s).
func (s *Server) Stop() error {
	if s.proc == nil {
		return nil
	}
	err := s.proc.Stop(20 * time.Second)
	if err != nil {
		return fmt.Errorf("stop synapse: %w", err)
	}
	return nil
}

// Close stops Synapse, unmounts a bind-mounted data dir and removes a
// temporary one unless keepData is set (failed tests keep theirs so the
// logs can be read).
func (s *Server) Close(keepData bool) {
	_ = s.Stop()
	if s.mounted {
		target := filepath.Join(s.root, s.chrootDir)
		if err := syscall.Unmount(target, 0); err != nil {
			_ = syscall.Unmount(target, syscall.MNT_DETACH)
		}
		_ = os.Remove(target)
		s.mounted = false
	}
	if s.tempDir && !keepData {
		_ = os.RemoveAll(s.hostDir)
	}
}
