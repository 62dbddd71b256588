package node

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/proxy"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// The batched connection check (PROTOCOL.md section 8), per project that sets
// connection_check_address. Each node checks its own connections: those of
// users (not anonymous) that connected, or were last checked, a
// connection_lifetime ago are due. At most every connection_check_interval
// the node POSTs {"users": [...]} (sorted, at most checkBatch a request) to
// the address; the app answers {"inactive": [...]}. Inactive users are banned
// and disconnected on every node (bans.go); the other due connections start
// another lifetime.
//
// The queue is the set of due connections itself, recomputed each time: a
// check that fails (network, timeout, a status other than 200, a malformed
// reply) marks nothing, so every due connection stays due and connected and
// is in the next attempt. Attempts after failures back off: the interval
// doubles with each consecutive failure up to maxCheckBackoff (or the
// interval, if longer), plus up to half of it as jitter; never more often
// than the interval.

const (
	// checkTick is how often the node looks for projects whose check is due.
	checkTick = 100 * time.Millisecond
	// checkBatch is the most users one check request carries.
	checkBatch = 1000
	// maxCheckTimeout bounds one check request (the interval bounds it too).
	maxCheckTimeout = 10 * time.Second
	// maxCheckBackoff caps the wait between failed checks.
	maxCheckBackoff = time.Minute
)

type checkState struct {
	running  bool
	next     time.Time
	failures int
}

type checks struct {
	mu       sync.Mutex
	projects map[string]*checkState
}

// checkRequest and checkReply are the wire format of the check.
type checkRequest struct {
	Users []string `json:"users"`
}

type checkReply struct {
	Inactive *[]string `json:"inactive"`
}

func (n *Node) connCheckLoop() {
	defer n.wg.Done()
	t := time.NewTicker(checkTick)
	defer t.Stop()
	sweep := time.Now()
	for {
		select {
		case <-n.done:
			return
		case now := <-t.C:
			n.startChecks(now)
			if now.Sub(sweep) > time.Minute {
				n.bans.sweep(now.Unix())
				sweep = now
			}
		}
	}
}

// startChecks starts the check of each project whose turn it is.
func (n *Node) startChecks(now time.Time) {
	n.checks.mu.Lock()
	defer n.checks.mu.Unlock()
	if n.checks.projects == nil {
		n.checks.projects = map[string]*checkState{}
	}
	seen := map[string]bool{}
	for _, p := range n.projects.List() {
		cc := p.ConnectionCheck()
		if !cc.Enabled() {
			continue
		}
		seen[p.Name] = true
		st := n.checks.projects[p.Name]
		if st == nil {
			st = &checkState{next: now}
			n.checks.projects[p.Name] = st
		}
		if st.running || now.Before(st.next) {
			continue
		}
		st.running = true
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			ok := n.checkProject(p, cc)
			n.checks.mu.Lock()
			defer n.checks.mu.Unlock()
			st.running = false
			if ok {
				st.failures = 0
				st.next = time.Now().Add(cc.Interval)
				return
			}
			st.failures++
			st.next = time.Now().Add(checkBackoff(cc.Interval, st.failures))
		}()
	}
	for name, st := range n.checks.projects {
		if !seen[name] && !st.running {
			delete(n.checks.projects, name)
		}
	}
}

// checkProject runs one check of project p; false means it failed and is
// to be retried.
func (n *Node) checkProject(p *structure.Project, cc structure.ConnectionCheck) bool {
	now := time.Now()
	due := map[string][]Checked{}
	for _, c := range n.hub.allConns() {
		cc2, ok := c.(Checked)
		if !ok || c.Project() != p.Name || c.User() == "" || !cc2.CheckDue(cc.Lifetime, now) {
			continue
		}
		due[c.User()] = append(due[c.User()], cc2)
	}
	if len(due) == 0 {
		return true
	}
	users := make([]string, 0, len(due))
	for u := range due {
		users = append(users, u)
	}
	slices.Sort(users)
	timeout := min(max(cc.Interval, time.Second), maxCheckTimeout)
	for batch := range slices.Chunk(users, checkBatch) {
		var reply checkReply
		ctx, cancel := context.WithTimeout(n.bg, timeout)
		err := n.proxy.Post(ctx, proxy.Request{
			URL:        cc.Address,
			Timeout:    timeout,
			Body:       checkRequest{Users: batch},
			Backoff:    structure.Backoff{MaxAttempts: 1},
			Idempotent: true,
		}, &reply)
		cancel()
		if err == nil && reply.Inactive == nil {
			err = proxy.ErrMalformed
		}
		if err != nil {
			if n.bg.Err() != nil {
				return false // shutting down
			}
			n.stats.CheckFailures.Add(1)
			n.log.Warn("connection check failed: everyone stays connected, retrying with backoff",
				"project", p.Name, "address", cc.Address, "users", len(users), "err", err)
			return false
		}
		n.stats.ChecksSent.Add(1)
		inBatch := map[string]bool{}
		for _, u := range batch {
			inBatch[u] = true
		}
		inactive := map[string]bool{}
		for _, u := range *reply.Inactive {
			if inBatch[u] && !inactive[u] {
				inactive[u] = true
				n.stats.InactiveUsers.Add(1)
				ctx, cancel := context.WithTimeout(context.Background(), surveyTimeout)
				n.nameInactive(ctx, p.Name, u)
				cancel()
			}
		}
		checked := time.Now()
		for _, u := range batch {
			if inactive[u] {
				continue
			}
			for _, c := range due[u] {
				c.MarkChecked(checked)
			}
		}
	}
	return true
}

// checkBackoff is the wait after the n-th consecutive failed check.
func checkBackoff(interval time.Duration, n int) time.Duration {
	limit := max(interval, maxCheckBackoff)
	d := interval
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d + rand.N(d/2+1)
}
