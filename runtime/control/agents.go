package control

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Session-agent states.
const (
	AgentInService    = "in-service"
	AgentOutOfService = "out-of-service"
	AgentDisabled     = "disabled"
)

// Agent is one session-agent of the serving version and its live state.
type Agent struct {
	Hostname  string `json:"hostname"`
	Realm     string `json:"realm,omitempty"`
	Method    string `json:"transport_method"` // as configured (staticSCTP, StaticTCP, UDP, ...)
	Transport string `json:"transport"`        // what the runtime opens: SCTP, TCP or UDP
	// Address is the agent's address and port ("name:port" until resolved).
	Address string `json:"address"`
	State   string `json:"state"` // in-service, out-of-service, disabled
	// Reason says why it is out of service, or what it waits for.
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since"` // of State
	// NextAttempt is when the connection is tried again (zero: not waiting).
	NextAttempt time.Time     `json:"next_attempt,omitzero"`
	Conn        *AgentConn    `json:"conn,omitempty"` // nil while there is no connection
	Ping        AgentPing     `json:"ping"`
	Counters    AgentCounters `json:"counters"`
	// Retrans is the guide's failure-detection advice, judged once the
	// association is up and the number of the peer's addresses is known.
	Retrans *RetransCheck `json:"retrans,omitempty"`
}

// AgentConn is the connection to a session-agent: an SCTP association, a
// TCP connection or a UDP socket.
type AgentConn struct {
	State string    `json:"state"` // SCTP: the association state (ESTABLISHED, ...); TCP connected; UDP open
	Assoc int32     `json:"assoc,omitempty"`
	Since time.Time `json:"since"`
	// Local are the local addresses (SCTP: every address of the
	// multi-homed set, with the association's port).
	Local []string `json:"local"`
	// Remote are the peer's addresses: SCTP paths with their state, the
	// others one address.
	Remote []Path `json:"remote"`
	Error  string `json:"error,omitempty"` // a status query that failed
}

// Path is one of the peer's addresses of an SCTP association.
type Path struct {
	Addr    string `json:"addr"`
	State   string `json:"state,omitempty"` // ACTIVE, INACTIVE, UNCONFIRMED, POTENTIALLY-FAILED
	Primary bool   `json:"primary,omitempty"`
	SRTT    uint32 `json:"srtt_ms,omitempty"`
	RTO     uint32 `json:"rto_ms,omitempty"`
}

// AgentPing is the state of the OPTIONS health pings.
type AgentPing struct {
	Method   string `json:"method,omitempty"` // "": no pings
	Interval int    `json:"interval"`         // seconds
	// Last is the last answered ping: when its answer came, its status
	// and round-trip time.
	Last       time.Time     `json:"last,omitzero"`
	LastStatus int           `json:"last_status,omitempty"`
	LastRTT    time.Duration `json:"last_rtt,omitempty"`
	Sent       uint64        `json:"sent"`
	Answered   uint64        `json:"answered"`
	Missed     uint64        `json:"missed"`
}

// AgentCounters count a session-agent's traffic since it was configured.
type AgentCounters struct {
	Attempts    uint64 `json:"attempts"`    // connection attempts
	Connects    uint64 `json:"connects"`    // successful ones
	Lost        uint64 `json:"lost"`        // connections that went down
	Forwarded   uint64 `json:"forwarded"`   // requests forwarded to the agent
	Relayed     uint64 `json:"relayed"`     // its responses relayed back
	Unavailable uint64 `json:"unavailable"` // requests answered 503 (out of service or send failed)
	FromAgent   uint64 `json:"from_agent"`  // messages received on its connection
	SendErrors  uint64 `json:"send_errors"` // sends refused at once (buffer full, connection gone)
	// SCTP: messages the stack gave up (SEND_FAILED: sctp-send-ttl expired
	// or association lost), those resent per sctp-send-retries, and those
	// dropped without (retries used up, or no room to keep them).
	SendFailed uint64 `json:"send_failed"`
	Resent     uint64 `json:"resent"`
	GivenUp    uint64 `json:"given_up"`
}

// RetransCheck is the guide's advice on failure detection: that
// sctp-assoc-max-retrans be smaller than the sum of sctp-path-max-retrans
// over the peer's destination addresses, or all of them can become
// inactive while the endpoint still considers the peer reachable.
type RetransCheck struct {
	AssocMaxRetrans int  `json:"assoc_max_retrans"`
	PathMaxRetrans  int  `json:"path_max_retrans"`
	PeerAddrs       int  `json:"peer_addrs"`
	OK              bool `json:"ok"`
}

// Text is the advice as show session-agents prints it.
func (r *RetransCheck) Text() string {
	sum := r.PathMaxRetrans * r.PeerAddrs
	addrs := "addresses"
	if r.PeerAddrs == 1 {
		addrs = "address"
	}
	if r.OK {
		return fmt.Sprintf("ok: sctp-assoc-max-retrans %d < %d (sctp-path-max-retrans %d x %d peer %s)",
			r.AssocMaxRetrans, sum, r.PathMaxRetrans, r.PeerAddrs, addrs)
	}
	return fmt.Sprintf("WARNING: sctp-assoc-max-retrans %d is not smaller than %d (sctp-path-max-retrans %d x %d peer %s): "+
		"all the peer's addresses can become inactive while the association still considers the peer reachable",
		r.AssocMaxRetrans, sum, r.PathMaxRetrans, r.PeerAddrs, addrs)
}

// WriteAgents prints session-agents as show session-agents does.
func WriteAgents(w io.Writer, as []Agent) {
	if len(as) == 0 {
		fmt.Fprintf(w, "%% no session-agent is configured in the serving version\n")
		return
	}
	for i, a := range as {
		if i > 0 {
			fmt.Fprintln(w)
		}
		realm := ""
		if a.Realm != "" {
			realm = " (realm " + a.Realm + ")"
		}
		fmt.Fprintf(w, "session-agent %s%s\n", a.Hostname, realm)
		tw := table(w)
		state := a.State
		if !a.Since.IsZero() {
			state += " since " + a.Since.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "  state\t%s\n", state)
		if a.Reason != "" {
			fmt.Fprintf(tw, "  reason\t%s\n", a.Reason)
		}
		if !a.NextAttempt.IsZero() {
			fmt.Fprintf(tw, "  next attempt\t%s\n", a.NextAttempt.Format(time.RFC3339))
		}
		if a.Transport != "" && a.Transport != a.Method {
			fmt.Fprintf(tw, "  transport\t%s to %s (%s)\n", a.Method, a.Address, a.Transport)
		} else {
			fmt.Fprintf(tw, "  transport\t%s to %s\n", a.Method, a.Address)
		}
		if a.State == AgentDisabled {
			tw.Flush()
			continue
		}
		if c := a.Conn; c != nil {
			conn := c.State
			if c.Assoc != 0 {
				conn += fmt.Sprintf(", association %d", c.Assoc)
			}
			if !c.Since.IsZero() {
				conn += ", up since " + c.Since.Format(time.RFC3339)
			}
			label := "connection"
			if a.Transport == "SCTP" {
				label = "association"
			}
			fmt.Fprintf(tw, "  %s\t%s\n", label, conn)
			fmt.Fprintf(tw, "  local paths\t%s\n", strings.Join(c.Local, " "))
			for i, p := range c.Remote {
				name := ""
				if i == 0 {
					name = "remote paths"
				}
				fmt.Fprintf(tw, "  %s\t%s\n", name, p.text())
			}
			if c.Error != "" {
				fmt.Fprintf(tw, "  status error\t%s\n", c.Error)
			}
		} else {
			fmt.Fprintf(tw, "  connection\tnone\n")
		}
		if r := a.Retrans; r != nil {
			fmt.Fprintf(tw, "  retransmissions\t%s\n", r.Text())
		}
		p := a.Ping
		if p.Method == "" {
			fmt.Fprintf(tw, "  health pings\tnone (ping-method and ping-interval not both set)\n")
		} else {
			fmt.Fprintf(tw, "  health pings\t%s every %ds: %d sent, %d answered, %d missed\n", p.Method, p.Interval, p.Sent, p.Answered, p.Missed)
			if !p.Last.IsZero() {
				fmt.Fprintf(tw, "  last ping\t%d in %s at %s\n", p.LastStatus, fmtRTT(p.LastRTT), p.Last.Format(time.RFC3339))
			} else {
				fmt.Fprintf(tw, "  last ping\tnever answered\n")
			}
		}
		c := a.Counters
		fmt.Fprintf(tw, "  connections\t%d attempts, %d up, %d lost\n", c.Attempts, c.Connects, c.Lost)
		fmt.Fprintf(tw, "  requests forwarded\t%d\n", c.Forwarded)
		fmt.Fprintf(tw, "  responses relayed\t%d\n", c.Relayed)
		fmt.Fprintf(tw, "  answered 503\t%d\n", c.Unavailable)
		fmt.Fprintf(tw, "  messages from agent\t%d\n", c.FromAgent)
		fmt.Fprintf(tw, "  send errors\t%d\n", c.SendErrors)
		if a.Transport == "SCTP" {
			fmt.Fprintf(tw, "  unsent (SEND_FAILED)\t%d: %d resent, %d given up\n", c.SendFailed, c.Resent, c.GivenUp)
		}
		tw.Flush()
	}
}

func (p Path) text() string {
	s := p.Addr
	if p.State != "" {
		s += " " + p.State
	}
	if p.RTO != 0 {
		s += fmt.Sprintf(" srtt %d ms rto %d ms", p.SRTT, p.RTO)
	}
	if p.Primary {
		s += " (primary)"
	}
	return s
}

// fmtRTT prints a round-trip time in milliseconds with up to three
// decimals.
func fmtRTT(d time.Duration) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond)), "0"), ".") + " ms"
}
