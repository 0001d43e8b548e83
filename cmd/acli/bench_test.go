package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acli-project/acli/acli"
	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/model/store"
	"github.com/creack/pty"
	bolt "go.etcd.io/bbolt"
)

// scaleScript creates realms realm-config instances and agents
// session-agents, the "10,000 session-agents and 1,000 realms".
func scaleScript(realms, agents int) string {
	var b strings.Builder
	b.WriteString("configure terminal\nmedia-manager\n")
	for i := 0; i < realms; i++ {
		fmt.Fprintf(&b, "realm-config\nidentifier realm%04d\naddr-prefix 10.%d.%d.0/24\ndone\nexit\n", i, i/256, i%256)
	}
	b.WriteString("exit\nsession-router\n")
	for i := 0; i < agents; i++ {
		fmt.Fprintf(&b, "session-agent\nhostname agent%05d.example.net\nip-address 10.%d.%d.%d\nrealm-id realm%04d\nping-method OPTIONS\ndone\nexit\n",
			i, 100+i/65536, (i/256)%256, i%256, i%realms)
	}
	return b.String()
}

// BenchmarkScriptLoad pipes the 10,000-agent, 1,000-realm script into a
// fresh database (one transaction), against the physical floor: writing the
// same encoded records with bbolt in one transaction. Reported: the ratio.
func BenchmarkScriptLoad(b *testing.B) {
	script := scaleScript(1000, 10000)
	var shell, floor time.Duration
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		db := filepath.Join(dir, "acli.db")
		start := time.Now()
		sh := acli.New(acli.Options{Store: store.New(db), Out: io.Discard, Err: os.Stderr})
		if code := sh.RunScript(strings.NewReader(script)); code != 0 {
			b.Fatalf("script exit %d", code)
		}
		shell += time.Since(start)

		recs := encodedRecords(b, db)
		start = time.Now()
		writeRaw(b, filepath.Join(dir, "floor.db"), recs)
		floor += time.Since(start)
	}
	b.ReportMetric(float64(shell.Milliseconds())/float64(b.N), "shell-ms/op")
	b.ReportMetric(float64(floor.Milliseconds())/float64(b.N), "floor-ms/op")
	b.ReportMetric(float64(shell)/float64(floor), "x-floor")
}

type rec struct{ bucket, key, val []byte }

func encodedRecords(b *testing.B, db string) []rec {
	var out []rec
	err := store.New(db).View(func(tx *store.Tx) error {
		c, err := tx.Editing()
		for _, e := range c.Schema.Elements() {
			for _, in := range c.List(e.Name) {
				enc, err := model.Encode(in)
				if err != nil {
					return err
				}
				out = append(out, rec{[]byte(e.Name), []byte(in.Key()), enc})
			}
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return out
}

func writeRaw(b *testing.B, path string, recs []rec) {
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		for _, r := range recs {
			bk, err := tx.CreateBucketIfNotExists(r.bucket)
			if err != nil {
				return err
			}
			if err := bk.Put(r.key, r.val); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkStartup measures interactive startup to the first prompt on a
// terminal (a pty) with the 10,000-agent database, against a bare Go
// program that opens the same database and prints a prompt.
func BenchmarkStartup(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "acli")
	bare := filepath.Join(dir, "bareopen")
	for _, c := range [][]string{{"-o", bin, "."}, {"-o", bare, "../../internal/bareopen"}} {
		if out, err := exec.Command("go", append([]string{"build"}, c...)...).CombinedOutput(); err != nil {
			b.Fatalf("go build %v: %v\n%s", c, err, out)
		}
	}
	db := filepath.Join(dir, "acli.db")
	sh := acli.New(acli.Options{Store: store.New(db), Out: &bytes.Buffer{}, Err: os.Stderr})
	if code := sh.RunScript(strings.NewReader(scaleScript(1000, 10000))); code != 0 {
		b.Fatalf("script exit %d", code)
	}
	var tAcli, tBare time.Duration
	for i := 0; i < b.N; i++ {
		tAcli += toPrompt(b, exec.Command(bin, "--db", db))
		tBare += toPrompt(b, exec.Command(bare, db))
	}
	b.ReportMetric(float64(tAcli.Microseconds())/float64(b.N), "acli-µs/op")
	b.ReportMetric(float64(tBare.Microseconds())/float64(b.N), "bare-µs/op")
	b.ReportMetric(float64(tAcli)/float64(tBare), "x-floor")
}

// toPrompt starts cmd on a pty and returns the time until "ACLI#" appears.
func toPrompt(b *testing.B, cmd *exec.Cmd) time.Duration {
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+b.TempDir())
	start := time.Now()
	f, err := pty.Start(cmd)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait(); f.Close() }()
	var seen []byte
	buf := make([]byte, 4096)
	for !bytes.Contains(seen, []byte("ACLI#")) {
		n, err := f.Read(buf)
		if err != nil {
			b.Fatalf("%s: %v after %q", cmd.Path, err, seen)
		}
		seen = append(seen, buf[:n]...)
	}
	return time.Since(start)
}

// BenchmarkShowRunningConfig prints the running configuration of 1,000
// realms and 10,000 session-agents (every parameter, as on the appliance).
func BenchmarkShowRunningConfig(b *testing.B) {
	db := filepath.Join(b.TempDir(), "acli.db")
	newShell := func(out io.Writer) *acli.Shell {
		return acli.New(acli.Options{Store: store.New(db), Out: out, Err: os.Stderr})
	}
	if code := newShell(io.Discard).RunScript(strings.NewReader(scaleScript(1000, 10000))); code != 0 {
		b.Fatalf("script exit %d", code)
	}
	for _, c := range []string{"save-config", "activate-config"} {
		if code := newShell(io.Discard).RunCommand([]string{c}); code != 0 {
			b.Fatalf("%s exit %d", c, code)
		}
	}
	var out countWriter
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if code := newShell(&out).RunCommand([]string{"show", "running-config"}); code != 0 {
			b.Fatalf("show running-config exit %d", code)
		}
	}
	b.ReportMetric(float64(out)/float64(b.N)/1e6, "MB-out/op")
}

type countWriter int

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }
