// Package sctpsip holds the SIP-over-SCTP tests of the runtime: an Engine
// with SCTP listeners driven by SIPp (-t s1 and -t sn), multi-homing,
// option read-back, activation under load, max-assocs and a scale check.
// They need kernel SCTP: TestMain runs them in a User-Mode Linux guest
// when this kernel has none (see internal/uml).
package sctpsip
