package config

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// EnvPrefix starts every environment variable the config reads.
const EnvPrefix = "CENTRIFUGE_"

// envSetter parses an environment value into one config field.
type envSetter func(value string) error

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

// applyEnv sets the fields named by CENTRIFUGE_* entries of environ. The name
// of a field's variable is EnvPrefix plus its yaml key path in upper case with
// '_' between sections: http.port is CENTRIFUGE_HTTP_PORT. An empty value
// counts as unset. Unknown CENTRIFUGE_* variables are warnings; values that do
// not parse are errors.
func applyEnv(cfg *Config, environ []string) (warnings []string, err error) {
	setters := map[string]envSetter{}
	collectEnv(reflect.ValueOf(cfg).Elem(), strings.TrimSuffix(EnvPrefix, "_"), setters)

	var errs []error
	for _, kv := range environ {
		key, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(key, EnvPrefix) {
			continue
		}
		set, known := setters[key]
		if !known {
			w := "unknown environment variable " + key + " (ignored)"
			names := make([]string, 0, len(setters))
			for name := range setters {
				names = append(names, name)
			}
			if s := suggest(key, names); s != "" {
				w += "; did you mean " + s + "?"
			}
			warnings = append(warnings, w)
			continue
		}
		if val == "" {
			continue
		}
		if err := set(val); err != nil {
			errs = append(errs, fmt.Errorf("environment variable %s: %w", key, err))
		}
	}
	return warnings, errors.Join(errs...)
}

// collectEnv registers a setter for every leaf field under v, named prefix +
// "_" + the upper-cased yaml key.
func collectEnv(v reflect.Value, prefix string, out map[string]envSetter) {
	t := v.Type()
	fields := yamlFields(t)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		f := fields[key]
		fv := v.FieldByIndex(f.Index)
		name := prefix + "_" + strings.ToUpper(key)
		if set := leafSetter(fv); set != nil {
			out[name] = set
			continue
		}
		if f.Type.Kind() == reflect.Struct {
			collectEnv(fv, name, out)
		}
	}
}

// leafSetter returns the setter for a field read from one variable, or nil
// for a struct whose fields have their own variables.
func leafSetter(fv reflect.Value) envSetter {
	t := fv.Type()
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return func(s string) error {
			return fv.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s))
		}
	}
	switch t.Kind() {
	case reflect.String:
		return func(s string) error {
			fv.SetString(s)
			return nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(s string) error {
			n, err := strconv.ParseInt(strings.TrimSpace(s), 10, t.Bits())
			if err != nil {
				return fmt.Errorf("%q is not an integer", s)
			}
			fv.SetInt(n)
			return nil
		}
	case reflect.Bool:
		return func(s string) error {
			b, err := strconv.ParseBool(strings.TrimSpace(s))
			if err != nil {
				return fmt.Errorf("%q is not a boolean (use true or false)", s)
			}
			fv.SetBool(b)
			return nil
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			// Comma-separated list.
			return func(s string) error {
				list := reflect.MakeSlice(t, 0, 0)
				for _, item := range strings.Split(s, ",") {
					if item = strings.TrimSpace(item); item != "" {
						list = reflect.Append(list, reflect.ValueOf(item).Convert(t.Elem()))
					}
				}
				fv.Set(list)
				return nil
			}
		}
		// Any other slice (projects) is a JSON array that replaces the value.
		return func(s string) error {
			list := reflect.New(t)
			dec := json.NewDecoder(bytes.NewReader([]byte(s)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(list.Interface()); err != nil {
				return fmt.Errorf("want a JSON array: %w", err)
			}
			if dec.More() {
				return errors.New("want a single JSON array, found more after it")
			}
			fv.Set(list.Elem())
			return nil
		}
	}
	return nil
}
