package database_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq"
	"github.com/rs/zerolog"
	"go.mau.fi/util/dbutil"
	_ "go.mau.fi/util/dbutil/litestream"
	bridgedb "maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/database"
	"github.com/imbridge/imbridge/testenv"
)

// openers returns one database per dialect; PostgreSQL tests run in a schema of
// their own so runs never see each other's rows.
func openers(t *testing.T) map[string]func(t *testing.T) *dbutil.Database {
	return map[string]func(t *testing.T) *dbutil.Database{
		"sqlite": func(t *testing.T) *dbutil.Database {
			return open(t, "sqlite3-fk-wal", "file:"+filepath.Join(t.TempDir(), "test.db")+"?_txlock=immediate")
		},
		"postgres": func(t *testing.T) *dbutil.Database {
			uri := testenv.Postgres(t)
			admin := open(t, "postgres", uri)
			suffix := make([]byte, 6)
			_, _ = rand.Read(suffix)
			schema := "imbridge_test_" + hex.EncodeToString(suffix)
			if _, err := admin.Exec(context.Background(), "CREATE SCHEMA "+schema); err != nil {
				t.Fatalf("create schema: %v", err)
			}
			t.Cleanup(func() { _, _ = admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
			sep := "?"
			if strings.Contains(uri, "?") {
				sep = "&"
			}
			return open(t, "postgres", uri+sep+"search_path="+schema)
		},
	}
}

func open(t *testing.T, dialect, uri string) *dbutil.Database {
	t.Helper()
	db, err := dbutil.NewFromConfig("imbridge-test", dbutil.Config{PoolConfig: dbutil.PoolConfig{
		Type: dialect, URI: uri, MaxOpenConns: 4, MaxIdleConns: 1,
	}}, dbutil.ZeroLogger(zerolog.Nop()))
	if err != nil {
		t.Fatalf("open %s: %v", dialect, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// setup creates bridgev2's tables, two logins and ours.
func setup(t *testing.T, db *dbutil.Database) (*database.Database, *bridgedb.Database) {
	t.Helper()
	ctx := context.Background()
	bdb := bridgedb.New("", bridgedb.MetaTypes{}, db)
	if err := bdb.Upgrade(ctx); err != nil {
		t.Fatalf("bridgev2 upgrade: %v", err)
	}
	for _, login := range []networkid.UserLoginID{"lync.alice@corp", "lync.bob@corp"} {
		if err := bdb.User.Insert(ctx, &bridgedb.User{MXID: id.UserID("@" + idLocal(login) + ":test")}); err != nil {
			t.Fatalf("insert user: %v", err)
		}
		if err := bdb.UserLogin.Insert(ctx, &bridgedb.UserLogin{UserMXID: id.UserID("@" + idLocal(login) + ":test"), ID: login, RemoteName: string(login)}); err != nil {
			t.Fatalf("insert login: %v", err)
		}
	}
	own := database.New("", db, zerolog.Nop())
	if err := own.Upgrade(ctx); err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	// A second upgrade must be a no-op (restarts run it every time).
	if err := database.New("", db, zerolog.Nop()).Upgrade(ctx); err != nil {
		t.Fatalf("second upgrade: %v", err)
	}
	return own, bdb
}

func idLocal(login networkid.UserLoginID) string {
	return strings.NewReplacer("@", "_", ".", "_").Replace(string(login))
}

func TestTables(t *testing.T) {
	for name, openDB := range openers(t) {
		t.Run(name, func(t *testing.T) {
			db := openDB(t)
			own, bdb := setup(t, db)
			ctx := context.Background()
			const alice, bob = networkid.UserLoginID("lync.alice@corp"), networkid.UserLoginID("lync.bob@corp")

			t.Run("cursor", func(t *testing.T) {
				if got, err := own.Cursor.Get(ctx, alice, "events"); err != nil || got != "" {
					t.Fatalf("missing cursor = %q, %v; want empty", got, err)
				}
				must(t, own.Cursor.Put(ctx, alice, "events", "/ucwa/oauth/v1/applications/1/events?ack=2"))
				must(t, own.Cursor.Put(ctx, alice, "events", "/ucwa/oauth/v1/applications/1/events?ack=3"))
				must(t, own.Cursor.Put(ctx, bob, "events", "bob-cursor"))
				if got, err := own.Cursor.Get(ctx, alice, "events"); err != nil || got != "/ucwa/oauth/v1/applications/1/events?ack=3" {
					t.Fatalf("cursor = %q, %v; want the last one put", got, err)
				}
				must(t, own.Cursor.Delete(ctx, alice, "events"))
				if got, _ := own.Cursor.Get(ctx, alice, "events"); got != "" {
					t.Fatalf("deleted cursor still there: %q", got)
				}
				if got, _ := own.Cursor.Get(ctx, bob, "events"); got != "bob-cursor" {
					t.Fatalf("deleting alice's cursor touched bob's: %q", got)
				}
			})

			t.Run("sync state", func(t *testing.T) {
				type appState struct {
					App     string    `json:"app"`
					Expires time.Time `json:"expires"`
				}
				want := appState{App: "/ucwa/oauth/v1/applications/105", Expires: time.UnixMilli(1383784870271).UTC()}
				must(t, own.SyncState.Put(ctx, alice, "application", want))
				var got appState
				ok, err := own.SyncState.Get(ctx, alice, "application", &got)
				if err != nil || !ok || got != want {
					t.Fatalf("sync state = %+v, %v, %v; want %+v", got, ok, err, want)
				}
				if ok, err = own.SyncState.Get(ctx, bob, "application", &got); ok || err != nil {
					t.Fatalf("bob has no state, got ok=%v err=%v", ok, err)
				}
			})

			t.Run("threads", func(t *testing.T) {
				must(t, own.Thread.Put(ctx, &database.Thread{LoginID: alice, ThreadID: "AdI5/JVLEqc1Sn3OCUCviKuBNKZMFw==", PortalID: "lync.group1", ConversationRef: "/conv/1"}))
				must(t, own.Thread.Put(ctx, &database.Thread{LoginID: alice, ThreadID: "adi5/jvleqc1sn3ocucviKuBNKZMFw==", PortalID: "lync.group2", ConversationRef: "/conv/2"}))
				got, err := own.Thread.Get(ctx, alice, "AdI5/JVLEqc1Sn3OCUCviKuBNKZMFw==")
				if err != nil || got == nil || got.PortalID != "lync.group1" || got.ConversationRef != "/conv/1" {
					t.Fatalf("thread = %+v, %v", got, err)
				}
				must(t, own.Thread.Put(ctx, &database.Thread{LoginID: alice, ThreadID: "AdI5/JVLEqc1Sn3OCUCviKuBNKZMFw==", PortalID: "lync.group1", ConversationRef: "/conv/3"}))
				byPortal, err := own.Thread.GetByPortal(ctx, alice, "lync.group1")
				if err != nil || byPortal == nil || byPortal.ConversationRef != "/conv/3" {
					t.Fatalf("thread by portal = %+v, %v; want the updated ref", byPortal, err)
				}
				all, err := own.Thread.GetAll(ctx, alice)
				if err != nil || len(all) != 2 {
					t.Fatalf("threads of alice = %d, %v; want 2 (thread IDs are case-sensitive)", len(all), err)
				}
				if none, err := own.Thread.Get(ctx, bob, "AdI5/JVLEqc1Sn3OCUCviKuBNKZMFw=="); err != nil || none != nil {
					t.Fatalf("bob sees alice's thread: %+v, %v", none, err)
				}
			})

			t.Run("logout cascades", func(t *testing.T) {
				must(t, own.Cursor.Put(ctx, alice, "events", "x"))
				must(t, bdb.UserLogin.Delete(ctx, alice))
				if got, _ := own.Cursor.Get(ctx, alice, "events"); got != "" {
					t.Fatalf("cursor survived the login's deletion: %q", got)
				}
				if all, _ := own.Thread.GetAll(ctx, alice); len(all) != 0 {
					t.Fatalf("threads survived the login's deletion: %d", len(all))
				}
				var st map[string]any
				if ok, _ := own.SyncState.Get(ctx, alice, "application", &st); ok {
					t.Fatal("sync state survived the login's deletion")
				}
				if got, _ := own.Cursor.Get(ctx, bob, "events"); got != "bob-cursor" {
					t.Fatalf("bob's cursor was lost with alice's login: %q", got)
				}
			})

			t.Run("rows need a login", func(t *testing.T) {
				if err := own.Cursor.Put(ctx, "lync.nobody@corp", "events", "x"); err == nil {
					t.Fatal("a cursor for an unknown login must violate the foreign key")
				}
			})
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
