package testenv

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// Process is a child process started in its own process group, so that
// stopping it also stops anything it spawned, and tied to the test binary's
// life with a parent-death signal, so a crashed or timed-out `go test` does
// not leave servers running.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // exit status; valid after done is closed
}

// StartProcess starts cmd (which must not have been started) as a Process.
func StartProcess(cmd *exec.Cmd) (*Process, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	p := &Process{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	// Pdeathsig fires when the *thread* that started the child exits, so
	// the starting goroutine keeps its thread locked until the child is
	// gone; otherwise the Go runtime could retire that thread and kill the
	// child at a random moment.
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	return p, nil
}

// Pid returns the process ID.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ExitErr returns the exit error once the process has exited (nil for
// status 0). Call it only after Done is closed.
func (p *Process) ExitErr() error { return p.err }

// ExitCode returns the exit code, or -1 when the process was killed by a
// signal or has not exited.
func (p *Process) ExitCode() int {
	if !p.Exited() {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// Wait blocks until the process exits or timeout passes.
func (p *Process) Wait(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		return fmt.Errorf("process %d still running after %s", p.Pid(), timeout)
	}
}

// Stop sends SIGTERM to the process group and waits up to grace for it to
// exit, then sends SIGKILL. It returns an error only when the process
// could not be stopped at all, or when it needed SIGKILL.
func (p *Process) Stop(grace time.Duration) error {
	if p.Exited() {
		return nil
	}
	_ = syscall.Kill(-p.Pid(), syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	if err := p.Kill(); err != nil {
		return err
	}
	return fmt.Errorf("process %d ignored SIGTERM for %s and was killed", p.Pid(), grace)
}

// Kill sends SIGKILL to the process group and waits for the exit. Crash
// tests use it to simulate a power cut.
func (p *Process) Kill() error {
	if p.Exited() {
		return nil
	}
	if err := syscall.Kill(-p.Pid(), syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill process group %d: %w", p.Pid(), err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("process %d did not exit 30s after SIGKILL", p.Pid())
	}
}
