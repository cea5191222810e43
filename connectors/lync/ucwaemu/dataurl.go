package ucwaemu

import (
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
)

// parseDataURL decodes the data URLs clients send as first messages. The
// emulator keeps its own small decoder so it does not depend on the client
// package it is meant to test.
func parseDataURL(s string) (mediaType, text string, err error) {
	rest, ok := strings.CutPrefix(s, "data:")
	if !ok {
		return "", "", errors.New("not a data URL")
	}
	header, payload, ok := strings.Cut(rest, ",")
	if !ok {
		return "", "", errors.New("data URL without comma")
	}
	parts := strings.Split(header, ";")
	mediaType = strings.ToLower(strings.TrimSpace(parts[0]))
	if mediaType == "" {
		mediaType = "text/plain"
	}
	isB64 := false
	for _, p := range parts[1:] {
		if strings.EqualFold(strings.TrimSpace(p), "base64") {
			isB64 = true
		}
	}
	if isB64 {
		raw, err := url.PathUnescape(payload)
		if err != nil {
			return "", "", err
		}
		b, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			return "", "", err
		}
		return mediaType, string(b), nil
	}
	text, err = url.QueryUnescape(payload)
	return mediaType, text, err
}
