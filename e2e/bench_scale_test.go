//go:build e2e

package e2e

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	_ "go.mau.fi/util/dbutil/litestream" // registers the sqlite3-fk-wal driver the bridge uses

	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/testenv"
)

// benchScale reports the bridge's resident memory idle and per connected
// idle login, and its start-up time with many portals in the database:
//
//   - idle-rss-MB: right after the bridge first became ready, no logins;
//   - per-login-KB: growth of resident memory from IMBRIDGE_BENCH_IDLE
//     more logins, once every one holds its event channel open, divided
//     by their number;
//   - restart-rss-MB and restart-per-login-KB: the same logins held by a
//     freshly restarted process, against the fresh idle process;
//   - startup-ms: the median of IMBRIDGE_BENCH_RESTARTS (default 3)
//     restarts (process start to /_matrix/mau/ready) with
//     those logins and the few real portals; reconnect-s: until every
//     login holds its event channel again;
//   - startup-portals-ms and reconnect-portals-s: the same with
//     IMBRIDGE_BENCH_PORTALS portals in the database.
//
// The portals are copies of a real portal row written straight into the
// bridge's SQLite database while it is stopped: creating ten thousand
// rooms through Synapse would take the better part of an hour on this
// machine and measures Synapse, not the bridge's start-up.
func benchScale(ctx context.Context, b *testing.B, bs *benchStack) {
	benchOnce(b, bs.proto.Name()+"/scale", func() map[string]float64 {
		idle := benchInt(b, "IMBRIDGE_BENCH_IDLE", 1000)
		portals := benchInt(b, "IMBRIDGE_BENCH_PORTALS", 10000)
		restarts := benchInt(b, "IMBRIDGE_BENCH_RESTARTS", 3)
		m := map[string]float64{"idle-rss-MB": float64(bs.idleRSS) / (1 << 20)}
		// A real portal to copy, and the users of the other benchmarks.
		users := bs.ensureUsers(ctx, b, 1)
		before, err := testenv.ResidentMemory(bs.st.Bridge.Pid())
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		start := time.Now()
		accs := bs.idleLogins(ctx, b, idle)
		m["logins/s"] = float64(idle) / time.Since(start).Seconds()
		if err := bs.waitConnected(ctx, accs, true); err != nil {
			b.Fatal(err)
		}
		after, err := testenv.ResidentMemory(bs.st.Bridge.Pid())
		if err != nil {
			b.Fatal(err)
		}
		m["rss-MB"] = float64(after) / (1 << 20)
		m["per-login-KB"] = float64(after-before) / float64(idle) / 1024
		m["logins-total"] = float64(idle + len(bs.users))

		startup, reconnect := bs.restartsTimed(ctx, b, accs, restarts)
		m["startup-ms"] = float64(startup.Microseconds()) / 1000
		m["reconnect-s"] = reconnect.Seconds()
		// A fresh process holding the same logins, against the fresh
		// idle process: no garbage from the logins' creation in either.
		restarted, err := testenv.ResidentMemory(bs.st.Bridge.Pid())
		if err != nil {
			b.Fatal(err)
		}
		m["restart-rss-MB"] = float64(restarted) / (1 << 20)
		m["restart-per-login-KB"] = float64(restarted-bs.idleRSS) / m["logins-total"] / 1024

		if err := bs.st.Bridge.Stop(); err != nil {
			b.Fatal(err)
		}
		if err := bs.waitConnected(ctx, accs, false); err != nil {
			b.Fatal(err)
		}
		total, err := bs.fillPortals(ctx, users[0], portals)
		if err != nil {
			b.Fatal(err)
		}
		m["portals"] = float64(total)
		// What creating the portals through Synapse instead would have
		// cost: the median time of one plain room creation, made
		// benchSetupParallel at a time during set-up, so that many run in
		// parallel (a bridged portal needs more: its state, the ghost's
		// join, the invite).
		bs.mu.Lock()
		creates := slices.Clone(bs.roomCreates)
		bs.mu.Unlock()
		if len(creates) > 0 {
			slices.Sort(creates)
			perRoom := creates[len(creates)/2]
			m["room-create-ms"] = float64(perRoom.Microseconds()) / 1000
			m["rooms-via-synapse-min"] = (perRoom * time.Duration(total) / benchSetupParallel).Minutes()
		}
		startup, reconnect = bs.restartsTimed(ctx, b, accs, restarts)
		m["startup-portals-ms"] = float64(startup.Microseconds()) / 1000
		m["reconnect-portals-s"] = reconnect.Seconds()
		b.StopTimer()
		return m
	})
}

// idleLogins logs n fresh remote accounts in through the provisioning API,
// each for its own Matrix user. Those users never need a Matrix account:
// an idle login without portals sends nothing to Matrix.
func (bs *benchStack) idleLogins(ctx context.Context, b *testing.B, n int) []*benchAccount {
	b.Helper()
	accs := make([]*benchAccount, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	base := 100000 // account numbers apart from the benchmark users'
	for i := range accs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			acc, err := bs.proto.NewAccount(base + i)
			if err != nil {
				errs[i] = err
				return
			}
			user := id.NewUserID(fmt.Sprintf("idle%d-%s", i, bs.suffix), bs.st.Synapse.ServerName)
			if err := bs.login(ctx, user, acc); err != nil {
				errs[i] = err
				return
			}
			accs[i] = acc
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	return accs
}

// waitConnected waits until every account's login holds (or, with want
// false, no longer holds) its event channel on the emulator.
func (bs *benchStack) waitConnected(ctx context.Context, accs []*benchAccount, want bool) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	missing := 0
	err := pollUntil(ctx, 50*time.Millisecond, func() bool {
		missing = 0
		for _, acc := range accs {
			if bs.proto.Connected(acc) != want {
				missing++
			}
		}
		return missing == 0
	})
	if err != nil {
		return fmt.Errorf("%d of %d logins still not connected=%t: %w", missing, len(accs), want, err)
	}
	return nil
}

// restartsTimed restarts the bridge n times and returns the medians of
// restartTimed's figures.
func (bs *benchStack) restartsTimed(ctx context.Context, b *testing.B, accs []*benchAccount, n int) (ready, reconnected time.Duration) {
	b.Helper()
	var readies, reconnects []time.Duration
	for range n {
		r, c := bs.restartTimed(ctx, b, accs)
		readies, reconnects = append(readies, r), append(reconnects, c)
	}
	slices.Sort(readies)
	slices.Sort(reconnects)
	return readies[n/2], reconnects[n/2]
}

// restartTimed restarts the bridge and returns the time from starting the
// process to ready, and to every account being connected again.
func (bs *benchStack) restartTimed(ctx context.Context, b *testing.B, accs []*benchAccount) (ready, reconnected time.Duration) {
	b.Helper()
	if bs.st.Bridge.Running() {
		if err := bs.st.Bridge.Stop(); err != nil {
			b.Fatal(err)
		}
		if err := bs.waitConnected(ctx, accs, false); err != nil {
			b.Fatal(err)
		}
	}
	bs.st.Bridge.ReadyPoll = 5 * time.Millisecond
	start := time.Now()
	if err := bs.st.Bridge.Start(ctx); err != nil {
		b.Fatal(err)
	}
	ready = time.Since(start)
	if err := bs.waitConnected(ctx, accs, true); err != nil {
		b.Fatal(err)
	}
	return ready, time.Since(start)
}

// fillPortals copies the portal of u (row and user_portal link) in the
// stopped bridge's database until it holds total portals, spreading the
// copies over the logins, and returns the number of portals it then has.
func (bs *benchStack) fillPortals(ctx context.Context, u *benchUser, total int) (int, error) {
	dbPath := filepath.Join(bs.st.Bridge.Dir, "imbridge.db")
	db, err := sql.Open("sqlite3-fk-wal", "file:"+dbPath+"?_txlock=immediate")
	if err != nil {
		return 0, fmt.Errorf("open the bridge database: %w", err)
	}
	defer db.Close()
	var have int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM portal").Scan(&have); err != nil {
		return 0, fmt.Errorf("count portals: %w", err)
	}
	if have >= total {
		return have, nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	portalCols, portalRow, err := readRow(ctx, tx, "portal", "mxid = ?", u.portal.String())
	if err != nil {
		return 0, err
	}
	// The link of login and portal is copied too when the portal has one.
	upCols, upRow, err := readRow(ctx, tx, "user_portal", "portal_id = ? AND user_mxid = ?", portalRow["id"], u.mxid.String())
	if errors.Is(err, errNoRow) {
		upCols = nil
	} else if err != nil {
		return 0, err
	}
	var logins [][2]string // login ID, user MXID
	rows, err := tx.QueryContext(ctx, "SELECT id, user_mxid FROM user_login WHERE bridge_id = ?", portalRow["bridge_id"])
	if err != nil {
		return 0, fmt.Errorf("list logins: %w", err)
	}
	for rows.Next() {
		var l [2]string
		if err := rows.Scan(&l[0], &l[1]); err != nil {
			rows.Close()
			return 0, fmt.Errorf("read login: %w", err)
		}
		logins = append(logins, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("list logins: %w", err)
	}
	insPortal, err := tx.PrepareContext(ctx, insertSQL("portal", portalCols))
	if err != nil {
		return 0, fmt.Errorf("prepare portal insert: %w", err)
	}
	var insLink *sql.Stmt
	if upCols != nil {
		if insLink, err = tx.PrepareContext(ctx, insertSQL("user_portal", upCols)); err != nil {
			return 0, fmt.Errorf("prepare user_portal insert: %w", err)
		}
	}
	receiverIsLogin := portalRow["receiver"] != "" && portalRow["receiver"] != nil
	for i := range total - have {
		login := logins[i%len(logins)]
		portalID := fmt.Sprintf("%v.copy%d", portalRow["id"], i)
		receiver := portalRow["receiver"]
		if receiverIsLogin {
			receiver = login[0]
		}
		p := cloneRow(portalRow)
		p["id"], p["receiver"] = portalID, receiver
		p["mxid"] = fmt.Sprintf("!benchcopy%d%s:%s", i, bs.suffix, bs.st.Synapse.ServerName)
		if _, err := insPortal.ExecContext(ctx, values(portalCols, p)...); err != nil {
			return 0, fmt.Errorf("insert portal copy %d: %w", i, err)
		}
		if insLink == nil {
			continue
		}
		l := cloneRow(upRow)
		l["portal_id"], l["portal_receiver"], l["login_id"], l["user_mxid"] = portalID, receiver, login[0], login[1]
		if _, err := insLink.ExecContext(ctx, values(upCols, l)...); err != nil {
			return 0, fmt.Errorf("insert user_portal copy %d: %w", i, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit portal copies: %w", err)
	}
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM portal").Scan(&have); err != nil {
		return 0, fmt.Errorf("count portals: %w", err)
	}
	return have, nil
}

var errNoRow = errors.New("no row")

// readRow reads one row of table as column name → value.
func readRow(ctx context.Context, tx *sql.Tx, table, where string, args ...any) ([]string, map[string]any, error) {
	rows, err := tx.QueryContext(ctx, "SELECT * FROM "+table+" WHERE "+where+" LIMIT 1", args...)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, nil, fmt.Errorf("read %s columns: %w", table, err)
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", table, err)
		}
		return nil, nil, fmt.Errorf("%w in %s where %s %v", errNoRow, table, where, args)
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, nil, fmt.Errorf("scan %s: %w", table, err)
	}
	row := map[string]any{}
	for i, c := range cols {
		if b, ok := vals[i].([]byte); ok {
			vals[i] = string(b) // jsonb and text come back as bytes
		}
		row[c] = vals[i]
	}
	return cols, row, nil
}

func cloneRow(r map[string]any) map[string]any {
	c := make(map[string]any, len(r))
	for k, v := range r {
		c[k] = v
	}
	return c
}

func insertSQL(table string, cols []string) string {
	return fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", table, strings.Join(cols, ", "),
		strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", "))
}

func values(cols []string, row map[string]any) []any {
	out := make([]any, len(cols))
	for i, c := range cols {
		out[i] = row[c]
	}
	return out
}
