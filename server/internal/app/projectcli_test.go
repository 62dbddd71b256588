package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/redistest"
)

var secretLine = regexp.MustCompile(`(?m)^secret: ([0-9a-f]{64})$`)

// TestProjectCLI runs the project commands on the SQLite store of a data
// directory while a server uses it: the server applies each change.
func TestProjectCLI(t *testing.T) {
	path := genconfig(t, "c.yaml")
	env := []string{"CENTRIFUGE_DATA_DIR=" + t.TempDir(), "CENTRIFUGE_HTTP_PORT=0", "CENTRIFUGE_LOG_LEVEL=error"}
	tc := newTestCLI(env...)

	cfg, err := tc.loadConfig(path, config.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	served := func(name string) bool {
		_, err := srv.Node().Projects().Get(name)
		return err == nil
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("the running server did not apply: %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	tc.exec(t, exitOK, "project", "list", "--config", path, "--data-dir", cfg.DataDir)
	if !strings.Contains(tc.out.String(), "default") || !strings.Contains(tc.out.String(), "chat") {
		t.Fatalf("list: %s", &tc.out)
	}
	tc.exec(t, exitOK, "project", "create", "--config", path, "--name", "shop", "--display-name", "Shop")
	m := secretLine.FindStringSubmatch(tc.out.String())
	if m == nil {
		t.Fatalf("create printed no secret: %s", &tc.out)
	}
	waitFor("create", func() bool { return served("shop") })
	tc.exec(t, exitError, "project", "create", "--config", path, "--name", "shop")
	tc.exec(t, exitError, "project", "create", "--config", path, "--name", "bad name")
	tc.exec(t, exitUsage, "project", "create", "--config", path)

	tc.exec(t, exitOK, "project", "regenerate-secret", "--config", path, "--name", "shop")
	m2 := secretLine.FindStringSubmatch(tc.out.String())
	if m2 == nil || m2[1] == m[1] {
		t.Fatalf("regenerate-secret: %s", &tc.out)
	}
	waitFor("regenerate-secret", func() bool {
		p, err := srv.Node().Projects().Get("shop")
		return err == nil && p.Secret == m2[1]
	})
	tc.exec(t, exitOK, "project", "list", "--config", path, "--json")
	if !strings.Contains(tc.out.String(), m2[1]) {
		t.Fatalf("list --json lacks the new secret: %s", &tc.out)
	}
	tc.exec(t, exitOK, "project", "delete", "--config", path, "--name", "shop")
	waitFor("delete", func() bool { return !served("shop") })
	tc.exec(t, exitError, "project", "delete", "--config", path, "--name", "shop")
	tc.exec(t, exitUsage, "project", "frobnicate")

	backup := filepath.Join(t.TempDir(), "b.db")
	tc.exec(t, exitOK, "project", "backup", "--config", path, "--out", backup)
	tc.exec(t, exitError, "project", "backup", "--config", path, "--out", backup)
	tc.exec(t, exitUsage, "project", "backup", "--config", path)
	if fi, err := os.Stat(backup); err != nil || fi.Size() == 0 {
		t.Fatalf("backup file: %v", err)
	}
}

func TestProjectCLIOnRedis(t *testing.T) {
	r := redistest.Start(t)
	path := genconfig(t, "c.yaml")
	tc := newTestCLI("CENTRIFUGE_ENGINE_TYPE=redis", "CENTRIFUGE_ENGINE_REDIS_URL="+r.URL, "CENTRIFUGE_ENGINE_REDIS_PREFIX=cli")
	tc.exec(t, exitOK, "project", "create", "--config", path, "--name", "shop")
	tc.exec(t, exitOK, "project", "list", "--config", path)
	if !strings.Contains(tc.out.String(), "shop") || !strings.Contains(tc.out.String(), "default") {
		t.Fatalf("list: %s", &tc.out)
	}
	tc.exec(t, exitError, "project", "backup", "--config", path, "--out", filepath.Join(t.TempDir(), "b.db"))
}

func TestProjectCLINeedsAPersistentStore(t *testing.T) {
	path := genconfig(t, "c.yaml")
	cfg, _, err := config.Load(config.LoadOptions{Path: path})
	if err != nil || cfg.DataDir == "" {
		t.Fatalf("sample config without data_dir: %v", err)
	}
	tc := newTestCLI("CENTRIFUGE_STORE_TYPE=memory")
	tc.exec(t, exitError, "project", "list", "--config", path)
	if !strings.Contains(tc.err.String(), "data_dir") {
		t.Fatalf("stderr: %s", &tc.err)
	}
}

func TestAdminCLI(t *testing.T) {
	tc := newTestCLI()
	tc.stdin = strings.NewReader("correct horse battery\n")
	tc.exec(t, exitOK, "admin", "hash-password")
	h := strings.TrimSpace(tc.out.String())
	if !config.IsPasswordHash(h) || bcrypt.CompareHashAndPassword([]byte(h), []byte("correct horse battery")) != nil {
		t.Fatalf("hash %q", h)
	}
	tc.stdin = strings.NewReader("short\n")
	tc.exec(t, exitError, "admin", "hash-password")

	tc.exec(t, exitOK, "admin", "token")
	var tok, entry string
	for _, l := range strings.Split(tc.out.String(), "\n") {
		if v, ok := strings.CutPrefix(l, "token: "); ok {
			tok = v
		}
		if v, ok := strings.CutPrefix(l, "admin.tokens entry: "); ok {
			entry = v
		}
	}
	sum := sha256.Sum256([]byte(tok))
	if len(tok) < config.MinAdminTokenLength || entry != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Fatalf("admin token output: %s", &tc.out)
	}
	a := config.Admin{Tokens: []string{entry}}
	if a.TokenHashes()[0] != hex.EncodeToString(sum[:]) {
		t.Fatal("config does not read the sha256 entry")
	}
	tc.exec(t, exitUsage, "admin", "nope")
}
