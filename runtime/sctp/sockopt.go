package sctp

import (
	"net/netip"
	"runtime"
	"unsafe"

	"github.com/acli-project/acli/runtime/sctp/sctpwire"
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

// bindx adds addrs, all on port, to the socket's local addresses
// (sctp_bindx with SCTP_BINDX_ADD_ADDR; the first one binds the socket).
func bindx(fd int, addrs []netip.Addr, port uint16) error {
	return setsockopt(fd, sctpwire.OptBindxAdd, sctpwire.PackAddrs(addrs, port))
}

// connectx starts an association to addrs on port (sctp_connectx through
// SCTP_SOCKOPT_CONNECTX3) and returns its id. On a non-blocking socket the
// error is EINPROGRESS, with the id already valid.
func connectx(fd int, addrs []netip.Addr, port uint16) (int32, error) {
	packed := sctpwire.PackAddrs(addrs, port)
	// struct sctp_getaddrs_old {sctp_assoc_t assoc_id; int addr_num; struct sockaddr *addrs;}
	// addr_num is the size in bytes of the packed addresses.
	var param struct {
		assoc   int32
		addrNum int32
		addrs   *byte
	}
	var pin runtime.Pinner
	pin.Pin(&packed[0])
	defer pin.Unpin()
	param.addrNum = int32(len(packed))
	param.addrs = &packed[0]
	l := uint32(unsafe.Sizeof(param))
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), sctpwire.SolSCTP, sctpwire.OptConnectx3,
		uintptr(unsafe.Pointer(&param)), uintptr(unsafe.Pointer(&l)), 0)
	runtime.KeepAlive(packed)
	if e != 0 {
		return param.assoc, e
	}
	return param.assoc, nil
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
