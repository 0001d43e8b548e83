package sctp

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// SndbufPolicyFile is the kernel setting that decides whether the
// associations of a socket share its send buffer (see "Sending" in the
// package documentation).
const SndbufPolicyFile = "/proc/sys/net/sctp/sndbuf_policy"

// SndbufPolicy returns net.sctp.sndbuf_policy of this network namespace:
// 0, all associations of a socket share one send buffer (Linux's default);
// 1, each association has a send buffer of its own.
func SndbufPolicy() (int, error) {
	b, err := os.ReadFile(SndbufPolicyFile)
	if err != nil {
		return 0, err
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a number", SndbufPolicyFile, strings.TrimSpace(string(b)))
	}
	return v, nil
}
