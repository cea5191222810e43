package synapse

import (
	"context"
	"testing"

	"github.com/imbridge/imbridge/testenv"
)

// StartT prepares and starts a Synapse for a test, skipping (or failing in
// strict mode) when the chroot is not installed. On test failure it prints
// the tail of homeserver.log and keeps the data dir. For servers that must
// load a registration generated later, use NewT and Start.
func StartT(t testing.TB, opts Options) *Server {
	t.Helper()
	s := NewT(t, opts)
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("start synapse: %v", err)
	}
	return s
}

// NewT is New for tests: it skips/fails when Synapse is not installed and
// registers cleanup that reports the log tail on failure.
func NewT(t testing.TB, opts Options) *Server {
	t.Helper()
	root := opts.Root
	if root == "" {
		root = Root()
	}
	_, ok := Installed(root)
	testenv.Require(t, "Synapse chroot at "+root+" (run: scripts/synapse.sh install)", ok)
	s, err := New(opts)
	if err != nil {
		t.Fatalf("prepare synapse: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("synapse data dir kept at %s; last lines of homeserver.log:\n%s", s.DataDir(), testenv.Tail(s.LogPath(), 60))
		}
		s.Close(t.Failed())
	})
	return s
}
