package archtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/centrifugehq/centrifuge/server"

// exceptions are arrows the table allows although they point the wrong way.
// Each is listed here, with why, so that it cannot be mistaken for a rule;
// the test fails once the code no longer has it, so the entry (and the
// table's) is removed with it.
// None today: issue 18 moved the node's types out of the HTTP API package.
var exceptions = map[[2]string]string{}

// pkg is what `go list -json` says of one package (what the test needs).
type pkg struct {
	ImportPath string
	Imports    []string
}

// rules are the table of docs/ARCHITECTURE.md: package -> the module's
// packages it may import; libraries -> the packages they may be used in.
type rules struct {
	imports   map[string][]string
	libraries map[string][]string
}

var codeRe = regexp.MustCompile("`([^`]+)`")

// parseRules reads the two tables of ARCHITECTURE.md: "| package | owns |
// may import |" and "| library | only in |".
func parseRules(doc io.Reader) (rules, error) {
	r := rules{imports: map[string][]string{}, libraries: map[string][]string{}}
	var table string
	sc := bufio.NewScanner(doc)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "|") {
			table = ""
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		switch {
		case len(cells) == 3 && cells[0] == "package" && cells[2] == "may import":
			table = "packages"
			continue
		case len(cells) == 2 && cells[0] == "library" && cells[1] == "only in":
			table = "libraries"
			continue
		case strings.HasPrefix(cells[0], "---"):
			continue
		}
		switch table {
		case "packages":
			name := codes(cells[0])
			if len(name) != 1 || len(cells) != 3 {
				return r, fmt.Errorf("bad package row %q", line)
			}
			if _, dup := r.imports[name[0]]; dup {
				return r, fmt.Errorf("package %s listed twice", name[0])
			}
			r.imports[name[0]] = codes(cells[2])
		case "libraries":
			name := codes(cells[0])
			if len(name) != 1 || len(cells) != 2 {
				return r, fmt.Errorf("bad library row %q", line)
			}
			r.libraries[name[0]] = codes(cells[1])
		}
	}
	if err := sc.Err(); err != nil {
		return r, err
	}
	if len(r.imports) == 0 || len(r.libraries) == 0 {
		return r, errors.New("no package or library table found")
	}
	return r, nil
}

func codes(cell string) []string {
	var out []string
	for _, m := range codeRe.FindAllStringSubmatch(cell, -1) {
		out = append(out, m[1])
	}
	return out
}

// check returns every violation of r by pkgs (import paths relative to the
// module), and the exceptions the code no longer needs.
func check(r rules, pkgs []pkg, exceptions map[[2]string]string) []string {
	var errs []string
	seen := map[string]bool{}
	used := map[[2]string]bool{}
	for _, p := range pkgs {
		name := strings.TrimPrefix(p.ImportPath, module+"/")
		seen[name] = true
		allowed, ok := r.imports[name]
		if !ok {
			errs = append(errs, fmt.Sprintf("%s is not in the package table of docs/ARCHITECTURE.md: add it (what it owns, what it may import)", name))
			continue
		}
		for _, imp := range p.Imports {
			if rest, ok := strings.CutPrefix(imp, module+"/"); ok {
				if !slices.Contains(allowed, rest) {
					errs = append(errs, fmt.Sprintf("%s imports %s, which docs/ARCHITECTURE.md does not allow", name, rest))
				}
				if _, ok := exceptions[[2]string{name, rest}]; ok {
					used[[2]string{name, rest}] = true
				}
				continue
			}
			for lib, only := range r.libraries {
				if (imp == lib || strings.HasPrefix(imp, lib+"/")) && !slices.Contains(only, name) {
					errs = append(errs, fmt.Sprintf("%s imports %s, which docs/ARCHITECTURE.md keeps in %s", name, imp, strings.Join(only, ", ")))
				}
			}
		}
	}
	for name := range r.imports {
		if !seen[name] {
			errs = append(errs, fmt.Sprintf("docs/ARCHITECTURE.md lists %s, which does not exist (any more)", name))
		}
	}
	for e, why := range exceptions {
		if !slices.Contains(r.imports[e[0]], e[1]) {
			errs = append(errs, fmt.Sprintf("exception %s -> %s (%s) is not in the table", e[0], e[1], why))
		}
		if seen[e[0]] && !used[e] {
			errs = append(errs, fmt.Sprintf("%s no longer imports %s: remove the exception and the table's entry", e[0], e[1]))
		}
	}
	sort.Strings(errs)
	return errs
}

// listPackages runs `go list -json` over the module: the imports of the code
// that ships (not of tests), for the platform the test runs on.
func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages", len(pkgs))
	}
	return pkgs
}

func TestImportsFollowArchitecture(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "..", "docs", "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := parseRules(f)
	if err != nil {
		t.Fatalf("docs/ARCHITECTURE.md: %v", err)
	}
	for _, e := range check(r, listPackages(t), exceptions) {
		t.Error(e)
	}
}

// The checker itself: each kind of violation is reported.
func TestCheckReportsViolations(t *testing.T) {
	doc := "| package | owns | may import |\n|---|---|---|\n" +
		"| `internal/a` | a | `internal/b` |\n" +
		"| `internal/b` | b | — |\n" +
		"| `internal/gone` | nothing | — |\n\n" +
		"| library | only in |\n|---|---|\n| `example.com/lib` | `internal/a` |\n"
	r, err := parseRules(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.imports["internal/a"], []string{"internal/b"}) || len(r.imports["internal/b"]) != 0 {
		t.Fatalf("parsed %v", r.imports)
	}
	p := func(name string, imports ...string) pkg {
		for i, imp := range imports {
			if strings.HasPrefix(imp, "internal/") {
				imports[i] = module + "/" + imp
			}
		}
		return pkg{ImportPath: module + "/" + name, Imports: imports}
	}
	got := check(r, []pkg{
		p("internal/a", "internal/b", "example.com/lib/sub", "fmt"),
		p("internal/b", "internal/a", "example.com/lib"),
		p("internal/new"),
	}, map[[2]string]string{{"internal/a", "internal/b"}: "allowed, used", {"internal/b", "internal/c"}: "not in the table"})
	want := []string{
		"docs/ARCHITECTURE.md lists internal/gone, which does not exist (any more)",
		"exception internal/b -> internal/c (not in the table) is not in the table",
		"internal/b imports example.com/lib, which docs/ARCHITECTURE.md keeps in internal/a",
		"internal/b imports internal/a, which docs/ARCHITECTURE.md does not allow",
		"internal/b no longer imports internal/c: remove the exception and the table's entry",
		"internal/new is not in the package table of docs/ARCHITECTURE.md: add it (what it owns, what it may import)",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
