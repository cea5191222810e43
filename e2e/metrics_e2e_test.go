//go:build e2e

package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// wantMetricFamilies must be on /metrics from start-up on, before any
// login or message, so dashboards and alerts work on a fresh bridge: the
// bridge exports zero-valued series for its enabled protocols.
// imbridge_remote_api_errors_total has per-endpoint labels and only
// appears after a failed remote call; the protocol e2e tests check it.
var wantMetricFamilies = []string{
	"go_goroutines", // the Prometheus handler itself, not some other page
	"imbridge_logins",
	"imbridge_messages_bridged_total",
	"imbridge_bridging_latency_seconds",
}

// TestMetricsEndpoint scrapes /metrics on network.metrics.listen while the
// bridge runs.
func TestMetricsEndpoint(t *testing.T) {
	requireEnv(t)
	if env.Bridge.MetricsURL == "" {
		t.Fatal("bridge config has no network.metrics.listen")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, env.Bridge.MetricsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scrape %s: %v", env.Bridge.MetricsURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d\n%s", env.Bridge.MetricsURL, resp.StatusCode, body)
	}
	families := metricFamilies(string(body))
	for _, want := range wantMetricFamilies {
		if !families[want] {
			t.Errorf("metric family %s missing from /metrics; imbridge families present: %v", want, imbridgeFamilies(families))
		}
	}
}

// metricFamilies returns the names declared by "# TYPE" lines of the
// Prometheus text format.
func metricFamilies(text string) map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		if fields := strings.Fields(line); len(fields) >= 4 && fields[0] == "#" && fields[1] == "TYPE" {
			out[fields[2]] = true
		}
	}
	return out
}

func imbridgeFamilies(families map[string]bool) []string {
	var out []string
	for f := range families {
		if strings.HasPrefix(f, "imbridge_") {
			out = append(out, f)
		}
	}
	return out
}
