package ucwa

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Date is a UCWA timestamp. The wire form is the ASP.NET AJAX string
// "\/Date(1383784870271)\/" (milliseconds since the epoch, optionally
// followed by a "+hhmm" offset that does not change the instant).
type Date struct{ time.Time }

var errBadDate = errors.New("ucwa: malformed date")

// ParseDate parses "/Date(ms)/" or "\/Date(ms)\/" (with an optional offset
// suffix), and RFC 3339 as a fallback.
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	inner := strings.TrimPrefix(strings.TrimPrefix(s, `\`), "/")
	if rest, ok := strings.CutPrefix(inner, "Date("); ok {
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return time.Time{}, fmt.Errorf("%w: %q", errBadDate, s)
		}
		num := rest[:end]
		// An offset suffix ("+0100") is informational: the milliseconds are
		// UTC. Skip a leading minus sign, which belongs to the number.
		if i := strings.IndexAny(strings.TrimPrefix(num, "-"), "+-"); i >= 0 {
			num = num[:i+len(num)-len(strings.TrimPrefix(num, "-"))]
		}
		ms, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("%w: %q", errBadDate, s)
		}
		return time.UnixMilli(ms).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %q", errBadDate, s)
	}
	return t, nil
}

// FormatDate renders t in the unescaped "/Date(ms)/" form.
func FormatDate(t time.Time) string {
	return "/Date(" + strconv.FormatInt(t.UnixMilli(), 10) + ")/"
}

// UnmarshalJSON accepts the ASP.NET string, an RFC 3339 string, or a JSON
// number (contactPresence.lastActive is documented as POSIX time; values
// too large to be seconds are taken as milliseconds).
func (d *Date) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		d.Time = time.Time{}
		return nil
	}
	if len(data) > 0 && data[0] != '"' {
		n, err := strconv.ParseFloat(string(data), 64)
		if err != nil {
			return fmt.Errorf("%w: %s", errBadDate, data)
		}
		if n > 1e11 || n < -1e11 {
			d.Time = time.UnixMilli(int64(n)).UTC()
		} else {
			d.Time = time.Unix(int64(n), 0).UTC()
		}
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("decode date: %w", err)
	}
	if s == "" {
		d.Time = time.Time{}
		return nil
	}
	t, err := ParseDate(s)
	if err != nil {
		return err
	}
	d.Time = t
	return nil
}

// MarshalJSON writes the escaped "\/Date(ms)\/" form real servers send.
func (d Date) MarshalJSON() ([]byte, error) {
	return []byte(`"\/Date(` + strconv.FormatInt(d.UnixMilli(), 10) + `)\/"`), nil
}
