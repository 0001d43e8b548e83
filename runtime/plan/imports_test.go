package plan

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The plan is socket-free, so that verify-config (which builds it) stays
// free of I/O: none of its files imports socket code.
func TestNoSocketImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range ast.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			if p == "net" || p == "os" || p == "syscall" || strings.HasPrefix(p, "golang.org/x/sys") || strings.HasPrefix(p, "github.com/acli-project/acli/runtime") {
				t.Errorf("%s imports %s", f, p)
			}
		}
	}
}
