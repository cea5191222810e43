package bridgetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix/bridgev2"
)

// MetadataChecker is implemented by connectors that can judge a stored row's
// decoded metadata beyond "it parses" (imbridge's multiplexer checks that the
// metadata's protocol is the one of the row's ID).
type MetadataChecker interface {
	CheckStoredMetadata(table, rowID string, metadata any) error
}

// metadataTables lists bridgev2's tables with a metadata column, with the
// column that identifies a row.
var metadataTables = []struct {
	table, idColumn string
	creator         func(bridgev2.NetworkConnector) func() any
}{
	{"user_login", "id", func(c bridgev2.NetworkConnector) func() any { return c.GetDBMetaTypes().UserLogin }},
	{"portal", "id", func(c bridgev2.NetworkConnector) func() any { return c.GetDBMetaTypes().Portal }},
	{"ghost", "id", func(c bridgev2.NetworkConnector) func() any { return c.GetDBMetaTypes().Ghost }},
	{"message", "id", func(c bridgev2.NetworkConnector) func() any { return c.GetDBMetaTypes().Message }},
	{"reaction", "message_id", func(c bridgev2.NetworkConnector) func() any { return c.GetDBMetaTypes().Reaction }},
}

// CheckStoredMetadata reads every login, portal, ghost, message and reaction
// row back and decodes its metadata with the connector's types, as a bridge
// restart would; it returns every row that does not load. Stop runs it (and
// fails the test on an error) before it closes the database, so a connector
// that writes metadata the bridge cannot read back fails its own tests.
func (h *Harness) CheckStoredMetadata(ctx context.Context) error {
	return checkStoredMetadata(ctx, h.DB, h.Connector)
}

func checkStoredMetadata(ctx context.Context, db *dbutil.Database, conn bridgev2.NetworkConnector) error {
	var errs []error
	checker, _ := conn.(MetadataChecker)
	for _, t := range metadataTables {
		creator := t.creator(conn)
		rows, err := db.Query(ctx, fmt.Sprintf(`SELECT %s, metadata FROM %s`, t.idColumn, t.table))
		if err != nil {
			errs = append(errs, fmt.Errorf("read %s: %w", t.table, err))
			continue
		}
		for rows.Next() {
			var rowID string
			var raw []byte
			if err = rows.Scan(&rowID, &raw); err != nil {
				errs = append(errs, fmt.Errorf("read %s row: %w", t.table, err))
				continue
			}
			if creator == nil {
				continue
			}
			md := creator()
			if err = json.Unmarshal(raw, md); err != nil {
				errs = append(errs, fmt.Errorf("%s %q: metadata %s does not load: %w", t.table, rowID, raw, err))
				continue
			}
			if checker != nil {
				if err = checker.CheckStoredMetadata(t.table, rowID, md); err != nil {
					errs = append(errs, fmt.Errorf("%s %q: %w", t.table, rowID, err))
				}
			}
		}
		if err = rows.Err(); err != nil {
			errs = append(errs, fmt.Errorf("read %s: %w", t.table, err))
		}
		_ = rows.Close()
	}
	return errors.Join(errs...)
}
