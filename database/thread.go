package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix/bridgev2/networkid"
)

// Thread maps a remote conversation thread to the portal it is bridged into.
// Remote conversations can outlive their addresses (a UCWA conversation URL dies
// when the conversation ends, its threadId does not), so the thread ID is the
// key and ConversationRef holds the current, replaceable address.
type Thread struct {
	LoginID         networkid.UserLoginID
	ThreadID        string
	PortalID        networkid.PortalID
	ConversationRef string
	UpdatedAt       time.Time
}

// ThreadQuery reads and writes Thread rows.
type ThreadQuery struct {
	db       *dbutil.Database
	bridgeID networkid.BridgeID
}

const (
	threadColumns     = `login_id, thread_id, portal_id, conversation_ref, updated_at`
	getThreadQuery    = `SELECT ` + threadColumns + ` FROM imbridge_conversation_thread WHERE bridge_id=$1 AND login_id=$2 AND thread_id=$3`
	getThreadByPortal = `SELECT ` + threadColumns + ` FROM imbridge_conversation_thread WHERE bridge_id=$1 AND login_id=$2 AND portal_id=$3 ORDER BY updated_at DESC LIMIT 1`
	getThreadsByLogin = `SELECT ` + threadColumns + ` FROM imbridge_conversation_thread WHERE bridge_id=$1 AND login_id=$2`
	putThreadQuery    = `
		INSERT INTO imbridge_conversation_thread (bridge_id, login_id, thread_id, portal_id, conversation_ref, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (bridge_id, login_id, thread_id) DO UPDATE
			SET portal_id=excluded.portal_id, conversation_ref=excluded.conversation_ref, updated_at=excluded.updated_at`
	deleteThreadQuery = `DELETE FROM imbridge_conversation_thread WHERE bridge_id=$1 AND login_id=$2 AND thread_id=$3`
)

func scanThread(row dbutil.Scannable) (*Thread, error) {
	var t Thread
	var updated int64
	if err := row.Scan(&t.LoginID, &t.ThreadID, &t.PortalID, &t.ConversationRef, &updated); err != nil {
		return nil, err
	}
	t.UpdatedAt = time.UnixMilli(updated)
	return &t, nil
}

// Get returns the thread, or nil when it is unknown.
func (q *ThreadQuery) Get(ctx context.Context, login networkid.UserLoginID, threadID string) (*Thread, error) {
	t, err := scanThread(q.db.QueryRow(ctx, getThreadQuery, q.bridgeID, login, threadID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("get thread %s of %s: %w", threadID, login, err)
	}
	return t, nil
}

// GetByPortal returns the most recently used thread of a portal, or nil.
func (q *ThreadQuery) GetByPortal(ctx context.Context, login networkid.UserLoginID, portal networkid.PortalID) (*Thread, error) {
	t, err := scanThread(q.db.QueryRow(ctx, getThreadByPortal, q.bridgeID, login, portal))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("get thread of portal %s for %s: %w", portal, login, err)
	}
	return t, nil
}

// GetAll returns every thread of a login.
func (q *ThreadQuery) GetAll(ctx context.Context, login networkid.UserLoginID) ([]*Thread, error) {
	rows, err := q.db.Query(ctx, getThreadsByLogin, q.bridgeID, login)
	if err != nil {
		return nil, fmt.Errorf("list threads of %s: %w", login, err)
	}
	threads, err := dbutil.NewRowIterWithError(rows, scanThread, err).AsList()
	if err != nil {
		return nil, fmt.Errorf("list threads of %s: %w", login, err)
	}
	return threads, nil
}

// Put inserts or updates a thread; UpdatedAt is set to now.
func (q *ThreadQuery) Put(ctx context.Context, t *Thread) error {
	t.UpdatedAt = time.Now()
	_, err := q.db.Exec(ctx, putThreadQuery, q.bridgeID, t.LoginID, t.ThreadID, t.PortalID, t.ConversationRef, t.UpdatedAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("save thread %s of %s: %w", t.ThreadID, t.LoginID, err)
	}
	return nil
}

// Delete forgets a thread.
func (q *ThreadQuery) Delete(ctx context.Context, login networkid.UserLoginID, threadID string) error {
	_, err := q.db.Exec(ctx, deleteThreadQuery, q.bridgeID, login, threadID)
	if err != nil {
		return fmt.Errorf("delete thread %s of %s: %w", threadID, login, err)
	}
	return nil
}
