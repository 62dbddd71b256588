package loadgen

import (
	"fmt"
	"strconv"
	"time"

	centrifuge "github.com/centrifugehq/centrifuge/sdk-go"
)

// Tokens gives each connection its connection token: signed with sdk-go
// (HS256 with the project secret, user id = the connection's index) or one
// fixed token for all.
type Tokens struct {
	Secret string
	Fixed  string
	TTL    time.Duration
}

// UserLimited reports whether tokens name a distinct user per connection, so
// channels like user#<index> may be subscribed.
func (t Tokens) UserLimited() bool { return t.Fixed == "" }

// For returns the token of connection i.
func (t Tokens) For(i int) (string, error) {
	if t.Fixed != "" {
		return t.Fixed, nil
	}
	if t.Secret == "" {
		return "", fmt.Errorf("neither a token secret nor a token given")
	}
	ttl := t.TTL
	if ttl <= 0 {
		ttl = time.Hour
	}
	return centrifuge.ConnectionToken(t.Secret, centrifuge.ConnectionClaims{
		User:      strconv.Itoa(i),
		ExpiresAt: time.Now().Add(ttl),
	})
}
