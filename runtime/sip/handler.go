// Package sip answers and forwards SIP requests (RFC 3261) for the acli
// runtime's listeners and session-agent connections, whatever their
// transport: the caller hands Process one complete message (a UDP
// datagram, an SCTP user message per RFC 4168, or a frame cut from a TCP
// stream by Frame) and acts on the Result.
//
// Messages are parsed with the sip package of github.com/emiago/sipgo; the
// transports are the runtime's own. The Handler keeps no state between
// messages: the To tag of a response is derived from the request, so a
// retransmitted request gets the same response (RFC 3261 section 8.2.7),
// and forwarding is stateless (see forward.go).
//
// Requests whose Request-URI host is a session-agent (Routes) are
// forwarded to it (Forwarded), answered 503 Service Unavailable while it
// is out of service (with Retry-After when its queue is full), 482 Loop Detected when they come back unchanged, 483
// Too Many Hops at Max-Forwards 0, 420 for a Proxy-Require. Responses to
// forwarded requests go back by Via (Relayed); responses to the SBC's own
// OPTIONS pings are Own.
//
// Other requests are answered by the SBC itself:
//
//   - OPTIONS: 200 OK with Allow, Accept and Supported (RFC 3261 11.2).
//   - ACK: never answered (RFC 3261 17.2.1).
//   - CANCEL: 481 Call/Transaction Does Not Exist: there is never an
//     INVITE transaction to cancel (RFC 3261 9.2).
//   - Any other method the SBC relays (INVITE, REGISTER, BYE, ...): 480
//     Temporarily Unavailable. The request is well formed and its method is
//     supported; only a route is missing, which is a temporary condition of
//     this SBC, so neither 404 (the target does not exist) nor 503 (makes
//     peers fail over and mark the SBC down although OPTIONS succeed) fits.
//   - An unknown method: 501 Not Implemented with Allow (RFC 3261 21.5.2).
//   - A Request-URI whose scheme is not sip, sips or tel: 416 Unsupported
//     URI Scheme (RFC 3261 8.2.2.1).
//   - Max-Forwards 0 (not OPTIONS): 483 Too Many Hops; a Require with any
//     option tag: 420 Bad Extension with Unsupported; a version other than
//     SIP/2.0: 505.
//   - Any request (but an ACK) while the caller reports its ingress
//     overloaded (Source.Overloaded): 503 Service Unavailable with
//     Retry-After (Shed), before routing.
//   - A malformed request whose Via, From, To, Call-ID and CSeq could be
//     read: 400 Bad Request naming the problem. Anything else malformed,
//     and every response that is not to one of the SBC's requests, is
//     dropped and counted.
package sip

import (
	"bytes"
	"crypto/rand"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/emiago/sipgo/sip"
)

// Transport is the transport a message arrived on.
type Transport uint8

// Transports.
const (
	UDP Transport = iota
	TCP
	SCTP
)

func (t Transport) String() string {
	switch t {
	case UDP:
		return "UDP"
	case TCP:
		return "TCP"
	case SCTP:
		return "SCTP"
	}
	return "Transport(" + strconv.Itoa(int(t)) + ")"
}

// Stream reports whether the transport is a byte stream (framed by
// Content-Length).
func (t Transport) Stream() bool { return t == TCP }

// Verdict is what Handle did with a message.
type Verdict uint8

// Verdicts.
const (
	Answered  Verdict = iota // a response is in the buffer
	Ignored                  // an ACK, or a keepalive: nothing to send
	Response                 // a response was received: dropped
	Malformed                // not a usable SIP message: dropped
	Rejected                 // malformed, answered 400 (in the buffer)

	Forwarded   // a request sent to its session-agent (Result.Target); the buffer holds what was sent
	Unavailable // a request for a session-agent out of service: 503 in the buffer
	Relayed     // a response to a forwarded request: the buffer holds it for Result.Back / Result.To
	Own         // a response to the SBC's own request (a ping): Result.Back.Point, Seq, Status
	Shed        // a request refused because its ingress is overloaded: 503 with Retry-After in the buffer
)

func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return "Verdict(" + strconv.Itoa(int(v)) + ")"
}

var verdictNames = [...]string{"answered", "ignored", "response", "malformed", "rejected",
	"forwarded", "unavailable", "relayed", "own", "shed"}

// Source is where a message came from.
type Source struct {
	Transport Transport
	Remote    netip.AddrPort
	// Ingress is the listener or session-agent connection it came on, so
	// that responses to a forwarded request find their way back.
	Ingress Ingress
	// Overloaded refuses new requests: each (but an ACK) is answered 503
	// Service Unavailable with Retry-After (Shed) instead of being
	// answered or forwarded; responses are relayed as ever.
	Overloaded bool
}

// RetryAfter is the Retry-After, in seconds, of the 503 that refuses a
// request for overload (overloadText) or because a session-agent's queue
// is full.
const RetryAfter = 1

// Result is what Process did with a message.
type Result struct {
	Verdict Verdict
	// Target is the session-agent of a Forwarded or Unavailable request
	// (or of one answered 482, 483 or 420 on its way there).
	Target Target
	// SendErr is why sending to the target failed (Unavailable).
	SendErr error
	// Relayed: the ingress the request came in on and, for UDP, the
	// previous hop by its Via (received, rport) with the Via's transport.
	// Own: Back.Point is the agent whose ping this answers.
	Back      Ingress
	To        netip.AddrPort
	Transport string
	// Seq is the ping's sequence number (Own); Status the response's code
	// (Relayed, Own).
	Seq    uint32
	Status int
}

// MaxMessage is the largest SIP message accepted (and the parser's limit).
const MaxMessage = 65535

// Allow lists the methods the SBC handles (answered 200, 480 or 481 now).
const Allow = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, PRACK, UPDATE, INFO, SUBSCRIBE, NOTIFY, REFER, MESSAGE, PUBLISH"

// relayed are the methods the SBC relays once it routes: 480 for now.
var relayed = map[sip.RequestMethod]bool{
	sip.INVITE: true, sip.BYE: true, sip.REGISTER: true, sip.PRACK: true, sip.UPDATE: true,
	sip.INFO: true, sip.SUBSCRIBE: true, sip.NOTIFY: true, sip.REFER: true, sip.MESSAGE: true,
	sip.PUBLISH: true,
}

// Handler answers and forwards SIP messages. It is safe for concurrent
// use: it holds read-only settings and the routes, which are swapped
// atomically (one atomic load per message, no lock).
type Handler struct {
	parser   *sip.Parser
	routes   atomic.Pointer[Routes]
	instance string
	noQuick  bool // tests: every message through the parser
	// Server is the Server header value of responses.
	Server string
}

// NewHandler returns a Handler whose parser decodes only the headers a
// response needs (the others stay raw text, which is cheaper).
func NewHandler() *Handler {
	all := sip.DefaultHeadersParser()
	need := map[string]sip.HeaderParser{}
	for _, n := range []string{"via", "v", "from", "f", "to", "t", "call-id", "i", "cseq",
		"max-forwards", "content-length", "l"} {
		need[n] = all[n]
	}
	p := sip.NewParser(sip.WithHeadersParsers(need))
	p.MaxMessageLength = MaxMessage
	var rnd [8]byte
	rand.Read(rnd[:])
	inst := strconv.FormatUint(uint64(rnd[0])<<32|uint64(rnd[1])<<24|uint64(rnd[2])<<16|uint64(rnd[3])<<8|uint64(rnd[4]), 36)
	return &Handler{parser: p, Server: "acli", instance: inst}
}

// SetRoutes makes r the forwarding table (nil: no route).
func (h *Handler) SetRoutes(r *Routes) { h.routes.Store(r) }

// Routes returns the forwarding table.
func (h *Handler) Routes() *Routes { return h.routes.Load() }

// badRequest is a malformed request that can still be answered.
type badRequest struct{ reason string }

// Handle is Process returning the verdict only.
func (h *Handler) Handle(b []byte, src Source, out *bytes.Buffer) Verdict {
	return h.Process(b, src, out).Verdict
}

// Process handles one complete SIP message b from src. When the verdict is
// Answered, Rejected or Unavailable, out holds the response to send back
// to src (on the same association or connection); Forwarded, Relayed and
// Own are described at Verdict. Process never panics: a parser panic is a
// Malformed verdict.
func (h *Handler) Process(b []byte, src Source, out *bytes.Buffer) (res Result) {
	out.Reset()
	defer func() {
		if recover() != nil {
			out.Reset()
			res = Result{Verdict: Malformed}
		}
	}()
	if len(bytes.Trim(b, "\r\n")) == 0 {
		return Result{Verdict: Ignored} // keepalive (RFC 5626 CRLF) or padding
	}
	if r, ok := h.quick(b, src, out); ok {
		return r
	}
	msg, err := h.parser.ParseSIP(b)
	req, isReq := msg.(*sip.Request)
	foreign := foreignScheme(b)
	if !isReq && foreign {
		// The parser refuses some schemes it need not read (soap.beep:):
		// read the rest of the request to answer 416.
		msg, err = h.parser.ParseSIP(withRequestURI(b, "sip:unsupported.invalid"))
		req, isReq = msg.(*sip.Request)
	}
	if !isReq {
		if resp, ok := msg.(*sip.Response); ok && err == nil {
			return h.relay(resp, b, out)
		}
		return Result{Verdict: Malformed}
	}
	if src.Overloaded && req.Method != sip.ACK && err == nil && req.Via() != nil && missing(req) == "" {
		h.respond(req, src, out, 503, "Service Unavailable", overloadHeaders)
		return Result{Verdict: Shed}
	}
	var t Target
	if !foreign {
		t = h.routes.Load().Lookup(&req.Recipient)
	}
	if req.Method == sip.ACK {
		// Never answered, even malformed; forwarded when well formed.
		if t == nil || err != nil || req.Via() == nil || missing(req) != "" {
			return Result{Verdict: Ignored}
		}
		return h.forward(req, b, src, out, t)
	}
	if t != nil && err == nil && req.Via() != nil && missing(req) == "" && req.SipVersion == "SIP/2.0" &&
		req.CSeq().MethodName == req.Method {
		return h.forward(req, b, src, out, t)
	}
	return Result{Verdict: h.local(req, err, foreign, src, out)}
}

// overloadText is the headers of a 503 for overload.
const overloadText = "Retry-After: 1\r\nWarning: 399 acli \"overloaded: try again later\"\r\n"

// overloadHeaders writes overloadText.
func overloadHeaders(w *bytes.Buffer) { w.WriteString(overloadText) }

// foreignScheme reports whether b is a request whose Request-URI has a
// scheme (RFC 3986 3.1) other than sip, sips and tel.
func foreignScheme(b []byte) bool {
	uri, ok := requestURI(b)
	if !ok {
		return false
	}
	colon := bytes.IndexByte(uri, ':')
	if colon <= 0 {
		return false
	}
	scheme := uri[:colon]
	for i, c := range scheme {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	for _, s := range []string{"sip", "sips", "tel"} {
		if bytes.EqualFold(scheme, []byte(s)) {
			return false
		}
	}
	return true
}

// requestURI returns the Request-URI of the request line of b.
func requestURI(b []byte) ([]byte, bool) {
	line, _, ok := bytes.Cut(b, []byte("\n"))
	if !ok {
		return nil, false
	}
	f := bytes.Fields(line)
	if len(f) != 3 {
		return nil, false
	}
	return f[1], true
}

// withRequestURI returns a copy of the request b with another Request-URI.
func withRequestURI(b []byte, uri string) []byte {
	old, _ := requestURI(b)
	i := bytes.Index(b, old)
	return append(append(append([]byte(nil), b[:i]...), uri...), b[i+len(old):]...)
}

// local answers req itself (err is the parser's; foreign: the
// Request-URI's scheme is not sip, sips or tel).
func (h *Handler) local(req *sip.Request, err error, foreign bool, src Source, out *bytes.Buffer) Verdict {
	if req.Via() == nil {
		return Malformed // nowhere to send a response
	}
	if reason := missing(req); reason != "" {
		if err != nil {
			return Malformed // the headers a response needs were not read
		}
		return h.reject(req, src, out, reason)
	}
	if err != nil {
		return h.reject(req, src, out, "Bad Request ("+parseReason(err)+")")
	}
	if req.SipVersion != "SIP/2.0" {
		h.respond(req, src, out, 505, "Version Not Supported", nil)
		return Answered
	}
	if req.CSeq().MethodName != req.Method {
		return h.reject(req, src, out, "Bad Request (CSeq method does not match the request method)")
	}
	if foreign {
		h.respond(req, src, out, 416, "Unsupported URI Scheme", nil)
		return Answered
	}
	if mf := req.MaxForwards(); mf != nil && *mf == 0 && req.Method != sip.OPTIONS {
		h.respond(req, src, out, 483, "Too Many Hops", nil)
		return Answered
	}
	if req.Method != sip.CANCEL {
		if tags := optionTags(req, "Require"); tags != "" {
			h.respond(req, src, out, 420, "Bad Extension", func(w *bytes.Buffer) {
				w.WriteString("Unsupported: ")
				w.WriteString(tags)
				w.WriteString("\r\n")
			})
			return Answered
		}
	}
	switch {
	case req.Method == sip.OPTIONS:
		h.respond(req, src, out, 200, "OK", func(w *bytes.Buffer) {
			w.WriteString("Allow: " + Allow + "\r\nAccept: application/sdp\r\nSupported: \r\n")
		})
	case req.Method == sip.CANCEL:
		h.respond(req, src, out, 481, "Call/Transaction Does Not Exist", nil)
	case relayed[req.Method]:
		h.respond(req, src, out, 480, "Temporarily Unavailable", func(w *bytes.Buffer) {
			w.WriteString("Warning: 399 acli \"no route: the Request-URI names no session-agent\"\r\n")
		})
	default:
		h.respond(req, src, out, 501, "Not Implemented", func(w *bytes.Buffer) {
			w.WriteString("Allow: " + Allow + "\r\n")
		})
	}
	return Answered
}

func (h *Handler) reject(req *sip.Request, src Source, out *bytes.Buffer, reason string) Verdict {
	h.respond(req, src, out, 400, reason, nil)
	return Rejected
}

// missing names the first mandatory header the request lacks (RFC 3261
// 8.1.1), or "".
func missing(req *sip.Request) string {
	switch {
	case req.From() == nil:
		return "Bad Request (missing From)"
	case req.To() == nil:
		return "Bad Request (missing To)"
	case req.CallID() == nil:
		return "Bad Request (missing Call-ID)"
	case req.CSeq() == nil:
		return "Bad Request (missing CSeq)"
	}
	return ""
}

// parseReason turns a parser error into a short reason phrase.
func parseReason(err error) string {
	s := err.Error()
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 80 {
		s = s[:80]
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// optionTags returns the option tags of req's headers named header
// (Require, Proxy-Require), comma separated: none is supported, so a UAS
// rejects any in Require (RFC 3261 8.2.2.3) and a proxy any in
// Proxy-Require (16.3 step 5).
func optionTags(req *sip.Request, header string) string {
	var tags []string
	for _, hd := range req.Headers() {
		if !strings.EqualFold(hd.Name(), header) {
			continue
		}
		for _, t := range strings.Split(hd.Value(), ",") {
			if t = strings.TrimSpace(t); t != "" {
				tags = append(tags, t)
			}
		}
	}
	return strings.Join(tags, ", ")
}

// respond writes a response to req into out (RFC 3261 8.2.6): the Via
// headers (the top one with received and rport filled in per RFC 3261
// 18.2.1 and RFC 3581), From, To with a tag, Call-ID and CSeq, then the
// headers extra writes.
func (h *Handler) respond(req *sip.Request, src Source, out *bytes.Buffer, code int, reason string, extra func(*bytes.Buffer)) {
	out.WriteString("SIP/2.0 ")
	var num [20]byte
	out.Write(strconv.AppendInt(num[:0], int64(code), 10))
	out.WriteByte(' ')
	out.WriteString(reason)
	out.WriteString("\r\n")

	top := true
	for _, hd := range req.Headers() {
		via, ok := hd.(*sip.ViaHeader)
		if !ok {
			continue
		}
		if top {
			top = false
			fillVia(via, src)
		}
		writeVia(out, via)
	}
	if f := req.From(); f != nil {
		f.StringWrite(out)
		out.WriteString("\r\n")
	}
	if t := req.To(); t != nil {
		if _, ok := t.Params.Get("tag"); !ok && code != 100 {
			t.Params.Add("tag", toTag(req))
		}
		t.StringWrite(out)
		out.WriteString("\r\n")
	}
	if c := req.CallID(); c != nil {
		c.StringWrite(out)
		out.WriteString("\r\n")
	}
	if c := req.CSeq(); c != nil {
		c.StringWrite(out)
		out.WriteString("\r\n")
	}
	if extra != nil {
		extra(out)
	}
	if h.Server != "" {
		out.WriteString("Server: ")
		out.WriteString(h.Server)
		out.WriteString("\r\n")
	}
	out.WriteString("Content-Length: 0\r\n\r\n")
}

// writeVia writes a Via header line (sipgo's own writer builds strings).
func writeVia(w *bytes.Buffer, via *sip.ViaHeader) {
	w.WriteString("Via: ")
	w.WriteString(via.ProtocolName)
	w.WriteByte('/')
	w.WriteString(via.ProtocolVersion)
	w.WriteByte('/')
	w.WriteString(via.Transport)
	w.WriteByte(' ')
	if strings.IndexByte(via.Host, ':') >= 0 && !strings.HasPrefix(via.Host, "[") {
		w.WriteByte('[')
		w.WriteString(via.Host)
		w.WriteByte(']')
	} else {
		w.WriteString(via.Host)
	}
	if via.Port > 0 {
		var num [20]byte
		w.WriteByte(':')
		w.Write(strconv.AppendInt(num[:0], int64(via.Port), 10))
	}
	for _, kv := range via.Params {
		w.WriteByte(';')
		w.WriteString(kv.K)
		if kv.V != "" {
			w.WriteByte('=')
			w.WriteString(kv.V)
		}
	}
	w.WriteString("\r\n")
}

// fillVia adds received when the sent-by host is not the source address,
// and fills an empty rport with the source port.
func fillVia(via *sip.ViaHeader, src Source) {
	if !src.Remote.IsValid() {
		return
	}
	ip := src.Remote.Addr().Unmap()
	host := strings.Trim(via.Host, "[]")
	if a, err := netip.ParseAddr(host); err != nil || a.Unmap() != ip {
		setParam(&via.Params, "received", ip.String())
	}
	if v, ok := via.Params.Get("rport"); ok && v == "" {
		setParam(&via.Params, "rport", strconv.Itoa(int(src.Remote.Port())))
	}
}

// setParam sets a parameter in place, or appends it.
func setParam(ps *sip.HeaderParams, k, v string) {
	for i := range *ps {
		if (*ps)[i].K == k {
			(*ps)[i].V = v
			return
		}
	}
	ps.Add(k, v)
}

// toTag derives the To tag from the request, so that retransmissions get
// the same one (see toTagHash).
func toTag(req *sip.Request) string {
	var callID, fromTag, branch string
	var seq uint32
	if c := req.CallID(); c != nil {
		callID = string(*c)
	}
	if from := req.From(); from != nil {
		fromTag, _ = from.Params.Get("tag")
	}
	if via := req.Via(); via != nil {
		branch, _ = via.Params.Get("branch")
	}
	if c := req.CSeq(); c != nil {
		seq = c.SeqNo
	}
	return strconv.FormatUint(toTagHash(callID, fromTag, branch, seq), 36)
}

// toTagHash is an FNV-1a hash of Call-ID, From tag, top Via branch and
// CSeq number.
func toTagHash[S string | []byte](callID, fromTag, branch S, seq uint32) uint64 {
	h := uint64(14695981039346656037)
	mix := func(s S) {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= 1099511628211
		}
		h ^= 0xff // separator
		h *= 1099511628211
	}
	mix(callID)
	mix(fromTag)
	mix(branch)
	var num [20]byte
	for _, c := range strconv.AppendUint(num[:0], uint64(seq), 10) {
		h ^= uint64(c)
		h *= 1099511628211
	}
	h ^= 0xff
	h *= 1099511628211
	return h
}
