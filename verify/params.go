package verify

import "github.com/acli-project/acli/model"

// The parameters the rules read, resolved once (model.Element.MustParam):
// a misspelt name panics when the package loads.
var (
	phyOperationType = model.PhyInterface.MustParam("operation-type")
	phySlot          = model.PhyInterface.MustParam("slot")
	phyPort          = model.PhyInterface.MustParam("port")

	niName           = model.NetworkInterface.MustParam("name")
	niIPAddress      = model.NetworkInterface.MustParam("ip-address")
	niNetmask        = model.NetworkInterface.MustParam("netmask")
	niGateway        = model.NetworkInterface.MustParam("gateway")
	niSecGateway     = model.NetworkInterface.MustParam("sec-gateway")
	niPriUtilityAddr = model.NetworkInterface.MustParam("pri-utility-addr")
	niSecUtilityAddr = model.NetworkInterface.MustParam("sec-utility-addr")

	rcNetworkInterfaces = model.RealmConfig.MustParam("network-interfaces")
	rcParentRealm       = model.RealmConfig.MustParam("parent-realm")
	rcAddrPrefix        = model.RealmConfig.MustParam("addr-prefix")

	saReuseConnections = model.SessionAgent.MustParam("reuse-connections")
)
