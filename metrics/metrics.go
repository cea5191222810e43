// Package metrics exposes imbridge's bridge-wide Prometheus metrics.
//
// bridgev2 itself exports none, so connectors feed the counters through the small
// Recorder interface, and login states are read from bridgev2 at scrape time (a
// collector, so no connector has to keep a gauge in step with its state).
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

// Direction says which way a message crossed the bridge.
type Direction string

const (
	ToMatrix Direction = "to_matrix"
	ToRemote Direction = "to_remote"
)

// Recorder is what connectors report to. Implementations must be safe for
// concurrent use.
type Recorder interface {
	// MessageBridged counts one message and its bridging latency: for ToMatrix,
	// from when the remote event arrived to when Matrix accepted it; for ToRemote,
	// from when the Matrix event arrived to when the remote server accepted it.
	MessageBridged(protocol string, dir Direction, latency time.Duration)
	// RemoteAPIError counts a failed call to a remote server; status is the HTTP
	// status, or 0 when no response arrived (connection error, timeout).
	RemoteAPIError(protocol, endpoint string, status int)
}

// Discard is a Recorder that records nothing.
var Discard Recorder = discard{}

type discard struct{}

func (discard) MessageBridged(string, Direction, time.Duration) {}
func (discard) RemoteAPIError(string, string, int)              {}

// LoginState is one login's protocol and current bridge state, as reported by
// the function given to New.
type LoginState struct {
	Protocol string
	State    string
}

// Prometheus records into its own registry (never the global one, so tests and
// several bridges in one process do not collide).
type Prometheus struct {
	registry *prometheus.Registry
	messages *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	errors   *prometheus.CounterVec
}

var _ Recorder = (*Prometheus)(nil)

// New creates the metrics for the given protocols, each with zero-valued
// series from the start (so dashboards and alerts see them before the first
// message). loginStates is called at every scrape.
func New(protocols []string, loginStates func() []LoginState) *Prometheus {
	p := &Prometheus{
		registry: prometheus.NewRegistry(),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imbridge_messages_bridged_total",
			Help: "Messages bridged, by protocol and direction.",
		}, []string{"protocol", "direction"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "imbridge_bridging_latency_seconds",
			Help:    "Time from receiving a message on one side to the other side accepting it.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"protocol", "direction"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imbridge_remote_api_errors_total",
			Help: "Failed calls to remote servers, by protocol, endpoint kind and HTTP status (0: no response).",
		}, []string{"protocol", "endpoint", "status"}),
	}
	for _, proto := range protocols {
		for _, dir := range []Direction{ToMatrix, ToRemote} {
			p.messages.WithLabelValues(proto, string(dir))
			p.latency.WithLabelValues(proto, string(dir))
		}
	}
	p.registry.MustRegister(p.messages, p.latency, p.errors,
		&loginCollector{protocols: protocols, states: loginStates},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return p
}

func (p *Prometheus) MessageBridged(protocol string, dir Direction, latency time.Duration) {
	p.messages.WithLabelValues(protocol, string(dir)).Inc()
	p.latency.WithLabelValues(protocol, string(dir)).Observe(latency.Seconds())
}

func (p *Prometheus) RemoteAPIError(protocol, endpoint string, status int) {
	p.errors.WithLabelValues(protocol, endpoint, strconv.Itoa(status)).Inc()
}

// Handler serves the metrics in the Prometheus text format.
func (p *Prometheus) Handler() http.Handler {
	return promhttp.HandlerFor(p.registry, promhttp.HandlerOpts{})
}

// Serve listens on addr and serves /metrics until ctx ends. The listener is
// opened before Serve returns, so a bad address is reported at startup.
func (p *Prometheus) Serve(ctx context.Context, addr string, log zerolog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen for metrics on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", p.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Err(err).Msg("Metrics server stopped")
		}
	}()
	log.Info().Str("address", ln.Addr().String()).Msg("Serving Prometheus metrics on /metrics")
	return nil
}

var loginsDesc = prometheus.NewDesc("imbridge_logins",
	"Logins known to the bridge, by protocol and bridge state (CONNECTED, TRANSIENT_DISCONNECT, BAD_CREDENTIALS, ...).",
	[]string{"protocol", "state"}, nil)

type loginCollector struct {
	protocols []string
	states    func() []LoginState
}

func (c *loginCollector) Describe(ch chan<- *prometheus.Desc) { ch <- loginsDesc }

func (c *loginCollector) Collect(ch chan<- prometheus.Metric) {
	counts := map[LoginState]int{}
	// Every protocol reports a connected count, zero included, so "no logins
	// connected" is a value rather than a missing series.
	for _, p := range c.protocols {
		counts[LoginState{Protocol: p, State: "CONNECTED"}] = 0
	}
	for _, s := range c.states() {
		counts[s]++
	}
	for s, n := range counts {
		ch <- prometheus.MustNewConstMetric(loginsDesc, prometheus.GaugeValue, float64(n), s.Protocol, s.State)
	}
}
