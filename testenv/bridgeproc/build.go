package bridgeproc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/imbridge/imbridge/testenv"
)

// BinaryEnv names a prebuilt imbridge binary; when set, tests use it
// instead of building one (the Makefile passes bin/imbridge).
const BinaryEnv = "IMBRIDGE_BINARY"

var build struct {
	once sync.Once
	path string
	err  error
}

// Binary returns the imbridge binary to test: $IMBRIDGE_BINARY if set,
// otherwise one built once per test process from ./cmd/imbridge with the
// goolm tag (pure-Go olm, so encryption works without libolm).
func Binary(ctx context.Context) (string, error) {
	if p := os.Getenv(BinaryEnv); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", fmt.Errorf("resolve %s: %w", BinaryEnv, err)
		}
		if _, err := os.Stat(abs); err != nil {
			return "", fmt.Errorf("%s=%s: %w", BinaryEnv, p, err)
		}
		return abs, nil
	}
	build.once.Do(func() {
		build.path, build.err = buildBinary(ctx)
	})
	return build.path, build.err
}

func buildBinary(ctx context.Context) (string, error) {
	root, err := testenv.RepoRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "imbridge-bin-")
	if err != nil {
		return "", fmt.Errorf("create build dir: %w", err)
	}
	out := filepath.Join(dir, "imbridge")
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "goolm", "-o", out, "./cmd/imbridge")
	cmd.Dir = root
	if output, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/imbridge: %w\n%s", err, output)
	}
	return out, nil
}
