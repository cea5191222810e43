//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/testenv"
)

// BenchmarkE2E measures what a user gets from the real bridge binary
// against the real Synapse, per protocol with an emulator, each figure
// beside a homeserver-only baseline measured in the same run and
// interleaved with it (see docs/bench-e2e.md for what each baseline is).
// Every sub-benchmark does a fixed amount of work once and reports
// figures with b.ReportMetric; ns/op is the duration of that work and
// means nothing on its own. Run it with `make bench-e2e`. Sizes:
//
//	IMBRIDGE_BENCH_MESSAGES   latency samples per side (default 200)
//	IMBRIDGE_BENCH_LOGINS     concurrent logins for throughput (default 20)
//	IMBRIDGE_BENCH_PER_LOGIN  messages per login per round (default 50)
//	IMBRIDGE_BENCH_ROUNDS     throughput rounds per side (default 4)
//	IMBRIDGE_BENCH_CHATS      portals of the one login (default 8)
//	IMBRIDGE_BENCH_IDLE       idle logins for the memory figure (default 1000)
//	IMBRIDGE_BENCH_PORTALS    portals in the database at start-up (default 10000)
//	IMBRIDGE_BENCH_RESTARTS   restarts per start-up figure (default 3)
//
// and the diagnostics IMBRIDGE_BENCH_DEBUG, IMBRIDGE_BENCH_KEEP and
// IMBRIDGE_BENCH_DIRECT_LIKE_BRIDGE (docs/bench-e2e.md).
func BenchmarkE2E(b *testing.B) {
	for _, newProto := range benchProtocols {
		proto := newProto()
		b.Run(proto.Name(), func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
			defer cancel()
			bs := startBenchStack(ctx, b, proto)
			b.Run("remote-to-matrix", func(b *testing.B) { benchRemoteToMatrix(ctx, b, bs) })
			b.Run("matrix-to-remote", func(b *testing.B) { benchMatrixToRemote(ctx, b, bs) })
			b.Run("throughput-remote-to-matrix", func(b *testing.B) { benchThroughputRemoteToMatrix(ctx, b, bs) })
			b.Run("throughput-matrix-to-remote", func(b *testing.B) { benchThroughputMatrixToRemote(ctx, b, bs) })
			b.Run("throughput-one-login-remote-to-matrix", func(b *testing.B) { benchThroughputOneLogin(ctx, b, bs) })
			b.Run("scale", func(b *testing.B) { benchScale(ctx, b, bs) })
		})
	}
}

// benchOnce makes a sub-benchmark do its work once however often the
// framework calls it (it calls once with b.N=1 first, and again with a
// larger N when that took under -benchtime): the figures are kept from the
// first call and reported again.
func benchOnce(b *testing.B, key string, run func() map[string]float64) {
	benchOnceMu.Lock()
	metrics, done := benchOnceDone[key]
	benchOnceMu.Unlock()
	if !done {
		metrics = run()
		if b.Failed() {
			return
		}
		metrics = withLoad(b, metrics)
		if b.Failed() {
			return
		}
		benchOnceMu.Lock()
		benchOnceDone[key] = metrics
		benchOnceMu.Unlock()
	}
	b.StopTimer()
	for unit, v := range metrics {
		b.ReportMetric(v, unit)
	}
}

// withLoad adds the machine's load average at the end of a measurement:
// these figures come from a shared machine, and the load says how much to
// trust them.
func withLoad(b *testing.B, m map[string]float64) map[string]float64 {
	load, err := testenv.LoadAverage()
	if err != nil {
		b.Fatal(err)
	}
	m["load-1m"] = load
	return m
}

var (
	benchOnceMu   sync.Mutex
	benchOnceDone = map[string]map[string]float64{}
)

// side is one of the two things measured side by side.
type side int

const (
	viaBridge side = iota
	direct
	// sequential is one direct sender doing everything one at a time.
	sequential
)

func (s side) String() string { return [...]string{"bridge", "direct", "sequential"}[s] }

// interleaved returns the order of the two sides for sample i: ABBA, so
// that neither side always goes first after the other's traffic.
func interleaved(i int) [2]side {
	if i%4 == 1 || i%4 == 2 {
		return [2]side{direct, viaBridge}
	}
	return [2]side{viaBridge, direct}
}

// benchRemoteToMatrix: the colleague's message is injected into the
// emulator and timed until the user's /sync delivers the ghost's event,
// beside the same text PUT by the same ghost into the same portal with the
// bridge's appservice token.
func benchRemoteToMatrix(ctx context.Context, b *testing.B, bs *benchStack) {
	benchOnce(b, bs.proto.Name()+"/r2m", func() map[string]float64 {
		n := benchInt(b, "IMBRIDGE_BENCH_MESSAGES", 200)
		u := bs.ensureUsers(ctx, b, 1)[0]
		lat := map[side][]time.Duration{}
		cpuBefore, err := bs.cpu()
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := range n {
			for _, s := range interleaved(i) {
				text := fmt.Sprintf("r2m %s %d %s", s, i, bs.suffix)
				ctx, cancel := context.WithTimeout(ctx, benchSampleTimeout)
				start := time.Now()
				var err error
				switch {
				case s == viaBridge:
					err = bs.proto.Inject(u.acc, text)
				case benchMimicBridge():
					err = sendLikeBridge(ctx, u.direct, u.portal, text)
				default:
					err = sendText(ctx, u.direct, u.portal, text)
				}
				if err != nil {
					b.Fatal(err)
				}
				a, err := u.listener.waitMessage(ctx, text)
				if err != nil {
					b.Fatalf("%s message %d: %v", s, i, err)
				}
				if a.Room != u.portal || a.Sender != u.ghost {
					b.Fatalf("%s message %d arrived in %s from %s, want the portal %s from the ghost %s", s, i, a.Room, a.Sender, u.portal, u.ghost)
				}
				cancel()
				lat[s] = append(lat[s], a.Time.Sub(start))
			}
		}
		b.StopTimer()
		cpuAfter, err := bs.cpu()
		if err != nil {
			b.Fatal(err)
		}
		m := latencyMetrics(lat)
		// The bridge's CPU per bridged message (the direct sends cost it
		// only an ignored appservice event), Synapse's per message sent.
		m["bridge-cpu-ms/msg"] = float64((cpuAfter.bridge - cpuBefore.bridge).Microseconds()) / 1000 / float64(n)
		m["synapse-cpu-ms/msg"] = float64((cpuAfter.synapse - cpuBefore.synapse).Microseconds()) / 1000 / float64(2*n)
		return m
	})
}

// benchMatrixToRemote: the user's client PUTs a message into the portal
// and it is timed until the emulator holds it from the user's account,
// beside the same client PUTting into a room whose other member is the
// observing appservice, timed until Synapse pushes it there.
func benchMatrixToRemote(ctx context.Context, b *testing.B, bs *benchStack) {
	benchOnce(b, bs.proto.Name()+"/m2r", func() map[string]float64 {
		n := benchInt(b, "IMBRIDGE_BENCH_MESSAGES", 200)
		u := bs.ensureUsers(ctx, b, 1)[0]
		lat := map[side][]time.Duration{}
		cpuBefore, err := bs.cpu()
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := range n {
			for _, s := range interleaved(i) {
				text := fmt.Sprintf("m2r %s %d %s", s, i, bs.suffix)
				var got time.Time
				ctx, cancel := context.WithTimeout(ctx, benchSampleTimeout)
				start := time.Now()
				if s == viaBridge {
					evt, err := sendTextID(ctx, u.cli, u.portal, text)
					if err != nil {
						b.Fatal(err)
					}
					d, err := bs.waitDelivered(ctx, u, text)
					if err != nil {
						b.Fatal(err)
					}
					got = d.Time
					// The bridge then sends its delivery receipt; the next
					// sample starts once Synapse has it, so that this work
					// does not land on it (untimed).
					if err := u.listener.waitReceipt(ctx, evt); err != nil {
						b.Fatal(err)
					}
				} else {
					if err := sendText(ctx, u.cli, u.baseRoom, text); err != nil {
						b.Fatal(err)
					}
					a, err := bs.obs.WaitSeen(ctx, text)
					if err != nil {
						b.Fatal(err)
					}
					got = a.Time
				}
				cancel()
				lat[s] = append(lat[s], got.Sub(start))
			}
		}
		b.StopTimer()
		cpuAfter, err := bs.cpu()
		if err != nil {
			b.Fatal(err)
		}
		m := latencyMetrics(lat)
		// The bridge's CPU per bridged message (the direct sends cost it
		// only an ignored appservice event), Synapse's per message sent.
		m["bridge-cpu-ms/msg"] = float64((cpuAfter.bridge - cpuBefore.bridge).Microseconds()) / 1000 / float64(n)
		m["synapse-cpu-ms/msg"] = float64((cpuAfter.synapse - cpuBefore.synapse).Microseconds()) / 1000 / float64(2*n)
		return m
	})
}

// benchMimicBridge reports whether IMBRIDGE_BENCH_DIRECT_LIKE_BRIDGE is
// set: the remote→Matrix direct sends then carry what bridgev2 adds to a
// bridged message (?ts= and its extra content keys), which separates what
// those cost Synapse from what the bridge itself costs.
func benchMimicBridge() bool { return os.Getenv("IMBRIDGE_BENCH_DIRECT_LIKE_BRIDGE") != "" }

// sendLikeBridge sends text as bridgev2 sends a bridged text message: with
// the remote timestamp as ?ts= and empty m.mentions and
// com.beeper.disappearing_timer in the content.
// IMBRIDGE_BENCH_DIRECT_LIKE_BRIDGE=ts, =content, =mentions or =timer adds
// only that part.
func sendLikeBridge(ctx context.Context, cli *mautrix.Client, room id.RoomID, body string) error {
	mode := os.Getenv("IMBRIDGE_BENCH_DIRECT_LIKE_BRIDGE")
	content := map[string]any{"msgtype": "m.text", "body": body}
	if mode != "ts" && mode != "timer" {
		content["m.mentions"] = map[string]any{}
	}
	if mode != "ts" && mode != "mentions" {
		content["com.beeper.disappearing_timer"] = map[string]any{}
	}
	var req mautrix.ReqSendEvent
	if mode != "content" && mode != "mentions" && mode != "timer" {
		req.Timestamp = time.Now().UnixMilli()
	}
	_, err := cli.SendMessageEvent(ctx, room, event.EventMessage, content, req)
	if err != nil {
		return fmt.Errorf("send %q to %s as %s: %w", body, room, cli.UserID, err)
	}
	return nil
}

// waitDelivered waits until the colleague of u holds text from u's account.
func (bs *benchStack) waitDelivered(ctx context.Context, u *benchUser, text string) (benchDelivery, error) {
	var found benchDelivery
	err := bs.proto.WaitChange(ctx, func() bool {
		for _, d := range bs.proto.Delivered(u.acc) {
			if d.Text == text {
				found = d
				return true
			}
		}
		return false
	})
	if err != nil {
		return found, fmt.Errorf("wait for %s to receive %q from %s: %w", u.acc.Colleague, text, u.acc.Remote, err)
	}
	return found, nil
}

// latencyMetrics turns the samples of both sides into p50/p99 figures and
// their ratios (bridge ÷ direct).
func latencyMetrics(lat map[side][]time.Duration) map[string]float64 {
	m := map[string]float64{}
	for _, s := range []side{viaBridge, direct} {
		m[s.String()+"-p50-ms"] = percentileMs(lat[s], 0.50)
		m[s.String()+"-p99-ms"] = percentileMs(lat[s], 0.99)
	}
	m["ratio-p50"] = m["bridge-p50-ms"] / m["direct-p50-ms"]
	m["ratio-p99"] = m["bridge-p99-ms"] / m["direct-p99-ms"]
	m["added-p50-ms"] = m["bridge-p50-ms"] - m["direct-p50-ms"]
	return m
}

// percentileMs is the nearest-rank percentile in milliseconds.
func percentileMs(samples []time.Duration, p float64) float64 {
	if len(samples) == 0 {
		return 0
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.5) - 1
	i = min(max(i, 0), len(s)-1)
	return float64(s[i].Microseconds()) / 1000
}

// benchThroughputRemoteToMatrix: every colleague of L logins sends M
// messages at once; the figure is messages per second until the last one
// reached its user's /sync. The baseline is L appservice senders (the
// ghosts, with the bridge's token) each PUTting M messages one after the
// other into the same portals, as the bridge sends a portal's messages.
func benchThroughputRemoteToMatrix(ctx context.Context, b *testing.B, bs *benchStack) {
	benchOnce(b, bs.proto.Name()+"/tput-r2m", func() map[string]float64 {
		logins := benchInt(b, "IMBRIDGE_BENCH_LOGINS", 20)
		perLogin := benchInt(b, "IMBRIDGE_BENCH_PER_LOGIN", 50)
		rounds := benchInt(b, "IMBRIDGE_BENCH_ROUNDS", 4)
		users := bs.ensureUsers(ctx, b, logins)
		b.ResetTimer()
		results := map[side][]roundResult{}
		for r := range rounds {
			for _, s := range interleaved(r) {
				ctx, cancel := context.WithTimeout(ctx, benchRoundTimeout)
				lanes := userLanes(users, func(u *benchUser) benchLane {
					return benchLane{
						send: func(text string) error {
							if s == viaBridge {
								return bs.proto.Inject(u.acc, text)
							}
							return sendText(ctx, u.direct, u.portal, text)
						},
						wait: func(texts []string) (time.Time, error) { return u.listener.waitAll(ctx, texts) },
					}
				})
				res, err := bs.throughputRound(lanes, perLogin, fmt.Sprintf("tr2m %s %d", s, r))
				cancel()
				if err != nil {
					b.Fatalf("%s round %d: %v", s, r, err)
				}
				results[s] = append(results[s], res)
			}
		}
		b.StopTimer()
		return throughputMetrics(results, logins)
	})
}

// benchThroughputMatrixToRemote: L users each PUT M messages one after the
// other into their portals, all users at once; the figure is messages per
// second until the emulator held the last one. The baseline is the same
// users PUTting the same way into their rooms with the observing
// appservice, until Synapse pushed it the last one.
func benchThroughputMatrixToRemote(ctx context.Context, b *testing.B, bs *benchStack) {
	benchOnce(b, bs.proto.Name()+"/tput-m2r", func() map[string]float64 {
		logins := benchInt(b, "IMBRIDGE_BENCH_LOGINS", 20)
		perLogin := benchInt(b, "IMBRIDGE_BENCH_PER_LOGIN", 50)
		rounds := benchInt(b, "IMBRIDGE_BENCH_ROUNDS", 4)
		users := bs.ensureUsers(ctx, b, logins)
		b.ResetTimer()
		results := map[side][]roundResult{}
		for r := range rounds {
			for _, s := range interleaved(r) {
				ctx, cancel := context.WithTimeout(ctx, benchRoundTimeout)
				lanes := userLanes(users, func(u *benchUser) benchLane {
					return benchLane{
						send: func(text string) error {
							if s == viaBridge {
								return sendText(ctx, u.cli, u.portal, text)
							}
							return sendText(ctx, u.cli, u.baseRoom, text)
						},
						wait: func(texts []string) (time.Time, error) {
							if s == viaBridge {
								return bs.waitAllDelivered(ctx, u.acc, texts)
							}
							return bs.waitAllObserved(ctx, texts)
						},
					}
				})
				res, err := bs.throughputRound(lanes, perLogin, fmt.Sprintf("tm2r %s %d", s, r))
				cancel()
				if err != nil {
					b.Fatalf("%s round %d: %v", s, r, err)
				}
				results[s] = append(results[s], res)
			}
		}
		b.StopTimer()
		return throughputMetrics(results, logins)
	})
}

// benchLane is one sender in a throughput round: it sends its messages
// one after the other, and wait reports when the last of them arrived.
type benchLane struct {
	send func(text string) error
	wait func(texts []string) (time.Time, error)
}

// benchSampleTimeout bounds the wait for one latency sample, and
// benchRoundTimeout one throughput round: a lost message fails the
// benchmark instead of hanging it.
const (
	benchSampleTimeout = time.Minute
	benchRoundTimeout  = 10 * time.Minute
)

// throughputRound runs every lane in its own goroutine, perLane messages
// each, and returns messages per second from the first send to the last
// arrival. The lanes' waits are bounded by ctx, which the caller bounds by
// benchRoundTimeout.
func (bs *benchStack) throughputRound(lanes []benchLane, perLane int, tag string) (roundResult, error) {
	texts := make([][]string, len(lanes))
	for i := range lanes {
		for k := range perLane {
			texts[i] = append(texts[i], fmt.Sprintf("%s l%d m%d %s", tag, i, k, bs.suffix))
		}
	}
	errs := make([]error, len(lanes))
	lasts := make([]time.Time, len(lanes))
	sentAt := make([]time.Time, len(lanes))
	cpuBefore, err := bs.cpu()
	if err != nil {
		return roundResult{}, err
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i, lane := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, text := range texts[i] {
				if err := lane.send(text); err != nil {
					errs[i] = err
					return
				}
			}
			sentAt[i] = time.Now()
			lasts[i], errs[i] = lane.wait(texts[i])
		}()
	}
	wg.Wait()
	cpuAfter, err := bs.cpu()
	if err != nil {
		return roundResult{}, err
	}
	var last time.Time
	for i := range lanes {
		if errs[i] != nil {
			return roundResult{}, errs[i]
		}
		if lasts[i].After(last) {
			last = lasts[i]
		}
	}
	if os.Getenv("IMBRIDGE_BENCH_DEBUG") != "" {
		acc, ref := bs.obs.Transactions()
		fmt.Fprintf(os.Stderr, "DEBUG %s: sent %v, last arrival %v; observer transactions %d accepted, %d refused\n",
			tag, slices.MaxFunc(sentAt, time.Time.Compare).Sub(start), last.Sub(start), acc, ref)
	}
	n := len(lanes) * perLane
	return roundResult{
		rate:       float64(n) / last.Sub(start).Seconds(),
		msgs:       n,
		bridgeCPU:  cpuAfter.bridge - cpuBefore.bridge,
		synapseCPU: cpuAfter.synapse - cpuBefore.synapse,
	}, nil
}

// roundResult is one throughput round: its rate, and the CPU time the
// bridge and Synapse used from its start until every lane had waited (a
// little after the last arrival).
type roundResult struct {
	rate                  float64
	msgs                  int
	bridgeCPU, synapseCPU time.Duration
}

// userLanes makes one lane per user.
func userLanes(users []*benchUser, lane func(u *benchUser) benchLane) []benchLane {
	lanes := make([]benchLane, len(users))
	for i, u := range users {
		lanes[i] = lane(u)
	}
	return lanes
}

// waitAllDelivered waits until u's colleague holds every text and returns
// when the emulator got the last one. The emulator stamps each message, so
// the condition is checked at a relaxed pace to leave the CPU to the
// bridge and Synapse without blurring the figure.
func (bs *benchStack) waitAllDelivered(ctx context.Context, acc *benchAccount, texts []string) (time.Time, error) {
	var last time.Time
	err := pollUntil(ctx, 20*time.Millisecond, func() bool {
		got := map[string]time.Time{}
		for _, d := range bs.proto.Delivered(acc) {
			got[d.Text] = d.Time
		}
		last = time.Time{}
		for _, t := range texts {
			at, ok := got[t]
			if !ok {
				return false
			}
			if at.After(last) {
				last = at
			}
		}
		return true
	})
	if err != nil {
		return last, fmt.Errorf("wait for %s to receive %d messages from %s: %w", acc.Colleague, len(texts), acc.Remote, err)
	}
	return last, nil
}

// waitAllObserved waits until the observing appservice got every text and
// returns when the last one was pushed (the observer stamps arrivals).
func (bs *benchStack) waitAllObserved(ctx context.Context, texts []string) (time.Time, error) {
	var last time.Time
	err := pollUntil(ctx, 20*time.Millisecond, func() bool {
		last = time.Time{}
		for _, t := range texts {
			a, ok := bs.obs.Seen(t)
			if !ok {
				return false
			}
			if a.Time.After(last) {
				last = a.Time
			}
		}
		return true
	})
	if err != nil {
		return last, fmt.Errorf("wait for the observing appservice to get %d messages: %w", len(texts), err)
	}
	return last, nil
}

// pollUntil checks cond every interval until it holds or ctx ends. It is
// for conditions whose timing is stamped where they happen, so the poll
// interval does not enter any figure.
func pollUntil(ctx context.Context, interval time.Duration, cond func() bool) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// benchThroughputOneLogin: C colleagues of one login each send M messages
// at once, one portal each; messages per second until the last reached the
// user's /sync. Beside it, C direct senders (the C ghosts) PUTting M each
// one after the other into their portals, and a single direct sender
// PUTting all C×M one after the other: the homeserver's sequential rate.
// It shows how much of one login's traffic proceeds in parallel.
func benchThroughputOneLogin(ctx context.Context, b *testing.B, bs *benchStack) {
	benchOnce(b, bs.proto.Name()+"/tput-one", func() map[string]float64 {
		chats := benchInt(b, "IMBRIDGE_BENCH_CHATS", 8)
		perChat := benchInt(b, "IMBRIDGE_BENCH_PER_LOGIN", 50)
		rounds := benchInt(b, "IMBRIDGE_BENCH_ROUNDS", 4)
		u, portals := bs.extraPortals(ctx, b, chats)
		wait := func(texts []string) (time.Time, error) { return u.listener.waitAll(ctx, texts) }
		b.ResetTimer()
		results := map[side][]roundResult{}
		for r := range rounds {
			// Each round starts with the next side, so none always follows
			// the same one.
			order := []side{viaBridge, direct, sequential}
			for range r % 3 {
				order = append(order[1:], order[0])
			}
			for _, s := range order {
				ctx, cancel := context.WithTimeout(ctx, benchRoundTimeout)
				var lanes []benchLane
				per := perChat
				switch s {
				case viaBridge, direct:
					for _, p := range portals {
						lanes = append(lanes, benchLane{
							send: func(text string) error {
								if s == viaBridge {
									return bs.proto.Inject(p.acc, text)
								}
								return sendText(ctx, p.direct, p.room, text)
							},
							wait: wait,
						})
					}
				case sequential:
					next := 0
					lanes = []benchLane{{
						send: func(text string) error {
							p := portals[next%len(portals)]
							next++
							return sendText(ctx, p.direct, p.room, text)
						},
						wait: wait,
					}}
					per = perChat * len(portals)
				}
				res, err := bs.throughputRound(lanes, per, fmt.Sprintf("t1 %s %d", s, r))
				cancel()
				if err != nil {
					b.Fatalf("%s round %d: %v", s, r, err)
				}
				results[s] = append(results[s], res)
			}
		}
		b.StopTimer()
		m := throughputMetrics(results, 1)
		m["chats"] = float64(chats)
		m["direct-1-msgs/s"] = medianRate(results[sequential])
		m["ratio-sequential"] = m["bridge-msgs/s"] / m["direct-1-msgs/s"]
		return m
	})
}

// medianRate is the median of the rounds' rates: a burst of other work on
// the machine during one round does not move it.
func medianRate(rs []roundResult) float64 {
	if len(rs) == 0 {
		return 0
	}
	rates := make([]float64, len(rs))
	for i, r := range rs {
		rates[i] = r.rate
	}
	slices.Sort(rates)
	if n := len(rates); n%2 == 0 {
		return (rates[n/2-1] + rates[n/2]) / 2
	}
	return rates[len(rates)/2]
}

// cpuPerMsg is the CPU time per message over rounds, in milliseconds.
func cpuPerMsg(rs []roundResult, of func(roundResult) time.Duration) float64 {
	var cpu time.Duration
	msgs := 0
	for _, r := range rs {
		cpu += of(r)
		msgs += r.msgs
	}
	return float64(cpu.Microseconds()) / 1000 / float64(msgs)
}

func throughputMetrics(rs map[side][]roundResult, logins int) map[string]float64 {
	bridgeCPU := func(r roundResult) time.Duration { return r.bridgeCPU }
	synapseCPU := func(r roundResult) time.Duration { return r.synapseCPU }
	m := map[string]float64{
		"bridge-msgs/s": medianRate(rs[viaBridge]),
		"direct-msgs/s": medianRate(rs[direct]),
		"logins":        float64(logins),
		// CPU per message: the bridge's in bridge rounds, Synapse's in
		// both, which shows whose work bounds the rate.
		"bridge-cpu-ms/msg":         cpuPerMsg(rs[viaBridge], bridgeCPU),
		"synapse-cpu-ms/msg":        cpuPerMsg(rs[viaBridge], synapseCPU),
		"direct-synapse-cpu-ms/msg": cpuPerMsg(rs[direct], synapseCPU),
	}
	m["ratio"] = m["bridge-msgs/s"] / m["direct-msgs/s"]
	return m
}
