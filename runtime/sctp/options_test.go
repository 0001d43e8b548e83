package sctp

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/acli-project/acli/runtime/sctp/sctpwire"
	"golang.org/x/sys/unix"
)

// explicitOptions sets every knob to a value different from the kernel's
// default.
func explicitOptions() Options {
	return Options{
		RTOInitial: 2000, RTOMin: 500, RTOMax: 4000,
		HBInterval: 5000, PathMaxRetrans: 3, AssocMaxRetrans: 7,
		SackDelay: 300, SackFreq: 3, MaxBurst: 6,
		InitMaxAttempts: 4, InitMaxTimeout: 2500,
		RcvBuf: 65536, SndBuf: 32768,
		Autoclose: 120, SendTTL: 32000, Unordered: true,
		OutStreams: 16, InStreams: 24,
	}
}

// TestOptionsReadBack sets each knob and reads it back from the kernel, on
// a fresh socket and on a socket that had other values (a live change).
func TestOptionsReadBack(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*Options)
		want func(*Options) // adjusts the expectation; nil: exactly what was set
	}{
		{"all knobs", func(*Options) {}, nil},
		{"rto initial", func(o *Options) { o.RTOInitial = 1500 }, nil},
		{"rto min", func(o *Options) { o.RTOMin = 200 }, nil},
		{"rto max", func(o *Options) { o.RTOMax = 9000 }, nil},
		{"hb interval", func(o *Options) { o.HBInterval = 12345 }, nil},
		{"hb disabled", func(o *Options) { o.HBInterval = 0 }, nil},
		{"path max retrans", func(o *Options) { o.PathMaxRetrans = 2 }, nil},
		{"assoc max retrans", func(o *Options) { o.AssocMaxRetrans = 20 }, nil},
		{"sack delay", func(o *Options) { o.SackDelay = 450 }, nil},
		{"sack delay max", func(o *Options) { o.SackDelay = 500 }, nil},
		{"sack immediately", func(o *Options) { o.SackDelay = 0 }, func(o *Options) { o.SackFreq = 1 }},
		{"sack freq", func(o *Options) { o.SackFreq = 5 }, nil},
		{"sack freq 1", func(o *Options) { o.SackFreq = 1 }, func(o *Options) { o.SackDelay = 0 }},
		{"max burst", func(o *Options) { o.MaxBurst = 1 }, nil},
		{"init max attempts", func(o *Options) { o.InitMaxAttempts = 3 }, nil},
		{"init max timeout", func(o *Options) { o.InitMaxTimeout = 1000 }, nil},
		{"rcvbuf", func(o *Options) { o.RcvBuf = 1 << 20 }, nil},
		{"sndbuf", func(o *Options) { o.SndBuf = 1 << 20 }, nil},
		{"autoclose", func(o *Options) { o.Autoclose = 300 }, nil},
		{"autoclose off", func(o *Options) { o.Autoclose = 0 }, nil},
		{"send ttl", func(o *Options) { o.SendTTL = 10000 }, nil},
		{"send ttl off", func(o *Options) { o.SendTTL = 0 }, nil},
		{"ordered", func(o *Options) { o.Unordered = false }, nil},
		{"streams", func(o *Options) { o.OutStreams, o.InStreams = 64, 10 }, nil},
		{"default streams", func(o *Options) { o.OutStreams, o.InStreams = 0, 0 },
			func(o *Options) { o.OutStreams, o.InStreams = DefaultStreams, DefaultStreams }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := explicitOptions()
			tc.set(&o)
			want := o
			if tc.want != nil {
				tc.want(&want)
			}
			for _, before := range []*Options{nil, {HBInterval: -1, SackDelay: -1, RcvBuf: 4096, SndBuf: 4096, Autoclose: 5}} {
				fd := rawSocket(t)
				if before != nil {
					if err := Apply(fd, *before); err != nil {
						t.Fatal(err)
					}
				}
				if err := Apply(fd, o); err != nil {
					t.Fatalf("Apply(%v): %v", o, err)
				}
				got, err := ReadOptions(fd)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("after Apply on a socket with %v:\n got %v\nwant %v", before, got, want)
				}
			}
		})
	}
}

// TestKernelDefaults: zero fields (and -1 for the heartbeat and SACK delay)
// mean the kernel's defaults, also when going back to them on a live socket.
func TestKernelDefaults(t *testing.T) {
	def, err := KernelDefaults()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kernel defaults: %v", def)
	fresh := rawSocket(t)
	freshOpts, err := ReadOptions(fresh)
	if err != nil {
		t.Fatal(err)
	}
	live := rawSocket(t)
	if err := Apply(live, explicitOptions()); err != nil {
		t.Fatal(err)
	}
	if err := Apply(live, Options{HBInterval: -1, SackDelay: -1}); err != nil {
		t.Fatal(err)
	}
	got, err := ReadOptions(live)
	if err != nil {
		t.Fatal(err)
	}
	want := def
	want.RcvBuf, want.SndBuf = 65536, 32768 // 0 leaves buffers as they are
	want.MaxAssocs = 0
	if got != want {
		t.Errorf("back to defaults:\n got %v\nwant %v", got, want)
	}
	// A socket nobody touched agrees, but for its (unresolved) streams.
	want.RcvBuf, want.SndBuf = freshOpts.RcvBuf, freshOpts.SndBuf
	want.OutStreams, want.InStreams = freshOpts.OutStreams, freshOpts.InStreams
	if freshOpts != want {
		t.Errorf("untouched socket:\n got %v\nwant %v", freshOpts, want)
	}
}

// TestRTOInitialOutsideRange: Linux accepts an RTO.Initial outside
// [RTO.Min, RTO.Max] (it rejects only min > max). The kernel will not catch
// such a configuration, so configuration verification must.
func TestRTOInitialOutsideRange(t *testing.T) {
	for _, initial := range []int{100, 10000} {
		fd := rawSocket(t)
		o := Options{RTOInitial: initial, RTOMin: 500, RTOMax: 4000, HBInterval: -1, SackDelay: -1}
		if err := Apply(fd, o); err != nil {
			t.Fatalf("initial %d outside [500, 4000]: kernel refused: %v", initial, err)
		}
		got, err := ReadOptions(fd)
		if err != nil {
			t.Fatal(err)
		}
		if got.RTOInitial != initial || got.RTOMin != 500 || got.RTOMax != 4000 {
			t.Errorf("rto %d/%d/%d, want %d/500/4000", got.RTOInitial, got.RTOMin, got.RTOMax, initial)
		}
	}
}

// TestApplyErrors: every failing option is reported by name, and the others
// are applied all the same.
func TestApplyErrors(t *testing.T) {
	fd := rawSocket(t)
	o := explicitOptions()
	o.RTOMin, o.RTOMax = 5000, 4000 // min > max: EINVAL
	o.SackDelay = 600               // > 500: EINVAL
	o.InStreams = 70000             // not a u16
	o.PathMaxRetrans = 9
	err := Apply(fd, o)
	if err == nil {
		t.Fatal("Apply accepted rto min > max, sack delay 600 and 70000 streams")
	}
	for _, name := range []string{"SCTP_RTOINFO", "SCTP_DELAYED_SACK", "SCTP_INITMSG"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
	if !errors.Is(err, unix.EINVAL) {
		t.Errorf("error does not wrap EINVAL: %v", err)
	}
	if strings.Count(err.Error(), "\n") != 2 {
		t.Errorf("want exactly 3 failures, got:\n%v", err)
	}
	got, rerr := ReadOptions(fd)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if got.PathMaxRetrans != 9 || got.MaxBurst != o.MaxBurst || got.Autoclose != o.Autoclose {
		t.Errorf("the valid options were not applied: %v", got)
	}
}

// TestHeartbeatDisabled: HBInterval 0 disables heartbeats on the endpoint
// and in the associations created from it.
func TestHeartbeatDisabled(t *testing.T) {
	o := testOptions()
	o.HBInterval = 0
	s := startServer(t, []netip.Addr{lo1}, 0, o, false)
	got, err := s.ReadOptions()
	if err != nil {
		t.Fatal(err)
	}
	if got.HBInterval != 0 {
		t.Errorf("listener heartbeat interval %d, want 0 (disabled)", got.HBInterval)
	}
	var flags uint32
	s.e.control(func(fd int) error {
		b, err := getsockopt(fd, sctpwire.OptPeerAddrParams, sctpwire.PeerAddrParams{}.Marshal())
		if err != nil {
			return err
		}
		p, err := sctpwire.ParsePeerAddrParams(b)
		flags = p.Flags
		return err
	})
	if flags&sctpwire.SPPHBDisable == 0 || flags&sctpwire.SPPHBEnable != 0 {
		t.Errorf("spp_flags %#x: heartbeat not disabled", flags)
	}
	c := dial(t, nil, []netip.Addr{lo1}, s.Port(), testOptions())
	info := hello(t, s, c, "hb?")
	ao, err := s.ReadAssocOptions(info.Assoc)
	if err != nil {
		t.Fatal(err)
	}
	if ao.HBInterval != 0 {
		t.Errorf("association heartbeat interval %d, want 0 (disabled)", ao.HBInterval)
	}
	// The client kept its default: heartbeats on.
	if co, err := c.ReadOptions(); err != nil || co.HBInterval != 30000 {
		t.Errorf("client heartbeat interval %d (%v), want 30000", co.HBInterval, err)
	}
}
