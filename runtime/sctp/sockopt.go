package sctp

import (
	"net"
	"net/netip"
	"strconv"
	"unsafe"

	"github.com/acli-project/acli/runtime/sctp/sctpwire"
	libsctp "github.com/ishidawataru/sctp"
	"golang.org/x/sys/unix"
)

// setsockopt sets the SCTP option opt to the bytes of b.
func setsockopt(fd, opt int, b []byte) error {
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	_, _, e := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), sctpwire.SolSCTP, uintptr(opt),
		uintptr(p), uintptr(len(b)), 0)
	if e != 0 {
		return e
	}
	return nil
}

// getsockopt reads the SCTP option opt; b holds the input (association id)
// and receives the output, which is returned trimmed to the kernel's length.
func getsockopt(fd, opt int, b []byte) ([]byte, error) {
	l := uint32(len(b))
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), sctpwire.SolSCTP, uintptr(opt),
		uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return nil, e
	}
	return b[:min(int(l), len(b))], nil
}

// sctpAddr is addrs, all on port, as the library's multi-homed address
// set (an IPv6 zone as the interface name it wants).
func sctpAddr(addrs []netip.Addr, port int) *libsctp.SCTPAddr {
	a := &libsctp.SCTPAddr{Port: port, IPAddrs: make([]net.IPAddr, len(addrs))}
	for i, ip := range addrs {
		zone := ip.Zone()
		if n, err := strconv.Atoi(zone); err == nil {
			if ifi, err := net.InterfaceByIndex(n); err == nil {
				zone = ifi.Name
			}
		}
		a.IPAddrs[i] = net.IPAddr{IP: ip.AsSlice(), Zone: zone}
	}
	return a
}

// bindx adds addrs, all on port, to the socket's local addresses
// (sctp_bindx with SCTP_BINDX_ADD_ADDR; the first one binds the socket).
func bindx(fd int, addrs []netip.Addr, port int) error {
	return libsctp.SCTPBind(fd, sctpAddr(addrs, port), libsctp.SCTP_BINDX_ADD_ADDR)
}

// getAddrs reads the peer (opt OptGetPeerAddrs) or local (OptGetLocalAddrs)
// addresses of an association (0: the endpoint, for local addresses).
func getAddrs(fd, opt int, assoc int32) ([]netip.AddrPort, error) {
	b := make([]byte, 8+64*sctpwire.SizeofSockaddrInet6)
	copy(b, sctpwire.AssocValue{Assoc: assoc}.Marshal()[:4]) // sctp_getaddrs.assoc_id
	if _, err := getsockopt(fd, opt, b); err != nil {
		return nil, err
	}
	// Parse the whole buffer, not the returned length: for local addresses
	// the kernel's optlen leaves out the 8-byte header (a kept quirk).
	return sctpwire.ParseGetAddrs(b)
}
