package ucwa

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// windows1252High maps bytes 0x80-0x9F of windows-1252 to runes; the rest of
// the code page equals ISO-8859-1. Unassigned positions map to U+FFFD.
var windows1252High = [32]rune{
	'€', '\uFFFD', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\uFFFD', 'Ž', '\uFFFD',
	'\uFFFD', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\uFFFD', 'ž', 'Ÿ',
}

// decodeCharset converts b from the named charset to a UTF-8 string.
// Invalid UTF-8 is replaced rather than rejected: a garbled message is more
// useful to a chat user than a dropped one.
func decodeCharset(charset string, b []byte) (string, error) {
	switch strings.ToLower(strings.TrimSpace(charset)) {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		if utf8.Valid(b) {
			return string(b), nil
		}
		return strings.ToValidUTF8(string(b), "\uFFFD"), nil
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "iso_8859-1":
		var sb strings.Builder
		for _, c := range b {
			sb.WriteRune(rune(c))
		}
		return sb.String(), nil
	case "windows-1252", "cp1252", "x-cp1252":
		var sb strings.Builder
		for _, c := range b {
			if c >= 0x80 && c <= 0x9F {
				sb.WriteRune(windows1252High[c-0x80])
			} else {
				sb.WriteRune(rune(c))
			}
		}
		return sb.String(), nil
	default:
		return "", fmt.Errorf("ucwa: unsupported charset %q", charset)
	}
}
