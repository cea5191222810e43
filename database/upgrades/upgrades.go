// Package upgrades holds the schema of the tables imbridge's connectors own.
package upgrades

import (
	"embed"

	"go.mau.fi/util/dbutil"
)

//go:embed *.sql
var files embed.FS

// Table is the upgrade table for the imbridge_* tables, versioned in imbridge_version.
var Table = dbutil.BuildUpgradeTable().WithFS(files).Finish()
