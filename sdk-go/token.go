package centrifuge

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ConnectionClaims are the claims of a connection token (PROTOCOL.md section 6).
type ConnectionClaims struct {
	// User is the user id (sub); "" connects anonymously.
	User string
	// ExpiresAt is when the token expires (exp), and with it the connection
	// unless ExpireAt is set; the zero time means a token without exp.
	ExpiresAt time.Time
	// IssuedAt is iat; the zero time means now.
	IssuedAt time.Time
	// Info is shown in presence and join/leave (info): anything encoding/json
	// encodes; a json.RawMessage or []byte is used as is and must be JSON.
	Info any
	// Channels are subscribed to on connect, server-side (channels).
	Channels []string
	// ExpireAt is when the connection expires (expire_at), when that differs
	// from the token's exp; time.Unix(0, 0) means never. The zero time omits
	// the claim.
	ExpireAt time.Time
}

// SubscriptionClaims are the claims of a subscription token for a private
// ($) channel (PROTOCOL.md section 6).
type SubscriptionClaims struct {
	// User is the user id (sub); it must equal the connection's user.
	User string
	// Channel is the channel the token lets User subscribe to. Required.
	Channel string
	// ExpiresAt is when the token, and the subscription unless ExpireAt is
	// set, expires (exp); the zero time means a token without exp.
	ExpiresAt time.Time
	// IssuedAt is iat; the zero time means now.
	IssuedAt time.Time
	// Info is the channel info shown in presence (info); see
	// ConnectionClaims.Info.
	Info any
	// ExpireAt is when the subscription expires (expire_at), when that
	// differs from exp; time.Unix(0, 0) means never. The zero time omits it.
	ExpireAt time.Time
}

// TokenSigner signs connection and subscription tokens with one algorithm and
// key. It is safe for concurrent use.
type TokenSigner struct {
	method jwt.SigningMethod
	key    any
}

// NewHS256Signer signs with HMAC-SHA256 and the project's secret.
func NewHS256Signer(secret string) (*TokenSigner, error) {
	if secret == "" {
		return nil, errors.New("centrifuge: empty token secret")
	}
	return &TokenSigner{method: jwt.SigningMethodHS256, key: []byte(secret)}, nil
}

// NewRS256Signer signs with RSA (PKCS #1 v1.5, SHA-256); the project must be
// configured with the public key (token_rsa_public_key).
func NewRS256Signer(key *rsa.PrivateKey) (*TokenSigner, error) {
	if key == nil {
		return nil, errors.New("centrifuge: nil RSA key")
	}
	return &TokenSigner{method: jwt.SigningMethodRS256, key: key}, nil
}

// NewES256Signer signs with ECDSA on P-256 and SHA-256; the project must be
// configured with the public key (token_ecdsa_public_key).
func NewES256Signer(key *ecdsa.PrivateKey) (*TokenSigner, error) {
	if key == nil || key.Curve != elliptic.P256() {
		return nil, errors.New("centrifuge: ES256 needs a P-256 ECDSA key")
	}
	return &TokenSigner{method: jwt.SigningMethodES256, key: key}, nil
}

// ConnectionToken returns a connection token with claims c.
func (s *TokenSigner) ConnectionToken(c ConnectionClaims) (string, error) {
	claims, err := registered(c.User, c.ExpiresAt, c.IssuedAt, c.ExpireAt, c.Info)
	if err != nil {
		return "", err
	}
	claims.Channels = c.Channels
	return s.sign(claims)
}

// SubscriptionToken returns a subscription token with claims c.
func (s *TokenSigner) SubscriptionToken(c SubscriptionClaims) (string, error) {
	if c.Channel == "" {
		return "", errors.New("centrifuge: subscription token: Channel is required")
	}
	claims, err := registered(c.User, c.ExpiresAt, c.IssuedAt, c.ExpireAt, c.Info)
	if err != nil {
		return "", err
	}
	claims.Channel = c.Channel
	return s.sign(claims)
}

// ConnectionToken returns an HS256 connection token signed with the project's
// secret.
func ConnectionToken(secret string, c ConnectionClaims) (string, error) {
	s, err := NewHS256Signer(secret)
	if err != nil {
		return "", err
	}
	return s.ConnectionToken(c)
}

// SubscriptionToken returns an HS256 subscription token signed with the
// project's secret.
func SubscriptionToken(secret string, c SubscriptionClaims) (string, error) {
	s, err := NewHS256Signer(secret)
	if err != nil {
		return "", err
	}
	return s.SubscriptionToken(c)
}

// tokenClaims are the JSON claims of both kinds of token.
type tokenClaims struct {
	jwt.RegisteredClaims
	Info     json.RawMessage `json:"info,omitempty"`
	Channels []string        `json:"channels,omitempty"`
	Channel  string          `json:"channel,omitempty"`
	ExpireAt *int64          `json:"expire_at,omitempty"`
}

func registered(user string, exp, iat, expireAt time.Time, info any) (*tokenClaims, error) {
	if iat.IsZero() {
		iat = time.Now()
	}
	c := &tokenClaims{RegisteredClaims: jwt.RegisteredClaims{Subject: user, IssuedAt: jwt.NewNumericDate(iat)}}
	if !exp.IsZero() {
		c.ExpiresAt = jwt.NewNumericDate(exp)
	}
	if !expireAt.IsZero() {
		v := max(expireAt.Unix(), 0)
		c.ExpireAt = &v
	}
	if info != nil {
		raw, err := encodeJSON(info)
		if err != nil {
			return nil, fmt.Errorf("centrifuge: token info: %w", err)
		}
		c.Info = raw
	}
	return c, nil
}

func (s *TokenSigner) sign(c *tokenClaims) (string, error) {
	tok, err := jwt.NewWithClaims(s.method, c).SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("centrifuge: sign token: %w", err)
	}
	return tok, nil
}
