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

// CursorQuery stores where each login is in each of its remote event streams
// (for UCWA the next event-channel URL, for Skype/Teams the poll or Trouter
// position), so a restart resumes exactly where the last run stopped.
type CursorQuery struct {
	db       *dbutil.Database
	bridgeID networkid.BridgeID
}

const (
	getCursorQuery = `SELECT cursor FROM imbridge_event_cursor WHERE bridge_id=$1 AND login_id=$2 AND stream=$3`
	putCursorQuery = `
		INSERT INTO imbridge_event_cursor (bridge_id, login_id, stream, cursor, updated_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (bridge_id, login_id, stream) DO UPDATE SET cursor=excluded.cursor, updated_at=excluded.updated_at`
	deleteCursorQuery = `DELETE FROM imbridge_event_cursor WHERE bridge_id=$1 AND login_id=$2 AND stream=$3`
)

// Get returns the saved cursor, or "" when there is none.
func (q *CursorQuery) Get(ctx context.Context, login networkid.UserLoginID, stream string) (string, error) {
	var cursor string
	err := q.db.QueryRow(ctx, getCursorQuery, q.bridgeID, login, stream).Scan(&cursor)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("get %s cursor of %s: %w", stream, login, err)
	}
	return cursor, nil
}

// Put saves the cursor, replacing the previous one.
func (q *CursorQuery) Put(ctx context.Context, login networkid.UserLoginID, stream, cursor string) error {
	_, err := q.db.Exec(ctx, putCursorQuery, q.bridgeID, login, stream, cursor, time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("save %s cursor of %s: %w", stream, login, err)
	}
	return nil
}

// Delete forgets the cursor; the next run starts the stream afresh.
func (q *CursorQuery) Delete(ctx context.Context, login networkid.UserLoginID, stream string) error {
	_, err := q.db.Exec(ctx, deleteCursorQuery, q.bridgeID, login, stream)
	if err != nil {
		return fmt.Errorf("delete %s cursor of %s: %w", stream, login, err)
	}
	return nil
}
