package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/auth"
	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// Exit codes of Main.
const (
	exitOK    = 0
	exitError = 1 // the command failed
	exitUsage = 2 // bad flags or arguments
)

// defaultConfigPath is read when --config is not given and the file exists,
// and written by genconfig.
const defaultConfigPath = "config.yaml"

// testTokenTTL is the lifetime of the token serve prints and of gentoken's
// and subtoken's tokens by default.
const testTokenTTL = 24 * time.Hour

// Main runs the centrifuge command line. args excludes the program name; the
// result is the process exit code. Without a command, or when args start with
// a flag, it runs serve.
func Main(args []string, stdout, stderr io.Writer) int {
	c := &cli{stdout: stdout, stderr: stderr, stdin: os.Stdin, environ: os.Environ(), run: Run, checkPort: portFree}
	return c.main(args)
}

// cli holds what the commands read and write, so tests can replace them.
type cli struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	environ        []string
	run            func(ctx context.Context, cfg config.Config, log *slog.Logger) error
	// checkPort runs before the welcome is printed (nil: no check).
	checkPort func(config.HTTP) error
}

type command struct {
	name, summary string
	run           func(c *cli, args []string) int
}

func commands() []command {
	return []command{
		{"serve", "run the server (the default command)", (*cli).serve},
		{"genconfig", "write a new config file with fresh secrets", (*cli).genconfig},
		{"checkconfig", "validate the configuration", (*cli).checkconfig},
		{"gentoken", "print a connection token (JWT) for a user", (*cli).gentoken},
		{"subtoken", "print a subscription token for a user and channel", (*cli).subtoken},
		{"project", "list, create, delete projects or regenerate a secret, in the structure store", (*cli).project},
		{"admin", "hash-password: bcrypt hash for admin.password; token: a new admin token", (*cli).adminCmd},
		{"version", "print the version", (*cli).version},
		{"help", "show this help, or a command's with help <command>", (*cli).help},
	}
}

func (c *cli) main(args []string) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return c.serve(args)
	}
	for _, cmd := range commands() {
		if cmd.name == args[0] {
			return cmd.run(c, args[1:])
		}
	}
	fmt.Fprintf(c.stderr, "centrifuge: unknown command %q\n\n", args[0])
	c.usage(c.stderr)
	return exitUsage
}

func (c *cli) usage(w io.Writer) {
	fmt.Fprint(w, "Centrifuge is a real-time messaging server speaking the Centrifugo client protocol v2.\n\n"+
		"usage: centrifuge [command] [flags]\n\ncommands:\n")
	for _, cmd := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", cmd.name, cmd.summary)
	}
	fmt.Fprint(w, "\nRun \"centrifuge <command> -h\" for a command's flags.\n"+
		"Configuration comes from the file (--config), overridden by environment\n"+
		"variables CENTRIFUGE_<SECTION>_<KEY> (e.g. CENTRIFUGE_HTTP_PORT), overridden by flags.\n")
}

func (c *cli) help(args []string) int {
	if len(args) == 0 {
		c.usage(c.stdout)
		return exitOK
	}
	return c.main([]string{args[0], "-h"})
}

// newFlagSet returns a flag set whose -h prints the command's synopsis and
// description before its flags.
func (c *cli) newFlagSet(name, synopsis, description string) *flag.FlagSet {
	flags := flag.NewFlagSet("centrifuge "+name, flag.ContinueOnError)
	flags.SetOutput(c.stderr)
	flags.Usage = func() {
		w := flags.Output()
		fmt.Fprintf(w, "usage: centrifuge %s %s\n\n%s\n\nflags:\n", name, synopsis, description)
		flags.PrintDefaults()
	}
	return flags
}

// parse parses args and reports whether the command should go on; when not,
// code is the exit code (0 after -h).
func parse(flags *flag.FlagSet, args []string) (code int, ok bool) {
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(flags.Output(), "unexpected argument %q\n", flags.Arg(0))
		flags.Usage()
		return exitUsage, false
	}
	return exitOK, true
}

func isSet(flags *flag.FlagSet, name string) bool {
	set := false
	flags.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// configFlag adds --config. Its value resolves to "" (no file) when the flag
// was not given and defaultConfigPath does not exist.
func configFlag(flags *flag.FlagSet) func() string {
	path := flags.String("config", defaultConfigPath,
		"config file, YAML or JSON (when not given, read only if it exists)")
	return func() string {
		if isSet(flags, "config") {
			return *path
		}
		if _, err := os.Stat(*path); err != nil {
			return ""
		}
		return *path
	}
}

func (c *cli) errorf(format string, args ...any) int {
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintf(c.stderr, "centrifuge: %s\n", strings.ReplaceAll(msg, "\n", "\n  "))
	return exitError
}

// loadConfig loads the configuration and prints its warnings.
func (c *cli) loadConfig(path string, ov config.Overrides) (config.Config, error) {
	cfg, warnings, err := config.Load(config.LoadOptions{Path: path, Environ: c.environ, Overrides: ov})
	for _, w := range warnings {
		fmt.Fprintf(c.stderr, "warning: %s\n", w)
	}
	if errors.Is(err, fs.ErrNotExist) {
		err = fmt.Errorf("%w\ncreate one with: centrifuge genconfig --config %s (or serve --create-config)", err, path)
	}
	return cfg, err
}

func (c *cli) serve(args []string) int {
	flags := c.newFlagSet("serve", "[flags]",
		"Runs the server until SIGINT or SIGTERM, then shuts down gracefully.\n"+
			"Other commands: genconfig, checkconfig, gentoken, subtoken, version (centrifuge help).")
	configPath := configFlag(flags)
	create := flags.Bool("create-config", false, "write a fresh config to --config first if the file does not exist")
	address := flags.String("address", "", "interface to listen on (overrides http.address, default 127.0.0.1)")
	port := flags.Int("port", 0, "TCP port, 0 for any free port (overrides http.port, default 8000)")
	logLevel := flags.String("log-level", "", "debug, info, warn or error (overrides log.level, default info)")
	engine := flags.String("engine", "", "engine type: memory or redis (overrides engine.type, default memory)")
	redisURL := flags.String("redis-url", "", "Redis URL for the redis engine (overrides engine.redis_url)")
	name := flags.String("name", "", "node name (overrides name, default the hostname)")
	dataDir := flags.String("data-dir", "", "directory of the SQLite structure store (overrides data_dir)")
	if code, ok := parse(flags, args); !ok {
		return code
	}

	var ov config.Overrides
	flags.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "address":
			ov.Address = address
		case "port":
			ov.Port = port
		case "log-level":
			ov.LogLevel = logLevel
		case "engine":
			ov.Engine = engine
		case "redis-url":
			ov.RedisURL = redisURL
		case "name":
			ov.Name = name
		case "data-dir":
			ov.DataDir = dataDir
		}
	})

	path := configPath()
	if *create {
		if path == "" {
			path = defaultConfigPath
		}
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			if err := writeSampleConfig(path, false); err != nil {
				return c.errorf("%v", err)
			}
			fmt.Fprintf(c.stderr, "wrote new config to %s\n", path)
		}
	}

	cfg, err := c.loadConfig(path, ov)
	if err != nil {
		return c.errorf("%v", err)
	}
	logger := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: cfg.Log.SlogLevel()}))
	if c.checkPort != nil {
		if err := c.checkPort(cfg.HTTP); err != nil {
			return c.errorf("%v", err) // before the welcome: no token for a server that is not there
		}
	}
	c.printWelcome(cfg, *create)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := c.run(ctx, cfg, logger); err != nil && !errors.Is(err, context.Canceled) {
		return c.errorf("%v", err)
	}
	return exitOK
}

// printWelcome prints where to connect and, in development (serve
// --create-config, as make run does), a token for user "test" on the first
// project so a client can connect right away. Production starts print no token.
func (c *cli) printWelcome(cfg config.Config, withToken bool) {
	p := cfg.Projects[0]
	w := c.stderr
	host := cfg.HTTP.Address
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	prefix := ""
	if p.Name != structure.DefaultProject {
		prefix = "/" + p.Name
	}
	if cfg.HTTP.Port == 0 {
		fmt.Fprintf(w, "port 0: the server picks a free port and logs it when listening\n")
	} else {
		base := net.JoinHostPort(host, strconv.Itoa(cfg.HTTP.Port))
		fmt.Fprintf(w, "client endpoint (project %q): ws://%s/connection%s/websocket\n", p.Name, base, prefix)
		fmt.Fprintf(w, "server API (project %q): http://%s/api%s/<method> with header X-API-Key\n", p.Name, base, prefix)
	}
	if !withToken {
		return
	}
	c.printAdminWelcome(cfg, host)
	if p.Secret == "" {
		fmt.Fprintf(w, "project %q has no secret: no test token (tokens come from your RS256/ES256 signer)\n", p.Name)
		return
	}
	token, err := auth.NewConnectToken(p.Secret, "test", testTokenTTL, nil, nil)
	if err != nil {
		fmt.Fprintf(w, "test token: %v\n", err)
		return
	}
	fmt.Fprintf(w, "connection token for user \"test\" (valid %.0fh): %s\n", testTokenTTL.Hours(), token)
}

func (c *cli) genconfig(args []string) int {
	flags := c.newFlagSet("genconfig", "[--config path] [-f]",
		"Writes a working config with a project named default, a fresh secret and API key,\n"+
			"and a namespace chat. A path ending in .json gets JSON, otherwise YAML; - prints it.")
	path := flags.String("config", defaultConfigPath, "file to write")
	force := flags.Bool("f", false, "overwrite an existing file")
	if code, ok := parse(flags, args); !ok {
		return code
	}
	if *path == "-" {
		b, err := sampleConfig(*path)
		if err != nil {
			return c.errorf("%v", err)
		}
		if _, err := c.stdout.Write(b); err != nil {
			return c.errorf("%v", err)
		}
		return exitOK
	}
	if err := writeSampleConfig(*path, *force); err != nil {
		return c.errorf("%v", err)
	}
	fmt.Fprintf(c.stderr, "wrote new config to %s\nstart the server with: centrifuge serve --config %s\n", *path, *path)
	return exitOK
}

func sampleConfig(path string) ([]byte, error) {
	cfg, err := config.Sample()
	if err != nil {
		return nil, err
	}
	return config.Marshal(cfg, path)
}

// writeSampleConfig writes a fresh sample config to path, readable only by
// its owner since it holds secrets. Without force an existing file is an error.
func writeSampleConfig(path string, force bool) error {
	b, err := sampleConfig(path)
	if err != nil {
		return err
	}
	mode := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		mode = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, mode, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists: use -f to overwrite it", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

func (c *cli) checkconfig(args []string) int {
	flags := c.newFlagSet("checkconfig", "[--config path]",
		"Loads the configuration (file, environment) and validates it.")
	configPath := configFlag(flags)
	if code, ok := parse(flags, args); !ok {
		return code
	}
	if _, err := c.loadConfig(configPath(), config.Overrides{}); err != nil {
		return c.errorf("%v", err)
	}
	fmt.Fprintln(c.stdout, "config ok")
	return exitOK
}

// tokenFlags are the flags gentoken and subtoken share.
type tokenFlags struct {
	configPath func() string
	project    *string
	user       *string
	ttl        *time.Duration
	info       *string
}

func addTokenFlags(flags *flag.FlagSet) tokenFlags {
	return tokenFlags{
		configPath: configFlag(flags),
		project:    flags.String("project", structure.DefaultProject, "project whose secret signs the token"),
		user:       flags.String("user", "", `user id (the sub claim); "" is anonymous`),
		ttl:        flags.Duration("ttl", testTokenTTL, "lifetime, 0 for a token that never expires"),
		info:       flags.String("info", "", `info claim, JSON such as '{"name":"Alice"}'`),
	}
}

// secret loads the configuration and returns the token flags' project secret
// and info.
func (c *cli) secret(tf tokenFlags) (string, json.RawMessage, error) {
	var info json.RawMessage
	if *tf.info != "" {
		if !json.Valid([]byte(*tf.info)) {
			return "", nil, fmt.Errorf("--info is not valid JSON: %s", *tf.info)
		}
		info = json.RawMessage(*tf.info)
	}
	if *tf.ttl < 0 {
		return "", nil, errors.New("--ttl must not be negative")
	}
	cfg, err := c.loadConfig(tf.configPath(), config.Overrides{})
	if err != nil {
		return "", nil, err
	}
	reg, err := structure.NewRegistry(cfg.Projects)
	if err != nil {
		return "", nil, err
	}
	p, err := reg.Get(*tf.project)
	if err != nil {
		return "", nil, err
	}
	if p.Secret == "" {
		return "", nil, fmt.Errorf("project %q has no secret: its RS256/ES256 tokens are signed by your backend", p.Name)
	}
	return p.Secret, info, nil
}

func (c *cli) gentoken(args []string) int {
	flags := c.newFlagSet("gentoken", "[--config path] [--project P] --user U [--ttl 24h] [--info JSON] [--channels a,b]",
		"Prints an HS256 connection token signed with the project's secret.")
	tf := addTokenFlags(flags)
	channels := flags.String("channels", "", "comma-separated channels to subscribe the connection to on the server side")
	if code, ok := parse(flags, args); !ok {
		return code
	}
	secret, info, err := c.secret(tf)
	if err != nil {
		return c.errorf("%v", err)
	}
	var chans []string
	for _, ch := range strings.Split(*channels, ",") {
		if ch = strings.TrimSpace(ch); ch != "" {
			chans = append(chans, ch)
		}
	}
	token, err := auth.NewConnectToken(secret, *tf.user, *tf.ttl, info, chans)
	if err != nil {
		return c.errorf("%v", err)
	}
	fmt.Fprintln(c.stdout, token)
	return exitOK
}

func (c *cli) subtoken(args []string) int {
	flags := c.newFlagSet("subtoken", "[--config path] [--project P] --user U --channel C [--ttl 24h] [--info JSON]",
		"Prints an HS256 subscription token (for private $channels) signed with the project's secret.")
	tf := addTokenFlags(flags)
	channel := flags.String("channel", "", "channel the token grants (required)")
	if code, ok := parse(flags, args); !ok {
		return code
	}
	if *channel == "" {
		fmt.Fprintln(c.stderr, "--channel is required")
		flags.Usage()
		return exitUsage
	}
	secret, info, err := c.secret(tf)
	if err != nil {
		return c.errorf("%v", err)
	}
	token, err := auth.NewSubscribeToken(secret, *tf.user, *channel, *tf.ttl, info)
	if err != nil {
		return c.errorf("%v", err)
	}
	fmt.Fprintln(c.stdout, token)
	return exitOK
}

func (c *cli) version(args []string) int {
	flags := c.newFlagSet("version", "", "Prints the version.")
	if code, ok := parse(flags, args); !ok {
		return code
	}
	fmt.Fprintf(c.stdout, "centrifuge %s %s %s/%s\n", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}

// portFree checks that the configured address can be listened on (port 0
// always can), so that serve fails before printing endpoints and a token.
func portFree(h config.HTTP) error {
	if h.Port == 0 {
		return nil
	}
	ln, err := net.Listen("tcp", h.ListenAddr())
	if err != nil {
		return fmt.Errorf("cannot listen on %s (is another server running? change http.port or --port): %w", h.ListenAddr(), err)
	}
	return ln.Close()
}
