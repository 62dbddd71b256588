package structure

import (
	"github.com/centrifugehq/centrifuge/server/internal/duration"
	"reflect"
	"strings"
)

// Option scopes: where an option is set.
const (
	// ScopeProject: a field of the project itself.
	ScopeProject = "project"
	// ScopeBoth: a channel option, in a project's options and in each namespace's.
	ScopeBoth = "both"
)

// OptionInfo describes one settable key of a project or of its channel
// options: the admin API serves the list (GET /admin/api/options) so forms
// are built from the same Go fields the configuration file fills and
// Validate checks.
type OptionInfo struct {
	// Name is the key in the configuration file and in JSON.
	Name string `json:"name"`
	// Type is bool, int, duration, string or proxy.
	Type string `json:"type"`
	// Default is the value used when the key is not set.
	Default any    `json:"default,omitempty"`
	Help    string `json:"help"`
	Scope   string `json:"scope"`
}

// defaults are the values used for zero fields, where they are not zero.
var defaults = map[string]any{
	"max_auth_attempts":         DefaultMaxAuthAttempts,
	"back_off_interval":         duration.Duration(DefaultBackOffInterval).String(),
	"back_off_max_timeout":      duration.Duration(DefaultBackOffMaxTimeout).String(),
	"connection_lifetime":       duration.Duration(DefaultConnectionLifetime).String(),
	"connection_check_interval": duration.Duration(DefaultConnectionCheckInterval).String(),
}

// Options lists every channel option (scope both) then every project-level
// option (scope project), in the order of the struct fields, with the help
// text of their `help` tags.
func Options() []OptionInfo {
	out := describe(reflect.TypeOf(ChannelOptions{}), ScopeBoth)
	return append(out, describe(reflect.TypeOf(Project{}), ScopeProject)...)
}

var (
	durationType = reflect.TypeOf(duration.Duration(0))
	proxyType    = reflect.TypeOf(&Proxy{})
)

func describe(t reflect.Type, scope string) []OptionInfo {
	var out []OptionInfo
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		help := f.Tag.Get("help")
		if help == "-" {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		o := OptionInfo{Name: name, Help: help, Scope: scope}
		switch {
		case f.Type == durationType:
			o.Type, o.Default = "duration", duration.Duration(0).String()
		case f.Type == proxyType:
			o.Type = "proxy"
		case f.Type.Kind() == reflect.Bool:
			o.Type, o.Default = "bool", false
		case f.Type.Kind() == reflect.Int:
			o.Type, o.Default = "int", 0
		case f.Type.Kind() == reflect.String:
			o.Type, o.Default = "string", ""
		default:
			panic("structure: option " + name + " has a type Options cannot describe")
		}
		if d, ok := defaults[name]; ok {
			o.Default = d
		}
		out = append(out, o)
	}
	return out
}
