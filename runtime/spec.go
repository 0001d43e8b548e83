package runtime

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/runtime/sctp"
)

// Spec is one listener the configuration asks for: a sip-port of an
// enabled sip-interface.
type Spec struct {
	Key       string
	Transport string       // UDP, TCP, SCTP (TLS is refused)
	Addrs     []netip.Addr // address first, then multi-homed-addrs as configured
	Port      int
	Interface string // realm-id of the sip-interface

	SCTP      sctp.Options // SCTP: from network-parameters
	Tracking  bool         // sctp-assoc-tracking
	Reuse     bool         // sctp-assoc-reuse
	Keepalive Keepalive    // TCP: keepalive of accepted connections
	RcvBuf    int          // UDP: network-parameters udp-socket-rcvbuf
}

// Keepalive is the TCP keepalive of a listener's connections.
type Keepalive struct {
	Enable   bool
	Idle     time.Duration
	Interval time.Duration
	Count    int
}

// MakeKey is a listener's identity: transport, the sorted address set and
// the port, e.g. "UDP 127.0.0.1:5060" or "SCTP {127.0.0.1,127.0.0.2}:5060".
// Two sip-ports with one key would be one socket.
func MakeKey(transport string, addrs []netip.Addr, port int) string {
	s := slices.Clone(addrs)
	slices.SortFunc(s, func(a, b netip.Addr) int { return a.Compare(b) })
	s = slices.Compact(s)
	p := strconv.Itoa(port)
	if len(s) == 1 {
		return transport + " " + netip.AddrPortFrom(s[0], uint16(port)).String()
	}
	parts := make([]string, len(s))
	for i, a := range s {
		parts[i] = a.String()
		if a.Is6() {
			parts[i] = "[" + parts[i] + "]"
		}
	}
	return transport + " {" + strings.Join(parts, ",") + "}:" + p
}

// PortSpec is one configured sip-port, valid or not.
type PortSpec struct {
	Interface  string
	Transport  string
	Address    string
	MultiHomed []string
	Port       int
	Key        string // "" when the sip-port is invalid
	Err        error  // why the sip-port cannot listen, or nil
}

// Desired derives the listeners of cfg: one per sip-port of every enabled
// sip-interface. ports lists every sip-port (of enabled interfaces) with
// its key or error; err joins the errors of all invalid sip-ports.
func Desired(cfg *model.Config) (specs []Spec, ports []PortSpec, err error) {
	np := cfg.NetworkParameters()
	opts, optErr := SCTPOptions(np)
	ka := keepaliveOf(np)
	seen := map[string]string{} // key → the sip-interface that has it
	var errs []error
	for _, si := range cfg.List(model.SipInterface.Name) {
		if si.Str("state") != "enabled" {
			continue
		}
		name := si.Str("realm-id")
		for _, sp := range si.SubsOf(model.SipPort) {
			ps := PortSpec{Interface: name, Transport: sp.Str("transport-protocol"), Address: sp.Str("address"),
				MultiHomed: sp.Get("multi-homed-addrs"), Port: int(sp.Int("port"))}
			spec, err := portSpec(name, sp)
			if err == nil && spec.Transport == "SCTP" && optErr != nil {
				err = optErr
			}
			if err == nil {
				if other, dup := seen[spec.Key]; dup {
					err = fmt.Errorf("the same listener is configured twice (also in sip-interface %q)", other)
				}
			}
			if err != nil {
				ps.Err = fmt.Errorf("sip-interface %q sip-port %s %s:%d: %w", name, ps.Transport, orUnset(ps.Address), ps.Port, err)
				errs = append(errs, ps.Err)
				ports = append(ports, ps)
				continue
			}
			seen[spec.Key] = name
			spec.SCTP = opts
			spec.Tracking = np.Str("sctp-assoc-tracking") == "enabled"
			spec.Reuse = np.Str("sctp-assoc-reuse") == "enabled"
			spec.RcvBuf = int(np.Int("udp-socket-rcvbuf"))
			if spec.Transport == "TCP" {
				// sip-interface tcp-keepalive enabled turns keepalive on with
				// the network-parameters timers; none and disabled leave it off.
				spec.Keepalive = ka
				spec.Keepalive.Enable = si.Str("tcp-keepalive") == "enabled"
			}
			ps.Key = spec.Key
			specs = append(specs, spec)
			ports = append(ports, ps)
		}
	}
	return specs, ports, errors.Join(errs...)
}

func orUnset(s string) string {
	if s == "" {
		return "(no address)"
	}
	return s
}

// portSpec checks one sip-port.
func portSpec(iface string, sp *model.Instance) (Spec, error) {
	tr := sp.Str("transport-protocol")
	s := Spec{Transport: tr, Port: int(sp.Int("port")), Interface: iface}
	switch tr {
	case "UDP", "TCP", "SCTP":
	case "TLS":
		return s, errors.New("TLS is not supported by the runtime yet (no tls-profile support): allowed UDP, TCP or SCTP")
	default:
		return s, fmt.Errorf("transport-protocol %q: allowed UDP, TCP or SCTP", tr)
	}
	a := sp.Addr("address")
	if !a.IsValid() {
		return s, errors.New("address is not set: a sip-port needs the IP address to listen on")
	}
	s.Addrs = []netip.Addr{a.Unmap()}
	mh := sp.Get("multi-homed-addrs")
	if len(mh) > 0 && tr != "SCTP" {
		return s, fmt.Errorf("multi-homed-addrs is for SCTP only, this sip-port is %s", tr)
	}
	for _, m := range mh {
		b, err := netip.ParseAddr(m)
		if err != nil {
			return s, fmt.Errorf("multi-homed-addrs %q: not an IP address", m)
		}
		b = b.Unmap()
		if b.Is4() != a.Is4() {
			return s, fmt.Errorf("multi-homed-addrs %s is not of the family of address %s", b, a)
		}
		if b.IsUnspecified() || a.IsUnspecified() {
			return s, fmt.Errorf("multi-homed-addrs cannot be combined with the wildcard address %s", a)
		}
		if slices.Contains(s.Addrs, b) {
			return s, fmt.Errorf("multi-homed-addrs repeats %s", b)
		}
		s.Addrs = append(s.Addrs, b)
	}
	s.Key = MakeKey(tr, s.Addrs, s.Port)
	return s, nil
}

// SCTPOptions maps the sctp-* knobs of network-parameters to socket
// options. It checks what the kernel would accept silently: RTO initial
// outside [min, max].
func SCTPOptions(np *model.Instance) (sctp.Options, error) {
	i := func(name string) int { return int(np.Int(name)) }
	o := sctp.Options{
		RTOInitial: i("sctp-rto-initial"), RTOMin: i("sctp-rto-min"), RTOMax: i("sctp-rto-max"),
		HBInterval:      i("sctp-hb-interval"),
		PathMaxRetrans:  i("sctp-path-max-retrans"),
		AssocMaxRetrans: i("sctp-assoc-max-retrans"),
		SackDelay:       i("sctp-sack-timeout"),
		SackFreq:        i("sctp-sack-freq"),
		MaxBurst:        i("sctp-max-burst"),
		InitMaxAttempts: i("sctp-init-max-attempts"),
		InitMaxTimeout:  i("sctp-init-max-timeo"),
		RcvBuf:          i("sctp-socket-rcvbuf"),
		SndBuf:          i("sctp-socket-sndbuf"),
		Autoclose:       i("sctp-autoclose"),
		SendTTL:         i("sctp-send-ttl"),
		Unordered:       np.Str("sctp-send-mode") == "unordered",
		OutStreams:      sctp.DefaultStreams,
		InStreams:       sctp.DefaultStreams,
		MaxAssocs:       i("sctp-max-assocs"),
		BacklogAssoc:    i("sctp-backlog-assoc"), BacklogTotal: i("sctp-backlog-total"),
	}
	var errs []error
	if o.RTOMin > o.RTOMax {
		errs = append(errs, fmt.Errorf("network-parameters sctp-rto-min %d is above sctp-rto-max %d", o.RTOMin, o.RTOMax))
	} else if o.RTOInitial < o.RTOMin || o.RTOInitial > o.RTOMax {
		errs = append(errs, fmt.Errorf("network-parameters sctp-rto-initial %d: allowed sctp-rto-min %d to sctp-rto-max %d",
			o.RTOInitial, o.RTOMin, o.RTOMax))
	}
	if np.Str("sctp-assoc-reuse") == "enabled" && np.Str("sctp-assoc-tracking") != "enabled" {
		errs = append(errs, errors.New("network-parameters sctp-assoc-reuse enabled requires sctp-assoc-tracking enabled"))
	}
	return o, errors.Join(errs...)
}

func keepaliveOf(np *model.Instance) Keepalive {
	return Keepalive{
		Idle:     time.Duration(np.Int("tcp-keepalive-idle-timer")) * time.Second,
		Interval: time.Duration(np.Int("tcp-keepalive-interval-timer")) * time.Second,
		Count:    int(np.Int("tcp-keepalive-count")),
	}
}
