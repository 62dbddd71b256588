package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// decodeFile decodes YAML (JSON is YAML too) onto cfg, so keys the file does
// not mention keep their value. Unknown keys and bad durations are reported
// all at once, each as "file:line: message" naming the full key.
func decodeFile(name string, data []byte, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty file: all defaults
		}
		return fileError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return fileError(name, err)
		}
		return fmt.Errorf("%s:%d: a second YAML document: a config file holds one", name, extra.Line)
	}

	var errs []error
	checkNode(&doc, reflect.TypeOf(*cfg), "", func(line int, msg string) {
		errs = append(errs, fmt.Errorf("%s:%d: %s", name, line, msg))
	})
	if len(errs) > 0 {
		return errors.Join(errs...)
	}

	// checkNode has found every unknown key; KnownFields stays on as the
	// decoder's own guarantee.
	dec = yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fileError(name, err)
	}
	return nil
}

// yamlLineRe matches the "line N: message" form of yaml.v3 errors.
var yamlLineRe = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// fileError rewrites yaml.v3 errors as "file:line: message".
func fileError(name string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		errs := make([]error, len(te.Errors))
		for i, msg := range te.Errors {
			errs[i] = errors.New(withFile(name, msg))
		}
		return errors.Join(errs...)
	}
	return errors.New(withFile(name, err.Error()))
}

func withFile(name, msg string) string {
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		return name + ":" + m[1] + ": " + m[2]
	}
	return name + ": " + msg
}

var yamlUnmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// checkNode walks a YAML node against the Go type it decodes into and
// reports unknown keys and values a custom unmarshaler (duration.Duration)
// rejects, with their line. Type mismatches are left to the decoder, whose
// errors carry the line already.
func checkNode(n *yaml.Node, t reflect.Type, path string, report func(line int, msg string)) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			checkNode(c, t, path, report)
		}
		return
	case yaml.AliasNode:
		return // the decoder resolves and checks aliases
	}
	if n.ShortTag() == "!!null" {
		return // null keeps the current value
	}
	if reflect.PointerTo(t).Implements(yamlUnmarshalerType) {
		v := reflect.New(t).Interface().(yaml.Unmarshaler)
		if err := v.UnmarshalYAML(n); err != nil {
			report(n.Line, fmt.Sprintf("%s: %v", path, err))
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		checkNode(n, t.Elem(), path, report)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" {
				continue // merge key, checked by the decoder
			}
			f, ok := fields[k.Value]
			if !ok {
				report(k.Line, unknownKey(path, k.Value, fields))
				continue
			}
			checkNode(v, f.Type, joinKey(path, k.Value), report)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, c := range n.Content {
			checkNode(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), report)
		}
	}
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func unknownKey(path, key string, fields map[string]reflect.StructField) string {
	msg := fmt.Sprintf("unknown key %q", key)
	if path != "" {
		msg += " in " + path
	}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	if s := suggest(key, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return msg
}

// yamlFields maps the keys of a struct type, as yaml.v3 names them, to their
// fields. Inlined structs contribute their own keys.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(","+opts+",", ",inline,") && f.Type.Kind() == reflect.Struct {
			for k, sub := range yamlFields(f.Type) {
				sub.Index = append([]int{i}, sub.Index...)
				out[k] = sub
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f
	}
	return out
}

// suggest returns the candidate closest to got when it is a likely typo
// (ignoring case, '_' and '-'), or "".
func suggest(got string, candidates []string) string {
	norm := func(s string) string {
		return strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(s))
	}
	g := norm(got)
	sort.Strings(candidates)
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := levenshtein(g, norm(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
