// Package sctp is the SCTP socket layer of the acli runtime: it turns SCTP
// options of the configuration into kernel socket options and serves
// SIP-over-SCTP (RFC 4168) with Linux kernel SCTP.
//
// # Sockets
//
// The project's SCTP package is github.com/ishidawataru/sctp, used where
// it serves: its SCTPAddr and SCTPBind bind the multi-homed address sets
// (a Listener's, a Conn's local one), its dialer makes a Conn, and its
// structures (sctp_initmsg, sctp_sack_info, sctp_sndrcvinfo, sctp_sndinfo)
// are those of package sctpwire, which marshals by hand only what the
// library lacks (SCTP_RTOINFO, SCTP_ASSOCINFO, SCTP_PEER_ADDR_PARAMS,
// SCTP_MAX_BURST, SCTP_EVENT, SCTP_RCVINFO, the notifications, paths and
// status with parsed addresses).
//
// Dial opens an outbound association, a Conn: the library's dialer
// creates a one-to-one (SOCK_STREAM) socket, calls our Control hook (the
// options it lacks: Options, NODELAY, the events subscribed, and
// SO_SNDTIMEO to bound its blocking connect by the dial's deadline),
// binds and connects. Its connect blocks a thread, so it runs in a
// goroutine that the context may leave behind; the connected socket then
// leaves the library's SCTPConn (blocking reads and writes, no deadlines)
// for the Go netpoller, so that many Conns need a handful of OS threads.
//
// A Listener is not the library's: that one is one-to-one, accepting a
// socket per association, each read by its own blocking calls. An SCTP
// sip-port wants a single one-to-many (SOCK_SEQPACKET) socket carrying
// every association, bound to a primary address plus multi-homed
// secondary addresses, because then
//   - one reader serves every association, however many are open: it
//     receives batches with recvmmsg, keeping its thread and P while
//     messages flow and parking in the netpoller when idle (package
//     blockread), where the library would need a blocking read (a thread)
//     per association;
//   - the responses to a batch go out with one sendmmsg (batch.go), across
//     associations, the fewest system calls per message;
//   - a message that finds an association's send buffer full waits in a
//     per-association backlog (backlog.go) instead of blocking the writer;
//   - associations are counted and limited (MaxAssocs) from the
//     notifications of one socket, and aborted by id, with no accept and
//     no sctp_peeloff.
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
// associations). Apply sets them with setsockopt (see package sctpwire for
// the layouts) and ReadOptions reads the kernel's values back with
// getsockopt, for "show" commands. Autoclose is a one-to-many socket's: a
// Conn has none.
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
