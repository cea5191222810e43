package ucwa

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Sentinel errors a caller can test with errors.Is.
var (
	// ErrInvalidCredentials: the token endpoint answered invalid_grant.
	ErrInvalidCredentials = errors.New("ucwa: invalid credentials")
	// ErrDiscoveryFailed: no autodiscovery host gave a usable answer.
	ErrDiscoveryFailed = errors.New("ucwa: autodiscovery failed")
	// ErrUnreachable: the server could not be reached (DNS, TCP, TLS, timeout).
	ErrUnreachable = errors.New("ucwa: server unreachable")
	// ErrInsecureURL: a plain http URL was refused (see Config.AllowInsecureHTTP).
	ErrInsecureURL = errors.New("ucwa: refusing insecure http URL")
	// ErrAuthUnsupported: the server offers no usable password grant.
	ErrAuthUnsupported = errors.New("ucwa: password authentication not offered")
	// ErrDuplicateInstance: our parked event request was replaced by one we did
	// not send, so another process uses the same application.
	ErrDuplicateInstance = errors.New("ucwa: another instance is polling this application")
	// ErrNoApplication: the call needs an application; create or resume one first.
	ErrNoApplication = errors.New("ucwa: no application")
	// ErrNoLink: the server did not offer the link the operation needs.
	ErrNoLink = errors.New("ucwa: link not offered by server")
	// ErrMalformedResponse: the server answered something that is not UCWA.
	ErrMalformedResponse = errors.New("ucwa: malformed server response")
)

// ErrorInfo is the UCWA error object, used both as a synchronous error body
// and as the reason of a failed operation in the event channel.
type ErrorInfo struct {
	Code      string            `json:"code,omitempty"`
	Subcode   string            `json:"subcode,omitempty"`
	Message   string            `json:"message,omitempty"`
	DebugInfo map[string]string `json:"debugInfo,omitempty"`
}

// UnmarshalJSON reads only what a caller acts on (code, subcode) strictly;
// debugInfo, message and the other members ("parameters", "link") vary by
// server and never make the code unreadable.
func (e *ErrorInfo) UnmarshalJSON(data []byte) error {
	var raw struct {
		Code      json.RawMessage `json:"code"`
		Subcode   json.RawMessage `json:"subcode"`
		Message   json.RawMessage `json:"message"`
		DebugInfo json.RawMessage `json:"debugInfo"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("decode error object: %w", err)
	}
	*e = ErrorInfo{Code: scalarText(raw.Code), Subcode: scalarText(raw.Subcode), Message: scalarText(raw.Message)}
	var info map[string]json.RawMessage
	switch {
	case len(raw.DebugInfo) == 0 || isJSONNull(raw.DebugInfo):
	case json.Unmarshal(raw.DebugInfo, &info) == nil:
		if len(info) > 0 {
			e.DebugInfo = make(map[string]string, len(info))
			for k, v := range info {
				e.DebugInfo[k] = scalarText(v)
			}
		}
	default:
		// A bare string (or anything else) is kept under one key.
		e.DebugInfo = map[string]string{"diagnostics": scalarText(raw.DebugInfo)}
	}
	return nil
}

// scalarText is a JSON string's text, or the raw JSON of anything else.
func scalarText(v json.RawMessage) string {
	if len(v) == 0 || isJSONNull(v) {
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

// Error is a failed UCWA request.
type Error struct {
	StatusCode int
	ErrorInfo
	Method string
	Path   string // URL path of the request, without query
	// RetryAfter is the server's Retry-After hint, zero when absent.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "ucwa: %s %s: HTTP %d", e.Method, e.Path, e.StatusCode)
	if e.Code != "" {
		sb.WriteString(" " + e.Code)
	}
	if e.Subcode != "" {
		sb.WriteString("/" + e.Subcode)
	}
	if e.Message != "" {
		sb.WriteString(": " + e.Message)
	}
	return sb.String()
}

// Subcodes that change what a caller should do.
const (
	SubcodeApplicationNotFound        = "ApplicationNotFound"
	SubcodeInactiveApplicationExpired = "InactiveApplicationExpired"
	SubcodePGetReplaced               = "PGetReplaced"
	SubcodeAlreadyExists              = "AlreadyExists"
	SubcodeMakeMeAvailableRequired    = "MakeMeAvailableRequired"
	SubcodeThreadIDAlreadyExists      = "ThreadIdAlreadyExists"
)

func asError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// IsApplicationGone reports whether the server dropped the application
// (404 ApplicationNotFound or 410 Gone); the remedy is to create a new one.
func IsApplicationGone(err error) bool {
	e, ok := asError(err)
	if !ok {
		return false
	}
	return e.StatusCode == http.StatusGone ||
		(e.StatusCode == http.StatusNotFound && e.Subcode == SubcodeApplicationNotFound)
}

// IsPGetReplaced reports a 409 PGetReplaced answer to an event request.
func IsPGetReplaced(err error) bool {
	e, ok := asError(err)
	return ok && e.StatusCode == http.StatusConflict && e.Subcode == SubcodePGetReplaced
}

// IsAlreadyExists reports a 409 AlreadyExists answer.
func IsAlreadyExists(err error) bool {
	e, ok := asError(err)
	return ok && e.StatusCode == http.StatusConflict && e.Subcode == SubcodeAlreadyExists
}

// IsMakeMeAvailableRequired reports that the application is in lurker mode.
func IsMakeMeAvailableRequired(err error) bool {
	e, ok := asError(err)
	return ok && e.Subcode == SubcodeMakeMeAvailableRequired
}

// IsNotFound reports a 404 answer.
func IsNotFound(err error) bool {
	e, ok := asError(err)
	return ok && e.StatusCode == http.StatusNotFound
}

// IsTransient reports errors worth retrying later: unreachable server,
// 408, 429 and 5xx answers.
func IsTransient(err error) bool {
	if errors.Is(err, ErrUnreachable) {
		return true
	}
	e, ok := asError(err)
	if !ok {
		return false
	}
	return e.StatusCode == http.StatusRequestTimeout || e.StatusCode == http.StatusTooManyRequests ||
		e.StatusCode >= 500
}

// OAuthError is a failed token request ({"error":"invalid_grant"}).
type OAuthError struct {
	StatusCode int
	Code       string
	// PassiveAuthURI is set when the server demands browser (ADFS) sign-in.
	PassiveAuthURI string
}

func (e *OAuthError) Error() string {
	return fmt.Sprintf("ucwa: token request: HTTP %d %s", e.StatusCode, e.Code)
}

// Unwrap maps invalid_grant to ErrInvalidCredentials and grant-type
// problems to ErrAuthUnsupported.
func (e *OAuthError) Unwrap() error {
	switch {
	case e.PassiveAuthURI != "" || e.Code == "unsupported_grant_type":
		return ErrAuthUnsupported
	case e.Code == "invalid_grant":
		return ErrInvalidCredentials
	}
	return nil
}
