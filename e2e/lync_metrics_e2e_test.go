//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// scrapeMetrics returns the bridge's /metrics page.
func scrapeMetrics(ctx context.Context) (string, error) {
	if env.Bridge.MetricsURL == "" {
		return "", fmt.Errorf("bridge config has no network.metrics.listen")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, env.Bridge.MetricsURL, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("scrape %s: %w", env.Bridge.MetricsURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", env.Bridge.MetricsURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: HTTP %d\n%s", env.Bridge.MetricsURL, resp.StatusCode, body)
	}
	return string(body), nil
}

// metricValue finds the sample of name whose labels are exactly labels in
// the Prometheus text format (label values without escapes).
func metricValue(text, name string, labels map[string]string) (float64, bool) {
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		end := strings.Index(line, "}")
		if end < 0 {
			continue
		}
		got := map[string]string{}
		for _, pair := range strings.Split(line[len(name)+1:end], ",") {
			k, v, ok := strings.Cut(pair, "=")
			if !ok {
				continue
			}
			got[k] = strings.Trim(v, `"`)
		}
		if !sameLabels(got, labels) {
			continue
		}
		fields := strings.Fields(line[end+1:])
		if len(fields) == 0 {
			return 0, false
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		return v, err == nil
	}
	return 0, false
}

func sameLabels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
