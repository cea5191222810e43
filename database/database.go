// Package database owns the tables that imbridge's connectors keep beside
// bridgev2's own (which already map portals, ghosts, messages and logins):
// per-login event-stream cursors, sync states, and conversation-thread maps.
//
// Every row belongs to a user login and goes away with it (ON DELETE CASCADE),
// so logging out leaves nothing behind.
package database

import (
	"context"

	"github.com/rs/zerolog"
	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix/bridgev2/networkid"

	"github.com/imbridge/imbridge/database/upgrades"
)

// VersionTable is where the schema version of the imbridge_* tables is kept.
const VersionTable = "imbridge_version"

// Database gives typed access to the imbridge_* tables.
type Database struct {
	*dbutil.Database
	Cursor    *CursorQuery
	SyncState *SyncStateQuery
	Thread    *ThreadQuery
}

// New wraps the bridge's database connection. Call Upgrade before use; it
// needs bridgev2's own tables (user_login) to exist already.
func New(bridgeID networkid.BridgeID, db *dbutil.Database, log zerolog.Logger) *Database {
	child := db.Child(VersionTable, upgrades.Table, dbutil.ZeroLogger(log))
	return &Database{
		Database:  child,
		Cursor:    &CursorQuery{db: child, bridgeID: bridgeID},
		SyncState: &SyncStateQuery{db: child, bridgeID: bridgeID},
		Thread:    &ThreadQuery{db: child, bridgeID: bridgeID},
	}
}

// Upgrade creates or migrates the imbridge_* tables.
func (db *Database) Upgrade(ctx context.Context) error {
	return db.Database.Upgrade(ctx)
}
