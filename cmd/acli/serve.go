package main

import (
	"fmt"
	"io"
)

// serve runs the runtime daemon on the database at path (acli serve).
func serve(path string, args []string, stderr io.Writer) int {
	fmt.Fprintf(stderr, "acli serve: the runtime is not built yet\n")
	return 1
}
