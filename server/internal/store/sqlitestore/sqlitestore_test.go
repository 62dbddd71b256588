package sqlitestore_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/duration"
	"github.com/centrifugehq/centrifuge/server/internal/store"
	"github.com/centrifugehq/centrifuge/server/internal/store/sqlitestore"
	"github.com/centrifugehq/centrifuge/server/internal/store/storetest"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlitestore.OpenDir(t.Context(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestMigrateFromEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := sqlitestore.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v, err := s.SchemaVersion(t.Context())
	if err != nil || v != len(sqlitestore.Migrations()) || v < 2 {
		t.Fatalf("schema version %d (%v), want %d", v, err, len(sqlitestore.Migrations()))
	}
	if n, _ := s.Version(t.Context()); n != 0 {
		t.Fatalf("change counter of a new database: %d", n)
	}
}

// TestMigrateFromPreviousSchema writes projects with the previous schema
// (version 1: no change counter), then opens the file with this server.
func TestMigrateFromPreviousSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	prev := len(sqlitestore.Migrations()) - 1
	old, err := sqlitestore.OpenAtVersion(t.Context(), path, prev)
	if err != nil {
		t.Fatal(err)
	}
	old.Close()
	// What a server of the previous schema wrote: the project as JSON.
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	want := storetest.Project("shop")
	data, err := store.Encode(want)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO projects (name, data) VALUES (?, ?)", want.Name, data); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := sqlitestore.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.SchemaVersion(t.Context()); v != prev+1 {
		t.Fatalf("schema version %d after migration, want %d", v, prev+1)
	}
	got, err := s.Get(t.Context(), "shop")
	if err != nil || got.Secret != want.Secret || len(got.Namespaces) != 1 {
		t.Fatalf("after migration: %+v %v", got, err)
	}
	// A database with projects counts as seeded.
	if ok, err := s.Seed(t.Context(), []structure.Project{storetest.Project("other")}); ok || err != nil {
		t.Fatalf("migrated database reseeded: %v %v", ok, err)
	}
	if _, err := s.Update(t.Context(), "shop", func(p *structure.Project) error { p.DisplayName = "after"; return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestBackupWhileInUse(t *testing.T) {
	dir := t.TempDir()
	s, err := sqlitestore.OpenDir(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Create(t.Context(), storetest.Project("shop")); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "backup.db")
	if err := s.Backup(t.Context(), backup); err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(t.Context(), backup); err == nil {
		t.Fatal("backup overwrote an existing file")
	}
	if err := s.Delete(t.Context(), "shop"); err != nil {
		t.Fatal(err)
	}
	restored, err := sqlitestore.Open(t.Context(), backup)
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	if p, err := restored.Get(t.Context(), "shop"); err != nil || p.Secret != storetest.Project("shop").Secret {
		t.Fatalf("restored: %+v %v", p, err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := sqlitestore.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, _ := sql.Open("sqlite", "file:"+path)
	if _, err := db.Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := sqlitestore.Open(t.Context(), path); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("opening a newer schema: %v", err)
	}
}

func TestReopenKeepsProjects(t *testing.T) {
	dir := t.TempDir()
	s, err := sqlitestore.OpenDir(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Create(t.Context(), storetest.Project("shop")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlitestore.OpenDir(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Get(t.Context(), "shop"); err != nil {
		t.Fatal(err)
	}
}

// The crash test: a child process (this test binary, TestCrashWriter) keeps
// rewriting a large project, each version consistent with itself (every
// namespace's history_size equals the project's); the parent SIGKILLs it at
// a random moment, then checks the database opens and holds one whole
// version, never a mix.
const (
	crashEnv        = "SQLITESTORE_CRASH_DB"
	crashNamespaces = 300
)

func crashProject(gen int) structure.Project {
	p := storetest.Project("crash")
	p.Options.HistorySize = gen
	p.Namespaces = nil
	for i := range crashNamespaces {
		p.Namespaces = append(p.Namespaces, structure.Namespace{Name: fmt.Sprintf("ns%04d", i),
			Options: structure.ChannelOptions{HistorySize: gen, HistoryTTL: duration.Duration(time.Minute)}})
	}
	return p
}

// TestMain runs the crash test's writer when the parent asks for it.
func TestMain(m *testing.M) {
	if path := os.Getenv(crashEnv); path != "" {
		if err := crashWriter(path); err != nil {
			fmt.Fprintln(os.Stderr, "crash writer:", err)
			os.Exit(2)
		}
	}
	os.Exit(m.Run())
}

// crashWriter rewrites the project until it is killed.
func crashWriter(path string) error {
	ctx := context.Background()
	s, err := sqlitestore.Open(ctx, path)
	if err != nil {
		return err
	}
	if _, err := s.Get(ctx, "crash"); err != nil {
		if err := s.Create(ctx, crashProject(1)); err != nil {
			return err
		}
	}
	next := func(p *structure.Project) error {
		*p = crashProject(p.Options.HistorySize + 1)
		return nil
	}
	// One rewrite before "ready": the parent kills a writer that is past
	// its first update, in the middle of later ones.
	if _, err := s.Update(ctx, "crash", next); err != nil {
		return err
	}
	fmt.Println("ready")
	for {
		if _, err := s.Update(ctx, "crash", next); err != nil {
			return err
		}
	}
}

func TestKilledWriteLeavesPreviousState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crash.db")
	last := 0
	for round := range 4 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		if !sc.Scan() || sc.Text() != "ready" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("round %d: writer did not start: %q", round, sc.Text())
		}
		time.Sleep(time.Duration(50+round*60) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()

		s, err := sqlitestore.Open(t.Context(), path)
		if err != nil {
			t.Fatalf("round %d: open after kill: %v", round, err)
		}
		p, err := s.Get(t.Context(), "crash")
		s.Close()
		if err != nil {
			t.Fatalf("round %d: read after kill: %v", round, err)
		}
		gen := p.Options.HistorySize
		if len(p.Namespaces) != crashNamespaces {
			t.Fatalf("round %d: %d namespaces", round, len(p.Namespaces))
		}
		for _, ns := range p.Namespaces {
			if ns.Options.HistorySize != gen {
				t.Fatalf("round %d: a mix of versions %d and %d", round, gen, ns.Options.HistorySize)
			}
		}
		if gen < last {
			t.Fatalf("round %d: version went back from %d to %d", round, last, gen)
		}
		t.Logf("round %d: killed after version %s", round, strconv.Itoa(gen))
		last = gen
	}
	if last < 2 {
		t.Fatalf("the writer never got past its first version (%d): the test proved nothing", last)
	}
}
