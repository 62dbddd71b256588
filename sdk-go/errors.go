package centrifuge

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/centrifugehq/centrifuge/sdk-go/gen"
)

// Error is the one error type of Client methods. Three kinds, told apart by
// StatusCode:
//
//   - a method error: the server understood the request but the method failed.
//     StatusCode is 200 and Code a protocol error code (ErrUnknownChannel, ...);
//   - an HTTP error: the request could not be processed. StatusCode is the HTTP
//     status (400 malformed, 401 wrong API key, 404 unknown project, ...) and so
//     is Code;
//   - no answer: the server could not be reached, the call timed out or was
//     cancelled, or its answer could not be read. StatusCode and Code are 0 and
//     Err is the cause (errors.Is(err, context.DeadlineExceeded) works).
//
// errors.Is(err, ErrUnknownChannel) and the other sentinels below compare codes.
type Error struct {
	// Method is the API method that failed, "publish" for example.
	Method string
	// StatusCode is the HTTP status of the answer, 0 when none arrived.
	StatusCode int
	// Code is the API error code: a protocol code for method errors, the HTTP
	// status for HTTP errors, 0 when no answer arrived.
	Code uint32
	// Message is the server's description, or what went wrong.
	Message string
	// Err is the cause when no (readable) answer arrived.
	Err error
}

func (e *Error) Error() string {
	switch {
	case e.Err != nil:
		return fmt.Sprintf("centrifuge: %s: %v", e.Method, e.Err)
	case e.StatusCode != 0 && e.StatusCode != 200:
		return fmt.Sprintf("centrifuge: %s: HTTP %d: %s", e.Method, e.StatusCode, e.Message)
	default:
		return fmt.Sprintf("centrifuge: %s: error %d: %s", e.Method, e.Code, e.Message)
	}
}

// Unwrap returns the cause of a failure to get an answer.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same non-zero Code, so that
// errors.Is(err, centrifuge.ErrUnknownChannel) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code != 0 && t.Code == e.Code
}

// Timeout reports whether the call failed because it timed out (the client's
// Timeout, or a context deadline).
func (e *Error) Timeout() bool {
	if errors.Is(e.Err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(e.Err, &ne) && ne.Timeout()
}

// Temporary reports whether the server marked the method error temporary
// (ErrInternal, ErrTooManyRequests): the same call may succeed later.
func (e *Error) Temporary() bool {
	return e.StatusCode == 200 && temporaryCodes[e.Code]
}

// ReplyError turns the error of one broadcast response or batch reply into an
// *Error for method (nil when e is nil), so it can be handled like any other.
func ReplyError(method string, e *ErrorBody) error {
	if e == nil {
		return nil
	}
	return &Error{Method: method, StatusCode: 200, Code: e.Code, Message: e.Message}
}

// ErrorBody is the {"code", "message"} object of the wire.
type ErrorBody = gen.Error
