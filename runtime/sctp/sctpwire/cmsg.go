package sctpwire

import (
	"errors"
	"fmt"
	"strconv"
)

// Linux struct cmsghdr: {size_t len; int level; int type}, aligned to size_t.
const (
	wordSize   = strconv.IntSize / 8
	cmsgHdrLen = wordSize + 8
)

func cmsgAlign(n int) int { return (n + wordSize - 1) &^ (wordSize - 1) }

// CmsgSpace is CMSG_SPACE: the room one control message with n data bytes
// takes.
func CmsgSpace(n int) int { return cmsgAlign(cmsgHdrLen) + cmsgAlign(n) }

// Cmsg is one control message.
type Cmsg struct {
	Level int32
	Type  int32
	Data  []byte
}

// AppendCmsg appends a control message to b.
func AppendCmsg(b []byte, level, typ int32, data []byte) []byte {
	m := make([]byte, CmsgSpace(len(data)))
	if wordSize == 8 {
		ne.PutUint64(m[0:], uint64(cmsgHdrLen+len(data)))
	} else {
		ne.PutUint32(m[0:], uint32(cmsgHdrLen+len(data)))
	}
	ne.PutUint32(m[wordSize:], uint32(level))
	ne.PutUint32(m[wordSize+4:], uint32(typ))
	copy(m[cmsgAlign(cmsgHdrLen):], data)
	return append(b, m...)
}

// SndRcvCmsg returns an SCTP_SNDRCV control message carrying s.
func SndRcvCmsg(s SndRcvInfo) []byte {
	return AppendCmsg(nil, SolSCTP, CmsgSndRcv, s.Marshal())
}

// ErrCmsg is returned for a malformed control message buffer.
var ErrCmsg = errors.New("sctpwire: malformed control message")

// ParseCmsgs splits a control message buffer (recvmsg's oob) into messages.
// Data slices alias b.
func ParseCmsgs(b []byte) ([]Cmsg, error) {
	var out []Cmsg
	for len(b) >= cmsgHdrLen {
		var l uint64
		if wordSize == 8 {
			l = ne.Uint64(b)
		} else {
			l = uint64(ne.Uint32(b))
		}
		if l < cmsgHdrLen || l > uint64(len(b)) {
			return out, fmt.Errorf("%w: length %d with %d bytes left", ErrCmsg, l, len(b))
		}
		out = append(out, Cmsg{
			Level: int32(ne.Uint32(b[wordSize:])),
			Type:  int32(ne.Uint32(b[wordSize+4:])),
			Data:  b[cmsgAlign(cmsgHdrLen):l],
		})
		next := cmsgAlign(int(l))
		if next >= len(b) {
			break
		}
		b = b[next:]
	}
	return out, nil
}

// ParseRecvCmsgs finds the receive information of a data message in a
// control message buffer: an SCTP_RCVINFO or, failing that, an SCTP_SNDRCV
// message. ok is false if there is neither.
func ParseRecvCmsgs(oob []byte) (info RcvInfo, ok bool, err error) {
	msgs, err := ParseCmsgs(oob)
	for _, m := range msgs {
		if m.Level != SolSCTP {
			continue
		}
		switch m.Type {
		case CmsgRcvInfo:
			r, perr := ParseRcvInfo(m.Data)
			if perr != nil {
				return RcvInfo{}, false, perr
			}
			return r, true, err
		case CmsgSndRcv:
			s, perr := ParseSndRcvInfo(m.Data)
			if perr != nil {
				return RcvInfo{}, false, perr
			}
			info, ok = RcvInfo{Stream: s.Stream, SSN: s.SSN, Flags: s.Flags, PPID: s.PPID,
				TSN: s.TSN, CumTSN: s.CumTSN, Context: s.Context, Assoc: s.Assoc}, true
		}
	}
	return info, ok, err
}
