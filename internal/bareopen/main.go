// Command bareopen is the physical floor of the shell's startup benchmark:
// a bare Go program that opens the same bbolt database, reads one key and
// prints a prompt, as acli does before its first prompt.
package main

import (
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

func main() {
	db, err := bolt.Open(os.Args[1], 0o600, &bolt.Options{Timeout: 2 * time.Second, ReadOnly: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket([]byte("acli")); b != nil {
			_ = b.Get([]byte("schema-version"))
		}
		return nil
	})
	db.Close()
	fmt.Print("ACLI# ")
	var line string
	fmt.Scanln(&line)
}
