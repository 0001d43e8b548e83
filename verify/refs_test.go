package verify

import (
	"testing"

	"github.com/acli-project/acli/model"
)

func TestRuleNetworkInterfacePhy(t *testing.T) {
	ruleTest(t, ruleNetworkInterfacePhy, []ruleCase{
		{name: "seed"},
		{name: "sub-port of an existing phy", edit: func(c *model.Config) {
			add(c, model.NetworkInterface, "name", "m10", "sub-port-id", "12", "ip-address", "10.0.0.1", "netmask", "255.0.0.0")
		}},
		{name: "missing phy", edit: func(c *model.Config) {
			c.Delete(model.PhyInterface.Name, "m01")
		}, want: []string{"ERROR: network-interface [m01:0] references phy-interface [m01] which does not exist"}},
		{name: "case matters", edit: func(c *model.Config) {
			add(c, model.NetworkInterface, "name", "M10", "ip-address", "10.0.0.1", "netmask", "255.0.0.0")
		}, want: []string{"ERROR: network-interface [M10:0] references phy-interface [M10] which does not exist"}},
	})
}

func TestRuleRealmNetworkInterface(t *testing.T) {
	ruleTest(t, ruleRealmNetworkInterface, []ruleCase{
		{name: "seed"},
		{name: "missing and wrong sub-port", edit: func(c *model.Config) {
			edit(c, model.RealmConfig, "core-172", "network-interfaces", "m01 m10:3 m99")
		}, want: []string{
			"ERROR: realm-config [core-172] references network-interface [m10:3] which does not exist",
			"ERROR: realm-config [core-172] references network-interface [m99:0] which does not exist",
		}},
	})
}

func TestRuleSipInterfaceRealm(t *testing.T) {
	ruleTest(t, ruleSipInterfaceRealm, []ruleCase{
		{name: "seed"},
		{name: "no realm", edit: func(c *model.Config) {
			c.Delete(model.RealmConfig.Name, "core-172")
		}, want: []string{"ERROR: sip-interface [core-172] references realm-id [core-172] which does not exist"}},
		{name: "empty realm-id is key-missing's", edit: func(c *model.Config) {
			add(c, model.SipInterface)
		}},
	})
}

func TestRuleSessionAgentRealm(t *testing.T) {
	ruleTest(t, ruleSessionAgentRealm, []ruleCase{
		{name: "seed"},
		{name: "unset", edit: func(c *model.Config) { edit(c, model.SessionAgent, "core-172S1", "realm-id", "") }},
		{name: "missing", edit: func(c *model.Config) {
			edit(c, model.SessionAgent, "core-172S1", "realm-id", "access")
		}, want: []string{"ERROR: " + seedAgent + " references realm-id [access] which does not exist"}},
	})
}

func TestRuleRealmParent(t *testing.T) {
	ruleTest(t, ruleRealmParent, []ruleCase{
		{name: "seed"},
		{name: "exists", edit: func(c *model.Config) {
			add(c, model.RealmConfig, "identifier", "child", "parent-realm", "core-172")
		}},
		{name: "missing", edit: func(c *model.Config) {
			add(c, model.RealmConfig, "identifier", "child", "parent-realm", "core")
		}, want: []string{"ERROR: realm-config [child] references parent-realm [core] which does not exist"}},
	})
}
