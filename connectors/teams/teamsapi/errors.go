package teamsapi

import (
	"errors"
	"fmt"
	"strings"
)

// ErrReloginNeeded matches every error that only a new sign-in can fix.
var ErrReloginNeeded = errors.New("teamsapi: sign-in needed")

// Other sentinel errors.
var (
	ErrDeviceCodeExpired = errors.New("teamsapi: the sign-in code expired")
	ErrLoginDeclined     = errors.New("teamsapi: the sign-in was declined")
	ErrNoLicense         = errors.New("teamsapi: Teams is not enabled for this account")
	ErrForeignHost       = errors.New("teamsapi: refusing to send credentials to an unknown host")
	ErrTokenEndpoint     = errors.New("teamsapi: token endpoint unavailable")
)

// ReloginError is a token or authz answer that invalidates the stored
// credentials (invalid_grant, interaction_required, revoked, AADSTS...).
type ReloginError struct {
	Code        string // OAuth error code or service error code
	Description string // AADSTS text, safe to show (contains no secrets)
}

func (e *ReloginError) Error() string {
	if e.Description == "" {
		return "teamsapi: sign-in needed: " + e.Code
	}
	return fmt.Sprintf("teamsapi: sign-in needed: %s: %s", e.Code, e.Description)
}

// Is makes errors.Is(err, ErrReloginNeeded) work.
func (e *ReloginError) Is(target error) bool { return target == ErrReloginNeeded }

// AADSTS returns the AADSTS code in the description ("AADSTS70008"), if any.
func (e *ReloginError) AADSTS() string {
	i := strings.Index(e.Description, "AADSTS")
	if i < 0 {
		return ""
	}
	j := i + len("AADSTS")
	for j < len(e.Description) && e.Description[j] >= '0' && e.Description[j] <= '9' {
		j++
	}
	return e.Description[i:j]
}

// oauthErrorNeedsRelogin classifies a token-endpoint error: grant and
// interaction errors need a new sign-in; transient ones (throttling,
// temporarily_unavailable, 5xx) do not.
func oauthErrorNeedsRelogin(status int, code string) bool {
	switch code {
	case "invalid_grant", "interaction_required", "consent_required", "login_required",
		"invalid_client", "unauthorized_client", "expired_token", "access_denied", "invalid_request":
		return true
	case "temporarily_unavailable", "server_error", "slow_down":
		return false
	}
	return status == 400 || status == 401
}
