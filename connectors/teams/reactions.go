package teams

import (
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/runenames"
)

// unicodeReactionKey is the Teams key of a Unicode emoji that has no named
// Teams reaction: newer Teams clients carry any emoji as
// "<hex codepoints>_<name>" (teams-web §2.6), e.g. "1f984_unicorn" or
// "1f468-200d-1f4bb_mantechnologist". Variation selectors are left out of
// the codepoints (the key names the emoji, not its presentation). Text that
// is not an emoji (a Matrix client's "+1", a key that came from Teams) is
// returned unchanged, as before.
func unicodeReactionKey(emoji string) string {
	var cps []string
	var first rune
	for _, r := range emoji {
		if r < 0x80 || unicode.IsSpace(r) || unicode.IsLetter(r) && r < 0x2000 {
			return emoji
		}
		if r == 0xFE0F || r == 0xFE0E {
			continue
		}
		if first == 0 {
			first = r
		}
		cps = append(cps, strconv.FormatInt(int64(r), 16))
	}
	if len(cps) == 0 {
		return emoji
	}
	return strings.Join(cps, "-") + "_" + emojiName(first)
}

// emojiName is the lower-case Unicode name of r without spaces or
// punctuation ("GRINNING FACE" → "grinningface"), or "emoji" when Unicode
// has no name for it.
func emojiName(r rune) string {
	var b strings.Builder
	for _, c := range strings.ToLower(runenames.Name(r)) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 {
		return "emoji"
	}
	return b.String()
}
