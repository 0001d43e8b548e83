package model_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/acli-project/acli/model"
)

// param returns the named parameter of the element or fails the test.
func param(t testing.TB, e *model.Element, name string) *model.Param {
	t.Helper()
	p := e.Param(name)
	if p == nil {
		t.Fatalf("%s has no parameter %s", e.Name, name)
	}
	return p
}

func TestParamParse(t *testing.T) {
	np, sa, ni := model.NetworkParameters, model.SessionAgent, model.NetworkInterface
	rc, sp := model.RealmConfig, model.SipPort
	tests := []struct {
		name  string
		elem  *model.Element
		param string
		in    []string
		want  []string // nil: an error is expected
		err   string   // substring of the error when want is nil
	}{
		// String.
		{"string", ni, "description", []string{"core side"}, []string{"core side"}, ""},
		{"string empty clears", ni, "description", []string{""}, []string{""}, ""},
		{"string list", np, "options", []string{"a=b", "c"}, []string{"a=b", "c"}, ""},
		{"string list drops empties", np, "options", []string{"", "x", ""}, []string{"x"}, ""},
		{"string list empty", np, "options", []string{}, []string{}, ""},

		// Int.
		{"int", np, "sctp-rto-initial", []string{"3000"}, []string{"3000"}, ""},
		{"int max u32", np, "sctp-rto-initial", []string{"4294967295"}, []string{"4294967295"}, ""},
		{"int above u32", np, "sctp-rto-initial", []string{"4294967296"}, nil, `allowed 0-4294967295`},
		{"int negative", np, "sctp-rto-initial", []string{"-1"}, nil, `Invalid value "-1"`},
		{"int leading zeros canonical", np, "sctp-rto-min", []string{"0800"}, []string{"800"}, ""},
		{"int plus sign canonical", np, "sctp-rto-min", []string{"+800"}, []string{"800"}, ""},
		{"int hex rejected", np, "sctp-rto-min", []string{"0x10"}, nil, `Invalid value "0x10"`},
		{"int words rejected", np, "sctp-rto-min", []string{"fast"}, nil, `Invalid value "fast" for sctp-rto-min: allowed 0-4294967295`},
		{"int overflow rejected", np, "sctp-rto-min", []string{"99999999999999999999999"}, nil, `allowed 0-4294967295`},
		{"int spaces rejected", np, "sctp-rto-min", []string{" 5"}, nil, `Invalid value " 5"`},
		{"int empty rejected", np, "sctp-rto-min", []string{""}, nil, `Invalid value ""`},
		{"sack timeout 0", np, "sctp-sack-timeout", []string{"0"}, []string{"0"}, ""},
		{"sack timeout 500", np, "sctp-sack-timeout", []string{"500"}, []string{"500"}, ""},
		{"sack timeout 501", np, "sctp-sack-timeout", []string{"501"}, nil, `Invalid value "501" for sctp-sack-timeout: allowed 0-500`},
		{"sack timeout -1", np, "sctp-sack-timeout", []string{"-1"}, nil, `allowed 0-500`},
		{"max assocs -1", np, "sctp-max-assocs", []string{"-1"}, []string{"-1"}, ""},
		{"max assocs -2", np, "sctp-max-assocs", []string{"-2"}, nil, `Invalid value "-2" for sctp-max-assocs: allowed -1 to 2147483647`},
		{"max assocs 10", np, "sctp-max-assocs", []string{"10"}, []string{"10"}, ""},
		{"send retries 9", np, "sctp-send-retries", []string{"9"}, []string{"9"}, ""},
		{"send retries 10", np, "sctp-send-retries", []string{"10"}, nil, `allowed 0-9`},
		{"sub-port-id 4095", ni, "sub-port-id", []string{"4095"}, []string{"4095"}, ""},
		{"sub-port-id 4096", ni, "sub-port-id", []string{"4096"}, nil, `allowed 0-4095`},
		{"sip-port port 1024", sp, "port", []string{"1024"}, nil, `allowed 1025-65535`},
		{"agent port 0", sa, "port", []string{"0"}, []string{"0"}, ""},
		{"agent port 5060", sa, "port", []string{"5060"}, []string{"5060"}, ""},
		{"agent port 1025", sa, "port", []string{"1025"}, []string{"1025"}, ""},
		{"agent port 80 (0, 1025-65535)", sa, "port", []string{"80"}, nil, `Invalid value "80" for port: allowed 0, 1025-65535`},
		{"agent port 65536", sa, "port", []string{"65536"}, nil, `allowed 0, 1025-65535`},
		{"reconn interval 1 (0, 2-300)", sa, "tcp-reconn-interval", []string{"1"}, nil, `allowed 0, 2-300`},
		{"reconn interval 2", sa, "tcp-reconn-interval", []string{"2"}, []string{"2"}, ""},

		// Enum: case-insensitive, unique prefix, canonical spelling, ambiguity.
		{"enum exact", sa, "transport-method", []string{"staticSCTP"}, []string{"staticSCTP"}, ""},
		{"enum case", sa, "transport-method", []string{"STATICSCTP"}, []string{"staticSCTP"}, ""},
		{"enum case lower", sa, "transport-method", []string{"staticsctp"}, []string{"staticSCTP"}, ""},
		{"enum prefix", sa, "transport-method", []string{"statics"}, []string{"staticSCTP"}, ""},
		{"enum prefix dynamic sctp", sa, "transport-method", []string{"dynamics"}, []string{"DynamicSCTP"}, ""},
		{"enum exact beats prefix", sa, "transport-method", []string{"udp"}, []string{"UDP"}, ""},
		{"enum plus", sa, "transport-method", []string{"udp+"}, []string{"UDP+TCP"}, ""},
		{"enum ambiguous", sa, "transport-method", []string{"static"}, nil,
			`Invalid value "static" for transport-method: allowed one of StaticTCP, StaticTLS, staticSCTP (ambiguous)`},
		{"enum ambiguous dynamic", sa, "transport-method", []string{"Dynamic"}, nil, `one of DynamicTCP, DynamicTLS, DynamicSCTP (ambiguous)`},
		{"enum unknown", sp, "transport-protocol", []string{"quic"}, nil, `Invalid value "quic" for transport-protocol: allowed UDP, TCP, TLS, SCTP`},
		{"enum sctp canonical", sp, "transport-protocol", []string{"sctp"}, []string{"SCTP"}, ""},
		{"enum sctp prefix", sp, "transport-protocol", []string{"sc"}, []string{"SCTP"}, ""},
		{"enum t ambiguous", sp, "transport-protocol", []string{"t"}, nil, `one of TCP, TLS (ambiguous)`},
		{"enum numeric exact", model.PhyInterface, "speed", []string{"10"}, []string{"10"}, ""},
		{"enum numeric ambiguous", model.PhyInterface, "speed", []string{"1"}, nil, `(ambiguous)`},
		{"enum send mode", np, "sctp-send-mode", []string{"Ord"}, []string{"ordered"}, ""},
		{"enum enabled", np, "sctp-assoc-tracking", []string{"dis"}, []string{"disabled"}, ""},
		{"enum empty with default", np, "sctp-assoc-reuse", []string{""}, nil, `Invalid value ""`},
		{"enum empty without default", sa, "ping-method", []string{""}, []string{""}, ""},
		{"enum reuse-connections", sa, "reuse-connections", []string{"SCTP"}, []string{"sctp"}, ""},

		// IP: canonical text, families kept, zones rejected.
		{"ipv4", sp, "address", []string{"192.168.10.1"}, []string{"192.168.10.1"}, ""},
		{"ipv4 leading zero", sp, "address", []string{"192.168.010.1"}, nil, `Invalid value "192.168.010.1" for address: allowed IP address`},
		{"ipv4 out of range", sp, "address", []string{"300.1.1.1"}, nil, `Invalid value "300.1.1.1" for address: allowed IP address`},
		{"ipv6 canonical", sp, "address", []string{"2001:DB8:0:0:0:0:0:1"}, []string{"2001:db8::1"}, ""},
		{"ipv6 loopback", sp, "address", []string{"0:0:0:0:0:0:0:1"}, []string{"::1"}, ""},
		{"ipv4-mapped ipv6 kept", sp, "address", []string{"::FFFF:10.0.0.1"}, []string{"::ffff:10.0.0.1"}, ""},
		{"ipv6 zone rejected", sp, "address", []string{"fe80::1%eth0"}, nil, `Invalid value "fe80::1%eth0"`},
		{"ip hostname rejected", sp, "address", []string{"sbc.example.com"}, nil, `allowed IP address`},
		{"ip with prefix rejected", sp, "address", []string{"10.0.0.1/24"}, nil, `allowed IP address`},
		{"ip empty clears", sp, "address", []string{""}, []string{""}, ""},
		{"ip list", sp, "multi-homed-addrs", []string{"10.0.0.2", "2001:DB8::2"}, []string{"10.0.0.2", "2001:db8::2"}, ""},
		{"ip list bad item", sp, "multi-homed-addrs", []string{"10.0.0.2", "nope"}, nil, `Invalid value "nope" for multi-homed-addrs: allowed IP address`},

		// Prefix.
		{"prefix address", rc, "addr-prefix", []string{"10.0.0.0"}, []string{"10.0.0.0"}, ""},
		{"prefix bits", rc, "addr-prefix", []string{"10.0.0.0/8"}, []string{"10.0.0.0/8"}, ""},
		{"prefix v6", rc, "addr-prefix", []string{"2001:DB8::/32"}, []string{"2001:db8::/32"}, ""},
		{"prefix bad bits", rc, "addr-prefix", []string{"10.0.0.0/33"}, nil, `Invalid value "10.0.0.0/33" for addr-prefix: allowed IP address[/bits]`},
		{"prefix zone", rc, "addr-prefix", []string{"fe80::%eth0/64"}, nil, `Invalid value`},
		{"prefix address zone", rc, "addr-prefix", []string{"fe80::1%eth0"}, nil, `Invalid value`},
		{"prefix name", rc, "addr-prefix", []string{"core"}, nil, `Invalid value`},
		{"prefix empty", rc, "addr-prefix", []string{""}, []string{""}, ""},

		// IfaceRef.
		{"iface default sub-port", rc, "network-interfaces", []string{"m10"}, []string{"m10:0"}, ""},
		{"iface sub-port", rc, "network-interfaces", []string{"m10:12"}, []string{"m10:12"}, ""},
		{"iface sub-port canonical", rc, "network-interfaces", []string{"m10:012"}, []string{"m10:12"}, ""},
		{"iface several", rc, "network-interfaces", []string{"m10", "m11:0"}, []string{"m10:0", "m11:0"}, ""},
		{"iface sub-port too big", rc, "network-interfaces", []string{"m10:4096"}, nil,
			`Invalid value "m10:4096" for network-interfaces: allowed interface name[:sub-port]`},
		{"iface sub-port negative", rc, "network-interfaces", []string{"m10:-1"}, nil, `Invalid value "m10:-1"`},
		{"iface sub-port word", rc, "network-interfaces", []string{"m10:x"}, nil, `Invalid value "m10:x"`},
		{"iface sub-port empty", rc, "network-interfaces", []string{"m10:"}, nil, `Invalid value "m10:"`},
		{"iface no name", rc, "network-interfaces", []string{":1"}, nil, `Invalid value ":1"`},
		{"iface two colons", rc, "network-interfaces", []string{"a:1:2"}, nil, `Invalid value "a:1:2"`},
		{"iface space", rc, "network-interfaces", []string{"m 10"}, nil, `Invalid value "m 10"`},

		// Host.
		{"host name", sa, "hostname", []string{"core-172S1"}, []string{"core-172S1"}, ""},
		{"host fqdn", sa, "hostname", []string{"sip.example.com"}, []string{"sip.example.com"}, ""},
		{"host fqdn trailing dot", sa, "hostname", []string{"sip.example.com."}, []string{"sip.example.com."}, ""},
		{"host srv labels", sa, "hostname", []string{"_sip._udp.example.com"}, []string{"_sip._udp.example.com"}, ""},
		{"host ipv4", sa, "hostname", []string{"172.16.101.5"}, []string{"172.16.101.5"}, ""},
		{"host ipv6 canonical", sa, "hostname", []string{"2001:DB8::0:5"}, []string{"2001:db8::5"}, ""},
		{"host ipv6 zone", sa, "hostname", []string{"fe80::1%eth0"}, nil, `Invalid value "fe80::1%eth0" for hostname: allowed hostname or IP address`},
		{"host bad ipv4 is not a name", sa, "hostname", []string{"10.0.0.300"}, nil, `Invalid value "10.0.0.300"`},
		{"host leading-zero ipv4 is not a name", sa, "hostname", []string{"010.0.0.1"}, nil, `Invalid value "010.0.0.1"`},
		{"host numeric label", sa, "hostname", []string{"123"}, nil, `Invalid value "123"`},
		{"host leading hyphen", sa, "hostname", []string{"-sa.example.com"}, nil, `Invalid value`},
		{"host trailing hyphen", sa, "hostname", []string{"sa-.example.com"}, nil, `Invalid value`},
		{"host empty label", sa, "hostname", []string{"a..b"}, nil, `Invalid value`},
		{"host only dot", sa, "hostname", []string{"."}, nil, `Invalid value`},
		{"host space", sa, "hostname", []string{"a b"}, nil, `Invalid value`},
		{"host long label", sa, "hostname", []string{strings.Repeat("a", 64) + ".com"}, nil, `Invalid value`},
		{"host 63 label", sa, "hostname", []string{strings.Repeat("a", 63) + ".com"}, []string{strings.Repeat("a", 63) + ".com"}, ""},
		{"host too long", sa, "hostname", []string{strings.Repeat("abcdefg.", 32) + "com"}, nil, `Invalid value`},
		{"host empty", sa, "hostname", []string{""}, []string{""}, ""},

		// Arity.
		{"scalar no value", np, "sctp-rto-min", []string{}, nil, `sctp-rto-min takes one value, got 0: allowed 0-4294967295`},
		{"scalar two values", sp, "address", []string{"10.0.0.1", "10.0.0.2"}, nil, `address takes one value, got 2: allowed IP address`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := param(t, tt.elem, tt.param)
			got, err := p.Parse(tt.in)
			if tt.want == nil {
				if err == nil {
					t.Fatalf("Parse(%q) = %q, want an error containing %q", tt.in, got, tt.err)
				}
				if !strings.Contains(err.Error(), tt.err) {
					t.Errorf("Parse(%q) error %q, want it to contain %q", tt.in, err, tt.err)
				}
				if !errors.Is(err, model.ErrInvalidValue) {
					t.Errorf("Parse(%q) error %v does not wrap ErrInvalidValue", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Parse(%q) = %q, want %q", tt.in, got, tt.want)
			}
			// Canonical text parses to itself.
			again, err := p.Parse(got)
			if err != nil || !slices.Equal(again, got) {
				t.Errorf("Parse(%q) = %q, %v; canonical text must parse to itself", got, again, err)
			}
		})
	}
}

func TestValueErrorFormat(t *testing.T) {
	_, err := param(t, model.NetworkParameters, "sctp-sack-timeout").Parse([]string{"600"})
	const want = `Invalid value "600" for sctp-sack-timeout: allowed 0-500`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
	var ve *model.ValueError
	if !errors.As(err, &ve) {
		t.Fatalf("error %T is not a *ValueError", err)
	}
	if ve.Param != "sctp-sack-timeout" || ve.Value != "600" || ve.Allowed != "0-500" {
		t.Errorf("ValueError = %+v", *ve)
	}
}

func TestMatchEnum(t *testing.T) {
	p := param(t, model.SessionAgent, "transport-method")
	tests := []struct {
		in    string
		want  string
		cands []string
	}{
		{"udp", "UDP", nil},
		{"UDP+TCP", "UDP+TCP", nil},
		{"StaticSCTP", "staticSCTP", nil},
		{"statict", "", []string{"StaticTCP", "StaticTLS"}},
		{"s", "", []string{"StaticTCP", "StaticTLS", "staticSCTP"}},
		{"x", "", nil},
		{"", "", []string{"UDP", "UDP+TCP", "DynamicTCP", "StaticTCP", "DynamicTLS", "StaticTLS", "DynamicSCTP", "staticSCTP"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, cands := p.MatchEnum(tt.in)
			if got != tt.want || !slices.Equal(cands, tt.cands) {
				t.Errorf("MatchEnum(%q) = %q, %q; want %q, %q", tt.in, got, cands, tt.want, tt.cands)
			}
		})
	}
}

func TestAllowed(t *testing.T) {
	tests := []struct {
		elem  *model.Element
		param string
		want  string
	}{
		{model.NetworkParameters, "sctp-sack-timeout", "0-500"},
		{model.NetworkParameters, "sctp-max-assocs", "-1 to 2147483647"},
		{model.SessionAgent, "port", "0, 1025-65535"},
		{model.SipPort, "transport-protocol", "UDP, TCP, TLS, SCTP"},
		{model.SipPort, "multi-homed-addrs", "a list of IP address, as (a b c)"},
		{model.RealmConfig, "network-interfaces", "a list of interface name[:sub-port], as (a b c)"},
		{model.SessionAgent, "hostname", "hostname or IP address"},
		{model.RealmConfig, "addr-prefix", "IP address[/bits]"},
		{model.RealmConfig, "description", "string"},
	}
	for _, tt := range tests {
		t.Run(tt.param, func(t *testing.T) {
			if got := param(t, tt.elem, tt.param).Allowed(); got != tt.want {
				t.Errorf("Allowed() = %q, want %q", got, tt.want)
			}
		})
	}
}
