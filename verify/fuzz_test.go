package verify

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/acli-project/acli/model"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// gen draws choices from fuzz bytes; exhausted bytes read as zero.
type gen struct {
	b []byte
	i int
}

func (g *gen) byte() byte {
	if g.i >= len(g.b) {
		return 0
	}
	g.i++
	return g.b[g.i-1]
}

func (g *gen) n(k int) int { return int(g.byte()) % k }

func (g *gen) pick(s []string) string { return s[g.n(len(s))] }

var (
	fuzzNames  = []string{"m10", "m01", "m11", "a", "core-172", "r1", ""}
	fuzzAddrs  = []string{"172.16.10.76", "182.16.10.76", "192.16.10.76", "0.0.0.0", "::", "2001:db8::1", "2001:db8::2", "10.0.0.1", "255.255.255.0", "ffff:ffff::", "255.0.255.0", "fe80::1", "::ffff:1.2.3.4", "255.255.255.255", "0.0.0.0"}
	fuzzHosts  = []string{"core-172S1", "10.0.0.1", "2001:db8::1", "a.example.com"}
	fuzzPrefix = []string{"0.0.0.0", "::/0", "10.0.0.0/8", "2001:db8::/32", "::"}
	fuzzRefs   = []string{"m10:0", "m01:0", "m11:3", "a:0", "core-172:0"}
	fuzzJunk   = []string{"", "x", "-1", "99999999999999999999", "1.2.3", "(", "ORDERED", "5060"}
)

// value returns a value for p: mostly valid (edges of integer ranges, every
// enum value, addresses of both families and wildcards), sometimes junk.
func (g *gen) value(p *model.Param) string {
	if g.n(16) == 0 {
		return g.pick(fuzzJunk)
	}
	switch p.Type {
	case model.Int:
		lo, hi := p.Min, p.Max
		switch g.n(8) {
		case 0:
			return strconv.FormatInt(lo, 10)
		case 1:
			return strconv.FormatInt(hi, 10)
		case 2:
			return p.Default
		case 3:
			return strconv.FormatInt(min(lo+1, hi), 10)
		case 4:
			return strconv.FormatInt(max(hi-1, lo), 10)
		case 5:
			return strconv.Itoa([]int{0, 1, 499, 500, 1000, 5060}[g.n(6)])
		}
		span := uint64(hi - lo + 1)
		r := uint64(g.byte())<<24 | uint64(g.byte())<<16 | uint64(g.byte())<<8 | uint64(g.byte())
		return strconv.FormatInt(lo+int64(r%span), 10)
	case model.Enum:
		return p.Values[g.n(len(p.Values))]
	case model.IP:
		return g.pick(fuzzAddrs)
	case model.Prefix:
		return g.pick(fuzzPrefix)
	case model.IfaceRef:
		return g.pick(fuzzRefs)
	case model.Host:
		return g.pick(fuzzHosts)
	}
	return g.pick(fuzzNames)
}

// fill sets random parameters of in: canonical when the schema accepts the
// value, raw otherwise (as a configuration not built by the shell might be).
func (g *gen) fill(in *model.Instance) {
	for _, p := range in.Elem.Params {
		if g.n(3) != 0 {
			continue
		}
		items := []string{g.value(p)}
		if p.List {
			items = items[:0]
			for range g.n(4) {
				items = append(items, g.value(p))
			}
		}
		if c, err := p.Parse(items); err == nil {
			items = c
		}
		in.Values[p.Name] = items
	}
}

// randomConfig builds a configuration of up to 48 instances from b.
func randomConfig(b []byte) *model.Config {
	g := &gen{b: b}
	c := model.NewConfig(model.Default)
	elems := model.Default.Elements()
	for range 1 + g.n(48) {
		in := model.NewInstance(elems[g.n(len(elems))])
		g.fill(in)
		for _, sub := range in.Elem.Subs {
			for range g.n(4) {
				s := model.NewInstance(sub)
				g.fill(s)
				in.Subs = append(in.Subs, s)
			}
		}
		c.Put(in)
		if g.i >= len(b) {
			break
		}
	}
	return c
}

var configCmp = []cmp.Option{
	cmp.AllowUnexported(model.Config{}),
	cmp.Comparer(func(a, b *model.Element) bool { return a == b }),
	cmp.Comparer(func(a, b *model.Schema) bool { return a == b }),
	cmpopts.EquateEmpty(),
}

// checkRun runs the verifier on c and checks its properties: no panic, no
// change to c, the same findings twice, well-formed findings and reports.
func checkRun(t *testing.T, c *model.Config) {
	t.Helper()
	before := c.Clone()
	fs := Run(c)
	if diff := cmp.Diff(before, c, configCmp...); diff != "" {
		t.Fatalf("Run changed its input (-before +after):\n%s", diff)
	}
	if again := Run(c); !cmp.Equal(fs, again) {
		t.Fatalf("Run is not deterministic:\n%v\n%v", fs, again)
	}
	for _, f := range fs {
		if f.Element == "" || f.Rule == "" || f.Message == "" {
			t.Fatalf("malformed finding %+v", f)
		}
	}
	var b bytes.Buffer
	if err := Report(&b, fs); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&b, fs); err != nil {
		t.Fatal(err)
	}
}

func FuzzRun(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("acli verify"))
	f.Add(bytes.Repeat([]byte{0xff, 0x01, 0x7f, 0x03}, 64))
	r := rand.New(rand.NewPCG(4, 4))
	for range 16 {
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkRun(t, randomConfig(b)) })
}

// TestRunProperties checks the properties on the seed examples and on many
// random configurations (FuzzRun explores further under go test -fuzz).
func TestRunProperties(t *testing.T) {
	checkRun(t, SeedExample(false))
	checkRun(t, SeedExample(true))
	r := rand.New(rand.NewPCG(1, 2))
	findings := 0
	for range 2000 {
		b := make([]byte, 64+r.IntN(512))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		c := randomConfig(b)
		checkRun(t, c)
		findings += len(Run(c))
	}
	if findings == 0 {
		t.Error("random configurations produced no findings at all")
	}
}
