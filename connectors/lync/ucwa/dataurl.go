package ucwa

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// DataURL is a decoded RFC 2397 data URL as UCWA uses them for message
// bodies ("data:text/plain;charset=utf-8,Hello+there").
type DataURL struct {
	MediaType string // lower case, "text/plain" when omitted
	Charset   string // lower case, "" when omitted
	Base64    bool
	Data      []byte // payload bytes in Charset
}

var errBadDataURL = errors.New("ucwa: malformed data URL")

// ParseDataURL decodes a data URL. Non-base64 payloads use form encoding
// ("+" is a space), as real servers send them; base64 payloads may also be
// percent-encoded.
func ParseDataURL(s string) (*DataURL, error) {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || !strings.EqualFold(scheme, "data") {
		return nil, fmt.Errorf("%w: not a data URL", errBadDataURL)
	}
	header, payload, ok := strings.Cut(rest, ",")
	if !ok {
		return nil, fmt.Errorf("%w: missing comma", errBadDataURL)
	}
	d := &DataURL{MediaType: "text/plain"}
	for i, part := range strings.Split(header, ";") {
		part = strings.TrimSpace(part)
		switch {
		case i == 0:
			if part != "" {
				d.MediaType = strings.ToLower(part)
			}
		case strings.EqualFold(part, "base64"):
			d.Base64 = true
		default:
			k, v, _ := strings.Cut(part, "=")
			if strings.EqualFold(strings.TrimSpace(k), "charset") {
				d.Charset = strings.ToLower(strings.Trim(strings.TrimSpace(v), `"`))
			}
		}
	}
	if d.Base64 {
		unescaped, err := url.PathUnescape(payload)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errBadDataURL, err)
		}
		b, err := decodeBase64Loose(unescaped)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errBadDataURL, err)
		}
		d.Data = b
		return d, nil
	}
	text, err := url.QueryUnescape(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadDataURL, err)
	}
	d.Data = []byte(text)
	return d, nil
}

// decodeBase64Loose accepts padded or unpadded, standard or URL alphabet,
// with embedded whitespace.
func decodeBase64Loose(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, s)
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	trimmed := strings.TrimRight(s, "=")
	if b, err := base64.RawStdEncoding.DecodeString(trimmed); err == nil {
		return b, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(trimmed)
	if err != nil {
		return nil, fmt.Errorf("decode base64: %w", err)
	}
	return b, nil
}

// Text returns the payload converted to UTF-8 with trailing CR/LF removed.
func (d *DataURL) Text() (string, error) {
	s, err := decodeCharset(d.Charset, d.Data)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(s, "\r\n"), nil
}

// IsHTML reports whether the payload is HTML.
func (d *DataURL) IsHTML() bool { return d.MediaType == "text/html" }

// DecodeDataURLText parses a data URL and returns its media type and UTF-8
// text.
func DecodeDataURLText(s string) (mediaType, text string, err error) {
	d, err := ParseDataURL(s)
	if err != nil {
		return "", "", err
	}
	text, err = d.Text()
	if err != nil {
		return "", "", err
	}
	return d.MediaType, text, nil
}

// EncodeDataURL builds "data:<mediaType>;charset=utf-8,<form-encoded text>",
// the form real servers emit.
func EncodeDataURL(mediaType, text string) string {
	return "data:" + mediaType + ";charset=utf-8," + url.QueryEscape(text)
}

// EncodeDataURLBase64 builds "data:<mediaType>;charset=utf-8;base64,<b64>".
func EncodeDataURLBase64(mediaType, text string) string {
	return "data:" + mediaType + ";charset=utf-8;base64," + base64.StdEncoding.EncodeToString([]byte(text))
}
