package teamsapi

import (
	"strings"
)

// OIDFromMRI returns the AAD object id of a work MRI ("8:orgid:<oid>").
func OIDFromMRI(mri string) (string, bool) {
	oid, ok := strings.CutPrefix(mri, "8:orgid:")
	return oid, ok && oid != ""
}

// OneOnOneID is the implicit work 1:1 chat of two work users: the two
// object ids sorted ascending. It exists once the first message is posted.
// Consumer 1:1 chats have no derivable id: create a unique-roster thread.
func OneOnOneID(mriA, mriB string) (string, bool) {
	a, okA := OIDFromMRI(mriA)
	b, okB := OIDFromMRI(mriB)
	if !okA || !okB || strings.EqualFold(a, b) {
		return "", false
	}
	a, b = strings.ToLower(a), strings.ToLower(b)
	if a > b {
		a, b = b, a
	}
	return "19:" + a + "_" + b + "@unq.gbl.spaces", true
}
