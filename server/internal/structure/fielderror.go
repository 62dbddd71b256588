package structure

import (
	"errors"
	"fmt"
)

// FieldError is a validation error of one key: Field is its dotted path in a
// project ("options.history_ttl"), so the admin API can show the error next
// to the input it concerns. Error returns the message alone.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Msg }

func fieldErrorf(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// prefixField puts prefix before the field of err's FieldError.
func prefixField(prefix string, err error) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		fe.Field = prefix + "." + fe.Field
	}
	return err
}

// ErrorField returns the dotted path of the key err is about, "" when err
// names none.
func ErrorField(err error) string {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	return ""
}
