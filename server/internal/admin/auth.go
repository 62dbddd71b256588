package admin

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/centrifugehq/centrifuge/server/internal/config"
)

const (
	// CookieName is the admin session cookie.
	CookieName = "centrifuge_admin"
	// CSRFHeader carries the session's CSRF token on state-changing requests.
	CSRFHeader = "X-CSRF-Token"
	// cookiePath limits the cookie to the admin routes.
	cookiePath = "/admin"
	// maxLimiterEntries bounds the login limiter's memory: beyond it expired
	// entries are dropped.
	maxLimiterEntries = 10000
)

// sessions issues and checks admin sessions. A session is stateless, so any
// node of a cluster accepts it: the cookie is "<id>.<expiry>.<mac>", the MAC
// an HMAC-SHA256 keyed by a key derived from admin.password (changing the
// password ends every session). The CSRF token is an HMAC of the session id
// under the same key. Logged-out ids are refused by the node that logged
// them out until they expire.
type sessions struct {
	key    []byte // nil: no password, no sessions
	ttl    time.Duration
	now    func() time.Time
	mu     sync.Mutex
	revoke map[string]time.Time // id -> expiry
}

func newSessions(password string, ttl time.Duration) *sessions {
	s := &sessions{ttl: ttl, now: time.Now, revoke: map[string]time.Time{}}
	if password != "" {
		k := sha256.Sum256([]byte("centrifuge admin session\x00" + password))
		s.key = k[:]
	}
	return s
}

type session struct {
	id      string
	expires time.Time
}

func (s *sessions) mac(parts ...string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// issue returns a new session and its cookie value.
func (s *sessions) issue() (session, string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return session{}, "", err
	}
	se := session{id: hex.EncodeToString(b), expires: s.now().Add(s.ttl).Truncate(time.Second)}
	exp := strconv.FormatInt(se.expires.Unix(), 10)
	return se, se.id + "." + exp + "." + s.mac("session", se.id, exp), nil
}

// check returns the session of a cookie value.
func (s *sessions) check(cookie string) (session, bool) {
	if s.key == nil || len(cookie) > 256 {
		return session{}, false
	}
	parts := strings.Split(cookie, ".")
	if len(parts) != 3 {
		return session{}, false
	}
	if !hmac.Equal([]byte(parts[2]), []byte(s.mac("session", parts[0], parts[1]))) {
		return session{}, false
	}
	sec, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return session{}, false
	}
	se := session{id: parts[0], expires: time.Unix(sec, 0)}
	if !s.now().Before(se.expires) {
		return session{}, false
	}
	s.mu.Lock()
	_, revoked := s.revoke[se.id]
	s.mu.Unlock()
	return se, !revoked
}

func (s *sessions) csrf(se session) string { return s.mac("csrf", se.id) }

func (s *sessions) checkCSRF(se session, token string) bool {
	return token != "" && hmac.Equal([]byte(token), []byte(s.csrf(se)))
}

func (s *sessions) end(se session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for id, exp := range s.revoke {
		if !now.Before(exp) {
			delete(s.revoke, id)
		}
	}
	s.revoke[se.id] = se.expires
}

// passwordChecker compares a login attempt with admin.password (plain, in
// constant time, or a bcrypt hash).
type passwordChecker struct {
	plain []byte // SHA-256 of a plain password
	hash  []byte // bcrypt hash
}

func newPasswordChecker(password string) passwordChecker {
	switch {
	case password == "":
		return passwordChecker{}
	case config.IsPasswordHash(password):
		return passwordChecker{hash: []byte(password)}
	}
	sum := sha256.Sum256([]byte(password))
	return passwordChecker{plain: sum[:]}
}

func (p passwordChecker) configured() bool { return p.plain != nil || p.hash != nil }

func (p passwordChecker) check(attempt string) bool {
	switch {
	case p.hash != nil:
		return bcrypt.CompareHashAndPassword(p.hash, []byte(attempt)) == nil
	case p.plain != nil:
		sum := sha256.Sum256([]byte(attempt))
		return subtle.ConstantTimeCompare(sum[:], p.plain) == 1
	}
	return false
}

// HashPassword returns the bcrypt hash of a password, for admin.password.
func HashPassword(password string) (string, error) {
	if len(password) < 8 {
		return "", errors.New("the password must be at least 8 characters")
	}
	if len(password) > 72 {
		return "", errors.New("the password must be at most 72 bytes (bcrypt's limit)")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	return string(h), err
}

// tokens checks admin tokens (Authorization: Bearer) against the SHA-256
// hashes of the configured ones, in constant time.
type tokens struct {
	hashes [][]byte
}

func newTokens(hexHashes []string) tokens {
	var t tokens
	for _, h := range hexHashes {
		if b, err := hex.DecodeString(h); err == nil {
			t.hashes = append(t.hashes, b)
		}
	}
	return t
}

func (t tokens) check(token string) bool {
	sum := sha256.Sum256([]byte(token))
	ok := 0
	for _, h := range t.hashes {
		ok |= subtle.ConstantTimeCompare(sum[:], h)
	}
	return ok == 1
}

// limiter counts failed logins per remote address within a window.
type limiter struct {
	max    int
	window time.Duration
	now    func() time.Time
	mu     sync.Mutex
	m      map[string]*attempts
}

type attempts struct {
	n     int
	start time.Time
}

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{max: max, window: window, now: time.Now, m: map[string]*attempts{}}
}

// wait returns how long addr must wait before trying again (0: go ahead).
func (l *limiter) wait(addr string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.m[addr]
	if !ok {
		return 0
	}
	left := a.start.Add(l.window).Sub(l.now())
	if left <= 0 {
		delete(l.m, addr)
		return 0
	}
	if a.n >= l.max {
		return left
	}
	return 0
}

// fail records a failed attempt of addr.
func (l *limiter) fail(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.m) >= maxLimiterEntries {
		for k, a := range l.m {
			if !now.Before(a.start.Add(l.window)) {
				delete(l.m, k)
			}
		}
	}
	a, ok := l.m[addr]
	if !ok || !now.Before(a.start.Add(l.window)) {
		a = &attempts{start: now}
		l.m[addr] = a
	}
	a.n++
}

// remoteAddr is the address of the peer that sent r: the TCP peer, not a
// forwarded header (which a client could forge to escape the limit).
func remoteAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func retryAfter(d time.Duration) string {
	return fmt.Sprint(int((d + time.Second - 1) / time.Second))
}
