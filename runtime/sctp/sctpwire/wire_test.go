package sctpwire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
)

// TestLayouts pins byte offsets of the structures checked against
// linux/sctp.h (see shared/docs/sctp-in-uml.md).
func TestLayouts(t *testing.T) {
	rto := RTOInfo{Assoc: -7, Initial: 3000, Max: 60000, Min: 1000}.Marshal()
	if len(rto) != 16 || ne.Uint32(rto[4:]) != 3000 || ne.Uint32(rto[8:]) != 60000 || ne.Uint32(rto[12:]) != 1000 || int32(ne.Uint32(rto)) != -7 {
		t.Errorf("sctp_rtoinfo layout: % x", rto)
	}
	ap := AssocParams{Assoc: 3, MaxRxt: 10, PeerDests: 2, PeerRwnd: 4, LocalRwnd: 5, CookieLife: 60000}.Marshal()
	if len(ap) != 20 || ne.Uint16(ap[4:]) != 10 || ne.Uint16(ap[6:]) != 2 || ne.Uint32(ap[16:]) != 60000 {
		t.Errorf("sctp_assocparams layout: % x", ap)
	}
	im := MarshalInitMsg(InitMsg{NumOstreams: 32, MaxInstreams: 33, MaxAttempts: 8, MaxInitTimeout: 60000})
	if !bytes.Equal(im, []byte{32, 0, 33, 0, 8, 0, 0x60, 0xea}) && binary.NativeEndian.Uint16([]byte{1, 0}) == 1 {
		t.Errorf("sctp_initmsg layout: % x", im)
	}
	pp := PeerAddrParams{Assoc: 1, HBInterval: 30000, PathMaxRxt: 5, PathMTU: 1500, SackDelay: 200,
		Flags: SPPHBEnable | SPPSackDelayEnable, FlowLabel: 9, DSCP: 46}.Marshal()
	if len(pp) != 156 || ne.Uint32(pp[132:]) != 30000 || ne.Uint16(pp[136:]) != 5 || ne.Uint32(pp[138:]) != 1500 ||
		ne.Uint32(pp[142:]) != 200 || ne.Uint32(pp[146:]) != SPPHBEnable|SPPSackDelayEnable || ne.Uint32(pp[150:]) != 9 || pp[154] != 46 {
		t.Errorf("sctp_paddrparams layout: % x", pp)
	}
	if !bytes.Equal(pp[4:132], make([]byte, 128)) {
		t.Errorf("zero address not zero: % x", pp[4:132])
	}
	sr := MarshalSndRcvInfo(SndRcvInfo{Stream: 1, SSN: 2, Flags: FlagUnordered, PPID: 3, Context: 4, TTL: 5, TSN: 6, CumTSN: 7, AssocID: 8})
	for off, want := range map[int]uint32{8: 3, 12: 4, 16: 5, 20: 6, 24: 7, 28: 8} {
		if ne.Uint32(sr[off:]) != want {
			t.Errorf("sctp_sndrcvinfo @%d = %d, want %d", off, ne.Uint32(sr[off:]), want)
		}
	}
	if ne.Uint16(sr[4:]) != FlagUnordered {
		t.Errorf("sctp_sndrcvinfo flags: % x", sr)
	}
	ri := RcvInfo{Stream: 1, SSN: 2, Flags: 3, PPID: 4, TSN: 5, CumTSN: 6, Context: 7, Assoc: 8}.Marshal()
	if len(ri) != 28 || ne.Uint32(ri[8:]) != 4 || ne.Uint32(ri[24:]) != 8 {
		t.Errorf("sctp_rcvinfo layout: % x", ri)
	}
	ev := Event{Assoc: 0, Type: uint16(AssocChange), On: true}.Marshal()
	if len(ev) != 8 || ne.Uint16(ev[4:]) != 0x8001 || ev[6] != 1 {
		t.Errorf("sctp_event layout: % x", ev)
	}
}

// The structures copied as bytes (the library's and ours of integer
// fields) have the kernel's sizes, so that their bytes are the C layout.
func TestCopiedSizes(t *testing.T) {
	for _, tt := range []struct {
		name      string
		got, want int
	}{
		{"sctp_initmsg", len(MarshalInitMsg(InitMsg{})), SizeofInitMsg},
		{"sctp_sack_info", len(MarshalSackInfo(SackInfo{})), SizeofSackInfo},
		{"sctp_sndrcvinfo", len(MarshalSndRcvInfo(SndRcvInfo{})), SizeofSndRcvInfo},
		{"sctp_sndinfo", len(MarshalSndInfo(SndInfo{})), SizeofSndInfo},
		{"sctp_rtoinfo", len(RTOInfo{}.Marshal()), SizeofRTOInfo},
		{"sctp_assocparams", len(AssocParams{}.Marshal()), SizeofAssocParams},
		{"sctp_assoc_value", len(AssocValue{}.Marshal()), SizeofAssocValue},
		{"sctp_rcvinfo", len(RcvInfo{}.Marshal()), SizeofRcvInfo},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: %d bytes, want %d", tt.name, tt.got, tt.want)
		}
	}
	si := SackInfo{AssocID: 3, SackDelay: 200, SackFrequency: 2}
	if got, err := ParseSackInfo(MarshalSackInfo(si)); err != nil || got != si {
		t.Errorf("SackInfo round trip: %+v, %v", got, err)
	}
	if _, err := ParseSndInfo(make([]byte, SizeofSndInfo-1)); !errors.Is(err, ErrShort) {
		t.Errorf("short sctp_sndinfo: %v", err)
	}
}

func TestRoundTrips(t *testing.T) {
	a4 := netip.MustParseAddrPort("127.0.0.2:5060")
	a6 := netip.MustParseAddrPort("[2001:db8::1]:5061")
	if p, err := ParsePeerAddrParams(PeerAddrParams{Assoc: 9, Addr: a6, HBInterval: 1, PathMaxRxt: 2, SackDelay: 3, Flags: 4}.Marshal()); err != nil ||
		p != (PeerAddrParams{Assoc: 9, Addr: a6, HBInterval: 1, PathMaxRxt: 2, SackDelay: 3, Flags: 4}) {
		t.Errorf("PeerAddrParams round trip: %+v, %v", p, err)
	}
	st := Status{Assoc: 5, State: 4, Rwnd: 100, InStreams: 32, OutStreams: 16, FragPoint: 1400,
		PrimaryAddr: PaddrInfo{Assoc: 5, Addr: a4, State: 2, Cwnd: 3, SRTT: 4, RTO: 1000, MTU: 65535}}
	if got, err := ParseStatus(st.Marshal()); err != nil || got != st {
		t.Errorf("Status round trip: %+v, %v", got, err)
	}
	pi := PaddrInfo{Assoc: 6, Addr: a6, State: PathActive, Cwnd: 4380, SRTT: 2, RTO: 1000, MTU: 1500}
	if got, err := ParsePaddrInfo(pi.Marshal()); err != nil || got != pi {
		t.Errorf("PaddrInfo round trip: %+v, %v", got, err)
	}
	if _, err := ParsePaddrInfo(make([]byte, SizeofPaddrInfo-1)); !errors.Is(err, ErrShort) {
		t.Errorf("short PaddrInfo: %v", err)
	}
	for _, tt := range []struct {
		s    int32
		want string
	}{{PathInactive, "INACTIVE"}, {PathPF, "POTENTIALLY-FAILED"}, {PathActive, "ACTIVE"},
		{PathUnconfirmed, "UNCONFIRMED"}, {PathUnknown, "UNKNOWN"}, {9, "STATE(9)"}} {
		if got := PathStateName(tt.s); got != tt.want {
			t.Errorf("PathStateName(%d) = %s, want %s", tt.s, got, tt.want)
		}
	}
	for _, ap := range []netip.AddrPort{a4, a6, netip.MustParseAddrPort("[fe80::1%3]:1")} {
		b := AppendSockaddr(nil, ap)
		got, n, err := ParseSockaddr(b)
		if err != nil || got != ap || n != len(b) {
			t.Errorf("sockaddr %v: got %v, %d, %v", ap, got, n, err)
		}
	}
	if got, _, _ := ParseSockaddr(AppendSockaddr(nil, netip.MustParseAddrPort("[::ffff:10.0.0.1]:7"))); got != netip.MustParseAddrPort("10.0.0.1:7") {
		t.Errorf("mapped address not unmapped: %v", got)
	}
	addrs := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")}
	packed := AppendSockaddr(AppendSockaddr(nil, netip.AddrPortFrom(addrs[0], 5060)), netip.AddrPortFrom(addrs[1], 5060))
	if len(packed) != 32 {
		t.Fatalf("packed length %d", len(packed))
	}
	hdr := make([]byte, 8)
	ne.PutUint32(hdr[4:], 2)
	got, err := ParseGetAddrs(append(hdr, packed...))
	if err != nil || len(got) != 2 || got[1] != netip.AddrPortFrom(addrs[1], 5060) {
		t.Errorf("ParseGetAddrs: %v, %v", got, err)
	}
}

func TestCmsgs(t *testing.T) {
	ri := RcvInfo{Stream: 3, PPID: 0x2e000000, Assoc: 42, Flags: FlagUnordered}
	oob := AppendCmsg(nil, 0, 99, []byte{1, 2, 3}) // a foreign message first
	oob = AppendCmsg(oob, SolSCTP, CmsgRcvInfo, ri.Marshal())
	got, ok, err := ParseRecvCmsgs(oob)
	if err != nil || !ok || got != ri {
		t.Fatalf("ParseRecvCmsgs = %+v, %v, %v", got, ok, err)
	}
	sr := SndRcvInfo{Stream: 1, AssocID: 7, PPID: 5}
	got, ok, err = ParseRecvCmsgs(SndRcvCmsg(sr))
	if err != nil || !ok || got.Assoc != 7 || got.Stream != 1 || got.PPID != 5 {
		t.Fatalf("ParseRecvCmsgs(SNDRCV) = %+v, %v, %v", got, ok, err)
	}
	if len(SndRcvCmsg(sr)) != CmsgSpace(SizeofSndRcvInfo) {
		t.Errorf("SNDRCV cmsg length %d", len(SndRcvCmsg(sr)))
	}
	if _, ok, err := ParseRecvCmsgs(nil); ok || err != nil {
		t.Errorf("empty oob: %v, %v", ok, err)
	}
	bad := SndRcvCmsg(sr)
	ne.PutUint64(bad, 4096)
	if _, _, err := ParseRecvCmsgs(bad); !errors.Is(err, ErrCmsg) {
		t.Errorf("oversized cmsg length: err = %v", err)
	}
}

func TestParseNotification(t *testing.T) {
	up := AppendAssocChange(nil, 17, CommUp, 0, 32, 16, nil)
	n, err := ParseNotification(up)
	if err != nil || n.Type != AssocChange || n.State != CommUp || n.Assoc != 17 || n.OutStreams != 32 || n.InStreams != 16 {
		t.Fatalf("COMM_UP: %+v, %v", n, err)
	}
	if n.String() != "ASSOC_CHANGE assoc=17 COMM_UP" {
		t.Errorf("String() = %q", n.String())
	}
	addr := netip.MustParseAddrPort("127.0.0.4:40000")
	pc := AppendPeerAddrChange(nil, 3, addr, AddrUnreachable, 5)
	n, err = ParseNotification(pc)
	if err != nil || n.Type != PeerAddrChange || n.Addr != addr || n.State != AddrUnreachable || n.Error != 5 || n.Assoc != 3 {
		t.Fatalf("PEER_ADDR_CHANGE: %+v, %v", n, err)
	}
	sf := AppendSendFailedEvent(nil, 8, 0, SndInfo{SID: 2, PPID: 7, Context: 3, AssocID: 8}, []byte("INVITE sip:x SIP/2.0"))
	n, err = ParseNotification(sf)
	if err != nil || n.Type != SendFailedEvent || n.Assoc != 8 || n.Context != 3 || n.Stream != 2 || n.PPID != 7 ||
		string(n.Info) != "INVITE sip:x SIP/2.0" {
		t.Fatalf("SEND_FAILED_EVENT: %+v, %v", n, err)
	}
	sd := make([]byte, 12)
	ne.PutUint16(sd, uint16(ShutdownEvent))
	ne.PutUint32(sd[4:], 12)
	ne.PutUint32(sd[8:], 99)
	if n, err = ParseNotification(sd); err != nil || n.Type != ShutdownEvent || n.Assoc != 99 {
		t.Fatalf("SHUTDOWN_EVENT: %+v, %v", n, err)
	}
	// Malformed ones.
	for name, b := range map[string][]byte{
		"empty":          nil,
		"short header":   up[:7],
		"length>buffer":  up[:19],
		"length<header":  func() []byte { c := bytes.Clone(up); ne.PutUint32(c[4:], 4); return c }(),
		"short for type": func() []byte { c := bytes.Clone(up[:12]); ne.PutUint32(c[4:], 12); return c }(),
		"bad family":     func() []byte { c := bytes.Clone(pc); ne.PutUint16(c[8:], 77); return c }(),
	} {
		if _, err := ParseNotification(b); !errors.Is(err, ErrNotification) {
			t.Errorf("%s: err = %v, want ErrNotification", name, err)
		}
	}
	unk := make([]byte, 8)
	ne.PutUint16(unk, 0x9999)
	ne.PutUint32(unk[4:], 8)
	if n, err = ParseNotification(unk); err != nil || n.Type != 0x9999 {
		t.Errorf("unknown type: %+v, %v", n, err)
	}
}

// FuzzParseNotification: the notification parser must never panic, and
// whatever it accepts must be consistent with its input.
func FuzzParseNotification(f *testing.F) {
	f.Add(AppendAssocChange(nil, 1, CommUp, 0, 32, 32, nil))
	f.Add(AppendAssocChange(nil, 2, CommLost, 3, 0, 0, []byte{6, 0, 0, 8, 0, 0xc, 0, 4}))
	f.Add(AppendPeerAddrChange(nil, 3, netip.MustParseAddrPort("[2001:db8::2]:5060"), AddrAvailable, 0))
	for typ, lay := range notificationLayout {
		b := make([]byte, lay.minLen)
		ne.PutUint16(b, uint16(typ))
		ne.PutUint32(b[4:], uint32(lay.minLen))
		f.Add(b)
	}
	f.Add(AppendSendFailedEvent(nil, 4, 0, SndInfo{Context: 2}, []byte("MESSAGE")))
	f.Add([]byte{})
	f.Add([]byte{1, 0x80, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := ParseNotification(b)
		if err != nil {
			return
		}
		if len(b) < 8 || int(ne.Uint32(b[4:])) > len(b) {
			t.Fatalf("accepted a truncated notification: % x", b)
		}
		if NotificationType(ne.Uint16(b)) != n.Type {
			t.Fatalf("type %v from % x", n.Type, b)
		}
		_ = n.String()
	})
}

// FuzzParseCmsgs: control message and address list parsing must never panic.
func FuzzParseCmsgs(f *testing.F) {
	f.Add(AppendCmsg(nil, SolSCTP, CmsgRcvInfo, RcvInfo{Assoc: 1}.Marshal()))
	f.Add(SndRcvCmsg(SndRcvInfo{AssocID: 2}))
	f.Add(append(make([]byte, 8), AppendSockaddr(nil, netip.MustParseAddrPort("[::1]:1"))...))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseRecvCmsgs(b)
		ParseGetAddrs(b)
		ParseSockaddr(b)
		ParseStatus(b)
		ParsePeerAddrParams(b)
	})
}
