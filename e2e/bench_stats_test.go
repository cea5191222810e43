//go:build e2e

package e2e

import (
	"testing"
	"time"
)

func TestBenchPercentile(t *testing.T) {
	var samples []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		samples = append(samples, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want float64
	}{{0.50, 50}, {0.99, 99}, {1, 100}, {0, 1}} {
		if got := percentileMs(samples, c.p); got != c.want {
			t.Errorf("percentileMs(1..100 ms, %v) = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentileMs(nil, 0.5); got != 0 {
		t.Errorf("percentileMs(nil) = %v, want 0", got)
	}
	if samples[0] != 100*time.Millisecond {
		t.Error("percentileMs sorted the caller's samples in place")
	}
}

func TestBenchInterleavedIsBalanced(t *testing.T) {
	first := map[side]int{}
	for i := range 8 {
		order := interleaved(i)
		if order[0] == order[1] {
			t.Fatalf("interleaved(%d) = %v: a side twice", i, order)
		}
		first[order[0]]++
	}
	if first[viaBridge] != 4 || first[direct] != 4 {
		t.Errorf("over 8 samples the bridge went first %d times and the direct send %d times, want 4 each", first[viaBridge], first[direct])
	}
}

func TestBenchLatencyMetrics(t *testing.T) {
	m := latencyMetrics(map[side][]time.Duration{
		viaBridge: {12 * time.Millisecond, 12 * time.Millisecond},
		direct:    {10 * time.Millisecond, 10 * time.Millisecond},
	})
	if m["ratio-p50"] != 1.2 || m["added-p50-ms"] != 2 || m["bridge-p99-ms"] != 12 || m["direct-p50-ms"] != 10 {
		t.Errorf("latencyMetrics = %v, want ratio-p50 1.2, added-p50-ms 2, bridge-p99-ms 12, direct-p50-ms 10", m)
	}
}

func TestBenchMedianRate(t *testing.T) {
	rounds := func(rates ...float64) []roundResult {
		var rs []roundResult
		for _, r := range rates {
			rs = append(rs, roundResult{rate: r})
		}
		return rs
	}
	for _, c := range []struct {
		in   []roundResult
		want float64
	}{
		{rounds(10, 100, 20), 20},
		{rounds(8, 100, 90, 110), 95}, // one slow round does not drag it down
		{nil, 0},
	} {
		if got := medianRate(c.in); got != c.want {
			t.Errorf("medianRate(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
