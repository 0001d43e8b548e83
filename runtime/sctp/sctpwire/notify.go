package sctpwire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// NotificationType is sn_type, the type of an SCTP notification.
type NotificationType uint16

// Notification types (enum sctp_sn_type).
const (
	DataIOEvent          NotificationType = 1<<15 + iota // not a notification: SCTP_EVENT's name for SCTP_RCVINFO
	AssocChange                                          // association up, down, restarted
	PeerAddrChange                                       // a peer address changed state
	SendFailed                                           // old-style send failure (struct sctp_send_failed)
	RemoteError                                          // the peer sent an ERROR chunk
	ShutdownEvent                                        // the peer sent SHUTDOWN
	PartialDeliveryEvent                                 // partial delivery aborted
	AdaptationIndication                                 // peer's adaptation layer indication
	AuthenticationEvent                                  // SCTP-AUTH key event
	SenderDryEvent                                       // nothing left to send
	StreamResetEvent                                     // streams were reset
	AssocResetEvent                                      // association was reset
	StreamChangeEvent                                    // number of streams changed
	SendFailedEvent                                      // send failure (struct sctp_send_failed_event)
)

var typeNames = []string{"DATA_IO_EVENT", "ASSOC_CHANGE", "PEER_ADDR_CHANGE", "SEND_FAILED",
	"REMOTE_ERROR", "SHUTDOWN_EVENT", "PARTIAL_DELIVERY_EVENT", "ADAPTATION_INDICATION",
	"AUTHENTICATION_EVENT", "SENDER_DRY_EVENT", "STREAM_RESET_EVENT", "ASSOC_RESET_EVENT",
	"STREAM_CHANGE_EVENT", "SEND_FAILED_EVENT"}

func (t NotificationType) String() string {
	if i := int(t) - int(DataIOEvent); i >= 0 && i < len(typeNames) {
		return typeNames[i]
	}
	return fmt.Sprintf("NOTIFICATION(%#x)", uint16(t))
}

// States of an ASSOC_CHANGE notification (sac_state).
const (
	CommUp       = 0
	CommLost     = 1
	Restart      = 2
	ShutdownComp = 3
	CantStrAssoc = 4
)

var assocChangeNames = []string{"COMM_UP", "COMM_LOST", "RESTART", "SHUTDOWN_COMP", "CANT_STR_ASSOC"}

// States of a PEER_ADDR_CHANGE notification (spc_state).
const (
	AddrAvailable         = 0
	AddrUnreachable       = 1
	AddrRemoved           = 2
	AddrAdded             = 3
	AddrMadePrim          = 4
	AddrConfirmed         = 5
	AddrPotentiallyFailed = 6
)

var addrChangeNames = []string{"ADDR_AVAILABLE", "ADDR_UNREACHABLE", "ADDR_REMOVED", "ADDR_ADDED",
	"ADDR_MADE_PRIM", "ADDR_CONFIRMED", "ADDR_POTENTIALLY_FAILED"}

// Notification is a parsed SCTP notification: the fields its type has, the
// others zero.
type Notification struct {
	Type  NotificationType
	Flags uint16
	Assoc int32 // association id (every type but unknown ones)

	// ASSOC_CHANGE: State is sac_state, Error sac_error; streams negotiated.
	// PEER_ADDR_CHANGE: State is spc_state, Error spc_error, Addr the address.
	// REMOTE_ERROR: Error is the cause code. SEND_FAILED(_EVENT): Error is
	// the error, Stream/PPID/Context those the failed message was sent
	// with (Context is the sender's own tag: sinfo_context/snd_context).
	State      uint32
	Error      uint32
	OutStreams uint16
	InStreams  uint16
	Addr       netip.AddrPort
	Stream     uint16
	PPID       uint32
	Context    uint32

	// Info is the variable part (sac_info, sre_data, ssf_data), aliasing
	// the parsed buffer.
	Info []byte
}

// StateName names n.State for ASSOC_CHANGE and PEER_ADDR_CHANGE.
func (n Notification) StateName() string {
	var names []string
	switch n.Type {
	case AssocChange:
		names = assocChangeNames
	case PeerAddrChange:
		names = addrChangeNames
	default:
		return ""
	}
	if int(n.State) < len(names) {
		return names[n.State]
	}
	return fmt.Sprintf("STATE(%d)", n.State)
}

func (n Notification) String() string {
	s := fmt.Sprintf("%v assoc=%d", n.Type, n.Assoc)
	if st := n.StateName(); st != "" {
		s += " " + st
	}
	if n.Error != 0 {
		s += fmt.Sprintf(" error=%d", n.Error)
	}
	if n.Addr.IsValid() {
		s += " addr=" + n.Addr.String()
	}
	return s
}

// ErrNotification is returned for a malformed notification.
var ErrNotification = errors.New("sctpwire: malformed notification")

// minLen is the size of the fixed part of each notification type, and
// assocAt where its association id is.
var notificationLayout = map[NotificationType]struct{ minLen, assocAt int }{
	AssocChange:          {20, 16},
	PeerAddrChange:       {148, 144},
	SendFailed:           {48, 44},
	RemoteError:          {16, 12},
	ShutdownEvent:        {12, 8},
	PartialDeliveryEvent: {16, 12},
	AdaptationIndication: {16, 12},
	AuthenticationEvent:  {20, 16},
	SenderDryEvent:       {12, 8},
	StreamResetEvent:     {12, 8},
	AssocResetEvent:      {20, 8},
	StreamChangeEvent:    {16, 8},
	SendFailedEvent:      {32, 28},
}

// ParseNotification parses a notification (a message that recvmsg flagged
// MSG_NOTIFICATION). It never panics: a buffer shorter than its header, a
// length field that disagrees with the buffer, or a known type shorter than
// its structure is an error. Unknown types parse to their header.
func ParseNotification(b []byte) (Notification, error) {
	if len(b) < 8 {
		return Notification{}, fmt.Errorf("%w: %d bytes, header needs 8", ErrNotification, len(b))
	}
	n := Notification{Type: NotificationType(ne.Uint16(b[0:])), Flags: ne.Uint16(b[2:])}
	length := ne.Uint32(b[4:])
	if length < 8 || uint64(length) > uint64(len(b)) {
		return n, fmt.Errorf("%w: %v length %d in a %d-byte buffer", ErrNotification, n.Type, length, len(b))
	}
	b = b[:length]
	lay, known := notificationLayout[n.Type]
	if !known {
		return n, nil
	}
	if len(b) < lay.minLen {
		return n, fmt.Errorf("%w: %v of %d bytes, needs %d", ErrNotification, n.Type, len(b), lay.minLen)
	}
	n.Assoc = int32(ne.Uint32(b[lay.assocAt:]))
	switch n.Type {
	case AssocChange:
		n.State = uint32(ne.Uint16(b[8:]))
		n.Error = uint32(ne.Uint16(b[10:]))
		n.OutStreams = ne.Uint16(b[12:])
		n.InStreams = ne.Uint16(b[14:])
		n.Info = b[20:]
	case PeerAddrChange:
		ap, _, err := ParseSockaddr(b[8 : 8+SizeofSockaddrStore])
		if err != nil {
			return n, fmt.Errorf("%w: %v address: %v", ErrNotification, n.Type, err)
		}
		n.Addr = ap
		n.State = ne.Uint32(b[136:])
		n.Error = ne.Uint32(b[140:])
	case RemoteError:
		n.Error = uint32(binary.BigEndian.Uint16(b[8:])) // sre_error is __be16
		n.Info = b[16:]
	case SendFailed:
		n.Error = ne.Uint32(b[8:])
		si, _ := ParseSndRcvInfo(b[12:44])
		n.Stream, n.PPID, n.Context = si.Stream, si.PPID, si.Context
		n.Info = b[48:]
	case SendFailedEvent:
		n.Error = ne.Uint32(b[8:])
		si, _ := ParseSndInfo(b[12:28])
		n.Stream, n.PPID, n.Context = si.SID, si.PPID, si.Context
		n.Info = b[32:]
	case StreamChangeEvent:
		n.InStreams = ne.Uint16(b[12:])
		n.OutStreams = ne.Uint16(b[14:])
	}
	return n, nil
}

// AppendAssocChange appends an ASSOC_CHANGE notification as the kernel
// writes it (for tests and fuzz corpora).
func AppendAssocChange(b []byte, assoc int32, state, errCode, out, in uint16, info []byte) []byte {
	m := make([]byte, 20, 20+len(info))
	ne.PutUint16(m[0:], uint16(AssocChange))
	ne.PutUint32(m[4:], uint32(20+len(info)))
	ne.PutUint16(m[8:], state)
	ne.PutUint16(m[10:], errCode)
	ne.PutUint16(m[12:], out)
	ne.PutUint16(m[14:], in)
	ne.PutUint32(m[16:], uint32(assoc))
	return append(b, append(m, info...)...)
}

// AppendSendFailedEvent appends an SCTP_SEND_FAILED_EVENT notification
// as the kernel writes it, data being the unsent message (for tests and
// fuzz corpora).
func AppendSendFailedEvent(b []byte, assoc int32, errCode uint32, info SndInfo, data []byte) []byte {
	m := make([]byte, 32, 32+len(data))
	ne.PutUint16(m[0:], uint16(SendFailedEvent))
	ne.PutUint32(m[4:], uint32(32+len(data)))
	ne.PutUint32(m[8:], errCode)
	copy(m[12:28], MarshalSndInfo(info))
	ne.PutUint32(m[28:], uint32(assoc))
	return append(b, append(m, data...)...)
}

// AppendPeerAddrChange appends a PEER_ADDR_CHANGE notification as the kernel
// writes it (for tests and fuzz corpora).
func AppendPeerAddrChange(b []byte, assoc int32, addr netip.AddrPort, state, errCode uint32) []byte {
	m := make([]byte, 148)
	ne.PutUint16(m[0:], uint16(PeerAddrChange))
	ne.PutUint32(m[4:], 148)
	copy(m[8:8+SizeofSockaddrStore], AppendSockaddr(nil, addr))
	ne.PutUint32(m[136:], state)
	ne.PutUint32(m[140:], errCode)
	ne.PutUint32(m[144:], uint32(assoc))
	return append(b, m...)
}
