package chatsvc

import (
	"strconv"
	"strings"
	"time"
)

// Horizon is a consumption horizon (read marker): "<a>;<readTime>;<b>".
// The meaning of a and b differs per client (message id or clientmessageid);
// the writer picks them, readers compare by MessageID and Time.
type Horizon struct {
	MessageID string // first field: the last read message (id or clientmessageid)
	Time      time.Time
	Third     string // third field: clientmessageid, message id or "0"
}

// ParseHorizon accepts ";" (what clients send) and "," (skpy's docs).
func ParseHorizon(s string) (Horizon, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Horizon{}, false
	}
	sep := ";"
	if !strings.Contains(s, ";") && strings.Contains(s, ",") {
		sep = ","
	}
	parts := strings.Split(s, sep)
	h := Horizon{MessageID: strings.TrimSpace(parts[0])}
	if len(parts) > 1 {
		if ms, err := strconv.ParseInt(strings.TrimSpace(parts[1]), 10, 64); err == nil && ms > 0 {
			h.Time = time.UnixMilli(ms).UTC()
		}
	}
	if len(parts) > 2 {
		h.Third = strings.TrimSpace(parts[2])
	}
	if h.MessageID == "0" {
		h.MessageID = ""
	}
	return h, true
}

// String renders the wire form with ";" separators.
func (h Horizon) String() string {
	id := h.MessageID
	if id == "" {
		id = "0"
	}
	third := h.Third
	if third == "" {
		third = "0"
	}
	var ms int64
	if !h.Time.IsZero() {
		ms = h.Time.UnixMilli()
	}
	return id + ";" + strconv.FormatInt(ms, 10) + ";" + third
}

// MessageIDInt is the first field as a number (Teams message ids are ms epochs).
func (h Horizon) MessageIDInt() int64 {
	n, _ := strconv.ParseInt(h.MessageID, 10, 64)
	return n
}
