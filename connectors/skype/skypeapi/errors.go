package skypeapi

import (
	"errors"
	"fmt"
	"time"
)

// Login error kinds, matched with errors.Is.
var (
	// ErrBadCredentials: the account or password is wrong (SOAP
	// FailedAuthentication, Live sErrTxt, edge 40120).
	ErrBadCredentials = errors.New("skype: wrong account name or password")
	// ErrAuthRateLimited: 429 / errorCode 803; wait about five minutes.
	ErrAuthRateLimited = errors.New("skype: sign-in rate limited")
	// ErrAccountActionRequired: a captcha, new terms or two-step verification
	// block scripted sign-in; the user must sign in once in a browser.
	ErrAccountActionRequired = errors.New("skype: the account needs attention in a browser")
	// ErrSOAPRefused: login.live.com does not accept the SOAP flow for this
	// account; Login falls back to the Live web flow.
	ErrSOAPRefused = errors.New("skype: SOAP sign-in refused")
	// ErrTokenRejected: the skypetoken expired or was revoked.
	ErrTokenRejected = errors.New("skype: skypetoken rejected")
	// ErrEndpointRefused: the messaging host would not create an endpoint.
	ErrEndpointRefused = errors.New("skype: endpoint registration refused")
	// ErrUnavailable: the service answered 5xx; try again later.
	ErrUnavailable = errors.New("skype: service unavailable")
	// ErrForeignHost: an answer pointed at a host the configuration does not trust.
	ErrForeignHost = errors.New("skype: redirect to an untrusted host")
	// ErrProtocol: an answer did not have the expected shape.
	ErrProtocol = errors.New("skype: unexpected answer")
)

// LoginError is a failed sign-in step.
type LoginError struct {
	Step       string // "soap", "edge", "live", "refresh", "profile", "endpoint"
	Kind       error  // one of the Err* above
	Code       string // service code (wsse:FailedAuthentication, 40120, 803...)
	Message    string // service text, safe to show (never contains the password)
	RetryAfter time.Duration
}

func (e *LoginError) Error() string {
	s := fmt.Sprintf("skype %s: %v", e.Step, e.Kind)
	if e.Code != "" {
		s += " (" + e.Code + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

func (e *LoginError) Unwrap() error { return e.Kind }
