package main

import (
	"flag"
	"net"
	"os"
	"strings"
	"testing"
	"time"

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
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){"sipudp": sipUDP},
	})
}

// sipUDP is the script command `sipudp ADDR FILE`: it sends the SIP message
// in FILE (its line ends made CRLF, the headers' closing blank line
// added when missing) to ADDR over UDP and writes the answer
// to stdout; no answer within 2 s fails (or passes with !).
func sipUDP(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: sipudp ADDR FILE")
	}
	msg := strings.ReplaceAll(strings.ReplaceAll(ts.ReadFile(args[1]), "\r\n", "\n"), "\n", "\r\n")
	if !strings.Contains(msg, "\r\n\r\n") {
		msg += "\r\n" // the blank line that ends the headers, which txtar's last file loses easily
	}
	c, err := net.Dial("udp", args[0])
	ts.Check(err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	_, err = c.Write([]byte(msg))
	ts.Check(err)
	buf := make([]byte, 65536)
	n, err := c.Read(buf)
	if neg {
		if err == nil {
			ts.Fatalf("sipudp %s: answered, want no answer", args[0])
		}
		return
	}
	if err != nil {
		ts.Fatalf("sipudp %s: no answer: %v", args[0], err)
	}
	ts.Stdout().Write([]byte(strings.ReplaceAll(string(buf[:n]), "\r\n", "\n")))
}
