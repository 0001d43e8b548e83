package sip

import (
	"bytes"
	"net/netip"
	"strconv"
)

// The quick forwarding path forwards a plain request to its session-agent
// and relays a plain response back without the parser and without
// allocating: the headers it needs are found in the message (quickReq,
// quickResp), every other header line is copied as it came. What it is
// not sure of (the cases quickReq.scan leaves to the parser, an ACK, a
// loop, an agent out of service, a response whose Vias it cannot read)
// goes to the parser, whose result is the reference: a test holds the two
// to the same messages (TestQuickForwardMatchesParser).

// quick handles b on the quick path: a response to relay, a request to
// forward or to answer. False: the parser decides (out untouched).
func (h *Handler) quick(b []byte, src Source, out *bytes.Buffer) (Result, bool) {
	if h.noQuick {
		return Result{}, false
	}
	if len(b) > 8 && string(b[:8]) == "SIP/2.0 " {
		return h.relayQuick(b, out)
	}
	var q quickReq
	if !q.scan(b) || string(q.method) == "ACK" {
		return Result{}, false
	}
	if src.Overloaded {
		v, ok := h.answerScanned(&q, src, out)
		return Result{Verdict: v}, ok
	}
	var key [256]byte
	host, port, ok := routeHost(q.uri, key[:0])
	if !ok {
		return Result{}, false
	}
	if rt := h.routes.Load(); rt != nil && rt.hasHost(host) {
		return h.forwardQuick(&q, b, rt.lookupRaw(host, port), src, out)
	}
	v, ok := h.answerScanned(&q, src, out)
	return Result{Verdict: v}, ok
}

// routeHost returns the host of a sip or sips Request-URI as routes key
// it (a name in lower case, an IPv4 address), appended to key, and its
// port (0: none).
func routeHost(u, key []byte) ([]byte, int, bool) {
	if _, ok := sipURIHost(u, false); !ok {
		return nil, 0, false
	}
	// sipURIHost checked the form: scheme, user part, host, digits.
	hp := u[bytes.IndexByte(u, ':')+1:]
	if end := bytes.IndexAny(hp, ";?"); end >= 0 {
		hp = hp[:end]
	}
	if at := bytes.LastIndexByte(hp, '@'); at >= 0 {
		hp = hp[at+1:]
	}
	port := 0
	if colon := bytes.IndexByte(hp, ':'); colon >= 0 {
		n, _ := digits(hp[colon+1:])
		hp, port = hp[:colon], int(n)
	}
	for _, c := range hp {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		key = append(key, c)
	}
	return key, port, true
}

// lookupRaw is Lookup for a host as routeHost returns it.
func (r *Routes) lookupRaw(host []byte, port int) Target {
	if port != 0 {
		var buf [280]byte
		k := append(append(append(buf[:0], host...), 0), strconv.Itoa(port)...)
		if t, ok := r.m[string(k)]; ok {
			return t
		}
	}
	return r.m[string(host)]
}

// forwardQuick forwards the scanned request q (b) to t, as forward does.
func (h *Handler) forwardQuick(q *quickReq, b []byte, t Target, src Source, out *bytes.Buffer) (Result, bool) {
	if t == nil {
		return Result{}, false // a route for another port: the parser answers
	}
	top, ok := parseQuickVia(q.vias[0], true)
	if !ok {
		return Result{}, false
	}
	fromParams, _ := addrParams(q.from)
	fromTag, _ := param(fromParams, "tag")
	lh := loopHashOf(q.uri, fromTag, q.callID, q.cseqNum)
	var num [24]byte
	want := lh.append(append(num[:0], 'f'))
	prefix := h.branchPrefix()
	for i, v := range q.vias[:q.nvia] {
		qv, ok := parseQuickVia(v, i == 0)
		if !ok {
			return Result{}, false
		}
		if rest, ours := bytes.CutPrefix(qv.branch, []byte(prefix)); ours {
			if part, _, _ := bytes.Cut(rest, []byte(".")); bytes.Equal(part, want) {
				return Result{}, false // a loop: the parser answers 482
			}
		}
	}
	hop := t.Hop()
	if hop == nil {
		return Result{}, false // out of service: the parser answers 503
	}
	transport, sentBy := hop.Via()

	line, rest, _ := cutLine(b)
	out.Write(line)
	out.WriteString("\r\nVia: SIP/2.0/")
	out.WriteString(transport)
	out.WriteByte(' ')
	writeHostPort(out, sentBy)
	out.WriteString(";branch=")
	out.WriteString(prefix)
	out.WriteByte('f')
	out.Write(lh.append(num[:0]))
	out.WriteByte('.')
	out.Write(txHashOf(top, q.vias[0]).append(num[:0]))
	writeViaTail(out, src.Ingress)
	first := true
	for {
		line, rest, _ = cutLine(rest)
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		name := bytes.TrimRight(line[:colon], " \t")
		switch {
		case first && (len(name) == 3 && bytes.EqualFold(name, []byte("via")) || len(name) == 1 && (name[0] == 'v' || name[0] == 'V')):
			first = false
			writeQuickVia(out, q.vias[0], top, src)
			continue
		case len(name) == 12 && bytes.EqualFold(name, []byte("max-forwards")):
			out.WriteString("Max-Forwards: ")
			out.Write(strconv.AppendUint(num[:0], uint64(q.maxFwd-1), 10))
			out.WriteString("\r\n")
			continue
		}
		out.Write(line)
		out.WriteString("\r\n")
	}
	if q.maxFwd < 0 {
		out.WriteString("Max-Forwards: 70\r\n")
	}
	out.WriteString("\r\n")
	out.Write(rest) // the body: Content-Length is its length (scan)

	if err := hop.Send(out.Bytes()); err != nil {
		out.Reset()
		return Result{}, false // the parser answers 503 (and counts it)
	}
	return Result{Verdict: Forwarded, Target: t}, true
}

// txHashOf is txHash of the top Via v as parseQuickVia read it.
func txHashOf(qv quickVia, v []byte) fnv {
	f := newFNV()
	f.addBytes(qv.branch)
	f.addBytes(qv.host)
	port := sentByPort(v, qv.host)
	sp := bytes.IndexByte(v, ' ')
	var num [20]byte
	f.addBytes(strconv.AppendInt(num[:0], int64(port), 10))
	f.addBytes(v[8:sp])
	return f
}

// quickResp is a response as the quick relay path sees it.
type quickResp struct {
	status         int
	top, next      []byte // the first two Via values
	topStart       int    // offset of the top Via's header line
	topEnd         int    // offset just after its CRLF
	from, to, cseq bool
	callID         bool
	clen           int
}

// scanResp reads a plain response: false for anything the parser must
// read (folding, a Via line with several values, no Content-Length, ...).
func (r *quickResp) scan(b []byte) bool {
	r.clen = -1
	line, rest, ok := cutLine(b)
	if !ok || len(line) < 12 || line[11] != ' ' {
		return false
	}
	n, ok := digits(line[8:11])
	if !ok || n < 100 || n > 699 {
		return false
	}
	r.status = int(n)
	for {
		start := len(b) - len(rest)
		line, rest, ok = cutLine(rest)
		if !ok {
			return false
		}
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return false
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return false
		}
		name := bytes.TrimRight(line[:colon], " \t")
		value := bytes.Trim(line[colon+1:], " \t")
		is := func(long, short string) bool {
			return len(name) == len(long) && bytes.EqualFold(name, []byte(long)) ||
				short != "" && len(name) == len(short) && bytes.EqualFold(name, []byte(short))
		}
		switch {
		case is("via", "v"):
			if bytes.IndexByte(value, ',') >= 0 || len(value) == 0 {
				return false
			}
			switch {
			case r.top == nil:
				r.top, r.topStart, r.topEnd = value, start, len(b)-len(rest)
			case r.next == nil:
				r.next = value
			}
		case is("from", "f"), is("to", "t"):
			if _, ok := addrParams(value); !ok {
				return false
			}
			if is("from", "f") {
				r.from = true
			} else {
				r.to = true
			}
		case is("call-id", "i"):
			if len(value) == 0 || bytes.IndexAny(value, " \t,\"<>") >= 0 {
				return false
			}
			r.callID = true
		case is("cseq", ""):
			sp := bytes.IndexAny(value, " \t")
			if sp <= 0 {
				return false
			}
			if _, ok := digits(value[:sp]); !ok {
				return false
			}
			m := bytes.TrimLeft(value[sp:], " \t")
			if len(m) == 0 {
				return false
			}
			for _, c := range m {
				if c < 'A' || c > 'Z' {
					return false
				}
			}
			r.cseq = true
		case is("content-length", "l"):
			n, ok := digits(value)
			if !ok || r.clen >= 0 {
				return false
			}
			r.clen = int(n)
		}
	}
	return r.top != nil && r.from && r.to && r.callID && r.cseq && r.clen == len(rest)
}

// relayQuick relays a response to a forwarded request as relay does: the
// message less its top Via line (ours), back by the ingress that Via
// names, to the next Via's address.
func (h *Handler) relayQuick(b []byte, out *bytes.Buffer) (Result, bool) {
	var r quickResp
	if !r.scan(b) {
		return Result{}, false
	}
	top, ok := parseQuickVia(r.top, false)
	if !ok {
		return Result{}, false
	}
	rest, ours := bytes.CutPrefix(top.branch, []byte(h.branchPrefix()))
	if !ours {
		return Result{Verdict: Response}, true
	}
	if len(rest) > 0 && rest[0] == 'p' {
		return Result{}, false // a ping's answer: the parser reads it
	}
	in, ok := viaParam(r.top, "acli-in")
	if !ok || r.next == nil {
		return Result{}, false
	}
	point, conn, ok := parsePairBytes(in)
	if !ok {
		return Result{}, false
	}
	to, transport, ok := quickViaDest(r.next)
	if !ok {
		return Result{}, false
	}
	out.Write(b[:r.topStart])
	out.Write(b[r.topEnd:])
	return Result{Verdict: Relayed, Back: Ingress{Point: point, Conn: conn}, To: to, Transport: transport, Status: r.status}, true
}

// viaParam returns the value of parameter name of a Via value.
func viaParam(v []byte, name string) ([]byte, bool) {
	semi := bytes.IndexByte(v, ';')
	if semi < 0 {
		return nil, false
	}
	for p := v[semi+1:]; ; {
		var cur []byte
		cur, p, _ = bytes.Cut(p, []byte(";"))
		if k, val, _ := bytes.Cut(cur, []byte("=")); string(k) == name {
			return val, true
		}
		if len(p) == 0 {
			return nil, false
		}
	}
}

// parsePairBytes is parsePair of bytes.
func parsePairBytes(s []byte) (a, b uint32, ok bool) {
	x, y, found := bytes.Cut(s, []byte("."))
	if !found {
		return 0, 0, false
	}
	u, ok1 := digits(x)
	v, ok2 := digits(y)
	return uint32(u), uint32(v), ok1 && ok2 && u <= 1<<32-1 && v <= 1<<32-1
}

// quickViaDest is viaDest of a plain Via value (IPv4 or a name with a
// received address), with its transport; false for anything else.
func quickViaDest(v []byte) (netip.AddrPort, string, bool) {
	qv, ok := parseQuickVia(v, false)
	if !ok {
		return netip.AddrPort{}, "", false
	}
	host := qv.host
	if r, ok := viaParam(v, "received"); ok && len(r) > 0 {
		host = r
	}
	a, ok := parseIPv4(host)
	if !ok {
		return netip.AddrPort{}, "", false
	}
	port := sentByPort(v, qv.host)
	sp := bytes.IndexByte(v, ' ')
	if rp, ok := viaParam(v, "rport"); ok && len(rp) > 0 {
		if n, ok := digits(rp); ok && n > 0 && n < 65536 {
			port = int(n)
		}
	}
	if port <= 0 || port > 65535 {
		port = 5060
	}
	return netip.AddrPortFrom(a, uint16(port)), transportName(v[8:sp]), true
}

// parseIPv4 parses a dotted-quad IPv4 address without allocating.
func parseIPv4(b []byte) (netip.Addr, bool) {
	var ip [4]byte
	part := 0
	for i := 0; i < 4; i++ {
		end := bytes.IndexByte(b, '.')
		if i == 3 {
			end = len(b)
		}
		if end <= 0 || end > 3 || end > 1 && b[0] == '0' {
			return netip.Addr{}, false
		}
		n, ok := digits(b[:end])
		if !ok || n > 255 {
			return netip.Addr{}, false
		}
		ip[i] = byte(n)
		part++
		if i < 3 {
			b = b[end+1:]
		}
	}
	return netip.AddrFrom4(ip), part == 4
}

// transportName returns a Via transport as a string, without allocating
// for the usual ones.
func transportName(t []byte) string {
	for _, s := range []string{"UDP", "TCP", "SCTP", "TLS"} {
		if string(t) == s {
			return s
		}
	}
	return string(t)
}

// sentByPort is the port of the sent-by of Via value v whose host is
// host (0 when it has none).
func sentByPort(v, host []byte) int {
	sp := bytes.IndexByte(v, ' ')
	sentBy := v[sp+1:]
	if len(sentBy) <= len(host) || sentBy[len(host)] != ':' {
		return 0
	}
	p := sentBy[len(host)+1:]
	if i := bytes.IndexByte(p, ';'); i >= 0 {
		p = p[:i]
	}
	n, _ := digits(p)
	return int(n)
}
