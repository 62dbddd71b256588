package config

import (
	"testing"
)

// FuzzDecodeFile: any file content decodes or fails with an error naming
// the file; a decoded config validates or fails, never panics.
func FuzzDecodeFile(f *testing.F) {
	if c, err := Sample(); err == nil {
		if b, err := Marshal(c, "f.yaml"); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"", "{}", "http: {port: 8000}", "http:\n  port: -1\n", "projects: [{name: x}]",
		"client: {ping_interval: 5x}", "a: b\n---\nc: d", "http: [1,2]", "\t\x00",
		"projects:\n  - name: default\n    secret: s\n    namespaces: [{name: chat, options: {history_ttl: 1s}}]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := Default()
		if err := decodeFile("f.yaml", data, &cfg); err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		_ = cfg.Validate()
	})
}
