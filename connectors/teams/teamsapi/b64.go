package teamsapi

import (
	"encoding/base64"
	"github.com/rs/zerolog"
	"strings"
)

func decodeB64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// zerologLogger keeps the logger type short in signatures.
type zerologLogger = zerolog.Logger
