// Package sctpwire holds the binary layouts of the Linux SCTP socket API
// (RFC 6458 as implemented by linux/sctp.h): socket option structures,
// ancillary data (control messages), socket addresses and notifications.
//
// Where github.com/ishidawataru/sctp declares a structure (sctp_initmsg,
// sctp_sack_info, sctp_sndrcvinfo, sctp_sndinfo) its type is used; the
// structures it lacks are declared here. Those of integer fields are
// copied to and from length-checked buffers; the others (packed, with an
// address or a flag: sctp_paddrparams, sctp_paddrinfo, sctp_status,
// sctp_event, the notifications) are marshalled by hand in native byte
// order. Nothing casts untrusted kernel output in place, so parsing cannot
// panic. The package needs no SCTP socket: its tests and fuzz targets run
// on any host.
package sctpwire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"unsafe"

	libsctp "github.com/ishidawataru/sctp"
)

// ne is the byte order of the kernel's structures (the host's).
var ne = binary.NativeEndian

// SolSCTP is the socket option level and protocol number of SCTP.
const SolSCTP = 132

// Socket options at level SolSCTP (linux/sctp.h).
const (
	OptRTOInfo          = 0
	OptAssocInfo        = 1
	OptInitMsg          = 2
	OptNoDelay          = 3
	OptAutoclose        = 4
	OptPeerAddrParams   = 9
	OptDefaultSendParam = 10
	OptEvents           = 11
	OptStatus           = 14
	OptGetPeerAddrInfo  = 15
	OptDelayedSack      = 16
	OptMaxBurst         = 20
	OptGetAssocNumber   = 28
	OptGetAssocIDList   = 29
	OptRecvRcvInfo      = 32
	OptDefaultSndInfo   = 34
	OptEvent            = 127
	OptGetPeerAddrs     = 108
	OptGetLocalAddrs    = 109
)

// Special association ids of one-to-many sockets.
const (
	FutureAssoc  = 0 // the endpoint: associations created from now on
	CurrentAssoc = 1 // every existing association
	AllAssoc     = 2 // both
)

// Control message types at level SolSCTP.
const (
	CmsgInit    = 0
	CmsgSndRcv  = 1 // struct sctp_sndrcvinfo
	CmsgSndInfo = 2 // struct sctp_sndinfo
	CmsgRcvInfo = 3 // struct sctp_rcvinfo
)

// Flags of sinfo_flags, snd_flags and rcv_flags.
const (
	FlagUnordered     = 0x0001
	FlagAddrOver      = 0x0002
	FlagAbort         = 0x0004
	FlagSackImmediate = 0x0008
	FlagEOF           = 0x0200 // MSG_FIN: graceful shutdown of the association
)

// recvmsg flags.
const (
	MsgNotification = 0x8000
	MsgEOR          = 0x80
)

// Flags of sctp_paddrparams.spp_flags.
const (
	SPPHBEnable         = 1 << 0
	SPPHBDisable        = 1 << 1
	SPPHBDemand         = 1 << 2
	SPPPMTUDEnable      = 1 << 3
	SPPPMTUDDisable     = 1 << 4
	SPPSackDelayEnable  = 1 << 5
	SPPSackDelayDisable = 1 << 6
	SPPHBTimeIsZero     = 1 << 7
)

// Structure sizes.
const (
	SizeofRTOInfo        = 16
	SizeofAssocParams    = 20
	SizeofInitMsg        = 8
	SizeofPeerAddrParams = 156
	SizeofSackInfo       = 12
	SizeofAssocValue     = 8
	SizeofSndRcvInfo     = 32
	SizeofSndInfo        = 16
	SizeofRcvInfo        = 28
	SizeofEvent          = 8
	SizeofSockaddrStore  = 128
	SizeofPaddrInfo      = 152
	SizeofStatus         = 176
	SizeofSockaddrInet4  = 16
	SizeofSockaddrInet6  = 28
)

// ErrShort is returned for buffers shorter than the structure they hold.
var ErrShort = errors.New("sctpwire: buffer too short")

func short(what string, n, want int) error {
	return fmt.Errorf("%w: %s needs %d bytes, got %d", ErrShort, what, want, n)
}

// bytesOf is the memory of *v: for a structure declared with the C layout
// and integer fields only (the library's and most of ours), its C layout.
func bytesOf[T any](v *T) []byte { return unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v)) }

// marshal returns a copy of the C layout of *v.
func marshal[T any](v *T) []byte { return slices.Clone(bytesOf(v)) }

// parse fills a T with the first bytes of b, which must hold one.
func parse[T any](what string, b []byte) (T, error) {
	var v T
	out := bytesOf(&v)
	if len(b) < len(out) {
		return v, short(what, len(b), len(out))
	}
	copy(out, b)
	return v, nil
}

// RTOInfo is struct sctp_rtoinfo (SCTP_RTOINFO), in milliseconds. Note the
// field order of the C structure: initial, max, min.
type RTOInfo struct {
	Assoc   int32
	Initial uint32
	Max     uint32
	Min     uint32
}

// Marshal returns the C layout of r.
func (r RTOInfo) Marshal() []byte { return marshal(&r) }

// ParseRTOInfo parses struct sctp_rtoinfo.
func ParseRTOInfo(b []byte) (RTOInfo, error) { return parse[RTOInfo]("sctp_rtoinfo", b) }

// AssocParams is struct sctp_assocparams (SCTP_ASSOCINFO).
type AssocParams struct {
	Assoc      int32
	MaxRxt     uint16 // association max retransmissions
	PeerDests  uint16 // number of peer addresses (read only)
	PeerRwnd   uint32 // read only
	LocalRwnd  uint32 // read only
	CookieLife uint32 // ms
}

// Marshal returns the C layout of p.
func (p AssocParams) Marshal() []byte { return marshal(&p) }

// ParseAssocParams parses struct sctp_assocparams.
func ParseAssocParams(b []byte) (AssocParams, error) {
	return parse[AssocParams]("sctp_assocparams", b)
}

// InitMsg is struct sctp_initmsg (SCTP_INITMSG): streams offered and
// accepted, INIT attempts and their maximum timeout (ms).
type InitMsg = libsctp.InitMsg

// MarshalInitMsg returns the C layout of m.
func MarshalInitMsg(m InitMsg) []byte { return marshal(&m) }

// ParseInitMsg parses struct sctp_initmsg.
func ParseInitMsg(b []byte) (InitMsg, error) { return parse[InitMsg]("sctp_initmsg", b) }

// PeerAddrParams is struct sctp_paddrparams (SCTP_PEER_ADDR_PARAMS), a packed
// 156-byte structure. A zero Addr means "the endpoint or association", not
// one peer address.
type PeerAddrParams struct {
	Assoc      int32
	Addr       netip.AddrPort // zero: no specific address
	HBInterval uint32         // ms
	PathMaxRxt uint16
	PathMTU    uint32
	SackDelay  uint32 // ms
	Flags      uint32 // SPP* flags
	FlowLabel  uint32
	DSCP       uint8
}

// Marshal returns the C layout of p.
func (p PeerAddrParams) Marshal() []byte {
	b := make([]byte, SizeofPeerAddrParams)
	ne.PutUint32(b[0:], uint32(p.Assoc))
	if p.Addr.IsValid() {
		copy(b[4:4+SizeofSockaddrStore], AppendSockaddr(nil, p.Addr))
	}
	ne.PutUint32(b[132:], p.HBInterval)
	ne.PutUint16(b[136:], p.PathMaxRxt)
	ne.PutUint32(b[138:], p.PathMTU)
	ne.PutUint32(b[142:], p.SackDelay)
	ne.PutUint32(b[146:], p.Flags)
	ne.PutUint32(b[150:], p.FlowLabel)
	b[154] = p.DSCP
	return b
}

// ParsePeerAddrParams parses struct sctp_paddrparams.
func ParsePeerAddrParams(b []byte) (PeerAddrParams, error) {
	if len(b) < SizeofPeerAddrParams {
		return PeerAddrParams{}, short("sctp_paddrparams", len(b), SizeofPeerAddrParams)
	}
	p := PeerAddrParams{
		Assoc:      int32(ne.Uint32(b[0:])),
		HBInterval: ne.Uint32(b[132:]),
		PathMaxRxt: ne.Uint16(b[136:]),
		PathMTU:    ne.Uint32(b[138:]),
		SackDelay:  ne.Uint32(b[142:]),
		Flags:      ne.Uint32(b[146:]),
		FlowLabel:  ne.Uint32(b[150:]),
		DSCP:       b[154],
	}
	p.Addr, _, _ = ParseSockaddr(b[4 : 4+SizeofSockaddrStore])
	return p, nil
}

// SackInfo is struct sctp_sack_info (SCTP_DELAYED_SACK): delay (ms) and
// frequency; frequency 1 disables delayed SACK.
type SackInfo = libsctp.SackTimer

// MarshalSackInfo returns the C layout of s.
func MarshalSackInfo(s SackInfo) []byte { return marshal(&s) }

// ParseSackInfo parses struct sctp_sack_info.
func ParseSackInfo(b []byte) (SackInfo, error) { return parse[SackInfo]("sctp_sack_info", b) }

// AssocValue is struct sctp_assoc_value (SCTP_MAX_BURST and others).
type AssocValue struct {
	Assoc int32
	Value uint32
}

// Marshal returns the C layout of v.
func (v AssocValue) Marshal() []byte { return marshal(&v) }

// ParseAssocValue parses struct sctp_assoc_value.
func ParseAssocValue(b []byte) (AssocValue, error) { return parse[AssocValue]("sctp_assoc_value", b) }

// SndRcvInfo is struct sctp_sndrcvinfo: the SCTP_SNDRCV control message and
// SCTP_DEFAULT_SEND_PARAM (TTL in ms, 0: no limit). PPID is kept exactly as
// the kernel has it (the kernel copies it to the wire without byte-order
// conversion).
type SndRcvInfo = libsctp.SndRcvInfo

// MarshalSndRcvInfo returns the C layout of s.
func MarshalSndRcvInfo(s SndRcvInfo) []byte { return marshal(&s) }

// putSndRcvInfo writes the C layout of s into b.
func putSndRcvInfo(b []byte, s SndRcvInfo) { copy(b, bytesOf(&s)) }

// ParseSndRcvInfo parses struct sctp_sndrcvinfo.
func ParseSndRcvInfo(b []byte) (SndRcvInfo, error) { return parse[SndRcvInfo]("sctp_sndrcvinfo", b) }

// SndInfo is struct sctp_sndinfo (SCTP_SNDINFO, SCTP_DEFAULT_SNDINFO).
type SndInfo = libsctp.SndInfo

// MarshalSndInfo returns the C layout of s.
func MarshalSndInfo(s SndInfo) []byte { return marshal(&s) }

// ParseSndInfo parses struct sctp_sndinfo.
func ParseSndInfo(b []byte) (SndInfo, error) { return parse[SndInfo]("sctp_sndinfo", b) }

// RcvInfo is struct sctp_rcvinfo (the SCTP_RCVINFO control message).
type RcvInfo struct {
	Stream  uint16
	SSN     uint16
	Flags   uint16
	PPID    uint32
	TSN     uint32
	CumTSN  uint32
	Context uint32
	Assoc   int32
}

// Marshal returns the C layout of r.
func (r RcvInfo) Marshal() []byte { return marshal(&r) }

// ParseRcvInfo parses struct sctp_rcvinfo.
func ParseRcvInfo(b []byte) (RcvInfo, error) { return parse[RcvInfo]("sctp_rcvinfo", b) }

// Event is struct sctp_event (SCTP_EVENT): subscribe to (On) or unsubscribe
// from one notification type for an association (FutureAssoc: the endpoint).
type Event struct {
	Assoc int32
	Type  uint16
	On    bool
}

// Marshal returns the C layout of e.
func (e Event) Marshal() []byte {
	b := make([]byte, SizeofEvent)
	ne.PutUint32(b[0:], uint32(e.Assoc))
	ne.PutUint16(b[4:], e.Type)
	if e.On {
		b[6] = 1
	}
	return b
}

// ParseEvent parses struct sctp_event.
func ParseEvent(b []byte) (Event, error) {
	if len(b) < SizeofEvent {
		return Event{}, short("sctp_event", len(b), SizeofEvent)
	}
	return Event{Assoc: int32(ne.Uint32(b[0:])), Type: ne.Uint16(b[4:]), On: b[6] != 0}, nil
}

// PaddrInfo is struct sctp_paddrinfo (packed, 152 bytes).
type PaddrInfo struct {
	Assoc int32
	Addr  netip.AddrPort
	State int32
	Cwnd  uint32
	SRTT  uint32 // ms
	RTO   uint32 // ms
	MTU   uint32
}

// Path states (spinfo_state).
const (
	PathInactive    = 0
	PathPF          = 1 // potentially failed
	PathActive      = 2
	PathUnconfirmed = 3
	PathUnknown     = 0xffff
)

// PathStateName names a PaddrInfo.State.
func PathStateName(s int32) string {
	switch s {
	case PathInactive:
		return "INACTIVE"
	case PathPF:
		return "POTENTIALLY-FAILED"
	case PathActive:
		return "ACTIVE"
	case PathUnconfirmed:
		return "UNCONFIRMED"
	case PathUnknown:
		return "UNKNOWN"
	}
	return fmt.Sprintf("STATE(%d)", s)
}

// Marshal returns the C layout of p (assoc and address are the input of
// getsockopt SCTP_GET_PEER_ADDR_INFO).
func (p PaddrInfo) Marshal() []byte {
	b := make([]byte, SizeofPaddrInfo)
	p.put(b)
	return b
}

func (p PaddrInfo) put(b []byte) {
	ne.PutUint32(b[0:], uint32(p.Assoc))
	if p.Addr.IsValid() {
		copy(b[4:4+SizeofSockaddrStore], AppendSockaddr(nil, p.Addr))
	}
	ne.PutUint32(b[132:], uint32(p.State))
	ne.PutUint32(b[136:], p.Cwnd)
	ne.PutUint32(b[140:], p.SRTT)
	ne.PutUint32(b[144:], p.RTO)
	ne.PutUint32(b[148:], p.MTU)
}

// ParsePaddrInfo parses struct sctp_paddrinfo.
func ParsePaddrInfo(b []byte) (PaddrInfo, error) {
	if len(b) < SizeofPaddrInfo {
		return PaddrInfo{}, short("sctp_paddrinfo", len(b), SizeofPaddrInfo)
	}
	p := PaddrInfo{
		Assoc: int32(ne.Uint32(b[0:])),
		State: int32(ne.Uint32(b[132:])),
		Cwnd:  ne.Uint32(b[136:]),
		SRTT:  ne.Uint32(b[140:]),
		RTO:   ne.Uint32(b[144:]),
		MTU:   ne.Uint32(b[148:]),
	}
	p.Addr, _, _ = ParseSockaddr(b[4 : 4+SizeofSockaddrStore])
	return p, nil
}

// Status is struct sctp_status (SCTP_STATUS).
type Status struct {
	Assoc       int32
	State       int32
	Rwnd        uint32
	UnackData   uint16
	PendData    uint16
	InStreams   uint16
	OutStreams  uint16
	FragPoint   uint32
	PrimaryAddr PaddrInfo
}

// Association states (sstat_state).
var assocStates = []string{"EMPTY", "CLOSED", "COOKIE_WAIT", "COOKIE_ECHOED", "ESTABLISHED",
	"SHUTDOWN_PENDING", "SHUTDOWN_SENT", "SHUTDOWN_RECEIVED", "SHUTDOWN_ACK_SENT"}

// StateName names an association state of Status.State.
func StateName(s int32) string {
	if s >= 0 && int(s) < len(assocStates) {
		return assocStates[s]
	}
	return fmt.Sprintf("STATE(%d)", s)
}

// Marshal returns the C layout of s (the assoc id is the input of
// getsockopt SCTP_STATUS).
func (s Status) Marshal() []byte {
	b := make([]byte, SizeofStatus)
	ne.PutUint32(b[0:], uint32(s.Assoc))
	ne.PutUint32(b[4:], uint32(s.State))
	ne.PutUint32(b[8:], s.Rwnd)
	ne.PutUint16(b[12:], s.UnackData)
	ne.PutUint16(b[14:], s.PendData)
	ne.PutUint16(b[16:], s.InStreams)
	ne.PutUint16(b[18:], s.OutStreams)
	ne.PutUint32(b[20:], s.FragPoint)
	s.PrimaryAddr.put(b[24:])
	return b
}

// ParseStatus parses struct sctp_status.
func ParseStatus(b []byte) (Status, error) {
	if len(b) < SizeofStatus {
		return Status{}, short("sctp_status", len(b), SizeofStatus)
	}
	s := Status{
		Assoc:      int32(ne.Uint32(b[0:])),
		State:      int32(ne.Uint32(b[4:])),
		Rwnd:       ne.Uint32(b[8:]),
		UnackData:  ne.Uint16(b[12:]),
		PendData:   ne.Uint16(b[14:]),
		InStreams:  ne.Uint16(b[16:]),
		OutStreams: ne.Uint16(b[18:]),
		FragPoint:  ne.Uint32(b[20:]),
	}
	s.PrimaryAddr, _ = ParsePaddrInfo(b[24:])
	return s, nil
}
