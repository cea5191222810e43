package lync

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/internal/bridgetest"
)

// The benchmarks measure the bridge in-process against the emulator: remote
// to Matrix (a colleague's IM until the ghost's event reaches the fake
// homeserver) and Matrix to remote (a Matrix message until the emulator holds
// it, delivery confirmation included). They report p50/p99 latency and
// sustained messages per second; run them with `make bench`.

func BenchmarkRemoteToMatrix(b *testing.B) {
	e := benchEnv(b)
	bob := e.emu.Peer(bobSIP)
	if _, err := bob.SendIM(aliceSIP, "warm-up"); err != nil {
		b.Fatal(err)
	}
	room := e.dmRoom(bobSIP)
	ghost := e.ghost(bobSIP)
	e.waitCount(room, ghost, 1)
	latencies := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		sent := time.Now()
		if _, err := bob.SendIM(aliceSIP, fmt.Sprintf("message %d", i)); err != nil {
			b.Fatal(err)
		}
		evt := e.waitCount(room, ghost, i+2)
		latencies = append(latencies, evt.Recorded.Sub(sent))
	}
	elapsed := time.Since(start)
	b.StopTimer()
	report(b, latencies, elapsed)
}

func BenchmarkMatrixToRemote(b *testing.B) {
	e := benchEnv(b)
	if _, err := e.emu.Peer(bobSIP).SendIM(aliceSIP, "warm-up"); err != nil {
		b.Fatal(err)
	}
	room := e.dmRoom(bobSIP)
	e.waitCount(room, e.ghost(bobSIP), 1)
	latencies := make([]time.Duration, 0, b.N)
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		sent := time.Now()
		e.sendMatrix(room, fmt.Sprintf("reply %d", i))
		got, err := e.emu.WaitReceived(ctx, bobSIP, i+1)
		if err != nil {
			b.Fatal(err)
		}
		latencies = append(latencies, got[i].Time.Sub(sent))
	}
	elapsed := time.Since(start)
	b.StopTimer()
	report(b, latencies, elapsed)
}

func benchEnv(b *testing.B) *env {
	e := newEnvLogged(b, nil)
	e.login()
	return e
}

// waitCount waits until sender has sent n messages into room and returns the
// n-th.
func (e *env) waitCount(room id.RoomID, sender id.UserID, n int) *bridgetest.Event {
	e.t.Helper()
	var last *bridgetest.Event
	e.h.WaitFor(fmt.Sprintf("%d messages from %s", n, sender), func() bool {
		count := 0
		for _, m := range e.h.Matrix.Messages(room) {
			if m.Sender == sender {
				count++
				if count == n {
					last = m
					return true
				}
			}
		}
		return false
	})
	return last
}

func report(b *testing.B, latencies []time.Duration, elapsed time.Duration) {
	if len(latencies) == 0 {
		return
	}
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		i := int(p * float64(len(latencies)-1))
		return float64(latencies[i].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "msgs/s")
}
