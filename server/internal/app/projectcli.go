package app

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/admin"
	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/metrics"
	"github.com/centrifugehq/centrifuge/server/internal/store"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// cliTimeout bounds one CLI command's work on the store.
const cliTimeout = 30 * time.Second

// project runs "centrifuge project list|create|delete|regenerate-secret" on
// the structure store the configuration selects, the one the server uses.
// Running servers apply the change within a second (they poll the store's
// version).
func (c *cli) project(args []string) int {
	const usage = "usage: centrifuge project list|create|delete|regenerate-secret|backup [flags] (centrifuge project <sub> -h)"
	if len(args) == 0 {
		fmt.Fprintln(c.stderr, usage)
		return exitUsage
	}
	sub, args := args[0], args[1:]
	flags := c.newFlagSet("project "+sub, "[--config path] [flags]",
		"Works on the structure store of the configuration (data_dir's SQLite, the Redis\n"+
			"engine's Redis, or memory); running servers apply the change within a second.")
	configPath := configFlag(flags)
	dataDir := flags.String("data-dir", "", "directory of the SQLite structure store (overrides data_dir)")
	var name, display, secret, apiKey, out *string
	asJSON := new(bool)
	switch sub {
	case "list":
		asJSON = flags.Bool("json", false, "print the projects as JSON, secrets included")
	case "create":
		name = flags.String("name", "", "project name (required)")
		display = flags.String("display-name", "", "a name for people")
		secret = flags.String("secret", "", "token secret (default: generated)")
		apiKey = flags.String("api-key", "", "server API key (default: generated)")
	case "delete", "regenerate-secret":
		name = flags.String("name", "", "project name (required)")
	case "backup":
		out = flags.String("out", "", "file to write a consistent copy of the SQLite store to (required, must not exist)")
	case "-h", "--help", "help":
		fmt.Fprintln(c.stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(c.stderr, "unknown project command %q\n%s\n", sub, usage)
		return exitUsage
	}
	if code, ok := parse(flags, args); !ok {
		return code
	}
	if name != nil && *name == "" {
		fmt.Fprintln(c.stderr, "--name is required")
		flags.Usage()
		return exitUsage
	}
	if out != nil && *out == "" {
		fmt.Fprintln(c.stderr, "--out is required")
		flags.Usage()
		return exitUsage
	}
	var ov config.Overrides
	if isSet(flags, "data-dir") {
		ov.DataDir = dataDir
	}
	cfg, err := c.loadConfig(configPath(), ov)
	if err != nil {
		return c.errorf("%v", err)
	}
	if cfg.StoreType() == config.StoreMemory {
		return c.errorf("no persistent structure store: set data_dir (SQLite) or use the redis engine")
	}
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	st, closeStore, err := c.openCLIStore(ctx, cfg)
	if err != nil {
		return c.errorf("%v", err)
	}
	defer closeStore()

	switch sub {
	case "list":
		err = c.listProjects(ctx, st, *asJSON)
	case "backup":
		b, ok := st.(interface {
			Backup(ctx context.Context, path string) error
		})
		if !ok {
			err = fmt.Errorf("the %s store has no backup command: back up its Redis (README, \"Projects live\")", st.Kind())
			break
		}
		if err = b.Backup(ctx, *out); err == nil {
			fmt.Fprintf(c.stdout, "wrote %s\n", *out)
		}
	case "create":
		p := structure.Project{Name: *name, DisplayName: *display, Secret: *secret, APIKey: *apiKey}
		if p.Secret == "" {
			p.Secret, err = config.RandomSecret()
		}
		if err == nil && p.APIKey == "" {
			p.APIKey, err = config.RandomSecret()
		}
		if err == nil {
			err = st.Create(ctx, p)
		}
		if err == nil {
			fmt.Fprintf(c.stdout, "created project %s\nsecret: %s\napi_key: %s\n", p.Name, p.Secret, p.APIKey)
		}
	case "delete":
		if err = st.Delete(ctx, *name); err == nil {
			fmt.Fprintf(c.stdout, "deleted project %s\n", *name)
		}
	case "regenerate-secret":
		var p structure.Project
		p, err = st.Update(ctx, *name, func(p *structure.Project) error {
			s, err := config.RandomSecret()
			p.Secret = s
			return err
		})
		if err == nil {
			fmt.Fprintf(c.stdout, "secret: %s\n", p.Secret)
		}
	}
	if err != nil {
		return c.errorf("%v", err)
	}
	return exitOK
}

// openCLIStore opens the configuration's store and seeds it as the server
// would on its first start.
func (c *cli) openCLIStore(ctx context.Context, cfg config.Config) (store.Store, func(), error) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng, err := newEngine(cfg, log, metrics.New())
	if err != nil {
		return nil, nil, err
	}
	closeEngine := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = eng.Close(ctx)
	}
	st, err := openStore(cfg, eng)
	if err != nil {
		closeEngine()
		return nil, nil, err
	}
	done := func() {
		_ = st.Close()
		closeEngine()
	}
	if _, err := st.Seed(ctx, cfg.Projects); err != nil {
		done()
		return nil, nil, fmt.Errorf("seed the %s store: %w", st.Kind(), err)
	}
	return st, done, nil
}

func (c *cli) listProjects(ctx context.Context, st store.Store, asJSON bool) error {
	ps, err := st.Load(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(ps)
	}
	w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tDISPLAY NAME\tNAMESPACES\tSERVER API")
	for _, p := range ps {
		ns := make([]string, len(p.Namespaces))
		for i, n := range p.Namespaces {
			ns[i] = n.Name
		}
		api := "on"
		if p.APIKey == "" {
			api = "off"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", p.Name, p.DisplayName, strings.Join(ns, ","), api)
	}
	return w.Flush()
}

// adminCmd runs "centrifuge admin hash-password|token".
func (c *cli) adminCmd(args []string) int {
	const usage = "usage: centrifuge admin hash-password|token"
	if len(args) == 0 {
		fmt.Fprintln(c.stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "hash-password":
		flags := c.newFlagSet("admin hash-password", "< password",
			"Reads a password on standard input and prints its bcrypt hash for admin.password.")
		if code, ok := parse(flags, args[1:]); !ok {
			return code
		}
		line, err := bufio.NewReader(io.LimitReader(c.stdin, 1024)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return c.errorf("read password: %v", err)
		}
		h, err := admin.HashPassword(strings.TrimRight(line, "\r\n"))
		if err != nil {
			return c.errorf("%v", err)
		}
		fmt.Fprintln(c.stdout, h)
	case "token":
		flags := c.newFlagSet("admin token", "",
			"Prints a new admin token for scripts (Authorization: Bearer <token>) and the line\n"+
				"to put in admin.tokens: its sha256 form, so the config holds no usable token.")
		if code, ok := parse(flags, args[1:]); !ok {
			return code
		}
		tok, err := config.RandomSecret()
		if err != nil {
			return c.errorf("%v", err)
		}
		sum := sha256.Sum256([]byte(tok))
		fmt.Fprintf(c.stdout, "token: %s\nadmin.tokens entry: sha256:%s\n", tok, hex.EncodeToString(sum[:]))
	default:
		fmt.Fprintf(c.stderr, "unknown admin command %q\n%s\n", args[0], usage)
		return exitUsage
	}
	return exitOK
}

// printAdminWelcome tells, in development (make run), where the admin UI is
// and its password, as the config holds it.
func (c *cli) printAdminWelcome(cfg config.Config, host string) {
	w := c.stderr
	a := cfg.Admin
	switch {
	case !a.Enabled:
		return
	case cfg.HTTP.Port != 0:
		fmt.Fprintf(w, "admin UI: http://%s/ (API: /admin/api/), projects kept in the %s store\n",
			net.JoinHostPort(host, strconv.Itoa(cfg.HTTP.Port)), cfg.StoreType())
	}
	switch {
	case a.Password == "":
		fmt.Fprintln(w, "admin: no admin.password in the config: add one (centrifuge admin hash-password), or delete the config to get a fresh one")
	case config.IsPasswordHash(a.Password):
		fmt.Fprintln(w, "admin password: as hashed in admin.password")
	default:
		fmt.Fprintf(w, "admin password: %s\n", a.Password)
	}
}
