package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
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
	listCursorQuery   = `
		SELECT stream, cursor FROM imbridge_event_cursor
		WHERE bridge_id=$1 AND login_id=$2 AND stream LIKE $3 ESCAPE '\'
		ORDER BY stream`
)

// Cursor is one stored row: the stream's name and its value.
type Cursor struct {
	Stream string
	Cursor string
}

// likeEscaper makes a string match itself literally in a LIKE pattern
// with ESCAPE '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

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

// List returns the login's rows whose stream starts with prefix, ordered
// by stream. The prefix is literal: % and _ in it match only themselves.
func (q *CursorQuery) List(ctx context.Context, login networkid.UserLoginID, prefix string) ([]Cursor, error) {
	rows, err := q.db.Query(ctx, listCursorQuery, q.bridgeID, login, likeEscaper.Replace(prefix)+"%")
	if err != nil {
		return nil, fmt.Errorf("list %s* cursors of %s: %w", prefix, login, err)
	}
	defer rows.Close()
	var out []Cursor
	for rows.Next() {
		var c Cursor
		if err = rows.Scan(&c.Stream, &c.Cursor); err != nil {
			return nil, fmt.Errorf("read a %s* cursor of %s: %w", prefix, login, err)
		}
		// SQLite's LIKE ignores ASCII case; stream names do not.
		if strings.HasPrefix(c.Stream, prefix) {
			out = append(out, c)
		}
	}
	if err = rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s* cursors of %s: %w", prefix, login, err)
	}
	return out, nil
}
