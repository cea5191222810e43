package database

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix/bridgev2/networkid"
)

// SyncStateQuery stores a login's per-scope synchronisation state as JSON (for
// example an application's resumable session, or a conversation's history
// position). The connector owns the shape of each scope's value.
type SyncStateQuery struct {
	db       *dbutil.Database
	bridgeID networkid.BridgeID
}

const (
	getSyncStateQuery = `SELECT state FROM imbridge_sync_state WHERE bridge_id=$1 AND login_id=$2 AND scope=$3`
	putSyncStateQuery = `
		INSERT INTO imbridge_sync_state (bridge_id, login_id, scope, state, updated_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (bridge_id, login_id, scope) DO UPDATE SET state=excluded.state, updated_at=excluded.updated_at`
	deleteSyncStateQuery = `DELETE FROM imbridge_sync_state WHERE bridge_id=$1 AND login_id=$2 AND scope=$3`
)

// Get decodes the saved state into dest and reports whether there was one.
func (q *SyncStateQuery) Get(ctx context.Context, login networkid.UserLoginID, scope string, dest any) (bool, error) {
	var raw string
	err := q.db.QueryRow(ctx, getSyncStateQuery, q.bridgeID, login, scope).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("get %s sync state of %s: %w", scope, login, err)
	}
	if err = json.Unmarshal([]byte(raw), dest); err != nil {
		return false, fmt.Errorf("decode %s sync state of %s: %w", scope, login, err)
	}
	return true, nil
}

// Put saves value (encoded as JSON) as the scope's state.
func (q *SyncStateQuery) Put(ctx context.Context, login networkid.UserLoginID, scope string, value any) error {
	raw, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("encode %s sync state of %s: %w", scope, login, err)
	}
	_, err = q.db.Exec(ctx, putSyncStateQuery, q.bridgeID, login, scope, string(raw), time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("save %s sync state of %s: %w", scope, login, err)
	}
	return nil
}

// Delete forgets the scope's state.
func (q *SyncStateQuery) Delete(ctx context.Context, login networkid.UserLoginID, scope string) error {
	_, err := q.db.Exec(ctx, deleteSyncStateQuery, q.bridgeID, login, scope)
	if err != nil {
		return fmt.Errorf("delete %s sync state of %s: %w", scope, login, err)
	}
	return nil
}
