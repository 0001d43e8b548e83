package verify

import (
	"fmt"
	"testing"

	"github.com/acli-project/acli/model"
)

// bigConfig returns a clean configuration of about n instances: units of two
// phy-interfaces, two network-interfaces, a realm-config, a sip-interface
// with a multi-homed SCTP sip-port and a staticSCTP session-agent.
func bigConfig(n int) *model.Config {
	c := model.NewConfig(model.Default)
	for i := range n / 8 {
		a, b := fmt.Sprint("a", i), fmt.Sprint("b", i)
		net := fmt.Sprintf("%d.%d", i>>8&255, i&255)
		realm := fmt.Sprint("realm", i)
		add(c, model.PhyInterface, "name", a)
		add(c, model.PhyInterface, "name", b)
		add(c, model.NetworkInterface, "name", a, "ip-address", "10."+net+".1", "netmask", "255.255.255.0", "gateway", "10."+net+".254")
		add(c, model.NetworkInterface, "name", b, "ip-address", "11."+net+".1", "netmask", "255.255.255.0")
		add(c, model.RealmConfig, "identifier", realm, "network-interfaces", a+" "+b, "addr-prefix", "10.0.0.0/8")
		addPort(c, realm, "address", "10."+net+".1", "transport-protocol", "SCTP", "multi-homed-addrs", "11."+net+".1")
		add(c, model.SessionAgent, "hostname", fmt.Sprintf("sa%d.example.com", i), "ip-address", "10."+net+".2",
			"realm-id", realm, "transport-method", "staticSCTP")
	}
	return c
}

// BenchmarkRun verifies clean configurations of 10,000 and 100,000
// instances. "run" is Run; "rules" excludes model.Config.List (the key-order
// listing of each element, done once per element by Run) to show the rules'
// own cost. ns/instance stays flat when the rules are linear.
func BenchmarkRun(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		c := bigConfig(n)
		if fs := Run(c); len(fs) != 0 {
			b.Fatalf("bigConfig(%d) is not clean: %v", n, fs[0])
		}
		perInstance := func(b *testing.B) {
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(c.Count()), "ns/instance")
		}
		b.Run(fmt.Sprintf("run/instances=%d", c.Count()), func(b *testing.B) {
			for b.Loop() {
				Run(c)
			}
			perInstance(b)
		})
		lists := map[string][]*model.Instance{}
		for _, e := range model.Default.Elements() {
			lists[e.Name] = c.List(e.Name)
		}
		b.Run(fmt.Sprintf("rules/instances=%d", c.Count()), func(b *testing.B) {
			for b.Loop() {
				run(&Snapshot{Config: c, lists: lists}, Rules)
			}
			perInstance(b)
		})
	}
}
