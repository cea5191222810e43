package testenv

import (
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
)

func TestResidentMemory(t *testing.T) {
	before, err := ResidentMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if before <= 0 {
		t.Fatalf("ResidentMemory(self) = %d, want > 0", before)
	}
	// Touch 64 MiB of fresh anonymous memory (outside the Go heap, which
	// may reuse pages an earlier run freed): the figure must grow by
	// about that much.
	buf, err := syscall.Mmap(-1, 0, 64<<20, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = syscall.Munmap(buf) }()
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	after, err := ResidentMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if grew := after - before; grew < 60<<20 {
		t.Errorf("resident memory grew by %d bytes after touching 64 MiB, want ≥ 60 MiB", grew)
	}
	if _, err := ResidentMemory(-1); err == nil {
		t.Error("ResidentMemory(-1) succeeded, want an error")
	}
}

func TestCPUTime(t *testing.T) {
	start := time.Now()
	before, err := CPUTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Spin until the process has used 100 ms more CPU; on a loaded
	// machine that takes longer than 100 ms of wall time, so the bound is
	// generous, and only a CPU time that never moves fails.
	deadline := start.Add(30 * time.Second)
	x := 0
	var used time.Duration
	for used < 100*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatalf("CPU time grew by only %s in 30 s of spinning (x=%d)", used, x)
		}
		for range 1_000_000 {
			x++
		}
		after, err := CPUTime(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		used = after - before
	}
	// All of it happened within the test, on at most every CPU at once.
	if limit := time.Since(start) * time.Duration(runtime.NumCPU()); used > limit+20*time.Millisecond {
		t.Errorf("CPU time grew by %s within %s of wall time on %d CPUs", used, time.Since(start), runtime.NumCPU())
	}
	if _, err := CPUTime(-1); err == nil {
		t.Error("CPUTime(-1) succeeded, want an error")
	}
}

func TestLoadAverage(t *testing.T) {
	load, err := LoadAverage()
	if err != nil {
		t.Fatal(err)
	}
	if load < 0 {
		t.Errorf("LoadAverage() = %v, want ≥ 0", load)
	}
}
