package model_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/acli-project/acli/model"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// instOpts compares instances: elements by name (the schema index is
// unexported), empty and nil maps and slices alike, times by Equal.
var instOpts = cmp.Options{
	cmp.Comparer(func(a, b *model.Element) bool {
		return a == b || a != nil && b != nil && a.Name == b.Name
	}),
	cmpopts.EquateEmpty(),
}

func sampleInstances(t testing.TB) []*model.Instance {
	si := newInst(t, model.SipInterface, "realm-id", "core", "description", "core side \"quoted\"", "options", "a=1 b=2")
	si.Subs = []*model.Instance{
		newInst(t, model.SipPort, "address", "192.168.10.1", "transport-protocol", "SCTP", "multi-homed-addrs", "192.168.11.1 192.168.12.1"),
		newInst(t, model.SipPort, "address", "192.168.10.1"),
	}
	si.ModifiedBy, si.ModifiedAt, si.Rev = "admin@console", time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC), 42
	sa := newInst(t, model.SessionAgent, "hostname", "core-172S1", "ip-address", "172.16.101.5", "transport-method", "statics", "reuse-connections", "sctp")
	sa.ModifiedAt = time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("CEST", 7200))
	rc := newInst(t, model.RealmConfig, "identifier", "realm01", "network-interfaces", "m10 m11:2", "addr-prefix", "2001:db8::/32")
	rcCleared := newInst(t, model.RealmConfig, "identifier", "r2")
	rcCleared.Set("addr-prefix", []string{""})
	return []*model.Instance{
		si, sa, rc, rcCleared,
		newInst(t, model.NetworkParameters, "sctp-max-assocs", "-1", "sctp-sack-timeout", "0", "sctp-send-mode", "ordered"),
		newInst(t, model.NetworkInterface, "name", "m10", "ip-address", "::1", "hip-ip-list", "10.0.0.1 ::2"),
		model.NewInstance(model.PhyInterface),
	}
}

func TestCodecRoundTrip(t *testing.T) {
	for _, in := range sampleInstances(t) {
		t.Run(in.Elem.Name+"/"+in.Key(), func(t *testing.T) {
			b, err := model.Encode(in)
			if err != nil {
				t.Fatal(err)
			}
			out, err := model.Decode(in.Elem, b)
			if err != nil {
				t.Fatalf("Decode(%s): %v", b, err)
			}
			if d := cmp.Diff(in, out, instOpts); d != "" {
				t.Errorf("round trip of %s (-in +out):\n%s", b, d)
			}
			if out.Elem != in.Elem {
				t.Errorf("decoded Elem %p, want the schema's %p", out.Elem, in.Elem)
			}
			for _, s := range out.Subs {
				if s.Elem.Parent != in.Elem {
					t.Errorf("decoded sub %s is not the schema's sub-element", s.Elem.Name)
				}
			}
			// Encoding is deterministic.
			b2, err := model.Encode(out)
			if err != nil || string(b2) != string(b) {
				t.Errorf("re-encoding differs:\n%s\n%s (%v)", b, b2, err)
			}
		})
	}
}

func TestDecodeStrict(t *testing.T) {
	sa, si := model.SessionAgent, model.SipInterface
	tests := []struct {
		name string
		elem *model.Element
		in   string
		err  string
	}{
		{"empty", sa, ``, "EOF"},
		{"null", sa, `null`, "record version 0"},
		{"not an object", sa, `[1,2]`, "cannot unmarshal"},
		{"truncated", sa, `{"v":1,"values":{"hostname":["sa1"]`, "unexpected EOF"},
		{"truncated string", sa, `{"v":1,"values":{"hostname":["sa`, "unexpected EOF"},
		{"no version", sa, `{"values":{"hostname":["sa1"]}}`, "record version 0"},
		{"old version", sa, `{"v":0}`, "record version 0"},
		{"future version", sa, `{"v":2,"values":{"hostname":["sa1"]}}`, "record version 2, this acli reads 1"},
		{"version as string", sa, `{"v":"1"}`, "cannot unmarshal"},
		{"unknown field", sa, `{"v":1,"colour":"red"}`, `unknown field "colour"`},
		{"unknown parameter", sa, `{"v":1,"values":{"colour":["red"]}}`, `session-agent has no parameter "colour"`},
		{"sub-element parameter at top", si, `{"v":1,"values":{"address":["10.0.0.1"]}}`, `has no parameter "address"`},
		{"out of range", model.NetworkParameters, `{"v":1,"values":{"sctp-sack-timeout":["600"]}}`, `Invalid value "600" for sctp-sack-timeout: allowed 0-500`},
		{"bad enum", sa, `{"v":1,"values":{"transport-method":["QUIC"]}}`, `Invalid value "QUIC"`},
		{"non-canonical enum", sa, `{"v":1,"values":{"transport-method":["staticsctp"]}}`, `not in canonical form`},
		{"non-canonical int", sa, `{"v":1,"values":{"port":["05060"]}}`, `not in canonical form`},
		{"non-canonical ip", sa, `{"v":1,"values":{"ip-address":["2001:DB8::1"]}}`, `not in canonical form`},
		{"non-canonical iface", model.RealmConfig, `{"v":1,"values":{"network-interfaces":["m10"]}}`, `not in canonical form`},
		{"scalar with two values", sa, `{"v":1,"values":{"port":["5060","5061"]}}`, `port takes one value, got 2`},
		{"scalar with no value", sa, `{"v":1,"values":{"port":[]}}`, `port takes one value, got 0`},
		{"scalar null", sa, `{"v":1,"values":{"port":null}}`, `port takes one value, got 0`},
		{"empty list", sa, `{"v":1,"values":{"options":[]}}`, `not in canonical form`},
		{"null list", sa, `{"v":1,"values":{"options":null}}`, `not in canonical form`},
		{"empty item in list", sa, `{"v":1,"values":{"options":["a",""]}}`, `not in canonical form`},
		{"cleared string stored", sa, `{"v":1,"values":{"realm-id":[""]}}`, `not in canonical form`},
		{"value not a list", sa, `{"v":1,"values":{"port":"5060"}}`, "cannot unmarshal"},
		{"value number", sa, `{"v":1,"values":{"port":[5060]}}`, "cannot unmarshal"},
		{"unknown sub-element", si, `{"v":1,"subs":[{"elem":"session-agent"}]}`, `sip-interface has no sub-element "session-agent"`},
		{"subs on element without subs", sa, `{"v":1,"subs":[{"elem":"sip-port"}]}`, `session-agent has no sub-element "sip-port"`},
		{"bad sub value", si, `{"v":1,"subs":[{"elem":"sip-port","values":{"port":["80"]}}]}`, `Invalid value "80" for port`},
		{"unknown sub field", si, `{"v":1,"subs":[{"elem":"sip-port","x":1}]}`, `unknown field "x"`},
		{"duplicate sub key", si, `{"v":1,"subs":[{"elem":"sip-port","values":{"address":["10.0.0.1"]}},{"elem":"sip-port","values":{"address":["10.0.0.1"]}}]}`, `sip-port [10.0.0.1:5060:UDP] appears twice`},
		{"bad time", sa, `{"v":1,"at":"yesterday"}`, "cannot parse"},
		{"negative rev", sa, `{"v":1,"rev":-1}`, "cannot unmarshal"},
		{"trailing garbage", sa, `{"v":1}x`, "trailing data"},
		{"trailing object", sa, `{"v":1}{"v":1}`, "trailing data"},
		{"trailing brace", sa, `{"v":1}}`, "trailing data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := model.Decode(tt.elem, []byte(tt.in))
			if err == nil {
				t.Fatalf("Decode(%s) = %+v, want an error", tt.in, in)
			}
			if !errors.Is(err, model.ErrCorrupt) {
				t.Errorf("error %v does not wrap ErrCorrupt", err)
			}
			if !strings.Contains(err.Error(), tt.err) {
				t.Errorf("error %q, want it to contain %q", err, tt.err)
			}
			if !strings.Contains(err.Error(), tt.elem.Name) {
				t.Errorf("error %q does not name the element", err)
			}
		})
	}
}

func TestDecodeAccepts(t *testing.T) {
	tests := []struct {
		name string
		elem *model.Element
		in   string
	}{
		{"minimal", model.SessionAgent, `{"v":1}`},
		{"whitespace", model.SessionAgent, " {\"v\":1} \n"},
		{"null values", model.SessionAgent, `{"v":1,"values":null}`},
		{"sub without values", model.SipInterface, `{"v":1,"subs":[{"elem":"sip-port"}]}`},
		{"cleared defaulted prefix", model.RealmConfig, `{"v":1,"values":{"addr-prefix":[""]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := model.Decode(tt.elem, []byte(tt.in)); err != nil {
				t.Errorf("Decode(%s): %v", tt.in, err)
			}
		})
	}
}

// TestEncodeRefusesInvalid checks that nothing Decode would refuse is written.
func TestEncodeRefusesInvalid(t *testing.T) {
	tests := []struct {
		name string
		mut  func(in *model.Instance)
		err  string
	}{
		{"unknown parameter", func(in *model.Instance) { in.Values["colour"] = []string{"red"} }, `no parameter "colour"`},
		{"out of range", func(in *model.Instance) { in.Values["port"] = []string{"99999"} }, `Invalid value "99999"`},
		{"non-canonical", func(in *model.Instance) { in.Values["transport-method"] = []string{"udp"} }, "not in canonical form"},
		{"empty list", func(in *model.Instance) { in.Values["options"] = []string{} }, "not in canonical form"},
		{"foreign sub-element", func(in *model.Instance) { in.Subs = append(in.Subs, model.NewInstance(model.SipPort)) }, `no sub-element "sip-port"`},
		{"year 10000", func(in *model.Instance) { in.ModifiedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "year"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := newInst(t, model.SessionAgent, "hostname", "sa1")
			tt.mut(in)
			b, err := model.Encode(in)
			if err == nil {
				t.Fatalf("Encode = %s, want an error", b)
			}
			if !strings.Contains(err.Error(), tt.err) {
				t.Errorf("error %q, want it to contain %q", err, tt.err)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, in := range sampleInstances(f) {
		b, err := model.Encode(in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(in.Elem.Name, b)
	}
	for _, s := range []string{``, `null`, `{"v":1}`, `{"v":1,"values":{"port":["5060"]}}`, `{"v":1}x`,
		`{"v":1,"at":"2024-01-01T00:00:00+00:00"}`, `{"V":1,"VALUES":{"port":["1"]}}`, "{\"v\":1,\"by\":\"\xff\"}"} {
		f.Add("session-agent", []byte(s))
	}
	f.Fuzz(func(t *testing.T, elem string, b []byte) {
		e := model.Default.Element(elem)
		if e == nil {
			e = model.SipInterface
		}
		in, err := model.Decode(e, b)
		if err != nil {
			if !errors.Is(err, model.ErrCorrupt) {
				t.Fatalf("Decode error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		enc, err := model.Encode(in)
		if err != nil {
			t.Fatalf("Encode of a decoded instance: %v\ninput %q", err, b)
		}
		out, err := model.Decode(e, enc)
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v\ninput %q", enc, err, b)
		}
		if d := cmp.Diff(in, out, instOpts); d != "" {
			t.Fatalf("decode(encode(decode(%q))) differs (-first +second):\n%s", b, d)
		}
		enc2, err := model.Encode(out)
		if err != nil || string(enc2) != string(enc) {
			t.Fatalf("encoding is not stable: %q then %q (%v)", enc, enc2, err)
		}
	})
}
