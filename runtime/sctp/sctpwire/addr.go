package sctpwire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
)

// Address families (Linux).
const (
	AFInet  = 2
	AFInet6 = 10
)

// ErrFamily is returned for a socket address of an unknown family.
var ErrFamily = errors.New("sctpwire: unknown address family")

// AppendSockaddr appends ap as a struct sockaddr_in (IPv4, 16 bytes) or
// struct sockaddr_in6 (IPv6, 28 bytes). IPv4-mapped IPv6 addresses are
// written as IPv4.
func AppendSockaddr(b []byte, ap netip.AddrPort) []byte {
	a := ap.Addr().Unmap()
	if a.Is4() {
		var s [SizeofSockaddrInet4]byte
		ne.PutUint16(s[0:], AFInet)
		binary.BigEndian.PutUint16(s[2:], ap.Port())
		ip := a.As4()
		copy(s[4:8], ip[:])
		return append(b, s[:]...)
	}
	var s [SizeofSockaddrInet6]byte
	ne.PutUint16(s[0:], AFInet6)
	binary.BigEndian.PutUint16(s[2:], ap.Port())
	ip := a.As16()
	copy(s[8:24], ip[:])
	if z := a.Zone(); z != "" {
		if id, err := strconv.ParseUint(z, 10, 32); err == nil {
			ne.PutUint32(s[24:], uint32(id))
		}
	}
	return append(b, s[:]...)
}

// ParseSockaddr parses the struct sockaddr_in or sockaddr_in6 at the start
// of b and returns it with its size. A buffer whose family is 0 (AF_UNSPEC)
// is "no address": the zero AddrPort, 0 and nil.
func ParseSockaddr(b []byte) (netip.AddrPort, int, error) {
	if len(b) < 2 {
		return netip.AddrPort{}, 0, short("sockaddr", len(b), 2)
	}
	switch fam := ne.Uint16(b); fam {
	case 0:
		return netip.AddrPort{}, 0, nil
	case AFInet:
		if len(b) < SizeofSockaddrInet4 {
			return netip.AddrPort{}, 0, short("sockaddr_in", len(b), SizeofSockaddrInet4)
		}
		a := netip.AddrFrom4([4]byte(b[4:8]))
		return netip.AddrPortFrom(a, binary.BigEndian.Uint16(b[2:])), SizeofSockaddrInet4, nil
	case AFInet6:
		if len(b) < SizeofSockaddrInet6 {
			return netip.AddrPort{}, 0, short("sockaddr_in6", len(b), SizeofSockaddrInet6)
		}
		a := netip.AddrFrom16([16]byte(b[8:24]))
		if id := ne.Uint32(b[24:]); id != 0 {
			a = a.WithZone(strconv.FormatUint(uint64(id), 10))
		}
		return netip.AddrPortFrom(a, binary.BigEndian.Uint16(b[2:])), SizeofSockaddrInet6, nil
	default:
		return netip.AddrPort{}, 0, fmt.Errorf("%w %d", ErrFamily, fam)
	}
}

// ParseAddrs parses up to n packed socket addresses (the output of
// SCTP_GET_PEER_ADDRS and SCTP_GET_LOCAL_ADDRS after the count).
func ParseAddrs(b []byte, n int) ([]netip.AddrPort, error) {
	var out []netip.AddrPort
	for i := 0; i < n && len(b) > 0; i++ {
		ap, size, err := ParseSockaddr(b)
		if err != nil {
			return out, err
		}
		if size == 0 {
			return out, fmt.Errorf("%w 0 in an address list", ErrFamily)
		}
		out = append(out, ap)
		b = b[size:]
	}
	return out, nil
}

// ParseGetAddrs parses the output of SCTP_GET_PEER_ADDRS or
// SCTP_GET_LOCAL_ADDRS: struct sctp_getaddrs {assoc; addr_num; addrs[]}.
func ParseGetAddrs(b []byte) ([]netip.AddrPort, error) {
	if len(b) < 8 {
		return nil, short("sctp_getaddrs", len(b), 8)
	}
	n := ne.Uint32(b[4:])
	if n > uint32(len(b)) { // every address takes at least 16 bytes
		return nil, fmt.Errorf("sctpwire: sctp_getaddrs claims %d addresses in %d bytes", n, len(b))
	}
	return ParseAddrs(b[8:], int(n))
}
