// Package protocol holds the wire contract of the Centrifugo client protocol v2
// (JSON encoding): commands, replies, pushes, error and disconnect codes, and the
// frame codec. It is the one registry of codes in the server.
package protocol

import "fmt"

// Error is a protocol error returned in a reply: {"code", "message", "temporary"}.
type Error struct {
	Code      uint32 `json:"code"`
	Message   string `json:"message"`
	Temporary bool   `json:"temporary,omitempty"`
}

func (e *Error) Error() string { return fmt.Sprintf("%d: %s", e.Code, e.Message) }

// Is makes errors.Is match errors by code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// WithMessage returns a copy of e with a more specific message.
func (e *Error) WithMessage(msg string) *Error {
	return &Error{Code: e.Code, Message: msg, Temporary: e.Temporary}
}

// Error codes (PROTOCOL.md section 4).
var (
	ErrInternal              = &Error{Code: 100, Message: "internal server error", Temporary: true}
	ErrUnauthorized          = &Error{Code: 101, Message: "unauthorized"}
	ErrUnknownChannel        = &Error{Code: 102, Message: "unknown channel"}
	ErrPermissionDenied      = &Error{Code: 103, Message: "permission denied"}
	ErrMethodNotFound        = &Error{Code: 104, Message: "method not found"}
	ErrAlreadySubscribed     = &Error{Code: 105, Message: "already subscribed"}
	ErrLimitExceeded         = &Error{Code: 106, Message: "limit exceeded"}
	ErrBadRequest            = &Error{Code: 107, Message: "bad request"}
	ErrNotAvailable          = &Error{Code: 108, Message: "not available"}
	ErrTokenExpired          = &Error{Code: 109, Message: "token expired"}
	ErrExpired               = &Error{Code: 110, Message: "expired"}
	ErrTooManyRequests       = &Error{Code: 111, Message: "too many requests", Temporary: true}
	ErrUnrecoverablePosition = &Error{Code: 112, Message: "unrecoverable position"}
)

// Errors lists every error code, for documentation and tests.
var Errors = []*Error{
	ErrInternal, ErrUnauthorized, ErrUnknownChannel, ErrPermissionDenied, ErrMethodNotFound,
	ErrAlreadySubscribed, ErrLimitExceeded, ErrBadRequest, ErrNotAvailable, ErrTokenExpired,
	ErrExpired, ErrTooManyRequests, ErrUnrecoverablePosition,
}

// Disconnect is a reason to close a connection: a WebSocket close code and a short
// reason (< 123 bytes), or a disconnect push on other transports.
type Disconnect struct {
	Code   uint32 `json:"code"`
	Reason string `json:"reason"`
}

func (d Disconnect) Error() string { return fmt.Sprintf("disconnect %d: %s", d.Code, d.Reason) }

// Reconnect reports whether a client should reconnect after d.
func (d Disconnect) Reconnect() bool {
	return (d.Code >= 3000 && d.Code < 3500) || (d.Code >= 4000 && d.Code < 4500) || d.Code < 3000
}

// Disconnect codes. 3000–3499 and 4000–4499 reconnect; 3500–3999 and 4500–4999 are terminal.
var (
	DisconnectNormal             = Disconnect{Code: 3000, Reason: "normal"}
	DisconnectShutdown           = Disconnect{Code: 3001, Reason: "shutdown"}
	DisconnectServerError        = Disconnect{Code: 3004, Reason: "internal server error"}
	DisconnectExpired            = Disconnect{Code: 3005, Reason: "connection expired"}
	DisconnectSubExpired         = Disconnect{Code: 3006, Reason: "subscription expired"}
	DisconnectSlow               = Disconnect{Code: 3008, Reason: "slow"}
	DisconnectWriteError         = Disconnect{Code: 3009, Reason: "write error"}
	DisconnectInsufficientState  = Disconnect{Code: 3010, Reason: "insufficient state"}
	DisconnectForceReconnect     = Disconnect{Code: 3011, Reason: "force reconnect"}
	DisconnectNoPong             = Disconnect{Code: 3012, Reason: "no pong"}
	DisconnectTooManyRequests    = Disconnect{Code: 3013, Reason: "too many requests"}
	DisconnectInvalidToken       = Disconnect{Code: 3500, Reason: "invalid token"}
	DisconnectBadRequest         = Disconnect{Code: 3501, Reason: "bad request"}
	DisconnectStale              = Disconnect{Code: 3502, Reason: "stale"}
	DisconnectForceNoReconnect   = Disconnect{Code: 3503, Reason: "force disconnect"}
	DisconnectConnectionLimit    = Disconnect{Code: 3504, Reason: "connection limit"}
	DisconnectChannelLimit       = Disconnect{Code: 3505, Reason: "channel limit"}
	DisconnectInappropriateProto = Disconnect{Code: 3506, Reason: "inappropriate protocol"}
	DisconnectPermissionDenied   = Disconnect{Code: 3507, Reason: "permission denied"}
	DisconnectNotAvailable       = Disconnect{Code: 3508, Reason: "not available"}
	DisconnectTooManyErrors      = Disconnect{Code: 3509, Reason: "too many errors"}
)

// Disconnects lists every disconnect code, for documentation and tests.
var Disconnects = []Disconnect{
	DisconnectNormal, DisconnectShutdown, DisconnectServerError, DisconnectExpired,
	DisconnectSubExpired, DisconnectSlow, DisconnectWriteError, DisconnectInsufficientState,
	DisconnectForceReconnect, DisconnectNoPong, DisconnectTooManyRequests, DisconnectInvalidToken,
	DisconnectBadRequest, DisconnectStale, DisconnectForceNoReconnect, DisconnectConnectionLimit,
	DisconnectChannelLimit, DisconnectInappropriateProto, DisconnectPermissionDenied,
	DisconnectNotAvailable, DisconnectTooManyErrors,
}

// Unsubscribe push codes: below 2500 terminal, 2500 and above the client resubscribes.
const (
	UnsubscribeCodeServer       uint32 = 2000
	UnsubscribeCodeInsufficient uint32 = 2500
	UnsubscribeCodeExpired      uint32 = 2501
)

// WithReason returns d with a more specific reason, cut to fit a close frame.
func (d Disconnect) WithReason(reason string) Disconnect {
	if len(reason) > 100 {
		reason = reason[:100]
	}
	d.Reason = reason
	return d
}
