package runtime

import (
	"fmt"
	"net/netip"
)

// parseAddress checks an address argument: an IP or IP:port.
func parseAddress(s string) (netip.Addr, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("address %q: allowed an IP address or IP:port", s)
	}
	return a, nil
}
