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
	putCmsgHdr(m, level, typ, len(data))
	copy(m[cmsgAlign(cmsgHdrLen):], data)
	return append(b, m...)
}

// ErrCmsg is returned for a malformed control message buffer.
var ErrCmsg = errors.New("sctpwire: malformed control message")

// SndRcvCmsgSpace is the length of an SCTP_SNDRCV control message.
var SndRcvCmsgSpace = CmsgSpace(SizeofSndRcvInfo)

// SndRcvCmsg returns an SCTP_SNDRCV control message carrying s.
func SndRcvCmsg(s SndRcvInfo) []byte {
	b := make([]byte, SndRcvCmsgSpace)
	PutSndRcvCmsg(b, s)
	return b
}

// PutSndRcvCmsg writes the SCTP_SNDRCV control message carrying s into b,
// which must hold SndRcvCmsgSpace bytes, and returns its length: the
// allocation-free SndRcvCmsg.
func PutSndRcvCmsg(b []byte, s SndRcvInfo) int {
	m := b[:SndRcvCmsgSpace]
	clear(m)
	putCmsgHdr(m, SolSCTP, CmsgSndRcv, SizeofSndRcvInfo)
	putSndRcvInfo(m[cmsgAlign(cmsgHdrLen):], s)
	return len(m)
}

func putCmsgHdr(m []byte, level, typ int32, n int) {
	if wordSize == 8 {
		ne.PutUint64(m[0:], uint64(cmsgHdrLen+n))
	} else {
		ne.PutUint32(m[0:], uint32(cmsgHdrLen+n))
	}
	ne.PutUint32(m[wordSize:], uint32(level))
	ne.PutUint32(m[wordSize+4:], uint32(typ))
}

// ParseCmsgs splits a control message buffer (recvmsg's oob) into messages.
// Data slices alias b.
func ParseCmsgs(b []byte) ([]Cmsg, error) {
	var out []Cmsg
	err := eachCmsg(b, func(m Cmsg) bool {
		out = append(out, m)
		return true
	})
	return out, err
}

// eachCmsg calls f with each control message of b until f returns false
// (the rest is still checked for structure), and returns the error of the
// first malformed one.
func eachCmsg(b []byte, f func(Cmsg) bool) error {
	more := true
	for len(b) >= cmsgHdrLen {
		var l uint64
		if wordSize == 8 {
			l = ne.Uint64(b)
		} else {
			l = uint64(ne.Uint32(b))
		}
		if l < cmsgHdrLen || l > uint64(len(b)) {
			return fmt.Errorf("%w: length %d with %d bytes left", ErrCmsg, l, len(b))
		}
		if more {
			more = f(Cmsg{
				Level: int32(ne.Uint32(b[wordSize:])),
				Type:  int32(ne.Uint32(b[wordSize+4:])),
				Data:  b[cmsgAlign(cmsgHdrLen):l],
			})
		}
		next := cmsgAlign(int(l))
		if next >= len(b) {
			break
		}
		b = b[next:]
	}
	return nil
}

// ParseRecvCmsgs finds the receive information of a data message in a
// control message buffer: an SCTP_RCVINFO or, failing that, an SCTP_SNDRCV
// message. ok is false if there is neither. It does not allocate.
func ParseRecvCmsgs(oob []byte) (info RcvInfo, ok bool, err error) {
	var perr error
	err = eachCmsg(oob, func(m Cmsg) bool {
		if m.Level != SolSCTP {
			return true
		}
		switch m.Type {
		case CmsgRcvInfo:
			r, e := ParseRcvInfo(m.Data)
			if e != nil {
				perr = e
				return false
			}
			info, ok = r, true
			return false
		case CmsgSndRcv:
			s, e := ParseSndRcvInfo(m.Data)
			if e != nil {
				perr = e
				return false
			}
			info, ok = RcvInfo{Stream: s.Stream, SSN: s.SSN, Flags: s.Flags, PPID: s.PPID,
				TSN: s.TSN, CumTSN: s.CumTSN, Context: s.Context, Assoc: s.AssocID}, true
		}
		return true
	})
	if perr != nil {
		return RcvInfo{}, false, perr
	}
	return info, ok, err
}
