package sip

import (
	"bytes"
	"strconv"
)

// The quick path answers the plain requests the SBC answers itself
// (OPTIONS, CANCEL, and requests it has no route for) without the parser
// and without allocating: it finds the headers a response needs in the
// message and copies them. Anything it is not sure of (header folding, a
// Via it would have to rewrite in a way it does not, a display name with a
// comma, a Require, Max-Forwards 0, a Request-URI host that may have a
// route, a request that needs a 400, ...) goes to the parser, whose answer
// is the reference: a test holds the two to the same responses.

// maxQuickVias bounds the Via header lines of a quick request.
const maxQuickVias = 8

// quickReq is a request as the quick path sees it: slices of the message.
type quickReq struct {
	method, uri      []byte
	vias             [maxQuickVias][]byte // Via header values, in order
	nvia             int
	from, to, callID []byte
	cseqNum          uint32
	clen, maxFwd     int // -1: absent
	hasCSeq          bool
}

// answerQuick writes the response to b into out and returns its verdict,
// or returns false (out untouched) when the parser must decide.
func (h *Handler) answerQuick(b []byte, src Source, out *bytes.Buffer) (Verdict, bool) {
	if h.noQuick {
		return 0, false
	}
	var q quickReq
	if !q.scan(b) || string(q.method) == "ACK" {
		return 0, false
	}
	var key [256]byte
	host, _, ok := routeHost(q.uri, key[:0])
	if !ok {
		return 0, false
	}
	if rt := h.routes.Load(); rt != nil && rt.hasHost(host) {
		return 0, false
	}
	return h.answerScanned(&q, src, out)
}

// answerScanned is answerQuick of a scanned request for a host without a
// route.
func (h *Handler) answerScanned(q *quickReq, src Source, out *bytes.Buffer) (Verdict, bool) {
	top, ok := parseQuickVia(q.vias[0], true)
	if !ok {
		return 0, false
	}
	for _, v := range q.vias[1:q.nvia] {
		if _, ok := parseQuickVia(v, false); !ok {
			return 0, false
		}
	}
	fromParams, _ := addrParams(q.from) // checked by scan
	toParams, _ := addrParams(q.to)
	fromTag, _ := param(fromParams, "tag")
	_, toTagged := param(toParams, "tag")

	code, reason, extra := 501, "Not Implemented", "Allow: "+Allow+"\r\n"
	switch {
	case string(q.method) == "OPTIONS":
		code, reason, extra = 200, "OK", "Allow: "+Allow+"\r\nAccept: application/sdp\r\nSupported: \r\n"
	case string(q.method) == "CANCEL":
		code, reason, extra = 481, "Call/Transaction Does Not Exist", ""
	case isRelayed(q.method):
		code, reason, extra = 480, "Temporarily Unavailable", "Warning: 399 acli \"no route: the Request-URI names no session-agent\"\r\n"
	}
	verdict := Answered
	if src.Overloaded {
		code, reason, extra, verdict = 503, "Service Unavailable", overloadText, Shed
	}

	out.WriteString("SIP/2.0 ")
	out.Write(strconv.AppendInt(out.AvailableBuffer(), int64(code), 10))
	out.WriteByte(' ')
	out.WriteString(reason)
	out.WriteString("\r\n")
	writeQuickVia(out, q.vias[0], top, src)
	for _, v := range q.vias[1:q.nvia] {
		out.WriteString("Via: ")
		out.Write(v)
		out.WriteString("\r\n")
	}
	out.WriteString("From: ")
	out.Write(q.from)
	out.WriteString("\r\nTo: ")
	out.Write(q.to)
	if !toTagged {
		out.WriteString(";tag=")
		out.Write(strconv.AppendUint(out.AvailableBuffer(), toTagHash(q.callID, fromTag, top.branch, q.cseqNum), 36))
	}
	out.WriteString("\r\nCall-ID: ")
	out.Write(q.callID)
	out.WriteString("\r\nCSeq: ")
	out.Write(strconv.AppendUint(out.AvailableBuffer(), uint64(q.cseqNum), 10))
	out.WriteByte(' ')
	out.Write(q.method)
	out.WriteString("\r\n")
	out.WriteString(extra)
	if h.Server != "" {
		out.WriteString("Server: ")
		out.WriteString(h.Server)
		out.WriteString("\r\n")
	}
	out.WriteString("Content-Length: 0\r\n\r\n")
	return verdict, true
}

// isRelayed reports whether m is a method the SBC relays (see relayed).
func isRelayed(m []byte) bool {
	switch string(m) {
	case "INVITE", "BYE", "REGISTER", "PRACK", "UPDATE", "INFO", "SUBSCRIBE", "NOTIFY", "REFER", "MESSAGE", "PUBLISH":
		return true
	}
	return false
}

// scan finds the request line and the headers of b; false when b is not a
// plain, complete, well-formed request.
func (q *quickReq) scan(b []byte) bool {
	q.clen, q.maxFwd = -1, -1
	line, rest, ok := cutLine(b)
	if !ok {
		return false
	}
	// Request-Line: Method SP Request-URI SP SIP-Version.
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return false
	}
	sp2 := bytes.IndexByte(line[sp1+1:], ' ')
	if sp2 <= 0 {
		return false
	}
	q.method, q.uri = line[:sp1], line[sp1+1:sp1+1+sp2]
	if string(line[sp1+2+sp2:]) != "SIP/2.0" {
		return false
	}
	for _, c := range q.method {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	for {
		line, rest, ok = cutLine(rest)
		if !ok {
			return false
		}
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return false // folded
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return false
		}
		name := bytes.TrimRight(line[:colon], " \t")
		value := bytes.Trim(line[colon+1:], " \t")
		if !q.header(name, value) {
			return false
		}
	}
	if q.nvia == 0 || q.from == nil || q.to == nil || q.callID == nil || !q.hasCSeq {
		return false
	}
	return q.clen == len(rest)
}

// header takes one header line; false when the request must go to the
// parser.
func (q *quickReq) header(name, value []byte) bool {
	lower := func(s string) bool { return len(name) == len(s) && bytes.EqualFold(name, []byte(s)) }
	one := func(dst *[]byte) bool {
		if *dst != nil || len(value) == 0 {
			return false
		}
		*dst = value
		return true
	}
	switch {
	case lower("via") || lower("v"):
		if q.nvia == maxQuickVias || len(value) == 0 {
			return false
		}
		q.vias[q.nvia] = value
		q.nvia++
	case lower("from") || lower("f"):
		_, ok := addrParams(value)
		return ok && one(&q.from)
	case lower("to") || lower("t"):
		_, ok := addrParams(value)
		return ok && one(&q.to)
	case lower("call-id") || lower("i"):
		return one(&q.callID) && bytes.IndexAny(value, " \t,\"<>") < 0
	case lower("cseq"):
		if q.hasCSeq {
			return false
		}
		sp := bytes.IndexAny(value, " \t")
		if sp <= 0 {
			return false
		}
		n, ok := digits(value[:sp])
		if !ok || n > 1<<31-1 || string(bytes.TrimLeft(value[sp:], " \t")) != string(q.method) {
			return false
		}
		q.cseqNum, q.hasCSeq = uint32(n), true
	case lower("content-length") || lower("l"):
		n, ok := digits(value)
		if !ok || q.clen >= 0 || n > 1<<20 {
			return false
		}
		q.clen = int(n)
	case lower("max-forwards"):
		n, ok := digits(value)
		if !ok || q.maxFwd >= 0 || n == 0 || n > 255 {
			return false
		}
		q.maxFwd = int(n)
	case lower("require"), lower("proxy-require"):
		return false
	}
	for _, c := range name {
		if !isToken(c) {
			return false
		}
	}
	for _, c := range value {
		if c < ' ' && c != '\t' || c >= 0x7f {
			return false
		}
	}
	return true
}

// isToken reports whether c may appear in a token (RFC 3261 25.1).
func isToken(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '!', '%', '*', '_', '+', '`', '\'', '~':
		return true
	}
	return false
}

// isHostChar reports whether c may appear in a host name or IPv4 address.
func isHostChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-'
}

// addrParams checks that a From or To value is a plain name-addr (an
// optional display name, quoted or not, then "<sip:...>") or addr-spec
// ("sip:..."), and returns its header parameters (from ';', or empty).
func addrParams(v []byte) ([]byte, bool) {
	i := 0
	if len(v) > 0 && v[0] == '"' {
		for i = 1; i < len(v) && v[i] != '"'; i++ {
			if v[i] == '\\' {
				i++
			}
		}
		if i >= len(v) {
			return nil, false
		}
		i++
		for i < len(v) && v[i] == ' ' {
			i++
		}
		if i >= len(v) || v[i] != '<' {
			return nil, false
		}
	}
	rest := v[i:]
	var uri, params []byte
	if lt := bytes.IndexByte(rest, '<'); lt >= 0 {
		for _, c := range rest[:lt] {
			if !isToken(c) && c != ' ' {
				return nil, false
			}
		}
		gt := bytes.IndexByte(rest[lt:], '>')
		if gt < 0 {
			return nil, false
		}
		uri, params = rest[lt+1:lt+gt], rest[lt+gt+1:]
	} else {
		uri = rest
		if semi := bytes.IndexByte(rest, ';'); semi >= 0 {
			uri, params = rest[:semi], rest[semi:]
		}
	}
	if bytes.ContainsAny(uri, " \t<>\",") || bytes.ContainsAny(params, " \t<>\",") {
		return nil, false
	}
	if len(params) > 0 && params[0] != ';' {
		return nil, false
	}
	if _, ok := sipURIHost(uri, false); !ok {
		return nil, false
	}
	return params, true
}

// cutLine returns the line at the start of b (without its CRLF) and what
// follows; false when there is no CRLF or the line holds a lone CR or LF.
func cutLine(b []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 1 || b[i-1] != '\r' {
		return nil, nil, false // no CRLF, or a lone LF before the first
	}
	line = b[:i-1]
	if bytes.IndexByte(line, '\r') >= 0 {
		return nil, nil, false
	}
	return line, b[i+1:], true
}

// digits parses a short decimal number.
func digits(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// sipURIHost returns the host of a sip or sips URI whose host is a name or
// an IPv4 address (in lower case only if lower).
func sipURIHost(u []byte, lower bool) ([]byte, bool) {
	switch {
	case len(u) > 4 && bytes.EqualFold(u[:4], []byte("sip:")):
		u = u[4:]
	case len(u) > 5 && bytes.EqualFold(u[:5], []byte("sips:")):
		u = u[5:]
	default:
		return nil, false
	}
	if end := bytes.IndexAny(u, ";?"); end >= 0 {
		u = u[:end]
	}
	if at := bytes.LastIndexByte(u, '@'); at >= 0 {
		u = u[at+1:]
	}
	if colon := bytes.IndexByte(u, ':'); colon >= 0 {
		if n, ok := digits(u[colon+1:]); !ok || n > 65535 {
			return nil, false
		}
		u = u[:colon]
	}
	if len(u) == 0 {
		return nil, false
	}
	for _, c := range u {
		if !isHostChar(c) || lower && c >= 'A' && c <= 'Z' {
			return nil, false
		}
	}
	return u, true
}

// quickVia is what the quick path reads of the top Via.
type quickVia struct {
	host      []byte // sent-by host (a name or an IPv4 address)
	rportEnd  int    // index in the value just after an empty rport; -1: none
	branch    []byte
	hasParams bool
}

// parseQuickVia reads a Via value "SIP/2.0/TRANSPORT host[:port];params";
// false for anything else (IPv6, LWS inside, several values, a received
// already in the top one).
func parseQuickVia(v []byte, top bool) (quickVia, bool) {
	qv := quickVia{rportEnd: -1}
	if len(v) < 9 || !bytes.EqualFold(v[:8], []byte("SIP/2.0/")) {
		return qv, false
	}
	sp := bytes.IndexByte(v, ' ')
	if sp < 0 {
		return qv, false
	}
	if sp == 8 {
		return qv, false
	}
	for _, c := range v[8:sp] {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return qv, false
		}
	}
	rest := v[sp+1:]
	off := sp + 1
	semi := bytes.IndexByte(rest, ';')
	sentBy := rest
	if semi >= 0 {
		sentBy = rest[:semi]
	}
	if len(sentBy) == 0 || bytes.ContainsAny(sentBy, " \t[]") {
		return qv, false
	}
	host := sentBy
	if colon := bytes.IndexByte(sentBy, ':'); colon >= 0 {
		host = sentBy[:colon]
		if _, ok := digits(sentBy[colon+1:]); !ok {
			return qv, false
		}
	}
	if len(host) == 0 {
		return qv, false
	}
	for _, c := range host {
		if !isHostChar(c) {
			return qv, false
		}
	}
	qv.host = host
	if semi < 0 {
		return qv, true
	}
	qv.hasParams = true
	pos := off + semi
	for pos < len(v) {
		// v[pos] is ';'
		end := bytes.IndexByte(v[pos+1:], ';')
		p := v[pos+1:]
		if end >= 0 {
			p = p[:end]
		}
		if len(p) == 0 || bytes.ContainsAny(p, " \t\",") {
			return qv, false
		}
		name, val, hasVal := bytes.Cut(p, []byte("="))
		switch {
		case top && bytes.EqualFold(name, []byte("received")):
			return qv, false
		case string(name) == "rport" && !hasVal:
			qv.rportEnd = pos + 1 + len(p)
		case string(name) == "branch" && hasVal:
			qv.branch = val
		}
		pos += 1 + len(p)
	}
	return qv, true
}

// writeQuickVia writes the top Via with received and rport filled in as
// fillVia does.
func writeQuickVia(out *bytes.Buffer, v []byte, qv quickVia, src Source) {
	out.WriteString("Via: ")
	if !src.Remote.IsValid() {
		out.Write(v)
		out.WriteString("\r\n")
		return
	}
	ip := src.Remote.Addr().Unmap()
	var ipb [64]byte
	ipText := ip.AppendTo(ipb[:0])
	if qv.rportEnd >= 0 {
		out.Write(v[:qv.rportEnd])
		out.WriteString("=")
		out.Write(strconv.AppendUint(out.AvailableBuffer(), uint64(src.Remote.Port()), 10))
		out.Write(v[qv.rportEnd:])
	} else {
		out.Write(v)
	}
	if !bytes.Equal(qv.host, ipText) {
		out.WriteString(";received=")
		out.Write(ipText)
	}
	out.WriteString("\r\n")
}

// param returns the value of parameter name (compared as the parser
// does, with its case) in ";a=1;b" params.
func param(params []byte, name string) ([]byte, bool) {
	for len(params) > 0 {
		if params[0] != ';' {
			return nil, false
		}
		params = params[1:]
		p := params
		if end := bytes.IndexByte(params, ';'); end >= 0 {
			p, params = params[:end], params[end:]
		} else {
			params = nil
		}
		k, v, _ := bytes.Cut(bytes.TrimSpace(p), []byte("="))
		if string(bytes.TrimSpace(k)) == name {
			return bytes.TrimSpace(v), true
		}
	}
	return nil, false
}
