package sip

// Stateless forwarding to session-agents (RFC 3261 section 16.11).
//
// A request whose Request-URI host is a session-agent's hostname or
// ip-address (see Routes) is forwarded on the agent's connection (its Hop)
// with the SBC's own Via on top:
//
//	Via: SIP/2.0/SCTP 10.0.0.1:40001;branch=z9hG4bKac<instance>f<loop>.<tx>;rport;acli-in=<point>.<conn>
//
// The branch is computed, not remembered, so that the proxy keeps no state:
//
//   - <instance> is random per Handler: a Via whose branch starts with
//     "z9hG4bKac<instance>" is this SBC's own (RFC 3261 16.3 step 4 asks
//     for exactly that recognition).
//   - <loop> hashes what RFC 3261 16.6 step 8 lists for loop detection
//     but the To tag: Request-URI, From tag, Call-ID and CSeq number. A
//     request that carries one of our Vias with the same <loop> has come
//     back unchanged: 482 Loop Detected. A different <loop> is a spiral
//     (the Request-URI changed) and is forwarded again. The To tag is left
//     out because the ACK of a non-2xx response has one that its INVITE
//     had not, and must still get the INVITE's branch.
//   - <tx> hashes the previous hop's top Via branch and sent-by, so a
//     retransmission, the CANCEL and the ACK of a non-2xx response get the
//     branch of their INVITE, as RFC 3261 16.11 requires of a stateless
//     proxy. Neither hash includes the CSeq method for the same reason.
//
// The acli-in parameter records where the request entered the SBC: the
// ingress point (a listener or a session-agent connection, numbered by the
// runtime) and the connection on it (SCTP association, TCP connection; 0
// for UDP). It is a Via parameter rather than part of the branch so that
// a CANCEL arriving on another connection than its INVITE still gets the
// INVITE's branch. Responses carry the Via back: the SBC removes its own
// and sends the response on that very association or connection, or, for
// UDP, to the address of the next Via (received and rport as this proxy
// filled them in, RFC 3261 18.2.2 and RFC 3581).
//
// Max-Forwards is decremented (added as 70 when absent), Content-Length
// rewritten to the body's length, every other header copied in order.
// Route headers are copied untouched: the SBC routes by Request-URI only.

import (
	"bytes"
	"net/netip"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Ingress is where a message entered the SBC: Point is a listener or a
// session-agent (numbered by the runtime), Conn the association or
// connection on it (0 for UDP).
type Ingress struct {
	Point uint32
	Conn  uint32
}

// Hop is one connection a request can be forwarded on: a session-agent's
// current association, TCP connection or UDP socket.
type Hop interface {
	// Via returns the transport (UDP, TCP, SCTP) and the sent-by of the
	// Via put on requests sent on this connection: its local address.
	Via() (transport string, sentBy netip.AddrPort)
	// Send sends one complete SIP message. It must not keep b.
	Send(b []byte) error
}

// Target is a forwarding destination: a session-agent.
type Target interface {
	// Hop returns the connection to forward on, or nil when the target is
	// out of service (the request is answered 503).
	Hop() Hop
}

// Routes maps Request-URI hosts to targets. It is built once (Add) and
// then only read, by any number of goroutines: the runtime builds a new one
// on every apply and swaps it in with Handler.SetRoutes.
type Routes struct {
	m     map[string]Target
	hosts map[string]struct{} // every host of m, with or without a port
}

// NewRoutes returns an empty table.
func NewRoutes() *Routes { return &Routes{m: map[string]Target{}, hosts: map[string]struct{}{}} }

// hasHost reports whether host (as normHost writes it) has a route, with
// or without a port.
func (r *Routes) hasHost(host []byte) bool {
	_, ok := r.hosts[string(host)]
	return ok
}

// Add routes requests for host (an IP address or a name, compared without
// case) to t: with port 0 whatever the Request-URI's port, else only with
// that port. A later Add of the same host and port replaces the earlier.
func (r *Routes) Add(host string, port int, t Target) {
	h := normHost(host)
	r.m[routeKey(h, port)] = t
	r.hosts[h] = struct{}{}
}

// Lookup returns the target of a Request-URI: its host and port first,
// then its host alone.
func (r *Routes) Lookup(u *sip.Uri) Target {
	if r == nil || len(r.m) == 0 || u == nil {
		return nil
	}
	h := normHost(u.Host)
	if u.Port != 0 {
		if t, ok := r.m[routeKey(h, u.Port)]; ok {
			return t
		}
	}
	return r.m[h]
}

func routeKey(host string, port int) string {
	if port == 0 {
		return host
	}
	return host + "\x00" + strconv.Itoa(port)
}

// normHost is a host as routes compare it: an IP address in its canonical
// form (IPv6 without brackets), a name in lower case.
func normHost(h string) string {
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap().WithZone("").String()
	}
	return strings.ToLower(h)
}

// magic is the RFC 3261 branch cookie.
const magic = "z9hG4bK"

// Instance returns the Handler's instance tag: the branches of the Vias it
// writes start with "z9hG4bKac" + Instance().
func (h *Handler) Instance() string { return h.instance }

// branchPrefix is the start of this Handler's branches.
func (h *Handler) branchPrefix() string { return magic + "ac" + h.instance }

// fnv is a 64-bit FNV-1a hash fed with separated fields.
type fnv uint64

func newFNV() fnv { return 14695981039346656037 }

func (f *fnv) add(s string) {
	h := uint64(*f)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	h ^= 0xff // separator
	h *= 1099511628211
	*f = fnv(h)
}

func (f *fnv) addBytes(s []byte) {
	h := uint64(*f)
	for _, c := range s {
		h ^= uint64(c)
		h *= 1099511628211
	}
	h ^= 0xff // separator
	h *= 1099511628211
	*f = fnv(h)
}

func (f fnv) append(b []byte) []byte { return strconv.AppendUint(b, uint64(f), 36) }

// loopHash hashes the fields RFC 3261 16.6 step 8 names for loop
// detection, but the To tag (see the file comment): the Request-URI as
// written in the request line of b, From tag, Call-ID, CSeq number.
func loopHash(req *sip.Request, b []byte) fnv {
	uri, _ := requestURI(b)
	var tag, callID string
	if from := req.From(); from != nil {
		tag, _ = from.Params.Get("tag")
	}
	if c := req.CallID(); c != nil {
		callID = string(*c)
	}
	var seq uint32
	if c := req.CSeq(); c != nil {
		seq = c.SeqNo
	}
	return loopHashOf(uri, []byte(tag), []byte(callID), seq)
}

// loopHashOf is loopHash of the fields themselves.
func loopHashOf(uri, fromTag, callID []byte, seq uint32) fnv {
	f := newFNV()
	f.addBytes(uri)
	f.addBytes(fromTag)
	f.addBytes(callID)
	var num [20]byte
	f.addBytes(strconv.AppendUint(num[:0], uint64(seq), 10))
	return f
}

// txHash hashes the previous hop's transaction: its top Via's branch and
// sent-by (RFC 3261 16.11).
func txHash(top *sip.ViaHeader) fnv {
	f := newFNV()
	br, _ := top.Params.Get("branch")
	f.add(br)
	f.add(top.Host)
	f.add(strconv.Itoa(top.Port))
	f.add(top.Transport)
	return f
}

// isLoop reports whether one of req's Vias is ours with loop hash lh.
func (h *Handler) isLoop(req *sip.Request, lh fnv) bool {
	var buf [32]byte
	want := string(lh.append(append(buf[:0], 'f')))
	prefix := h.branchPrefix()
	for _, hd := range req.Headers() {
		via, ok := hd.(*sip.ViaHeader)
		if !ok {
			continue
		}
		br, _ := via.Params.Get("branch")
		rest, ok := strings.CutPrefix(br, prefix)
		if !ok {
			continue
		}
		if part, _, _ := strings.Cut(rest, "."); part == want {
			return true
		}
	}
	return false
}

// forward forwards req (raw bytes b) to t. See the file comment.
func (h *Handler) forward(req *sip.Request, b []byte, src Source, out *bytes.Buffer, t Target) Result {
	ack := req.Method == sip.ACK
	answer := func(code int, reason string, extra func(*bytes.Buffer)) Result {
		if ack {
			out.Reset()
			return Result{Verdict: Ignored, Target: t}
		}
		h.respond(req, src, out, code, reason, extra)
		return Result{Verdict: Answered, Target: t}
	}
	mf := req.MaxForwards()
	if mf != nil && *mf == 0 {
		return answer(483, "Too Many Hops", nil)
	}
	if tags := optionTags(req, "Proxy-Require"); tags != "" {
		return answer(420, "Bad Extension", func(w *bytes.Buffer) {
			w.WriteString("Unsupported: ")
			w.WriteString(tags)
			w.WriteString("\r\n")
		})
	}
	lh := loopHash(req, b)
	if h.isLoop(req, lh) {
		return answer(482, "Loop Detected", nil)
	}
	hop := t.Hop()
	if hop == nil {
		r := answer(503, "Service Unavailable", unavailableWarning)
		if r.Verdict == Answered {
			r.Verdict = Unavailable
		}
		return r
	}
	transport, sentBy := hop.Via()

	// Start line as received.
	line := b
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		line = b[:i]
	}
	out.Write(bytes.TrimRight(line, "\r"))
	out.WriteString("\r\n")

	// Our Via.
	var num [24]byte
	out.WriteString("Via: SIP/2.0/")
	out.WriteString(transport)
	out.WriteByte(' ')
	writeHostPort(out, sentBy)
	out.WriteString(";branch=")
	out.WriteString(h.branchPrefix())
	out.WriteByte('f')
	out.Write(lh.append(num[:0]))
	out.WriteByte('.')
	top := req.Via()
	out.Write(txHash(top).append(num[:0]))
	writeViaTail(out, src.Ingress)

	first := true
	for _, hd := range req.Headers() {
		switch v := hd.(type) {
		case *sip.ViaHeader:
			if first {
				first = false
				fillVia(v, src)
			}
			writeVia(out, v)
			continue
		case *sip.MaxForwardsHeader:
			out.WriteString("Max-Forwards: ")
			out.Write(strconv.AppendUint(num[:0], uint64(*v-1), 10))
			out.WriteString("\r\n")
			continue
		case *sip.ContentLengthHeader:
			continue
		}
		hd.StringWrite(out)
		out.WriteString("\r\n")
	}
	if mf == nil {
		out.WriteString("Max-Forwards: 70\r\n")
	}
	body := req.Body()
	out.WriteString("Content-Length: ")
	out.Write(strconv.AppendInt(num[:0], int64(len(body)), 10))
	out.WriteString("\r\n\r\n")
	out.Write(body)

	if err := hop.Send(out.Bytes()); err != nil {
		out.Reset()
		r := answer(503, "Service Unavailable", func(w *bytes.Buffer) {
			w.WriteString("Retry-After: " + strconv.Itoa(RetryAfter) + "\r\n")
			unavailableWarning(w)
		})
		if r.Verdict == Answered {
			r.Verdict = Unavailable
		}
		r.SendErr = err
		return r
	}
	return Result{Verdict: Forwarded, Target: t}
}

func unavailableWarning(w *bytes.Buffer) {
	w.WriteString("Warning: 399 acli \"session-agent out of service\"\r\n")
}

// writeHostPort writes a sent-by: host:port, IPv6 in brackets.
func writeHostPort(w *bytes.Buffer, ap netip.AddrPort) {
	var buf [64]byte
	w.Write(ap.AppendTo(buf[:0]))
}

// relay handles a response: one to a request this Handler forwarded goes
// back by Via (Relayed); one to the SBC's own request (a ping) is Own;
// anything else is dropped.
func (h *Handler) relay(resp *sip.Response, b []byte, out *bytes.Buffer) Result {
	if resp.SipVersion != "SIP/2.0" || resp.StatusCode < 100 || resp.StatusCode > 699 ||
		resp.From() == nil || resp.To() == nil || resp.CallID() == nil || resp.CSeq() == nil {
		return Result{Verdict: Malformed}
	}
	var top, next *sip.ViaHeader
	for _, hd := range resp.Headers() {
		if v, ok := hd.(*sip.ViaHeader); ok {
			if top == nil {
				top = v
			} else {
				next = v
				break
			}
		}
	}
	if top == nil {
		return Result{Verdict: Malformed}
	}
	br, _ := top.Params.Get("branch")
	rest, ours := strings.CutPrefix(br, h.branchPrefix())
	if !ours {
		return Result{Verdict: Response}
	}
	if p, ok := strings.CutPrefix(rest, "p"); ok {
		point, seq, ok := parsePair(p)
		if !ok {
			return Result{Verdict: Response}
		}
		return Result{Verdict: Own, Back: Ingress{Point: point}, Seq: seq, Status: resp.StatusCode}
	}
	in, _ := top.Params.Get("acli-in")
	point, conn, ok := parsePair(in)
	if !ok || next == nil {
		return Result{Verdict: Response}
	}

	line := b
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		line = b[:i]
	}
	out.Write(bytes.TrimRight(line, "\r"))
	out.WriteString("\r\n")
	skipped := false
	for _, hd := range resp.Headers() {
		switch v := hd.(type) {
		case *sip.ViaHeader:
			if !skipped {
				skipped = true
				continue
			}
			writeVia(out, v)
			continue
		case *sip.ContentLengthHeader:
			continue
		}
		hd.StringWrite(out)
		out.WriteString("\r\n")
	}
	body := resp.Body()
	var num [24]byte
	out.WriteString("Content-Length: ")
	out.Write(strconv.AppendInt(num[:0], int64(len(body)), 10))
	out.WriteString("\r\n\r\n")
	out.Write(body)
	return Result{Verdict: Relayed, Back: Ingress{Point: point, Conn: conn}, To: viaDest(next),
		Transport: next.Transport, Status: resp.StatusCode}
}

// parsePair parses "a.b", two decimal uint32s.
func parsePair(s string) (a, b uint32, ok bool) {
	x, y, found := strings.Cut(s, ".")
	if !found {
		return 0, 0, false
	}
	u, err1 := strconv.ParseUint(x, 10, 32)
	v, err2 := strconv.ParseUint(y, 10, 32)
	return uint32(u), uint32(v), err1 == nil && err2 == nil
}

// viaDest is where a response to via goes over UDP (RFC 3261 18.2.2, RFC
// 3581): received (else the sent-by host when it is an address), port
// rport (else the sent-by port, else 5060). Invalid when the host is a
// name that was never resolved.
func viaDest(via *sip.ViaHeader) netip.AddrPort {
	host := strings.Trim(via.Host, "[]")
	if r, ok := via.Params.Get("received"); ok && r != "" {
		host = strings.Trim(r, "[]")
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}
	}
	port := via.Port
	if rp, ok := via.Params.Get("rport"); ok && rp != "" {
		if n, err := strconv.Atoi(rp); err == nil && n > 0 && n < 65536 {
			port = n
		}
	}
	if port <= 0 || port > 65535 {
		port = 5060
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(port))
}

// Ping is an OPTIONS health ping of a session-agent.
type Ping struct {
	Point uint32 // the agent's ingress point: its responses come back to it
	Seq   uint32 // the ping's sequence number (CSeq, branch)
	Host  string // Request-URI and To host: the agent's hostname
	Port  int    // Request-URI port (0: none)
}

// WritePing writes the OPTIONS ping p to send on hop into out. Its
// response comes back as an Own Result with p's Point and Seq.
func (h *Handler) WritePing(out *bytes.Buffer, hop Hop, p Ping) {
	out.Reset()
	transport, sentBy := hop.Via()
	var num [24]byte
	target := func() {
		out.WriteString("sip:")
		if strings.IndexByte(p.Host, ':') >= 0 && !strings.HasPrefix(p.Host, "[") {
			out.WriteString("[" + p.Host + "]")
		} else {
			out.WriteString(p.Host)
		}
		if p.Port > 0 {
			out.WriteByte(':')
			out.Write(strconv.AppendInt(num[:0], int64(p.Port), 10))
		}
	}
	seqs := strconv.FormatUint(uint64(p.Seq), 10)
	point := strconv.FormatUint(uint64(p.Point), 10)
	local := sentBy.Addr().String()
	if sentBy.Addr().Is6() {
		local = "[" + local + "]"
	}
	out.WriteString("OPTIONS ")
	target()
	out.WriteString(" SIP/2.0\r\nVia: SIP/2.0/")
	out.WriteString(transport)
	out.WriteByte(' ')
	writeHostPort(out, sentBy)
	out.WriteString(";branch=" + h.branchPrefix() + "p" + point + "." + seqs + ";rport\r\n")
	out.WriteString("Max-Forwards: 70\r\n")
	out.WriteString("From: <sip:ping@" + local + ">;tag=" + h.instance + "-" + point + "\r\n")
	out.WriteString("To: <")
	target()
	out.WriteString(">\r\n")
	out.WriteString("Call-ID: ping-" + h.instance + "-" + point + "-" + seqs + "@" + local + "\r\n")
	out.WriteString("CSeq: " + seqs + " OPTIONS\r\n")
	if h.Server != "" {
		out.WriteString("User-Agent: " + h.Server + "\r\n")
	}
	out.WriteString("Content-Length: 0\r\n\r\n")
}

// writeViaTail ends the Via line the SBC adds: rport and the ingress it
// came in on (acli-in=<point>.<conn>), which relaying the response reads.
func writeViaTail(out *bytes.Buffer, in Ingress) {
	var num [20]byte
	out.WriteString(";rport;acli-in=")
	out.Write(strconv.AppendUint(num[:0], uint64(in.Point), 10))
	out.WriteByte('.')
	out.Write(strconv.AppendUint(num[:0], uint64(in.Conn), 10))
	out.WriteString("\r\n")
}
