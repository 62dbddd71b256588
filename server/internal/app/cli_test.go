package app

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/auth"
	"github.com/centrifugehq/centrifuge/server/internal/config"
)

// testCLI is a cli with captured output, the given environment and a Run
// that records the config it gets and returns at once.
type testCLI struct {
	cli
	out, err bytes.Buffer
	ran      *config.Config
	runErr   error
}

func newTestCLI(environ ...string) *testCLI {
	tc := &testCLI{}
	tc.cli = cli{stdout: &tc.out, stderr: &tc.err, environ: environ}
	tc.run = func(ctx context.Context, cfg config.Config, log *slog.Logger) error {
		if ctx.Err() != nil || log == nil {
			return errors.New("bad context or logger")
		}
		tc.ran = &cfg
		return tc.runErr
	}
	return tc
}

func (tc *testCLI) exec(t *testing.T, wantCode int, args ...string) {
	t.Helper()
	tc.out.Reset()
	tc.err.Reset()
	if code := tc.main(args); code != wantCode {
		t.Fatalf("centrifuge %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, wantCode, &tc.out, &tc.err)
	}
}

// genconfig writes a fresh config into a temporary directory.
func genconfig(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	newTestCLI().exec(t, exitOK, "genconfig", "--config", path)
	return path
}

func verifierFor(t *testing.T, path, project string) *auth.Verifier {
	t.Helper()
	cfg, _, err := config.Load(config.LoadOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	for i := range cfg.Projects {
		if cfg.Projects[i].Name == project {
			v, err := auth.NewVerifier(&cfg.Projects[i])
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("no project %q", project)
	return nil
}

func TestGenconfigCheckconfigGentoken(t *testing.T) {
	for _, name := range []string{"c.yaml", "c.json"} {
		t.Run(name, func(t *testing.T) {
			tc := newTestCLI()
			path := filepath.Join(t.TempDir(), name)
			tc.exec(t, exitOK, "genconfig", "--config", path)
			if !strings.Contains(tc.err.String(), "wrote new config to "+path) {
				t.Fatalf("stderr: %s", &tc.err)
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("config file: %v %v", fi, err)
			}
			first, _ := os.ReadFile(path)

			tc.exec(t, exitError, "genconfig", "--config", path)
			if !strings.Contains(tc.err.String(), "-f") {
				t.Fatalf("overwrite refusal should mention -f: %s", &tc.err)
			}
			tc.exec(t, exitOK, "genconfig", "--config", path, "-f")
			if second, _ := os.ReadFile(path); bytes.Equal(first, second) {
				t.Fatal("-f did not write fresh secrets")
			}

			tc.exec(t, exitOK, "checkconfig", "--config", path)
			if tc.out.String() != "config ok\n" {
				t.Fatalf("checkconfig stdout %q", &tc.out)
			}

			tc.exec(t, exitOK, "gentoken", "--config", path, "--project", "default", "--user", "42",
				"--ttl", "1h", "--info", `{"name":"x"}`, "--channels", "news, chat:lobby")
			token := strings.TrimSuffix(tc.out.String(), "\n")
			if token == "" || strings.Contains(token, "\n") {
				t.Fatalf("gentoken stdout %q", &tc.out)
			}
			v := verifierFor(t, path, "default")
			claims, err := v.VerifyConnect(token)
			if err != nil {
				t.Fatal(err)
			}
			if claims.User != "42" || string(claims.Info) != `{"name":"x"}` ||
				strings.Join(claims.Channels, "|") != "news|chat:lobby" {
				t.Fatalf("claims %+v", claims)
			}
			if d := time.Until(time.Unix(claims.ExpireAt, 0)); d < 59*time.Minute || d > time.Hour {
				t.Fatalf("token expires in %s, want 1h", d)
			}

			tc.exec(t, exitOK, "subtoken", "--config", path, "--user", "42", "--channel", "$secret", "--ttl", "0")
			sub, err := v.VerifySubscribe(strings.TrimSpace(tc.out.String()))
			if err != nil {
				t.Fatal(err)
			}
			if sub.User != "42" || sub.Channel != "$secret" || sub.ExpireAt != 0 {
				t.Fatalf("subscription claims %+v", sub)
			}
		})
	}
}

func TestGenconfigStdout(t *testing.T) {
	tc := newTestCLI()
	tc.exec(t, exitOK, "genconfig", "--config", "-")
	cfg, err := os.CreateTemp(t.TempDir(), "*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Write(tc.out.Bytes()); err != nil {
		t.Fatal(err)
	}
	cfg.Close()
	tc.exec(t, exitOK, "checkconfig", "--config", cfg.Name())
}

func TestTokenErrors(t *testing.T) {
	path := genconfig(t, "c.yaml")
	tc := newTestCLI()
	tc.exec(t, exitError, "gentoken", "--config", path, "--project", "nope", "--user", "1")
	if !strings.Contains(tc.err.String(), "unknown project") {
		t.Errorf("stderr: %s", &tc.err)
	}
	tc.exec(t, exitError, "gentoken", "--config", path, "--user", "1", "--info", "{bad")
	if !strings.Contains(tc.err.String(), "--info") {
		t.Errorf("stderr: %s", &tc.err)
	}
	tc.exec(t, exitUsage, "subtoken", "--config", path, "--user", "1")
	if !strings.Contains(tc.err.String(), "--channel is required") {
		t.Errorf("stderr: %s", &tc.err)
	}
	tc.exec(t, exitUsage, "gentoken", "--config", path, "--bogus")
	tc.exec(t, exitUsage, "gentoken", "--config", path, "extra")
}

func TestUnknownKeyInFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	content := "http:\n  port: 8000\n  prot: 9000\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	tc := newTestCLI()
	tc.exec(t, exitError, "checkconfig", "--config", path)
	for _, want := range []string{path + ":3:", `unknown key "prot"`, "http"} {
		if !strings.Contains(tc.err.String(), want) {
			t.Errorf("stderr %q does not mention %q", &tc.err, want)
		}
	}
	if tc.out.Len() != 0 {
		t.Errorf("stdout %q", &tc.out)
	}
	tc.exec(t, exitError, "serve", "--config", path)
	if tc.ran != nil {
		t.Fatal("Run called with a bad config")
	}
}

func TestServeEnvOverride(t *testing.T) {
	path := genconfig(t, "c.yaml")
	tc := newTestCLI("CENTRIFUGE_HTTP_PORT=9100", "CENTRIFUGE_LOG_LEVEL=debug", "CENTRIFUGE_CLIENT_MAX_SUBSCRIPTIONS=9")
	tc.exec(t, exitOK, "serve", "--config", path)
	if tc.ran == nil {
		t.Fatal("Run not called")
	}
	if tc.ran.HTTP.Port != 9100 || tc.ran.Log.Level != "debug" || tc.ran.Client.MaxSubscriptions != 9 {
		t.Fatalf("config %+v", tc.ran)
	}
	if strings.Contains(tc.err.String(), "warning") {
		t.Fatalf("unexpected warning: %s", &tc.err)
	}
}

func TestServeFlagBeatsEnv(t *testing.T) {
	path := genconfig(t, "c.yaml")
	tc := newTestCLI("CENTRIFUGE_HTTP_PORT=9100", "CENTRIFUGE_LOG_LEVEL=debug", "CENTRIFUGE_NAME=env-node", "CENTRIFUGE_HTTP_ADDRESS=10.1.1.1")
	// No subcommand: a leading flag means serve.
	tc.exec(t, exitOK, "--config", path, "--port", "9200", "--log-level", "warn", "--name", "flag-node", "--engine", "memory")
	c := tc.ran
	if c == nil {
		t.Fatal("Run not called")
	}
	if c.HTTP.Port != 9200 || c.Log.Level != "warn" || c.Name != "flag-node" || c.HTTP.Address != "10.1.1.1" {
		t.Fatalf("config %+v", c)
	}
	if !strings.Contains(tc.err.String(), "ws://10.1.1.1:9200/connection/websocket") {
		t.Errorf("stderr lacks the websocket URL: %s", &tc.err)
	}
}

func TestServeUnknownEnvWarning(t *testing.T) {
	path := genconfig(t, "c.yaml")
	tc := newTestCLI("CENTRIFUGE_FOO=1")
	tc.exec(t, exitOK, "serve", "--config", path)
	if !strings.Contains(tc.err.String(), "warning: unknown environment variable CENTRIFUGE_FOO") {
		t.Fatalf("stderr: %s", &tc.err)
	}
	tc.exec(t, exitError, "serve", "--config", path, "--engine", "redis")
	if !strings.Contains(tc.err.String(), "redis_url") {
		t.Fatalf("stderr: %s", &tc.err)
	}
}

func TestServePrintsTestToken(t *testing.T) {
	path := genconfig(t, "c.yaml")
	tc := newTestCLI()
	tc.exec(t, exitOK, "serve", "--config", path, "--address", "0.0.0.0", "--port", "8123")
	if strings.Contains(tc.err.String(), "token") {
		t.Fatalf("a production start must not print a token: %s", &tc.err)
	}
	tc = newTestCLI()
	tc.exec(t, exitOK, "serve", "--config", path, "--create-config", "--address", "0.0.0.0", "--port", "8123")
	stderr := tc.err.String()
	if !strings.Contains(stderr, "ws://localhost:8123/connection/websocket") {
		t.Fatalf("stderr lacks the websocket URL: %s", stderr)
	}
	_, token, ok := strings.Cut(stderr, `user "test" (valid 24h): `)
	if !ok {
		t.Fatalf("stderr lacks the token: %s", stderr)
	}
	token, _, _ = strings.Cut(token, "\n")
	claims, err := verifierFor(t, path, "default").VerifyConnect(token)
	if err != nil {
		t.Fatal(err)
	}
	if claims.User != "test" || time.Until(time.Unix(claims.ExpireAt, 0)) < 23*time.Hour {
		t.Fatalf("claims %+v", claims)
	}
}

func TestServeCreateConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.yaml")
	tc := newTestCLI()
	tc.exec(t, exitOK, "serve", "--config", path, "--create-config")
	if !strings.Contains(tc.err.String(), "wrote new config to "+path) {
		t.Fatalf("stderr: %s", &tc.err)
	}
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The file exists now: it is used, not rewritten.
	tc.exec(t, exitOK, "serve", "--config", path, "--create-config")
	if second, _ := os.ReadFile(path); !bytes.Equal(first, second) {
		t.Fatal("existing config rewritten")
	}
	if strings.Contains(tc.err.String(), "wrote new config") {
		t.Fatalf("stderr: %s", &tc.err)
	}
}

func TestServeMissingConfig(t *testing.T) {
	tc := newTestCLI()
	tc.exec(t, exitError, "serve", "--config", filepath.Join(t.TempDir(), "nope.yaml"))
	if !strings.Contains(tc.err.String(), "genconfig") {
		t.Fatalf("stderr should suggest genconfig: %s", &tc.err)
	}
}

func TestServeRunError(t *testing.T) {
	path := genconfig(t, "c.yaml")
	tc := newTestCLI()
	tc.runErr = errors.New("listen: address already in use")
	tc.exec(t, exitError, "serve", "--config", path)
	if !strings.Contains(tc.err.String(), "address already in use") {
		t.Fatalf("stderr: %s", &tc.err)
	}
	tc.runErr = context.Canceled
	tc.exec(t, exitOK, "serve", "--config", path)
}

func TestEnvOnlyConfig(t *testing.T) {
	// Without --config and without ./config.yaml, the environment is enough.
	t.Chdir(t.TempDir())
	tc := newTestCLI(`CENTRIFUGE_PROJECTS=[{"name":"default","secret":"env-secret-0123456789"}]`)
	tc.exec(t, exitOK, "checkconfig")
	tc.exec(t, exitOK, "gentoken", "--user", "5")
	tc.exec(t, exitError, "checkconfig", "--config", "config.yaml") // given explicitly: must exist
}

func TestHelpAndVersion(t *testing.T) {
	tc := newTestCLI()
	tc.exec(t, exitOK, "help")
	if !strings.Contains(tc.out.String(), "gentoken") {
		t.Errorf("help: %s", &tc.out)
	}
	tc.exec(t, exitOK, "-h")
	if !strings.Contains(tc.err.String(), "-create-config") {
		t.Errorf("-h: %s", &tc.err)
	}
	tc.exec(t, exitOK, "help", "gentoken")
	if !strings.Contains(tc.err.String(), "-channels") {
		t.Errorf("help gentoken: %s", &tc.err)
	}
	tc.exec(t, exitUsage, "frobnicate")
	if !strings.Contains(tc.err.String(), `unknown command "frobnicate"`) {
		t.Errorf("stderr: %s", &tc.err)
	}

	var out, errOut bytes.Buffer
	if code := Main([]string{"version"}, &out, &errOut); code != exitOK || !strings.HasPrefix(out.String(), "centrifuge "+Version) {
		t.Fatalf("version: %d %q %q", code, &out, &errOut)
	}
}
