package node

import (
	"context"
	"fmt"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/store"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// Projects live in a store.Store (SQLite, Redis, or memory): the first start
// seeds it with the configuration's projects, and from then on the store is
// the source of truth. A change (admin API, CLI) is applied by every node:
// the writer announces it over the control channel and each node reloads the
// store; each node also polls the store's version every storePollInterval,
// so a change made by a process outside the cluster (the CLI) or an
// announcement lost on the way is applied too.

// storePollInterval is how often a node checks the store's version.
const storePollInterval = time.Second

// DisconnectProjectDeleted closes the connections of a deleted project: terminal.
var DisconnectProjectDeleted = protocol.DisconnectForceNoReconnect.WithReason("project deleted")

// SetStore makes the node serve the projects of s; it must be called before
// Start. Without it the node keeps its projects in a memory store.
func (n *Node) SetStore(s store.Store) { n.store = s }

// Store is where the node's projects live.
func (n *Node) Store() store.Store { return n.store }

// loadProjects runs at Start: it seeds the store with the configuration's
// projects when the store is new, then serves the stored ones.
func (n *Node) loadProjects(ctx context.Context) error {
	if n.store == nil {
		n.store = store.NewMemory()
	}
	seeded, err := n.store.Seed(ctx, projectList(n.projects))
	if err != nil {
		return fmt.Errorf("seed the %s store: %w", n.store.Kind(), err)
	}
	if !seeded {
		n.log.Info("serving the projects of the structure store (the configuration's seed only a new store)", "store", n.store.Kind())
	}
	return n.reloadProjects(ctx)
}

// reloadProjects applies the store's projects to this node. Reloads are
// serialized, so a slow one never applies older projects over a newer one.
func (n *Node) reloadProjects(ctx context.Context) error {
	n.reloadMu.Lock()
	defer n.reloadMu.Unlock()
	v, err := n.store.Version(ctx)
	if err != nil {
		return fmt.Errorf("structure store: %w", err)
	}
	if v == 0 && n.storeVersion.Load() > 0 {
		// The store lost everything it held since this node loaded it (a
		// Redis restarted without persistence): that is not every project
		// deleted. The first node to notice stores its projects again.
		seeded, err := n.store.Seed(ctx, projectList(n.projects))
		if err != nil {
			return fmt.Errorf("structure store: re-seed after data loss: %w", err)
		}
		if seeded {
			n.log.Warn("the structure store was emptied (a Redis restart without persistence?): stored this node's projects again; edits made since this node last loaded them are lost", "store", n.store.Kind())
		}
		if v, err = n.store.Version(ctx); err != nil {
			return fmt.Errorf("structure store: %w", err)
		}
	}
	ps, err := n.store.Load(ctx)
	if err != nil {
		return fmt.Errorf("structure store: %w", err)
	}
	n.storeVersion.Store(v)
	return n.applyProjects(ps)
}

// applyProjects replaces the registry's projects and disconnects the local
// connections of projects that are gone.
func (n *Node) applyProjects(ps []structure.Project) error {
	before := map[string]bool{}
	for _, p := range n.projects.List() {
		before[p.Name] = true
	}
	if err := n.projects.Set(ps); err != nil {
		return fmt.Errorf("stored projects refused: %w", err)
	}
	for _, p := range ps {
		delete(before, p.Name)
	}
	if len(before) == 0 {
		return nil
	}
	for _, c := range n.hub.allConns() {
		if before[c.Project()] {
			c.Disconnect(DisconnectProjectDeleted)
		}
	}
	for name := range before {
		n.log.Info("project removed: its connections are closed", "project", name)
	}
	return nil
}

// ProjectsChanged applies the store's projects on this node at once and
// announces the change to every other node. Call it after writing the store.
func (n *Node) ProjectsChanged(ctx context.Context) error {
	if err := n.reloadProjects(ctx); err != nil {
		return err
	}
	return n.sendControl(ctx, control{Op: "projects", Origin: n.id})
}

// requestReload makes the store loop reload soon (a control message must not
// wait for the store).
func (n *Node) requestReload() {
	select {
	case n.reload <- struct{}{}:
	default:
	}
}

// storeLoop reloads the projects when another node announces a change or the
// store's version moved.
func (n *Node) storeLoop() {
	defer n.wg.Done()
	t := time.NewTicker(storePollInterval)
	defer t.Stop()
	for {
		force := false
		select {
		case <-n.done:
			return
		case <-n.reload:
			force = true
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(n.bg, 5*time.Second)
		if !force {
			v, err := n.store.Version(ctx)
			if err != nil || v == n.storeVersion.Load() {
				cancel()
				continue
			}
		}
		if err := n.reloadProjects(ctx); err != nil {
			n.log.Error("reload projects", "err", err)
		}
		cancel()
	}
}

func projectList(r *structure.Registry) []structure.Project {
	ps := r.List()
	out := make([]structure.Project, len(ps))
	for i, p := range ps {
		out[i] = *p
	}
	return out
}
