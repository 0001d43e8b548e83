package acli

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/acli-project/acli/model/store"
	"github.com/acli-project/acli/runtime/control"
)

// runtimeShowTopics are the show topics answered by the runtime daemon
// (sctp info, sctp options, sip-ports, session-agents) over its control
// socket.
func (s *Shell) runtimeShowTopics() []showTopic {
	return []showTopic{
		{"sctp", "SCTP listeners of the runtime: info | options [address]", sctpArgs, (*Shell).showSCTP},
		{"sip-ports", "configured sip-ports and their live state in the runtime", nil, (*Shell).showSIPPorts},
		{"session-agents", "session-agents and their live state in the runtime: [hostname]", agentArgs, (*Shell).showSessionAgents},
		{"runtimes", "the runtimes (acli serve) applying this configuration: the version each serves", nil, (*Shell).showRuntimes},
	}
}

// showRuntimes lists the runtimes: on etcd every one that reports under
// the prefix, the leader (which enforces confirmed activations' deadlines)
// named, and those cut off from etcd; this machine's runtime, on its
// control socket, says itself since when it has lost etcd (the others only
// see that its lease expired). On a file, the one on the control socket.
func (s *Shell) showRuntimes(args []Token) error {
	if len(args) > 0 {
		return fmt.Errorf("show runtimes takes no argument, got %q", args[0].Text)
	}
	type row struct {
		store.RuntimeReport
		lostSince time.Time // the runtime's own word
	}
	var rows []row
	onEtcd := s.opt.Store.OnEtcd()
	if onEtcd {
		reps, err := s.opt.Store.Runtimes()
		local, lerr := s.runtimeClient().Status()
		if lerr != nil || local.ID == "" {
			local = nil
		}
		if err != nil {
			if local == nil {
				return err
			}
			s.printf("%% %v\n%% only this machine's runtime is listed (it answers on its control socket)\n", err)
		}
		for _, r := range reps {
			rows = append(rows, row{RuntimeReport: r})
		}
		if local != nil {
			i := slices.IndexFunc(rows, func(r row) bool { return r.ID == local.ID })
			if i < 0 {
				rows = append(rows, row{})
				i = len(rows) - 1
			}
			rows[i] = row{RuntimeReport: store.RuntimeReport{ID: local.ID, Version: local.Version, AppliedAt: local.AppliedAt,
				Listeners: local.Listeners, Error: local.LastError, Started: local.Started, Leader: rows[i].Leader,
				Lost: !local.EtcdLost.IsZero(), Reported: rows[i].Reported}, lostSince: local.EtcdLost}
		}
		if len(rows) == 0 {
			s.printf("%% no runtime serves %s (acli --etcd ... serve runs one)\n", s.opt.Store.Location())
			return nil
		}
	} else {
		st, err := s.runtimeClient().Status()
		if err != nil {
			return s.runtimeErr(err)
		}
		rows = []row{{RuntimeReport: store.RuntimeReport{ID: fmt.Sprintf("pid %d", st.PID), Version: st.Version, AppliedAt: st.AppliedAt,
			Listeners: st.Listeners, Error: st.LastError, Started: st.Started}}}
	}
	s.printf("%-28s %-7s %-8s %-20s %-9s %s\n", "runtime", "role", "version", "applied (UTC)", "listeners", "last apply")
	for _, r := range rows {
		role := "-" // a file's daemon: no election
		if onEtcd {
			role = "standby"
			if r.Leader {
				role = "leader"
			}
		}
		state := "ok"
		if r.Error != "" {
			state = "FAILED: " + r.Error
		}
		switch {
		case !r.lostSince.IsZero():
			state = fmt.Sprintf("etcd lost since %s UTC, serving version %s; %s", r.lostSince.UTC().Format(dateLayout), r.Version, state)
		case r.Lost:
			state = fmt.Sprintf("LOST: not reaching etcd, or stopped without saying so (last report %s UTC); %s",
				r.Reported.UTC().Format(dateLayout), state)
		}
		at := "-"
		if !r.AppliedAt.IsZero() {
			at = r.AppliedAt.UTC().Format(dateLayout)
		}
		s.printf("%-28s %-7s %-8s %-20s %-9d %s\n", r.ID, role, r.Version, at, r.Listeners, state)
	}
	return nil
}

var sctpTopics = []cand{
	{"info", "listeners, associations and message counters"},
	{"options", "SCTP options read back from the kernel: [address]"},
}

func sctpArgs(s *Shell, prev []Token) []cand {
	switch len(prev) {
	case 0:
		return sctpTopics
	case 1:
		if c, err := pick(prev[0].Text, sctpTopics, "sctp topic", "show sctp"); err == nil && c.word == "options" {
			return []cand{{"<address>", "an address of the listener (IP or IP:port); all when omitted"}}
		}
	}
	return nil
}

// runtimeClient returns the client of the database's runtime.
func (s *Shell) runtimeClient() *control.Client {
	return control.NewClient(control.SocketPath(s.opt.Store.Path))
}

// runtimeErr turns "no daemon" into a message: it is an answer, not a
// failure of the command.
func (s *Shell) runtimeErr(err error) error {
	if errors.Is(err, control.ErrNotAttached) {
		s.printf("%% %v\n", err)
		return nil
	}
	return err
}

func (s *Shell) showSCTP(args []Token) error {
	if len(args) == 0 {
		return fmt.Errorf("show sctp needs a topic: allowed %s", wordList(sctpTopics))
	}
	for _, a := range args {
		if a.List {
			return fmt.Errorf("show sctp takes words, not a list")
		}
	}
	c, err := pick(args[0].Text, sctpTopics, "sctp topic", "show sctp")
	if err != nil {
		return err
	}
	cl := s.runtimeClient()
	switch c.word {
	case "info":
		if len(args) > 1 {
			return fmt.Errorf("show sctp info takes no argument, got %q", args[1].Text)
		}
		ls, err := cl.SCTPInfo()
		if err != nil {
			return s.runtimeErr(err)
		}
		control.WriteSCTPInfo(s.out, ls)
	case "options":
		if len(args) > 2 {
			return fmt.Errorf("show sctp options takes at most one address, got %d words", len(args)-1)
		}
		addr := ""
		if len(args) == 2 {
			addr = args[1].Text
		}
		los, err := cl.SCTPOptions(addr)
		if err != nil {
			return s.runtimeErr(err)
		}
		control.WriteSCTPOptions(s.out, los)
	}
	return nil
}

func (s *Shell) showSIPPorts(args []Token) error {
	if len(args) > 0 {
		return fmt.Errorf("show sip-ports takes no argument, got %q", args[0].Text)
	}
	p, err := s.runtimeClient().SIPPorts()
	if err != nil {
		return s.runtimeErr(err)
	}
	control.WritePorts(s.out, p)
	return nil
}

func agentArgs(s *Shell, prev []Token) []cand {
	if len(prev) == 0 {
		return []cand{{"<hostname>", "a session-agent's hostname; all when omitted"}}
	}
	return nil
}

func (s *Shell) showSessionAgents(args []Token) error {
	if len(args) > 1 {
		return fmt.Errorf("show session-agents takes at most one hostname, got %d words", len(args))
	}
	host := ""
	if len(args) == 1 {
		if args[0].List {
			return fmt.Errorf("show session-agents takes a hostname, not a list")
		}
		host = args[0].Text
	}
	as, err := s.runtimeClient().SessionAgents(host)
	if err != nil {
		return s.runtimeErr(err)
	}
	control.WriteAgents(s.out, as)
	return nil
}
