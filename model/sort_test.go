package model

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortInstancesMatchesCompareKeys checks the decorated sort against the
// plain comparison on random network-interface and sip-port keys.
func TestSortInstancesMatchesCompareKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	names := []string{"m1", "m10", "m2", "M1", "wancom0", ""}
	addrs := []string{"10.0.0.1", "9.0.0.1", "::1", "2001:db8::1", "", "10.0.0.10"}
	for round := 0; round < 200; round++ {
		var ins []*Instance
		for i := 0; i < 30; i++ {
			ni := NewInstance(NetworkInterface)
			ni.Set("name", []string{names[r.IntN(len(names))]})
			ni.Set("sub-port-id", []string{fmt.Sprint(r.IntN(12))})
			ins = append(ins, ni)
		}
		want := slices.Clone(ins)
		slices.SortStableFunc(want, CompareKeys)
		got := slices.Clone(ins)
		SortInstances(got)
		for i := range want {
			if CompareKeys(want[i], got[i]) != 0 {
				t.Fatalf("round %d position %d: %s vs %s", round, i, want[i].Key(), got[i].Key())
			}
		}
		var ports []*Instance
		for i := 0; i < 30; i++ {
			sp := NewInstance(SipPort)
			if a := addrs[r.IntN(len(addrs))]; a != "" {
				sp.Set("address", []string{a})
			}
			sp.Set("port", []string{fmt.Sprint(5060 + r.IntN(3))})
			ports = append(ports, sp)
		}
		want = slices.Clone(ports)
		slices.SortStableFunc(want, CompareKeys)
		got = slices.Clone(ports)
		SortInstances(got)
		for i := range want {
			if CompareKeys(want[i], got[i]) != 0 {
				t.Fatalf("sip-port round %d position %d: %s vs %s", round, i, want[i].Key(), got[i].Key())
			}
		}
	}
}
