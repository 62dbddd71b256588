package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// Projects live in the engine's ProjectStore when it has one (Redis): the
// first node seeds it with the projects of its configuration, and from then on
// the store is the source of truth, so every node serves the same projects and
// live edits survive restarts. Without a store (Memory engine: one node) the
// configuration's projects are used as they are.

// loadProjects runs at Start: it applies the stored projects, or stores ours.
func (n *Node) loadProjects(ctx context.Context) error {
	store, ok := n.engine.(engine.ProjectStore)
	if !ok {
		return nil
	}
	data, err := store.LoadProjects(ctx)
	if err != nil {
		return fmt.Errorf("load projects: %w", err)
	}
	if data == nil {
		return n.saveProjects(ctx, store, projectList(n.projects))
	}
	var stored []structure.Project
	if err := json.Unmarshal(data, &stored); err != nil {
		return fmt.Errorf("stored projects: %w", err)
	}
	if !reflect.DeepEqual(sortedProjects(stored), sortedProjects(projectList(n.projects))) {
		n.log.Warn("the engine's stored projects differ from the configuration's: serving the stored ones (edits made on a running cluster win)")
	}
	return n.projects.Set(stored)
}

func (n *Node) saveProjects(ctx context.Context, store engine.ProjectStore, projects []structure.Project) error {
	data, err := json.Marshal(projects)
	if err != nil {
		return err
	}
	return store.SaveProjects(ctx, data)
}

// SetProjects replaces every project on every node: it validates the list,
// saves it in the engine's store and announces it through the control
// channel; each node applies it when the announcement arrives (within the
// control channel's delivery time, well under a second).
func (n *Node) SetProjects(ctx context.Context, projects []structure.Project) error {
	if _, err := structure.NewRegistry(projects); err != nil {
		return err
	}
	data, err := json.Marshal(projects)
	if err != nil {
		return err
	}
	if store, ok := n.engine.(engine.ProjectStore); ok {
		if err := store.SaveProjects(ctx, data); err != nil {
			return fmt.Errorf("save projects: %w", err)
		}
	}
	return n.sendControl(ctx, control{Op: "projects", Origin: n.id, Data: data})
}

func (n *Node) applyProjects(data []byte) {
	var projects []structure.Project
	if err := json.Unmarshal(data, &projects); err != nil {
		n.log.Error("bad projects announcement", "err", err)
		return
	}
	if err := n.projects.Set(projects); err != nil {
		n.log.Error("projects announcement refused", "err", err)
		return
	}
	n.log.Info("projects updated", "projects", len(projects))
}

func projectList(r *structure.Registry) []structure.Project {
	ps := r.List()
	out := make([]structure.Project, len(ps))
	for i, p := range ps {
		out[i] = *p
	}
	return out
}

func sortedProjects(ps []structure.Project) map[string]structure.Project {
	m := make(map[string]structure.Project, len(ps))
	for _, p := range ps {
		m[p.Name] = p
	}
	return m
}
