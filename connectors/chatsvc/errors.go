package chatsvc

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/imbridge/imbridge/connectors/retryafter"
)

// Sentinel errors, matched with errors.Is against an *Error.
var (
	// ErrUnauthorized: the credential was rejected even after re-minting it once.
	ErrUnauthorized = errors.New("chatsvc: unauthorized")
	// ErrForbidden: the service refused the operation (e.g. editing another's message).
	ErrForbidden = errors.New("chatsvc: forbidden")
	// ErrNotFound: unknown conversation, thread or message.
	ErrNotFound = errors.New("chatsvc: not found")
	// ErrRateLimited: 429 after all retries (or a Retry-After longer than the policy allows).
	ErrRateLimited = errors.New("chatsvc: rate limited")
	// ErrServer: 5xx after all retries.
	ErrServer = errors.New("chatsvc: server error")
	// ErrBadRequest: any other 4xx.
	ErrBadRequest = errors.New("chatsvc: bad request")
	// ErrMalformedResponse: the answer could not be decoded.
	ErrMalformedResponse = errors.New("chatsvc: malformed response")
	// ErrForeignLink: a link in an answer points at a host this client does not send tokens to.
	ErrForeignLink = errors.New("chatsvc: link to a foreign host")
)

// Error is a failed chat-service request.
type Error struct {
	Method     string
	Path       string // URL path, without the query
	StatusCode int
	// Code and Message come from the service's error body: either the classic
	// {"errorCode":..,"message":..} or an application/problem+json document.
	Code    string
	Message string
	// RetryAfter is the server's hint (zero when absent).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "chatsvc: %s %s: HTTP %d", e.Method, e.Path, e.StatusCode)
	if e.Code != "" {
		sb.WriteString(" ")
		sb.WriteString(e.Code)
	}
	if e.Message != "" {
		sb.WriteString(": ")
		sb.WriteString(e.Message)
	}
	return sb.String()
}

// Is maps the status code onto the package's sentinels.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrServer:
		return e.StatusCode >= 500
	case ErrBadRequest:
		return e.StatusCode >= 400 && e.StatusCode < 500 && e.StatusCode != 401 &&
			e.StatusCode != 403 && e.StatusCode != 404 && e.StatusCode != 429
	}
	return false
}

// Retryable reports whether the same request may succeed later.
func (e *Error) Retryable() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// ParseErrorBody extracts code and message from the error body variants
// Microsoft's chat-lineage services use: {"errorCode":..,"message":..}
// (code a string or a number), application/problem+json, and the
// authz/Skype {"status":{"code":..,"text":..}}. Other bodies yield a
// shortened raw message. Other clients on the same services (AMS, middle
// tier, authz) use it too.
func ParseErrorBody(body []byte) (code, msg string) { return parseErrorBody(body) }

func parseErrorBody(body []byte) (code, msg string) {
	var classic struct {
		ErrorCode json.RawMessage `json:"errorCode"`
		Message   string          `json:"message"`
		// problem+json
		Title  string `json:"title"`
		Detail string `json:"detail"`
		Type   string `json:"type"`
		// the authz/skype style {"status":{"code":40120,"text":"..."}}
		Status json.RawMessage `json:"status"`
	}
	if json.Unmarshal(body, &classic) != nil {
		s := strings.TrimSpace(string(body))
		if len(s) > 200 {
			s = s[:200]
		}
		return "", s
	}
	code = rawToString(classic.ErrorCode)
	msg = classic.Message
	if msg == "" {
		msg = classic.Detail
	}
	if msg == "" {
		msg = classic.Title
	}
	if code == "" && classic.Type != "" {
		code = classic.Type
	}
	var status struct {
		Code json.RawMessage `json:"code"`
		Text string          `json:"text"`
	}
	if len(classic.Status) > 0 && classic.Status[0] == '{' && json.Unmarshal(classic.Status, &status) == nil {
		if code == "" {
			code = rawToString(status.Code)
		}
		if msg == "" {
			msg = status.Text
		}
	}
	return code, msg
}

func rawToString(r json.RawMessage) string {
	if len(r) == 0 || string(r) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(r, &s) == nil {
		return s
	}
	return string(r)
}

// ParseRetryAfter reads a Retry-After value (see retryafter.Parse, shared
// with the UCWA client).
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	return retryafter.Parse(v, now)
}
