// Package auth verifies connection and subscription JWTs (PROTOCOL.md section
// 6), makes HS256 tokens for tools and tests, and compares API keys.
package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// Verification errors. Every error VerifyConnect and VerifySubscribe return
// matches exactly one of them with errors.Is.
var (
	// ErrInvalidToken: malformed, unsigned (alg none), signed with a wrong key or
	// algorithm, or carrying bad claims. Connect answers disconnect 3500.
	ErrInvalidToken = errors.New("invalid token")
	// ErrTokenExpired: a valid token past its exp. The client should get a new
	// one (error 109).
	ErrTokenExpired = errors.New("token expired")
)

// MaxTokenLength is the longest token accepted; longer ones are invalid.
const MaxTokenLength = 16 << 10

// ConnectClaims is what a valid connection token grants.
type ConnectClaims struct {
	// User is the user id, "" for anonymous.
	User string
	// ExpireAt is when the connection expires (unix seconds), 0 for never. It
	// is the expire_at claim when present, otherwise exp. It may already be in
	// the past when expire_at is: the caller decides what that means.
	ExpireAt int64
	// Info is the info claim as raw JSON, nil when absent.
	Info []byte
	// Channels are server-side subscriptions to make on connect.
	Channels []string
	// IssuedAt is the iat claim (unix seconds), 0 when absent.
	IssuedAt int64
}

// SubscribeClaims is what a valid subscription token grants.
type SubscribeClaims struct {
	// User must equal the connection's user.
	User string
	// Channel is the channel the token is for, never empty.
	Channel string
	// ExpireAt is when the subscription expires (unix seconds), 0 for never;
	// chosen like ConnectClaims.ExpireAt.
	ExpireAt int64
	// Info is the info claim as raw JSON, nil when absent.
	Info []byte
}

// tokenClaims are the JSON claims of both token kinds.
type tokenClaims struct {
	jwt.RegisteredClaims
	Info     json.RawMessage `json:"info,omitempty"`
	Channels []string        `json:"channels,omitempty"`
	Channel  string          `json:"channel,omitempty"`
	ExpireAt *int64          `json:"expire_at,omitempty"`
}

// expireAt applies Centrifugo's rule: expire_at, when present, is the
// connection (or subscription) expiry and exp only bounds the token's own
// validity; expire_at 0 means the connection never expires.
func (c *tokenClaims) expireAt() int64 {
	if c.ExpireAt != nil {
		return *c.ExpireAt
	}
	if c.ExpiresAt != nil {
		return c.ExpiresAt.Unix()
	}
	return 0
}

func (c *tokenClaims) info() []byte {
	if len(c.Info) == 0 || string(c.Info) == "null" {
		return nil
	}
	return []byte(c.Info)
}

// Verifier checks the tokens of one project. It is safe for concurrent use.
type Verifier struct {
	project string
	hmacKey []byte
	rsaKey  *rsa.PublicKey
	ecKey   *ecdsa.PublicKey
	parser  *jwt.Parser
}

// NewVerifier parses the project's keys once. The accepted algorithms are
// pinned to the keys it has: HS256 for Secret, RS256 for TokenRSAPublicKey,
// ES256 for TokenECDSAPublicKey (a P-256 key).
func NewVerifier(p *structure.Project) (*Verifier, error) {
	v := &Verifier{project: p.Name}
	var methods []string
	if p.Secret != "" {
		v.hmacKey = []byte(p.Secret)
		methods = append(methods, jwt.SigningMethodHS256.Alg())
	}
	if p.TokenRSAPublicKey != "" {
		key, err := jwt.ParseRSAPublicKeyFromPEM([]byte(p.TokenRSAPublicKey))
		if err != nil {
			return nil, fmt.Errorf("project %q: token_rsa_public_key: %w", p.Name, err)
		}
		v.rsaKey = key
		methods = append(methods, jwt.SigningMethodRS256.Alg())
	}
	if p.TokenECDSAPublicKey != "" {
		key, err := jwt.ParseECPublicKeyFromPEM([]byte(p.TokenECDSAPublicKey))
		if err != nil {
			return nil, fmt.Errorf("project %q: token_ecdsa_public_key: %w", p.Name, err)
		}
		if key.Curve != elliptic.P256() {
			return nil, fmt.Errorf("project %q: token_ecdsa_public_key: ES256 needs a P-256 key, got %s", p.Name, key.Curve.Params().Name)
		}
		v.ecKey = key
		methods = append(methods, jwt.SigningMethodES256.Alg())
	}
	if len(methods) == 0 {
		return nil, fmt.Errorf("project %q: no secret or token public key to verify tokens with", p.Name)
	}
	v.parser = jwt.NewParser(jwt.WithValidMethods(methods))
	return v, nil
}

// Project returns the name of the project whose keys v holds.
func (v *Verifier) Project() string { return v.project }

// keyFor returns the key for the token's algorithm. The parser has already
// rejected algorithms outside the pinned set; the type switch keeps a key of
// one kind from ever verifying a signature of another.
func (v *Verifier) keyFor(t *jwt.Token) (any, error) {
	switch t.Method.(type) {
	case *jwt.SigningMethodHMAC:
		if v.hmacKey != nil {
			return v.hmacKey, nil
		}
	case *jwt.SigningMethodRSA:
		if v.rsaKey != nil {
			return v.rsaKey, nil
		}
	case *jwt.SigningMethodECDSA:
		if v.ecKey != nil {
			return v.ecKey, nil
		}
	}
	return nil, fmt.Errorf("no key for algorithm %v", t.Header["alg"])
}

func (v *Verifier) parse(token string) (*tokenClaims, error) {
	if len(token) > MaxTokenLength {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidToken, MaxTokenLength)
	}
	var claims tokenClaims
	if _, err := v.parser.ParseWithClaims(token, &claims, v.keyFor); err != nil {
		// The signature is checked before exp, so an expired token here was
		// signed with the project's key.
		if errors.Is(err, jwt.ErrTokenExpired) {
			return nil, ErrTokenExpired
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if claims.ExpireAt != nil && *claims.ExpireAt < 0 {
		return nil, fmt.Errorf("%w: negative expire_at", ErrInvalidToken)
	}
	return &claims, nil
}

// VerifyConnect checks a connection token. Errors match ErrInvalidToken or
// ErrTokenExpired. A token with a channel claim is a subscription token and is
// refused.
func (v *Verifier) VerifyConnect(token string) (ConnectClaims, error) {
	c, err := v.parse(token)
	if err != nil {
		return ConnectClaims{}, err
	}
	if c.Channel != "" {
		return ConnectClaims{}, fmt.Errorf("%w: a connection token must not have a channel claim", ErrInvalidToken)
	}
	out := ConnectClaims{
		User:     c.Subject,
		ExpireAt: c.expireAt(),
		Info:     c.info(),
		Channels: c.Channels,
	}
	if c.IssuedAt != nil {
		out.IssuedAt = c.IssuedAt.Unix()
	}
	return out, nil
}

// VerifySubscribe checks a subscription token. Errors match ErrInvalidToken or
// ErrTokenExpired. The channel claim is required; the caller checks that it
// and the user match the subscription.
func (v *Verifier) VerifySubscribe(token string) (SubscribeClaims, error) {
	c, err := v.parse(token)
	if err != nil {
		return SubscribeClaims{}, err
	}
	if c.Channel == "" {
		return SubscribeClaims{}, fmt.Errorf("%w: a subscription token needs a channel claim", ErrInvalidToken)
	}
	return SubscribeClaims{
		User:     c.Subject,
		Channel:  c.Channel,
		ExpireAt: c.expireAt(),
		Info:     c.info(),
	}, nil
}

// NewConnectToken returns an HS256 connection token for user, signed with
// secret. ttl 0 makes a token without exp; info, when not nil, must be JSON.
func NewConnectToken(secret, user string, ttl time.Duration, info json.RawMessage, channels []string) (string, error) {
	return sign(secret, user, ttl, info, func(c *tokenClaims) { c.Channels = channels })
}

// NewSubscribeToken returns an HS256 subscription token for user and channel,
// signed with secret. ttl 0 makes a token without exp; info, when not nil,
// must be JSON.
func NewSubscribeToken(secret, user, channel string, ttl time.Duration, info json.RawMessage) (string, error) {
	if channel == "" {
		return "", errors.New("subscription token: channel is required")
	}
	return sign(secret, user, ttl, info, func(c *tokenClaims) { c.Channel = channel })
}

func sign(secret, user string, ttl time.Duration, info json.RawMessage, set func(*tokenClaims)) (string, error) {
	if secret == "" {
		return "", errors.New("token: empty secret")
	}
	if ttl < 0 {
		return "", errors.New("token: negative ttl")
	}
	if info != nil && !json.Valid(info) {
		return "", errors.New("token: info is not valid JSON")
	}
	now := time.Now()
	c := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{Subject: user, IssuedAt: jwt.NewNumericDate(now)},
		Info:             info,
	}
	if ttl > 0 {
		c.ExpiresAt = jwt.NewNumericDate(now.Add(ttl))
	}
	set(&c)
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// KeyEqual reports whether got equals expected. Both are hashed and the hashes
// compared in constant time, so the timing reveals neither where they differ
// nor expected's length. An empty expected key never matches.
func KeyEqual(expected, got string) bool {
	if expected == "" {
		return false
	}
	e, g := sha256.Sum256([]byte(expected)), sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(e[:], g[:]) == 1
}

// Verifiers caches one Verifier per project and rebuilds it when the project
// changes (the registry hands out a new *structure.Project on every change).
// The zero value is ready to use and safe for concurrent use.
type Verifiers struct {
	mu sync.RWMutex
	m  map[string]cachedVerifier
}

type cachedVerifier struct {
	project *structure.Project
	v       *Verifier
}

// Get returns the Verifier for p, building it on first use or when p is not
// the pointer it was built from.
func (vs *Verifiers) Get(p *structure.Project) (*Verifier, error) {
	vs.mu.RLock()
	c, ok := vs.m[p.Name]
	vs.mu.RUnlock()
	if ok && c.project == p {
		return c.v, nil
	}
	v, err := NewVerifier(p)
	if err != nil {
		return nil, err
	}
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if vs.m == nil {
		vs.m = map[string]cachedVerifier{}
	}
	vs.m[p.Name] = cachedVerifier{project: p, v: v}
	return v, nil
}
