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

// Disconnect is a reason to close a connection: a WebSocket close code and a short
// reason (< 123 bytes), or a disconnect push on other transports.
type Disconnect struct {
	Code   uint32 `json:"code"`
	Reason string `json:"reason"`
}

func (d Disconnect) Error() string { return fmt.Sprintf("disconnect %d: %s", d.Code, d.Reason) }

// WithReason returns d with a more specific reason, cut to fit a close frame.
func (d Disconnect) WithReason(reason string) Disconnect {
	if len(reason) > 100 {
		reason = reason[:100]
	}
	d.Reason = reason
	return d
}
