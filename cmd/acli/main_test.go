package main

import (
	"flag"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

var update = flag.Bool("update", false, "rewrite the golden transcripts in testdata/script from this run")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"acli": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts replays the golden transcripts under testdata/script: each is
// an ACLI session on stdin and its expected transcript.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           "../../testdata/script",
		UpdateScripts: *update,
		Setup: func(e *testscript.Env) error {
			e.Setenv("ACLI_DB", e.WorkDir+"/acli.db")
			e.Setenv("SOURCE_DATE_EPOCH", "1795000000")
			e.Setenv("ACLI_USER", "admin")
			return nil
		},
	})
}
