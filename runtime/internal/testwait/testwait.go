// Package testwait holds the polling helper the runtime's test packages
// share: wait for a condition on live sockets or processes.
package testwait

import (
	"testing"
	"time"
)

// Eventually polls check until it returns "" or d has passed; then the last
// answer fails the test, prefixed with what.
func Eventually(t testing.TB, d time.Duration, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s", what, msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
