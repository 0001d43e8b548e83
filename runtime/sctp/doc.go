// Package sctp is the SCTP socket layer of the acli runtime: it turns SCTP
// options of the configuration into kernel socket options and serves
// SIP-over-SCTP (RFC 4168) with Linux kernel SCTP.
//
// # Sockets
//
// A Listener is a single one-to-many (SOCK_SEQPACKET) socket carrying every
// association of a SIP port, bound to a primary address plus multi-homed
// secondary addresses. It is off the Go netpoller: its one reader, however
// many associations are open, receives batches with recvmmsg, keeping its
// thread and P while messages flow and parking in the netpoller when idle
// (package blockread), and the responses to a batch go out with one
// sendmmsg (see batch.go): the fewest system calls per message. Dial opens
// an outbound association (a Conn), whose non-blocking file descriptor
// lives on the Go netpoller, so that many Conns need a handful of OS
// threads.
//
// # Sending
//
// Neither the reader nor WriteMsg waits for room in the send buffer: a
// message that finds it full waits in the Listener's backlog, which its
// own goroutine sends in order per association (backlog.go), so that a
// peer slow to read, perhaps because it is itself waiting for the server
// to read, cannot stall the others. A message waits as long as
// sctp-send-ttl allows, counted from when it was backlogged, in a backlog
// bounded in bytes per association and in all; what expires or does not
// fit is dropped and counted (Stats.Backlog). Overloaded reports when more
// than half of either bound waits: the peers do not take responses as fast
// as they send requests, the point where a server should refuse new work. How much the others are spared depends on the kernel: with
// net.sctp.sndbuf_policy 0 (Linux's default) all associations of a socket
// share its send buffer, and a peer that stops reading fills it for every
// association until the stack gives its messages up (sctp-send-ttl) or the
// association ends; with 1, each association has a buffer of its own, as a
// server with many peers wants. SndbufPolicy reads the setting; the runtime
// warns when it is 0 and shows it in show sctp options.
//
// # Options
//
// Options holds every SCTP knob of the SBC guide and the Kamailio sctp
// module (RTO initial/min/max, heartbeat interval, path and association
// retransmissions, SACK delay and frequency, max burst, INIT attempts and
// timeout, buffers, autoclose, send TTL, unordered sending, streams, maximum
// associations). Apply sets them with hand-marshalled setsockopt calls (see
// package sctpwire for the layouts) and ReadOptions reads the kernel's
// values back with getsockopt, for "show" commands.
//
// Options set on a listening socket are endpoint defaults that the kernel
// copies into each new association: changing them affects only associations
// created afterwards, while existing ones keep their values (readable with
// Listener.ReadAssocOptions).
//
// # Testing
//
// The tests need kernel SCTP. Where the kernel has none they run in a
// User-Mode Linux guest (see internal/uml); the package's pure parsing code
// is in sctpwire, whose tests and fuzz targets run anywhere.
package sctp
