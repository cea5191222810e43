package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func scrape(t *testing.T, p *Prometheus) string {
	t.Helper()
	srv := httptest.NewServer(p.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

func TestSeriesExistFromTheStart(t *testing.T) {
	out := scrape(t, New([]string{"lync"}, func() []LoginState { return nil }))
	for _, want := range []string{
		`imbridge_logins{protocol="lync",state="CONNECTED"} 0`,
		`imbridge_messages_bridged_total{direction="to_matrix",protocol="lync"} 0`,
		`imbridge_messages_bridged_total{direction="to_remote",protocol="lync"} 0`,
		`imbridge_bridging_latency_seconds_count{direction="to_remote",protocol="lync"} 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("fresh metrics lack %s", want)
		}
	}
}

func TestRecording(t *testing.T) {
	states := []LoginState{{"lync", "CONNECTED"}, {"lync", "CONNECTED"}, {"lync", "BAD_CREDENTIALS"}}
	p := New([]string{"lync"}, func() []LoginState { return states })
	p.MessageBridged("lync", ToRemote, 30*time.Millisecond)
	p.RemoteAPIError("lync", "events", 0)
	out := scrape(t, p)
	for _, want := range []string{
		`imbridge_logins{protocol="lync",state="CONNECTED"} 2`,
		`imbridge_logins{protocol="lync",state="BAD_CREDENTIALS"} 1`,
		`imbridge_messages_bridged_total{direction="to_remote",protocol="lync"} 1`,
		`imbridge_bridging_latency_seconds_bucket{direction="to_remote",protocol="lync",le="0.05"} 1`,
		`imbridge_bridging_latency_seconds_bucket{direction="to_remote",protocol="lync",le="0.025"} 0`,
		`imbridge_remote_api_errors_total{endpoint="events",protocol="lync",status="0"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
