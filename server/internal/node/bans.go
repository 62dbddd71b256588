package node

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"sync"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// A user the connection check named inactive is disconnected on every node
// and cannot come back with a token it already had: every node keeps a ban
// that refuses, until they expire, the tokens the user's connections were
// using (by fingerprint) and any token issued (iat) before the user was named
// inactive. A token the app issues afterwards is accepted: the app decided
// the user is welcome again.
//
// The node whose check named the user sends an "inactive" control message
// with the tokens of its own connections of that user; each node merges the
// ban, closes its connections of the user, and when they used tokens the
// message did not list, sends a "ban" message listing them, so every node
// learns every token. With an engine that is a BanStore (Redis) each node
// also saves the ban as it knows it, for as long as it lasts, and a node that
// does not know of a ban looks there when the user connects: a node started
// after the ban refuses the old tokens too.

// DisconnectInactive closes the connections of a user the app named inactive
// (terminal: the client does not reconnect).
var DisconnectInactive = protocol.DisconnectForceNoReconnect.WithReason("inactive")

// minBan is how long a ban lasts at least, for tokens issued before it that
// were not seen on a connection.
const minBan = 10 * time.Minute

// Checked is implemented by connections the connection check and bans apply
// to (client.Client).
type Checked interface {
	Conn
	// CheckDue reports whether the connection connected, or was last checked,
	// lifetime or longer ago.
	CheckDue(lifetime time.Duration, now time.Time) bool
	// MarkChecked starts another lifetime at now.
	MarkChecked(now time.Time)
	// Tokens returns the connection tokens the connection used (connect and
	// refresh; none when the connect proxy authenticated it): fingerprint
	// (TokenFingerprint) -> expiry (unix seconds, 0 for never).
	Tokens() map[string]int64
}

// TokenFingerprint identifies a token in bans without keeping the token.
func TokenFingerprint(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:16])
}

type banKey struct{ project, user string }

type ban struct {
	// at is when the user was named inactive (unix seconds).
	at int64
	// tokens maps fingerprints to expiry (unix seconds, 0: never).
	tokens map[string]int64
	// until is when the ban ends (unix seconds, 0: never).
	until int64
}

// banWire is the data of "inactive" and "ban" control messages.
type banWire struct {
	At     int64            `json:"at"`
	Tokens map[string]int64 `json:"tokens,omitempty"`
}

type bans struct {
	mu sync.Mutex
	m  map[banKey]*ban
}

// merge adds w to the ban of user and returns the ban as it now is, with
// when it ends (unix seconds, 0: never).
func (b *bans) merge(project, user string, w banWire) (banWire, int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[banKey]*ban{}
	}
	k := banKey{project, user}
	e := b.m[k]
	if e == nil {
		e = &ban{tokens: map[string]int64{}}
		b.m[k] = e
	}
	e.at = max(e.at, w.At)
	maps.Copy(e.tokens, w.Tokens)
	e.until = e.at + int64(minBan/time.Second)
	for _, exp := range e.tokens {
		if exp == 0 {
			e.until = 0
			break
		}
		e.until = max(e.until, exp)
	}
	return banWire{At: e.at, Tokens: maps.Clone(e.tokens)}, e.until
}

// has reports whether user has a ban (possibly ended).
func (b *bans) has(project, user string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m[banKey{project, user}] != nil
}

// revoked reports whether a token of user (fingerprint, issued at iat, 0
// when unknown) is banned at now.
func (b *bans) revoked(project, user, fingerprint string, iat int64, now int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.m[banKey{project, user}]
	if e == nil {
		return false
	}
	if e.until != 0 && e.until < now {
		delete(b.m, banKey{project, user})
		return false
	}
	if exp, ok := e.tokens[fingerprint]; ok && fingerprint != "" && (exp == 0 || exp > now) {
		return true
	}
	return iat != 0 && iat < e.at
}

// sweep drops the bans that ended.
func (b *bans) sweep(now int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, e := range b.m {
		if e.until != 0 && e.until < now {
			delete(b.m, k)
		}
	}
}

// TokenRevoked reports whether a connection token of user in project p was
// revoked because the app named the user inactive: its fingerprint was seen
// on a connection then, or it was issued (iat, unix seconds; 0 when the token
// has none) before. Connect refuses such a token. A node that does not know
// of a ban looks in the engine's BanStore (Redis) for projects with the
// connection check; if the engine cannot answer, the token is accepted (the
// check will name the user again).
func (n *Node) TokenRevoked(ctx context.Context, p *structure.Project, user, fingerprint string, iat int64) bool {
	if user == "" {
		return false
	}
	if store, ok := n.engine.(engine.BanStore); ok && !n.bans.has(p.Name, user) && p.ConnectionCheck().Enabled() {
		data, err := store.LoadBan(ctx, p.Name, user)
		if err != nil {
			n.log.Warn("load ban", "project", p.Name, "user", user, "err", err)
		}
		var w banWire
		if data != nil && json.Unmarshal(data, &w) == nil {
			n.bans.merge(p.Name, user, w)
		}
	}
	return n.bans.revoked(p.Name, user, fingerprint, iat, time.Now().Unix())
}

// saveBan stores the ban of user in the engine's BanStore, if it has one.
func (n *Node) saveBan(project, user string, w banWire, until int64) {
	store, ok := n.engine.(engine.BanStore)
	if !ok {
		return
	}
	var ttl time.Duration
	if until != 0 {
		ttl = time.Until(time.Unix(until, 0))
		if ttl <= 0 {
			return
		}
	}
	data, _ := json.Marshal(w)
	ctx, cancel := context.WithTimeout(n.bg, surveyTimeout)
	defer cancel()
	if err := store.SaveBan(ctx, project, user, data, ttl); err != nil {
		n.log.Warn("save ban", "project", project, "user", user, "err", err)
	}
}

// nameInactive bans user on every node and closes its connections there.
func (n *Node) nameInactive(ctx context.Context, project, user string) {
	w := banWire{At: time.Now().Unix(), Tokens: n.localTokens(project, user)}
	data, _ := json.Marshal(w)
	if err := n.sendControl(ctx, control{Op: "inactive", Project: project, User: user, Data: data}); err != nil {
		// Other nodes will name the user themselves; here it goes now.
		n.log.Error("connection check: announce inactive user", "project", project, "user", user, "err", err)
		n.applyInactive(control{Op: "inactive", Project: project, User: user, Data: data}, false)
	}
}

// localTokens returns the tokens of user's connections on this node.
func (n *Node) localTokens(project, user string) map[string]int64 {
	out := map[string]int64{}
	for _, c := range n.hub.userConns(project, user, "") {
		if cc, ok := c.(Checked); ok {
			maps.Copy(out, cc.Tokens())
		}
	}
	return out
}

// applyInactive handles "inactive" and "ban" control messages.
func (n *Node) applyInactive(c control, announce bool) {
	if c.User == "" {
		return
	}
	var w banWire
	if err := json.Unmarshal(c.Data, &w); err != nil {
		n.log.Error("bad ban message", "err", err)
		return
	}
	merged, until := n.bans.merge(c.Project, c.User, w)
	n.saveBan(c.Project, c.User, merged, until)
	if c.Op != "inactive" {
		return
	}
	local := n.localTokens(c.Project, c.User)
	conns := n.hub.userConns(c.Project, c.User, "")
	for _, conn := range conns {
		conn.Disconnect(DisconnectInactive)
	}
	n.stats.InactiveCloses.Add(int64(len(conns)))
	if len(conns) > 0 {
		n.log.Info("user named inactive: connections closed", "project", c.Project, "user", c.User, "connections", len(conns))
	}
	unknown := map[string]int64{}
	for fp, exp := range local {
		if _, ok := w.Tokens[fp]; !ok {
			unknown[fp] = exp
		}
	}
	if len(unknown) == 0 || !announce {
		return
	}
	// Tell the other nodes about the tokens seen here.
	data, _ := json.Marshal(banWire{At: w.At, Tokens: unknown})
	ctx, cancel := context.WithTimeout(context.Background(), surveyTimeout)
	defer cancel()
	if err := n.sendControl(ctx, control{Op: "ban", Project: c.Project, User: c.User, Data: data}); err != nil {
		n.log.Warn("announce banned tokens", "err", err)
	}
}
