package sctp

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/acli-project/acli/runtime/plan"
	"github.com/acli-project/acli/runtime/sctp/sctpwire"
	libsctp "github.com/ishidawataru/sctp"
	"golang.org/x/sys/unix"
)

// DefaultStreams is the number of outbound and inbound streams offered when
// Options leaves them 0. The kernel's own default of 65,535 inbound streams
// costs megabytes of kernel memory per association.
const DefaultStreams = 32

// Options are the SCTP knobs of a socket: every SCTP parameter of the SBC
// guide (network-parameters sctp-*) and of the Kamailio sctp module
// (sctp_*). Times are milliseconds unless noted. The runtime builds them
// from network-parameters with the knob table of package plan
// (plan.Knobs): Options converts to and from plan.SCTPOptions, which has
// the same fields.
//
// A zero field means "the kernel's default" (the net.sctp sysctls), except
// where noted: HBInterval 0 disables heartbeats and SackDelay 0 acknowledges
// every packet at once; a negative value selects the kernel default for
// those two. Apply resolves kernel defaults from /proc/sys/net/sctp, so that
// going back to 0 restores the default on a live socket too.
//
// The Kamailio knobs sctp_send_retries, sctp_assoc_tracking and
// sctp_assoc_reuse are not socket options but policies of the code above
// this package; a Listener's association tracking (the notifications that
// keep Stats and enforce MaxAssocs) is turned on and off with TrackAssocs.
//
// On a listening (one-to-many) socket the protocol options are endpoint
// defaults: they are copied into each association when it is created, so a
// change affects only NEW associations. SendTTL and Unordered are applied
// to every message sent, so they take effect at once.
type Options struct {
	RTOInitial int // RTO.Initial (sctp-rto-initial, sctp_srto_initial)
	RTOMin     int // RTO.Min (sctp-rto-min, sctp_srto_min)
	RTOMax     int // RTO.Max (sctp-rto-max, sctp_srto_max)

	HBInterval      int // HB.Interval; 0: heartbeats disabled; <0: kernel default (sctp-hb-interval, sctp_hbinterval)
	PathMaxRetrans  int // Path.Max.Retrans (sctp-path-max-retrans, sctp_pathmaxrxt)
	AssocMaxRetrans int // Association.Max.Retrans (sctp-assoc-max-retrans, sctp_asocmaxrxt)

	SackDelay int // delayed SACK timer, at most 500; 0: SACK immediately (sctp-sack-timeout, sctp_sack_delay); <0: kernel default
	SackFreq  int // packets received before a SACK is sent; 1 disables delayed SACK (sctp_sack_freq)
	MaxBurst  int // Max.Burst in packets (sctp-max-burst, sctp_max_burst)

	InitMaxAttempts int // INIT retransmissions (sctp_init_max_attempts), at most 65535
	InitMaxTimeout  int // RTO max for INIT (sctp_init_max_timeo), at most 65535

	RcvBuf int // socket receive buffer in bytes; 0: OS default (sctp_socket_rcvbuf)
	SndBuf int // socket send buffer in bytes; 0: OS default (sctp_socket_sndbuf)

	Autoclose int  // seconds before an idle association is closed; 0: never (sctp_autoclose); a Listener's only (a Conn's one-to-one socket has none)
	SendTTL   int  // lifetime of each sent message; 0: unlimited (sctp_send_ttl)
	Unordered bool // send with unordered delivery (sctp-send-mode unordered)

	OutStreams int // outbound streams requested; 0: DefaultStreams
	InStreams  int // maximum inbound streams accepted; 0: DefaultStreams

	// MaxAssocs limits the associations of a Listener: a new association
	// beyond it is aborted at once and counted in Stats.Rejected. <= 0 is
	// unlimited (sctp_max_assocs -1). It is not a kernel option.
	MaxAssocs int

	// BacklogAssoc and BacklogTotal bound, in bytes, a Listener's
	// messages waiting for room in the send buffer: one association's
	// and all (sctp-backlog-assoc, sctp-backlog-total); 0:
	// DefaultBacklogAssoc, DefaultBacklogTotal. BacklogAssoc bounds a
	// session-agent's queue too. They are not kernel options.
	BacklogAssoc, BacklogTotal int
}

// DefaultOptions returns the defaults of the SBC guide (RFC 4960 section
// 15): RTO 3000/1000/60000, heartbeat 30000, path 5 and association 10
// retransmissions, SACK delay 200, burst 4, with DefaultStreams streams and
// no association limit. The rest is left to the kernel.
func DefaultOptions() Options {
	return Options{
		RTOInitial: 3000, RTOMin: 1000, RTOMax: 60000,
		HBInterval: 30000, PathMaxRetrans: 5, AssocMaxRetrans: 10,
		SackDelay: 200, MaxBurst: 4,
		OutStreams: DefaultStreams, InStreams: DefaultStreams,
		MaxAssocs: -1,
	}
}

// KernelDefaults returns the kernel's defaults for new SCTP sockets, read
// from /proc/sys/net/sctp (the SCTP module must be loaded). Streams are
// DefaultStreams, buffers 0 (OS default), MaxAssocs -1.
func KernelDefaults() (Options, error) {
	var errs []error
	read := func(name string) int {
		b, err := os.ReadFile("/proc/sys/net/sctp/" + name)
		if err != nil {
			errs = append(errs, err)
			return 0
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			errs = append(errs, fmt.Errorf("net.sctp.%s: %w", name, err))
		}
		return n
	}
	o := Options{
		RTOInitial:      read("rto_initial"),
		RTOMin:          read("rto_min"),
		RTOMax:          read("rto_max"),
		HBInterval:      read("hb_interval"),
		PathMaxRetrans:  read("path_max_retrans"),
		AssocMaxRetrans: read("association_max_retrans"),
		SackDelay:       read("sack_timeout"),
		SackFreq:        2, // hard-coded in the kernel (sctp_init_sock)
		MaxBurst:        read("max_burst"),
		InitMaxAttempts: read("max_init_retransmits"),
		OutStreams:      DefaultStreams,
		InStreams:       DefaultStreams,
		MaxAssocs:       -1,
	}
	o.InitMaxTimeout = min(o.RTOMax, math.MaxUint16) // the kernel's sinit_max_init_timeo default
	return o, errors.Join(errs...)
}

// resolve fills o's "kernel default" fields from d (fields of d that are 0
// stay unresolved: the kernel then leaves them unchanged).
func (o Options) resolve(d Options) Options {
	def := func(v *int, dv int) {
		if *v == 0 {
			*v = dv
		}
	}
	def(&o.RTOInitial, d.RTOInitial)
	def(&o.RTOMin, d.RTOMin)
	def(&o.RTOMax, d.RTOMax)
	def(&o.PathMaxRetrans, d.PathMaxRetrans)
	def(&o.AssocMaxRetrans, d.AssocMaxRetrans)
	def(&o.SackFreq, d.SackFreq)
	def(&o.MaxBurst, d.MaxBurst)
	def(&o.InitMaxAttempts, d.InitMaxAttempts)
	def(&o.InitMaxTimeout, d.InitMaxTimeout)
	def(&o.OutStreams, DefaultStreams)
	def(&o.InStreams, DefaultStreams)
	if o.HBInterval < 0 {
		o.HBInterval = d.HBInterval
		if o.HBInterval == 0 {
			o.HBInterval = -1 // unknown: leave it to the kernel
		}
	}
	if o.SackDelay < 0 {
		o.SackDelay = d.SackDelay
		if o.SackDelay == 0 {
			o.SackDelay = -1
		}
	}
	return o
}

// Apply sets o on the SCTP socket fd (one-to-many or one-to-one) with
// setsockopt. On a one-to-many socket the protocol options become the
// endpoint's defaults for future associations. Every option is attempted:
// the result joins the failures, each naming its option. The kernel accepts
// RTOInitial outside [RTOMin, RTOMax] and so does Apply (configuration
// verification must catch it); it rejects RTOMin > RTOMax and SackDelay >
// 500.
func Apply(fd int, o Options) error {
	return apply(fd, sctpwire.FutureAssoc, o.resolve(cachedDefaults()))
}

// ApplyAssoc sets the per-association options of o (RTO, retransmissions,
// heartbeat, SACK, burst, send defaults) on the existing association assoc
// of the one-to-many socket fd.
func ApplyAssoc(fd int, assoc AssocID, o Options) error {
	return apply(fd, int32(assoc), o.resolve(cachedDefaults()))
}

// defaults caches KernelDefaults for a second: sockets are created in
// bursts and the sysctls rarely change.
var defaults struct {
	sync.Mutex
	o  Options
	at time.Time
}

// cachedDefaults returns KernelDefaults, best effort: fields it cannot read
// stay 0 and the kernel then leaves them unchanged.
func cachedDefaults() Options {
	defaults.Lock()
	defer defaults.Unlock()
	if time.Since(defaults.at) > time.Second {
		defaults.o, _ = KernelDefaults()
		defaults.at = time.Now()
	}
	return defaults.o
}

// option setters fail with an error naming the option.
type optErr struct {
	errs []error
}

func (e *optErr) add(name string, err error) {
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("sctp: %s: %w", name, err))
	}
}

func (e *optErr) err() error { return errors.Join(e.errs...) }

// inRange checks v against [lo, hi].
func inRange(name string, v, lo, hi int) error {
	if v < lo || v > hi {
		return fmt.Errorf("%s %d out of range [%d, %d]", name, v, lo, hi)
	}
	return nil
}

// initMsg is SCTP_INITMSG of o: streams and INIT retransmission.
func initMsg(o Options) sctpwire.InitMsg {
	return sctpwire.InitMsg{NumOstreams: uint16(o.OutStreams), MaxInstreams: uint16(o.InStreams),
		MaxAttempts: uint16(o.InitMaxAttempts), MaxInitTimeout: uint16(o.InitMaxTimeout)}
}

func apply(fd int, assoc int32, o Options) error {
	var e optErr
	endpoint := assoc == sctpwire.FutureAssoc
	sockType, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return fmt.Errorf("sctp: SO_TYPE: %w", err)
	}

	// SCTP_RTOINFO: 0 leaves a value unchanged.
	if err := errors.Join(inRange("rto initial", o.RTOInitial, 0, math.MaxUint32),
		inRange("rto min", o.RTOMin, 0, math.MaxUint32), inRange("rto max", o.RTOMax, 0, math.MaxUint32)); err != nil {
		e.add("SCTP_RTOINFO", err)
	} else {
		e.add("SCTP_RTOINFO", setsockopt(fd, sctpwire.OptRTOInfo, sctpwire.RTOInfo{
			Assoc: assoc, Initial: uint32(o.RTOInitial), Max: uint32(o.RTOMax), Min: uint32(o.RTOMin)}.Marshal()))
	}

	// SCTP_ASSOCINFO: association max retransmissions.
	if err := inRange("association max retransmissions", o.AssocMaxRetrans, 0, math.MaxUint16); err != nil {
		e.add("SCTP_ASSOCINFO", err)
	} else if o.AssocMaxRetrans > 0 {
		e.add("SCTP_ASSOCINFO", setsockopt(fd, sctpwire.OptAssocInfo, sctpwire.AssocParams{
			Assoc: assoc, MaxRxt: uint16(o.AssocMaxRetrans)}.Marshal()))
	}

	// SCTP_INITMSG: streams and INIT retransmission (endpoint only).
	if endpoint {
		if err := errors.Join(inRange("out streams", o.OutStreams, 0, math.MaxUint16),
			inRange("in streams", o.InStreams, 0, math.MaxUint16),
			inRange("init max attempts", o.InitMaxAttempts, 0, math.MaxUint16),
			inRange("init max timeout", o.InitMaxTimeout, 0, math.MaxUint16)); err != nil {
			e.add("SCTP_INITMSG", err)
		} else {
			e.add("SCTP_INITMSG", setsockopt(fd, sctpwire.OptInitMsg, sctpwire.MarshalInitMsg(initMsg(o))))
		}
	}

	// SCTP_PEER_ADDR_PARAMS: heartbeat interval / disable, path max
	// retransmissions.
	if err := errors.Join(inRange("heartbeat interval", o.HBInterval, -1, math.MaxUint32),
		inRange("path max retransmissions", o.PathMaxRetrans, 0, math.MaxUint16)); err != nil {
		e.add("SCTP_PEER_ADDR_PARAMS", err)
	} else {
		p := sctpwire.PeerAddrParams{Assoc: assoc, PathMaxRxt: uint16(o.PathMaxRetrans)}
		switch {
		case o.HBInterval == 0:
			p.Flags = sctpwire.SPPHBDisable
		case o.HBInterval > 0:
			p.Flags = sctpwire.SPPHBEnable
			p.HBInterval = uint32(o.HBInterval)
		}
		e.add("SCTP_PEER_ADDR_PARAMS", setsockopt(fd, sctpwire.OptPeerAddrParams, p.Marshal()))
	}

	// SCTP_DELAYED_SACK: delay 0 means SACK at once (freq 1).
	if err := errors.Join(inRange("sack delay", o.SackDelay, -1, math.MaxUint32),
		inRange("sack freq", o.SackFreq, 0, math.MaxUint32)); err != nil {
		e.add("SCTP_DELAYED_SACK", err)
	} else if o.SackDelay >= 0 {
		s := sctpwire.SackInfo{AssocID: libsctp.SCTPAssocID(assoc), SackDelay: uint32(o.SackDelay), SackFrequency: uint32(o.SackFreq)}
		if o.SackDelay == 0 {
			s.SackFrequency = 1
		}
		e.add("SCTP_DELAYED_SACK", setsockopt(fd, sctpwire.OptDelayedSack, sctpwire.MarshalSackInfo(s)))
	}

	// SCTP_MAX_BURST.
	if err := inRange("max burst", o.MaxBurst, 0, math.MaxUint32); err != nil {
		e.add("SCTP_MAX_BURST", err)
	} else if o.MaxBurst > 0 {
		e.add("SCTP_MAX_BURST", setsockopt(fd, sctpwire.OptMaxBurst,
			sctpwire.AssocValue{Assoc: assoc, Value: uint32(o.MaxBurst)}.Marshal()))
	}

	// SCTP_AUTOCLOSE: one-to-many sockets only (a one-to-one socket, a
	// Conn's, has none: EOPNOTSUPP).
	if endpoint && sockType == unix.SOCK_SEQPACKET {
		if err := inRange("autoclose", o.Autoclose, 0, math.MaxInt32); err != nil {
			e.add("SCTP_AUTOCLOSE", err)
		} else {
			e.add("SCTP_AUTOCLOSE", unix.SetsockoptInt(fd, sctpwire.SolSCTP, sctpwire.OptAutoclose, o.Autoclose))
		}
	}

	// SCTP_DEFAULT_SEND_PARAM: unordered flag and time to live of sends
	// without explicit send information (WriteMsg sets both per message).
	if err := inRange("send ttl", o.SendTTL, 0, math.MaxUint32); err != nil {
		e.add("SCTP_DEFAULT_SEND_PARAM", err)
	} else {
		s := sctpwire.SndRcvInfo{AssocID: assoc, TTL: uint32(o.SendTTL)}
		if o.Unordered {
			s.Flags = sctpwire.FlagUnordered
		}
		e.add("SCTP_DEFAULT_SEND_PARAM", setsockopt(fd, sctpwire.OptDefaultSendParam, sctpwire.MarshalSndRcvInfo(s)))
	}

	// Socket buffers: SO_*BUFFORCE (root may exceed net.core.[rw]mem_max),
	// else SO_*BUF.
	if endpoint {
		setBuf := func(name string, force, opt, v int) {
			if err := inRange(name, v, 0, math.MaxInt32/2); err != nil {
				e.add(name, err)
				return
			}
			if v == 0 {
				return
			}
			if unix.SetsockoptInt(fd, unix.SOL_SOCKET, force, v) == nil {
				return
			}
			e.add(name, unix.SetsockoptInt(fd, unix.SOL_SOCKET, opt, v))
		}
		setBuf("SO_RCVBUF", unix.SO_RCVBUFFORCE, unix.SO_RCVBUF, o.RcvBuf)
		setBuf("SO_SNDBUF", unix.SO_SNDBUFFORCE, unix.SO_SNDBUF, o.SndBuf)
	}
	return e.err()
}

// ReadOptions reads fd's options back from the kernel with getsockopt: on a
// one-to-many socket, the endpoint's values for new associations. These are
// the kernel's values, never a configured copy. Buffer sizes are the
// kernel's getsockopt value halved (Linux doubles the size set, for its
// bookkeeping; see socket(7)). HBInterval is 0 if heartbeats are disabled,
// SackDelay 0 (and SackFreq 1) if delayed SACK is. MaxAssocs, not a kernel
// option, is 0.
func ReadOptions(fd int) (Options, error) {
	return readOptions(fd, sctpwire.FutureAssoc)
}

// readOpt is one SCTP socket option as readOptions reads it back into the
// Options' fields.
type readOpt struct {
	name string
	read func(fd int, assoc int32, o *Options) error
}

// sockRead is the readOpt of option opt: getsockopt with the request of
// assoc, parse, and put into Options.
func sockRead[T any](name string, opt int, req func(assoc int32) []byte, parse func([]byte) (T, error), put func(T, *Options)) readOpt {
	return readOpt{name, func(fd int, assoc int32, o *Options) error {
		b, err := getsockopt(fd, opt, req(assoc))
		if err != nil {
			return err
		}
		v, err := parse(b)
		if err == nil {
			put(v, o)
		}
		return err
	}}
}

// readOpts are the SCTP socket options that hold the Options' kernel
// fields, in the order apply sets them (autoclose, buffers and streams
// are read apart: they depend on the socket's type or are not SCTP's).
var readOpts = []readOpt{
	sockRead("SCTP_RTOINFO", sctpwire.OptRTOInfo, func(a int32) []byte { return sctpwire.RTOInfo{Assoc: a}.Marshal() },
		sctpwire.ParseRTOInfo, func(r sctpwire.RTOInfo, o *Options) {
			o.RTOInitial, o.RTOMin, o.RTOMax = int(r.Initial), int(r.Min), int(r.Max)
		}),
	sockRead("SCTP_ASSOCINFO", sctpwire.OptAssocInfo, func(a int32) []byte { return sctpwire.AssocParams{Assoc: a}.Marshal() },
		sctpwire.ParseAssocParams, func(p sctpwire.AssocParams, o *Options) { o.AssocMaxRetrans = int(p.MaxRxt) }),
	sockRead("SCTP_INITMSG", sctpwire.OptInitMsg, func(int32) []byte { return make([]byte, sctpwire.SizeofInitMsg) },
		sctpwire.ParseInitMsg, func(m sctpwire.InitMsg, o *Options) {
			o.OutStreams, o.InStreams = int(m.NumOstreams), int(m.MaxInstreams)
			o.InitMaxAttempts, o.InitMaxTimeout = int(m.MaxAttempts), int(m.MaxInitTimeout)
		}),
	sockRead("SCTP_PEER_ADDR_PARAMS", sctpwire.OptPeerAddrParams, func(a int32) []byte { return sctpwire.PeerAddrParams{Assoc: a}.Marshal() },
		sctpwire.ParsePeerAddrParams, func(p sctpwire.PeerAddrParams, o *Options) {
			o.HBInterval, o.PathMaxRetrans = int(p.HBInterval), int(p.PathMaxRxt)
			if p.Flags&sctpwire.SPPHBDisable != 0 {
				o.HBInterval = 0 // heartbeats disabled
			}
		}),
	sockRead("SCTP_DELAYED_SACK", sctpwire.OptDelayedSack, func(a int32) []byte {
		return sctpwire.MarshalSackInfo(sctpwire.SackInfo{AssocID: libsctp.SCTPAssocID(a)})
	},
		sctpwire.ParseSackInfo, func(s sctpwire.SackInfo, o *Options) {
			o.SackDelay, o.SackFreq = int(s.SackDelay), int(s.SackFrequency)
		}),
	sockRead("SCTP_MAX_BURST", sctpwire.OptMaxBurst, func(a int32) []byte { return sctpwire.AssocValue{Assoc: a}.Marshal() },
		sctpwire.ParseAssocValue, func(v sctpwire.AssocValue, o *Options) { o.MaxBurst = int(v.Value) }),
	sockRead("SCTP_DEFAULT_SEND_PARAM", sctpwire.OptDefaultSendParam, func(a int32) []byte { return sctpwire.MarshalSndRcvInfo(sctpwire.SndRcvInfo{AssocID: a}) },
		sctpwire.ParseSndRcvInfo, func(s sctpwire.SndRcvInfo, o *Options) {
			o.SendTTL, o.Unordered = int(s.TTL), s.Flags&sctpwire.FlagUnordered != 0
		}),
}

func readOptions(fd int, assoc int32) (Options, error) {
	var o Options
	var e optErr
	endpoint := assoc == sctpwire.FutureAssoc

	for _, r := range readOpts {
		e.add(r.name, r.read(fd, assoc, &o))
	}

	if t, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE); err != nil {
		e.add("SO_TYPE", err)
	} else if t == unix.SOCK_SEQPACKET {
		v, err := unix.GetsockoptInt(fd, sctpwire.SolSCTP, sctpwire.OptAutoclose)
		e.add("SCTP_AUTOCLOSE", err)
		o.Autoclose = v
	}

	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
	e.add("SO_RCVBUF", err)
	o.RcvBuf = v / 2
	v, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
	e.add("SO_SNDBUF", err)
	o.SndBuf = v / 2

	if !endpoint {
		// Streams actually negotiated for this association.
		if st, err := status(fd, assoc); err != nil {
			e.add("SCTP_STATUS", err)
		} else {
			o.OutStreams, o.InStreams = int(st.OutStreams), int(st.InStreams)
		}
	}
	return o, e.err()
}

func status(fd int, assoc int32) (sctpwire.Status, error) {
	b, err := getsockopt(fd, sctpwire.OptStatus, sctpwire.Status{Assoc: assoc}.Marshal())
	if err != nil {
		return sctpwire.Status{}, err
	}
	return sctpwire.ParseStatus(b)
}

// String formats o as "name value" pairs: the knobs under their
// network-parameters names (plan.Knobs), then the streams.
func (o Options) String() string {
	var b strings.Builder
	for _, k := range plan.Knobs() {
		fmt.Fprintf(&b, "%s %s ", k.Name(), k.Value(plan.SCTPOptions(o)))
	}
	fmt.Fprintf(&b, "streams-out %d streams-in %d", o.OutStreams, o.InStreams)
	return b.String()
}
