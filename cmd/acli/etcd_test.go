package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acli-project/acli/internal/etcdtest"
	"github.com/rogpeppe/go-internal/testscript"
)

// fileOnly are the transcripts about what only a database file has: its
// path, a runtime daemon (acli serve reads a file), missing files.
var fileOnly = map[string]string{
	"db-missing":       "a missing database file and --init at a path",
	"lifecycle-errors": "--init's message names the file",
	"confirm-serve":    "acli serve",
	"runtime-serve":    "acli serve",
	"runtime-agents":   "acli serve",
	"runtime-rules":    "acli serve",
	"sip-novelsc":      "acli serve",
	"activate-refused": "acli serve",
}

// TestScriptsEtcd replays the golden transcripts of testdata/script with
// the configuration on a 3-member etcd cluster (ACLI_ETCD) instead of a
// file: the same sessions, the same transcripts.
func TestScriptsEtcd(t *testing.T) {
	c, err := etcdtest.Start(t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close) // after the parallel scripts
	dir := t.TempDir()
	ents, err := os.ReadDir("../../testdata/script")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		name := strings.TrimSuffix(e.Name(), ".txtar")
		if _, ok := fileOnly[name]; ok {
			continue
		}
		if err := os.Link(filepath.Join("../../testdata/script", e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	setup := func(e *testscript.Env) error {
		e.Setenv("ACLI_ETCD", strings.Join(c.Endpoints, ","))
		e.Setenv("ACLI_ETCD_PREFIX", "/acli/"+filepath.Base(e.WorkDir))
		e.Setenv("XDG_STATE_HOME", e.WorkDir+"/state")
		e.Setenv("ACLI_BACKUP_DIR", e.WorkDir+"/backups")
		e.Setenv("SOURCE_DATE_EPOCH", "1795000000")
		e.Setenv("ACLI_USER", "admin")
		for i, ep := range c.Endpoints {
			e.Setenv(fmt.Sprint("ETCD", i), ep)
		}
		return nil
	}
	cmds := map[string]func(ts *testscript.TestScript, neg bool, args []string){"sipudp": sipUDP}
	testscript.Run(t, testscript.Params{Dir: dir, Setup: setup, Cmds: cmds})
	// What only the etcd backend does.
	testscript.Run(t, testscript.Params{Dir: "../../testdata/etcd", Setup: setup, Cmds: cmds, UpdateScripts: *update})
}
