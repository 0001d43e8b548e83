// Package agentsctp holds the tests of session-agents over SCTP: a static
// association from the SBC's multi-homed address set to a SIPp UAS playing
// the agent, a SIPp UAC sending through the SBC, the agent killed and
// restarted, show session-agents with its paths and the guide's
// retransmission advice, and sctp-send-ttl and sctp-send-retries against a
// peer whose receive window is closed. They need kernel SCTP: TestMain runs
// them in a User-Mode Linux guest when this kernel has none (see
// internal/uml).
package agentsctp
