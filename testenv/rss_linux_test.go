package testenv

import (
	"os"
	"testing"
)

func TestResidentMemory(t *testing.T) {
	before, err := ResidentMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if before <= 0 {
		t.Fatalf("ResidentMemory(self) = %d, want > 0", before)
	}
	// Touch 64 MiB: the figure must grow by about that much.
	buf := make([]byte, 64<<20)
	for i := range buf {
		if i%4096 == 0 {
			buf[i] = 1
		}
	}
	after, err := ResidentMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if grew := after - before; grew < 48<<20 {
		t.Errorf("resident memory grew by %d bytes after touching 64 MiB, want ≥ 48 MiB", grew)
	}
	buf[0] = buf[len(buf)-4096] // keep buf alive until after the reading
	if _, err := ResidentMemory(-1); err == nil {
		t.Error("ResidentMemory(-1) succeeded, want an error")
	}
}
