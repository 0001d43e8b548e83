package verify

import (
	"fmt"
	"testing"

	"github.com/acli-project/acli/model"
)

func TestRuleRealmParentCycle(t *testing.T) {
	ruleTest(t, ruleRealmParentCycle, []ruleCase{
		{name: "seed"},
		{name: "chain", edit: func(c *model.Config) {
			add(c, model.RealmConfig, "identifier", "a", "parent-realm", "b")
			add(c, model.RealmConfig, "identifier", "b", "parent-realm", "core-172")
			add(c, model.RealmConfig, "identifier", "x", "parent-realm", "missing")
		}},
		{name: "self", edit: func(c *model.Config) {
			edit(c, model.RealmConfig, "core-172", "parent-realm", "core-172")
		}, want: []string{"ERROR: realm-config [core-172] has parent-realm [core-172] which is the realm itself"}},
		{name: "cycle with a tail", edit: func(c *model.Config) {
			add(c, model.RealmConfig, "identifier", "a", "parent-realm", "b")
			add(c, model.RealmConfig, "identifier", "b", "parent-realm", "c")
			add(c, model.RealmConfig, "identifier", "c", "parent-realm", "b")
		}, want: []string{
			"ERROR: realm-config [b] has parent-realm [c] which forms a cycle: b -> c -> b",
			"ERROR: realm-config [c] has parent-realm [b] which forms a cycle: c -> b -> c",
		}},
		{name: "long cycle", edit: func(c *model.Config) {
			for i := range 7 {
				add(c, model.RealmConfig, "identifier", fmt.Sprint("r", i), "parent-realm", fmt.Sprint("r", (i+1)%7))
			}
		}, want: func() (w []string) {
			for i := range 7 {
				w = append(w, fmt.Sprintf("ERROR: realm-config [r%d] has parent-realm [r%d] which leads back to this realm through a cycle of 7 realms", i, (i+1)%7))
			}
			return w
		}()},
	})
}

func TestRuleRealmAddrFamily(t *testing.T) {
	ruleTest(t, ruleRealmAddrFamily, []ruleCase{
		{name: "seed, default 0.0.0.0"},
		{name: "IPv6 realm", edit: func(c *model.Config) {
			add(c, model.RealmConfig, "identifier", "v6", "addr-prefix", "2001:db8::/32", "network-interfaces", "m6")
			addIface(c, "m6", "2001:db8::1", "ffff:ffff:ffff:ffff::", "")
		}},
		{name: "IPv6 interface in default realm", edit: func(c *model.Config) {
			addIface(c, "m6", "2001:db8::1", "ffff:ffff:ffff:ffff::", "core-172")
		}, want: []string{"ERROR: realm-config [core-172] addr-prefix [0.0.0.0] and network-interface [m6:0] (ip-address [2001:db8::1]) belong to different address families"}},
	})
}

func TestRuleRealmParentFamily(t *testing.T) {
	ruleTest(t, ruleRealmParentFamily, []ruleCase{
		{name: "seed"},
		{name: "same family", edit: func(c *model.Config) {
			add(c, model.RealmConfig, "identifier", "child", "parent-realm", "core-172", "addr-prefix", "10.0.0.0/8")
		}},
		{name: "different", edit: func(c *model.Config) {
			add(c, model.RealmConfig, "identifier", "child", "parent-realm", "core-172", "addr-prefix", "::/0")
		}, want: []string{"ERROR: realm-config [child] addr-prefix [::/0] and parent-realm [core-172] addr-prefix [0.0.0.0] belong to different address families"}},
	})
}
