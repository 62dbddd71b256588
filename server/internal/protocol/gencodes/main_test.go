package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const repoRoot = "../../../.."

// TestCommittedTablesMatch regenerates every table into a scratch directory and
// compares it with the committed one, so `go test` notices drift too.
func TestCommittedTablesMatch(t *testing.T) {
	out := t.TempDir()
	if err := run(filepath.Join(repoRoot, "codes.yaml"), out); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		"server/internal/protocol/codes.gen.go", "sdk-go/codes.gen.go",
		"sdk-python/src/centrifuge_sdk/codes.py", "sdk-js/src/codes.gen.ts",
	} {
		want, err := os.ReadFile(filepath.Join(out, path))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(repoRoot, path))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from codes.yaml: run make generate", path)
		}
	}
}

func TestValidateRefusesAmbiguousLists(t *testing.T) {
	base := func() *Spec {
		return &Spec{
			Errors:          []Code{{Name: "Internal", Code: 100, Message: "internal"}},
			ReconnectRanges: [][2]int{{0, 3499}},
			Disconnects:     []Code{{Name: "Normal", Code: 3000, Reason: "normal"}},
			ResubscribeFrom: 2500,
			Unsubscribes:    []Code{{Name: "Server", Code: 2000, Reason: "server"}},
		}
	}
	if err := validate(base()); err != nil {
		t.Fatalf("valid spec refused: %v", err)
	}
	cases := map[string]func(*Spec){
		"duplicate code":       func(s *Spec) { s.Errors = append(s.Errors, Code{Name: "Other", Code: 100, Message: "x"}) },
		"duplicate name":       func(s *Spec) { s.Disconnects = append(s.Disconnects, Code{Name: "Normal", Code: 3001, Reason: "x"}) },
		"lower-case name":      func(s *Spec) { s.Errors[0].Name = "internal" },
		"no message":           func(s *Spec) { s.Errors[0].Message = "" },
		"temporary disconnect": func(s *Spec) { s.Disconnects[0].Temporary = true },
		"disconnect code 1000": func(s *Spec) { s.Disconnects[0].Code = 1000 },
		"long reason":          func(s *Spec) { s.Disconnects[0].Reason = strings.Repeat("r", 123) },
		"empty range":          func(s *Spec) { s.ReconnectRanges = [][2]int{{10, 5}} },
		"no unsubscribes":      func(s *Spec) { s.Unsubscribes = nil },
	}
	for name, mutate := range cases {
		s := base()
		mutate(s)
		if err := validate(s); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{"UnknownChannel": "UNKNOWN_CHANNEL", "Internal": "INTERNAL", "InappropriateProto": "INAPPROPRIATE_PROTO"} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
}
