// Package channel parses channel names: namespace, private and user-limited parts.
package channel

import (
	"errors"
	"fmt"
	"strings"
)

// Errors returned by Parse.
var (
	ErrEmpty    = errors.New("empty channel name")
	ErrTooLong  = errors.New("channel name too long")
	ErrBadChars = errors.New("channel name must be printable ASCII")
	ErrBadUsers = errors.New("bad user list in channel name")
)

// DefaultMaxLength is the longest channel name accepted when no limit is configured.
const DefaultMaxLength = 255

const (
	// NamespaceSeparator splits "ns:rest".
	NamespaceSeparator = ":"
	// PrivatePrefix marks a private channel: "$name" or "ns:$name".
	PrivatePrefix = "$"
	// UserSeparator starts the user list: "dialog#42,56".
	UserSeparator = "#"
	// UsersSeparator splits user ids in the list.
	UsersSeparator = ","
)

// Name is a parsed channel name.
type Name struct {
	// Full is the channel as the client sent it.
	Full string
	// Namespace is the part before the first ':' ("" when none).
	Namespace string
	// Private is true for channels whose local part starts with '$'.
	Private bool
	// Users holds the user ids after '#', nil when the channel is not user-limited.
	Users []string
}

// Parse validates and splits a channel name. maxLen <= 0 means DefaultMaxLength.
func Parse(name string, maxLen int) (Name, error) {
	if maxLen <= 0 {
		maxLen = DefaultMaxLength
	}
	if name == "" {
		return Name{}, ErrEmpty
	}
	if len(name) > maxLen {
		return Name{}, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLong, len(name), maxLen)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x21 || c > 0x7e {
			return Name{}, ErrBadChars
		}
	}
	n := Name{Full: name}
	local := name
	if i := strings.Index(name, NamespaceSeparator); i >= 0 {
		n.Namespace, local = name[:i], name[i+1:]
	}
	n.Private = strings.HasPrefix(local, PrivatePrefix)
	if i := strings.LastIndex(local, UserSeparator); i >= 0 {
		list := local[i+1:]
		if list == "" {
			return Name{}, fmt.Errorf("%w: empty", ErrBadUsers)
		}
		for _, u := range strings.Split(list, UsersSeparator) {
			if u == "" {
				return Name{}, fmt.Errorf("%w: empty user id", ErrBadUsers)
			}
			n.Users = append(n.Users, u)
		}
	}
	return n, nil
}

// UserAllowed reports whether user may use a user-limited channel. A channel
// without a user list allows everyone.
func (n Name) UserAllowed(user string) bool {
	if n.Users == nil {
		return true
	}
	for _, u := range n.Users {
		if u == user {
			return true
		}
	}
	return false
}
