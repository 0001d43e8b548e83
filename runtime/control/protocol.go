// Package control is the control protocol between the acli runtime daemon
// (acli serve) and the shells on the same database: one JSON request and
// one JSON response per connection on a unix socket of mode 0600 beside the
// database (see SocketPath).
//
// Commands: apply (read the running configuration again and apply it),
// sctp-info, sctp-options [address], sip-ports, session-agents [hostname]
// and status. The Server
// answers them from a Backend (the runtime engine); the Client asks them and
// reports ErrNotAttached when no daemon serves the socket.
package control

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Commands of the protocol.
const (
	CmdApply       = "apply"
	CmdSCTPInfo    = "sctp-info"
	CmdSCTPOptions = "sctp-options"
	CmdSIPPorts    = "sip-ports"
	CmdAgents      = "session-agents"
	CmdStatus      = "status"
)

// Commands lists every command, for error messages.
var Commands = []string{CmdApply, CmdSCTPInfo, CmdSCTPOptions, CmdSIPPorts, CmdAgents, CmdStatus}

// MaxMessage bounds one encoded request or response.
const MaxMessage = 8 << 20

// Request is one control request.
type Request struct {
	Command string `json:"command"`
	// Address selects the SCTP listeners of sctp-options: one bound to this
	// address (IP, or IP:port); empty selects all.
	Address string `json:"address,omitempty"`
	// Hostname selects one session-agent of session-agents; empty selects
	// all.
	Hostname string `json:"hostname,omitempty"`
}

// Response answers one Request; Error is set when the request itself
// failed (a failed apply is an ApplyReport with Errors instead).
type Response struct {
	Error     string            `json:"error,omitempty"`
	Apply     *ApplyReport      `json:"apply,omitempty"`
	Status    *Status           `json:"status,omitempty"`
	Listeners []Listener        `json:"listeners,omitempty"`
	Options   []ListenerOptions `json:"options,omitempty"`
	Ports     *Ports            `json:"ports,omitempty"`
	Agents    []Agent           `json:"agents,omitempty"`
}

// ApplyReport says what an apply changed, or why it changed nothing.
type ApplyReport struct {
	Version   string   `json:"version"`            // the version applied (or refused)
	Previous  string   `json:"previous,omitempty"` // the version serving before
	Opened    []string `json:"opened,omitempty"`   // listener keys
	Updated   []Update `json:"updated,omitempty"`
	Closed    []string `json:"closed,omitempty"`
	Unchanged int      `json:"unchanged"`
	// Session-agents added, changed (Changes says how; a changed address,
	// port, transport or local address set means a new connection) and
	// removed, by hostname, and how many stayed as they were.
	AgentsAdded     []string `json:"agents_added,omitempty"`
	AgentsUpdated   []Update `json:"agents_updated,omitempty"`
	AgentsRemoved   []string `json:"agents_removed,omitempty"`
	AgentsUnchanged int      `json:"agents_unchanged,omitempty"`
	// Errors lists every failure. When it is not empty nothing changed: the
	// previous version keeps serving.
	Errors []string `json:"errors,omitempty"`
	// Warnings are problems that did not fail the apply (a listener that
	// did not close cleanly).
	Warnings []string `json:"warnings,omitempty"`
}

// Update is a listener changed in place.
type Update struct {
	Key     string   `json:"key"`
	Changes []string `json:"changes"`
}

// Err returns the report's errors joined, or nil when the apply succeeded.
func (r *ApplyReport) Err() error {
	if len(r.Errors) == 0 {
		return nil
	}
	errs := make([]error, len(r.Errors))
	for i, e := range r.Errors {
		errs[i] = errors.New(e)
	}
	return fmt.Errorf("runtime refused version %s (version %s keeps serving): %w",
		r.Version, orNone(r.Previous), errors.Join(errs...))
}

// Changed reports whether the apply opened, updated or closed anything.
func (r *ApplyReport) Changed() bool {
	return len(r.Opened)+len(r.Updated)+len(r.Closed)+len(r.AgentsAdded)+len(r.AgentsUpdated)+len(r.AgentsRemoved) > 0
}

func (r *ApplyReport) agentsChanged() bool {
	return len(r.AgentsAdded)+len(r.AgentsUpdated)+len(r.AgentsRemoved) > 0
}

// String is the report as the shell prints it.
func (r *ApplyReport) String() string {
	var b strings.Builder
	if len(r.Errors) > 0 {
		fmt.Fprintf(&b, "%% runtime: version %s was NOT applied; version %s keeps serving\n", r.Version, orNone(r.Previous))
		for _, e := range r.Errors {
			fmt.Fprintf(&b, "%%   error: %s\n", e)
		}
		return b.String()
	}
	if len(r.Opened)+len(r.Updated)+len(r.Closed) == 0 {
		fmt.Fprintf(&b, "%% runtime: version %s applied: no listener changed (%d unchanged)\n", r.Version, r.Unchanged)
	} else {
		fmt.Fprintf(&b, "%% runtime: version %s applied: %d opened, %d updated, %d closed, %d unchanged\n",
			r.Version, len(r.Opened), len(r.Updated), len(r.Closed), r.Unchanged)
	}
	for _, k := range r.Opened {
		fmt.Fprintf(&b, "%%   opened  %s\n", k)
	}
	for _, u := range r.Updated {
		fmt.Fprintf(&b, "%%   updated %s: %s\n", u.Key, strings.Join(u.Changes, ", "))
	}
	for _, k := range r.Closed {
		fmt.Fprintf(&b, "%%   closed  %s\n", k)
	}
	if r.agentsChanged() {
		fmt.Fprintf(&b, "%% runtime: session-agents: %d added, %d updated, %d removed, %d unchanged\n",
			len(r.AgentsAdded), len(r.AgentsUpdated), len(r.AgentsRemoved), r.AgentsUnchanged)
		for _, h := range r.AgentsAdded {
			fmt.Fprintf(&b, "%%   added   session-agent %s\n", h)
		}
		for _, u := range r.AgentsUpdated {
			fmt.Fprintf(&b, "%%   updated session-agent %s: %s\n", u.Key, strings.Join(u.Changes, ", "))
		}
		for _, h := range r.AgentsRemoved {
			fmt.Fprintf(&b, "%%   removed session-agent %s\n", h)
		}
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "%%   warning: %s\n", w)
	}
	return b.String()
}

func orNone(v string) string {
	if v == "" {
		return "(none)"
	}
	return v
}

// Counters are a listener's message and association counters since it was
// opened.
type Counters struct {
	MessagesIn  uint64 `json:"messages_in"`
	MessagesOut uint64 `json:"messages_out"`
	ParseErrors uint64 `json:"parse_errors"` // malformed messages (dropped or answered 400)
	Dropped     uint64 `json:"dropped"`      // responses and keepalives received, oversized messages
	SendErrors  uint64 `json:"send_errors"`
	// Connections: TCP connections or SCTP associations.
	Assocs      int    `json:"assocs"`       // open now
	AssocsTotal uint64 `json:"assocs_total"` // opened since the listener started
	Aborts      uint64 `json:"aborts"`       // lost or aborted (not shut down gracefully)
	Refused     uint64 `json:"refused"`      // refused because sctp-max-assocs was reached
	// Shed counts requests refused 503 with Retry-After because the
	// listener was overloaded (an SCTP backlog over half its bound).
	Shed uint64 `json:"shed,omitempty"`
	// KernelDrops counts a UDP socket's datagrams the kernel dropped
	// because its receive buffer was full (the socket's drops counter).
	KernelDrops uint64 `json:"kernel_drops,omitempty"`
}

// Listener is one live listener.
type Listener struct {
	Key       string    `json:"key"`
	Transport string    `json:"transport"`
	Interface string    `json:"interface"` // sip-interface realm-id
	Addrs     []string  `json:"addrs"`     // bound addresses as the kernel reports them
	Port      int       `json:"port"`
	Since     time.Time `json:"since"`
	Counters  Counters  `json:"counters"`
	// RcvBuf is a UDP socket's receive buffer as the kernel has it
	// (SO_RCVBUF: twice what was asked, for its bookkeeping).
	RcvBuf int `json:"rcvbuf,omitempty"`
	// Backlog is an SCTP listener's messages waiting for room in the send
	// buffer.
	Backlog *Backlog `json:"backlog,omitempty"`
}

// Backlog describes the messages of an SCTP listener that wait for room
// in the send buffer (runtime/sctp.BacklogStats).
type Backlog struct {
	Messages      int    `json:"messages"`        // waiting now
	Bytes         int    `json:"bytes"`           // waiting now
	MaxAssocBytes int    `json:"max_assoc_bytes"` // of the association with most waiting
	PeakBytes     int    `json:"peak_bytes"`      // the most that waited at once
	LimitAssoc    int    `json:"limit_assoc"`     // sctp-backlog-assoc
	LimitTotal    int    `json:"limit_total"`     // sctp-backlog-total
	Expired       uint64 `json:"expired"`         // dropped: sctp-send-ttl passed
	Overflowed    uint64 `json:"overflowed"`      // dropped: a limit was reached
	// KernelDropped: messages the kernel had taken and gave up
	// (SEND_FAILED: sctp-send-ttl expired in its queue, or the association
	// went down first).
	KernelDropped uint64 `json:"kernel_dropped"`
}

// Option is one SCTP option of a listener: the kernel's value (getsockopt)
// and the configured one.
type Option struct {
	Name       string `json:"name"`
	Kernel     string `json:"kernel"`
	Configured string `json:"configured"`
	Note       string `json:"note,omitempty"`
}

// AssocOptions are the kernel's options of one existing association.
type AssocOptions struct {
	ID      int32    `json:"id"`
	Peer    []string `json:"peer"`
	Options []Option `json:"options"` // Configured is empty
	Error   string   `json:"error,omitempty"`
}

// ListenerOptions are the SCTP options of one listener.
type ListenerOptions struct {
	Key     string         `json:"key"`
	Addrs   []string       `json:"addrs"`
	Port    int            `json:"port"`
	Options []Option       `json:"options"`
	Error   string         `json:"error,omitempty"` // a getsockopt that failed
	Assocs  []AssocOptions `json:"assocs,omitempty"`
	// MoreAssocs counts associations not listed in Assocs.
	MoreAssocs int `json:"more_assocs,omitempty"`
	// SndbufPolicy is the host's net.sctp.sndbuf_policy and what it means
	// for the listener ("" if unknown).
	SndbufPolicy string `json:"sndbuf_policy,omitempty"`
}

// Port states.
const (
	StateListening = "listening"
	StateFailed    = "failed"
	StateNotTried  = "not applied"
)

// PortState is one configured sip-port and its live state.
type PortState struct {
	Interface  string   `json:"interface"`
	Transport  string   `json:"transport"`
	Address    string   `json:"address"`
	MultiHomed []string `json:"multi_homed,omitempty"`
	Port       int      `json:"port"`
	Key        string   `json:"key"`
	State      string   `json:"state"`
	Reason     string   `json:"reason,omitempty"`
	In         uint64   `json:"in"`
	Out        uint64   `json:"out"`
	// RcvBuf and KernelDrops: a UDP port's receive buffer and the
	// datagrams the kernel dropped because it was full.
	RcvBuf      int    `json:"rcvbuf,omitempty"`
	KernelDrops uint64 `json:"kernel_drops,omitempty"`
	// Shed: requests refused 503 with Retry-After for overload.
	Shed uint64 `json:"shed,omitempty"`
}

// Ports are the sip-ports of the serving version and, when the last apply
// failed, those of the refused one.
type Ports struct {
	Version   string       `json:"version"`
	AppliedAt time.Time    `json:"applied_at"`
	Serving   []PortState  `json:"serving"`
	Failed    *FailedApply `json:"failed,omitempty"`
}

// FailedApply is the last apply when it failed.
type FailedApply struct {
	Version string      `json:"version"`
	At      time.Time   `json:"at"`
	Ports   []PortState `json:"ports"`
	Errors  []string    `json:"errors"`
}

// Status is the daemon's state.
type Status struct {
	PID       int       `json:"pid"`
	Started   time.Time `json:"started"`
	Database  string    `json:"database"`
	Control   string    `json:"control"`
	Version   string    `json:"version"`
	AppliedAt time.Time `json:"applied_at"`
	Listeners int       `json:"listeners"`
	LastError string    `json:"last_error,omitempty"`
	// On etcd: the runtime's id in show runtimes (HOST/PID), whether it
	// leads the prefix's election, and since when it has lost etcd.
	ID       string    `json:"id,omitempty"`
	Leader   bool      `json:"leader,omitempty"`
	EtcdLost time.Time `json:"etcd_lost,omitzero"`
}

// Backend answers the commands; the runtime engine implements it.
type Backend interface {
	// Apply reads the running configuration and applies it.
	Apply() ApplyReport
	// SCTPInfo returns the SCTP listeners.
	SCTPInfo() []Listener
	// SCTPOptions returns the options of the SCTP listeners bound to
	// address (IP or IP:port; "" for all), read back from the kernel.
	SCTPOptions(address string) ([]ListenerOptions, error)
	// SIPPorts returns the configured sip-ports and their state.
	SIPPorts() Ports
	// SessionAgents returns the session-agents of the serving version
	// with their live state: the one named hostname, or all ("").
	SessionAgents(hostname string) ([]Agent, error)
	// Status returns the daemon's state.
	Status() Status
}
