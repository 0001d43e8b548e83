package runtime

import (
	"errors"
	"fmt"
	"net"

	sipr "github.com/acli-project/acli/runtime/sip"
)

// errUnframeable wraps sip.Frame's error: the stream cannot be cut into
// messages any further.
var errUnframeable = errors.New("unframeable stream")

// readStream reads the SIP messages of a byte stream (a TCP connection),
// cut by sip.Frame, and calls msg with each (the slice is reused after msg
// returns); a CRLFCRLF keepalive is answered by calling pong (RFC 5626
// 4.4.1). It returns the read error that ended the stream (io.EOF for a
// clean end), an errUnframeable, or the error msg or pong returned.
func readStream(c net.Conn, pong func() error, msg func([]byte) error) error {
	buf := make([]byte, 4096)
	r, n := 0, 0 // buf[r:n] is unread
	for {
		for r < n {
			skip, size, ping, err := sipr.Frame(buf[r:n])
			r += skip
			if ping {
				if err := pong(); err != nil {
					return err
				}
			}
			if err != nil {
				return fmt.Errorf("%w: %w", errUnframeable, err)
			}
			if size == 0 {
				break
			}
			m := buf[r : r+size]
			r += size
			if err := msg(m); err != nil {
				return err
			}
		}
		if r == n {
			r, n = 0, 0
		} else if r > 0 {
			n = copy(buf, buf[r:n])
			r = 0
		}
		if n == len(buf) {
			if len(buf) > sipr.MaxMessage+4 {
				return fmt.Errorf("%w: message larger than %d bytes", errUnframeable, sipr.MaxMessage) // Frame refuses it first; a safety net
			}
			nb := make([]byte, min(2*len(buf), sipr.MaxMessage+8))
			copy(nb, buf[:n])
			buf = nb
		}
		m, err := c.Read(buf[n:])
		n += m
		if err != nil {
			return err
		}
	}
}
