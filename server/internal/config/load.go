package config

import (
	"fmt"
	"os"
)

// LoadOptions says where Load reads each layer from.
type LoadOptions struct {
	// Path is the config file (YAML or JSON); "" reads no file.
	Path string
	// Environ holds "KEY=value" entries, as os.Environ returns them. Only
	// CENTRIFUGE_* entries are read.
	Environ []string
	// Overrides are the values of the flags set on the command line.
	Overrides Overrides
}

// Overrides holds the settings that command-line flags can change. A nil
// field was not set and leaves the lower layers' value alone.
type Overrides struct {
	Address  *string // --address: http.address
	Port     *int    // --port: http.port
	LogLevel *string // --log-level: log.level
	Engine   *string // --engine: engine.type
	RedisURL *string // --redis-url: engine.redis_url
	Name     *string // --name: name
	DataDir  *string // --data-dir: data_dir
}

func (o Overrides) apply(c *Config) {
	if o.Address != nil {
		c.HTTP.Address = *o.Address
	}
	if o.Port != nil {
		c.HTTP.Port = *o.Port
	}
	if o.LogLevel != nil {
		c.Log.Level = *o.LogLevel
	}
	if o.Engine != nil {
		c.Engine.Type = *o.Engine
	}
	if o.RedisURL != nil {
		c.Engine.RedisURL = *o.RedisURL
	}
	if o.Name != nil {
		c.Name = *o.Name
	}
	if o.DataDir != nil {
		c.DataDir = *o.DataDir
	}
}

// Load builds the configuration from Default, then the file, then the
// environment, then the overrides, and validates it. It returns warnings
// about settings that are accepted but suspicious (such as unknown CENTRIFUGE_*
// variables) even when it also returns an error. A file that does not exist
// gives an error matching fs.ErrNotExist.
func Load(opts LoadOptions) (Config, []string, error) {
	cfg := Default()
	if opts.Path != "" {
		b, err := os.ReadFile(opts.Path)
		if err != nil {
			return Config{}, nil, fmt.Errorf("read config: %w", err)
		}
		if err := decodeFile(opts.Path, b, &cfg); err != nil {
			return Config{}, nil, err
		}
	}
	warnings, err := applyEnv(&cfg, opts.Environ)
	if err != nil {
		return Config{}, warnings, err
	}
	opts.Overrides.apply(&cfg)
	if err := cfg.Validate(); err != nil {
		return Config{}, warnings, fmt.Errorf("invalid config: %w", err)
	}
	return cfg, append(warnings, cfg.warnings()...), nil
}
