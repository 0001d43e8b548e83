package sip

import (
	"bytes"
	"fmt"
)

// Frame cuts the first SIP message out of stream data b (RFC 3261 18.3):
// the header section ends at the first empty line and Content-Length gives
// the length of the body (0 when absent, although RFC 3261 requires it on
// streams). skip is the number of leading CRLF bytes to drop first; ping
// reports that they held a CRLFCRLF keepalive, to be answered with one
// CRLF (RFC 5626 4.4.1). n is the message's length after skip; 0 when b
// does not hold it whole yet. An error means the stream cannot be framed
// any further: drop the connection.
func Frame(b []byte) (skip, n int, ping bool, err error) {
	for len(b)-skip >= 2 && b[skip] == '\r' && b[skip+1] == '\n' {
		skip += 2
		if skip == 4 && !ping {
			ping = true
		}
	}
	b = b[skip:]
	if len(b) == 0 {
		return skip, 0, ping, nil
	}
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		if len(b) > MaxMessage {
			return skip, 0, ping, fmt.Errorf("header section longer than %d bytes", MaxMessage)
		}
		return skip, 0, ping, nil
	}
	hdr := end + 4
	cl, err := contentLength(b[:end+2])
	if err != nil {
		return skip, 0, ping, err
	}
	if cl > MaxMessage-hdr {
		return skip, 0, ping, fmt.Errorf("message of %d bytes is larger than %d", hdr+cl, MaxMessage)
	}
	if len(b) < hdr+cl {
		return skip, 0, ping, nil
	}
	return skip, hdr + cl, ping, nil
}

// contentLength finds the Content-Length (or compact l) header among the
// CRLF-terminated lines of head, whose first line is the start line.
func contentLength(head []byte) (int, error) {
	i := bytes.Index(head, []byte("\r\n"))
	if i < 0 {
		return 0, nil
	}
	head = head[i+2:]
	for len(head) > 0 {
		j := bytes.Index(head, []byte("\r\n"))
		if j < 0 {
			j = len(head)
		}
		line := head[:j]
		head = head[min(j+2, len(head)):]
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		name := bytes.TrimRight(line[:colon], " \t")
		if !bytes.EqualFold(name, []byte("content-length")) && !bytes.EqualFold(name, []byte("l")) {
			continue
		}
		v := bytes.TrimSpace(line[colon+1:])
		if len(v) == 0 {
			return 0, fmt.Errorf("empty Content-Length")
		}
		n := 0
		for _, c := range v {
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("Content-Length %q is not a number", v)
			}
			n = n*10 + int(c-'0')
			if n > MaxMessage {
				return 0, fmt.Errorf("Content-Length %s is larger than %d", v, MaxMessage)
			}
		}
		return n, nil
	}
	return 0, nil
}
