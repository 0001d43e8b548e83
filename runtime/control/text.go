package control

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// table returns a column writer to w whose lines carry no trailing
// blanks (tabwriter pads the last cell of a row): Flush writes it.
func table(w io.Writer) *tableWriter {
	t := &tableWriter{w: w}
	t.tw = tabwriter.NewWriter(&t.buf, 0, 0, 2, ' ', 0)
	return t
}

type tableWriter struct {
	w   io.Writer
	buf bytes.Buffer
	tw  *tabwriter.Writer
}

func (t *tableWriter) Write(p []byte) (int, error) { return t.tw.Write(p) }

// Flush writes the table.
func (t *tableWriter) Flush() error {
	if err := t.tw.Flush(); err != nil {
		return err
	}
	lines := strings.SplitAfter(t.buf.String(), "\n")
	for i, l := range lines {
		if strings.HasSuffix(l, "\n") {
			lines[i] = strings.TrimRight(l[:len(l)-1], " ") + "\n"
		}
	}
	t.buf.Reset()
	_, err := io.WriteString(t.w, strings.Join(lines, ""))
	return err
}

// WriteSCTPInfo prints the SCTP listeners as show sctp info does.
func WriteSCTPInfo(w io.Writer, ls []Listener) {
	if len(ls) == 0 {
		fmt.Fprintf(w, "%% no SCTP listener is open\n")
		return
	}
	for i, l := range ls {
		if i > 0 {
			fmt.Fprintln(w)
		}
		c := l.Counters
		fmt.Fprintf(w, "SCTP listener %s (sip-interface %s) since %s\n", l.Key, l.Interface, l.Since.Format(time.RFC3339))
		tw := table(w)
		fmt.Fprintf(tw, "  bound addresses\t%s\n", strings.Join(l.Addrs, " "))
		fmt.Fprintf(tw, "  associations\t%d open, %d opened in total\n", c.Assocs, c.AssocsTotal)
		fmt.Fprintf(tw, "  refused (max-assocs)\t%d\n", c.Refused)
		fmt.Fprintf(tw, "  aborted or lost\t%d\n", c.Aborts)
		fmt.Fprintf(tw, "  messages in\t%d\n", c.MessagesIn)
		fmt.Fprintf(tw, "  messages out\t%d\n", c.MessagesOut)
		fmt.Fprintf(tw, "  parse errors\t%d\n", c.ParseErrors)
		fmt.Fprintf(tw, "  dropped\t%d\n", c.Dropped)
		fmt.Fprintf(tw, "  send errors\t%d\n", c.SendErrors)
		if b := l.Backlog; b != nil {
			fmt.Fprintf(tw, "  send backlog\t%d messages, %d bytes (largest association %d), peak %d bytes\n",
				b.Messages, b.Bytes, b.MaxAssocBytes, b.PeakBytes)
			fmt.Fprintf(tw, "  backlog limits\t%d bytes per association, %d in all\n", b.LimitAssoc, b.LimitTotal)
			fmt.Fprintf(tw, "  backlog dropped\t%d expired (sctp-send-ttl), %d overflowed\n", b.Expired, b.Overflowed)
			fmt.Fprintf(tw, "  dropped by the kernel\t%d (SEND_FAILED: sctp-send-ttl expired in its queue, or the association went down)\n", b.KernelDropped)
			fmt.Fprintf(tw, "  overload\t%d requests refused 503 with Retry-After (backlog over half a limit)\n", c.Shed)
		}
		tw.Flush()
	}
}

// WriteSCTPOptions prints listeners' options as show sctp options does:
// the kernel's value (getsockopt) beside the configured one.
func WriteSCTPOptions(w io.Writer, los []ListenerOptions) {
	if len(los) == 0 {
		fmt.Fprintf(w, "%% no SCTP listener is open\n")
		return
	}
	for i, lo := range los {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "SCTP listener %s, bound %s\n", lo.Key, strings.Join(lo.Addrs, " "))
		if lo.Error != "" {
			fmt.Fprintf(w, "%% reading options back failed: %s\n", lo.Error)
		}
		tw := table(w)
		fmt.Fprintf(tw, "  option\tkernel\tconfigured\n")
		for _, o := range lo.Options {
			mark := ""
			if o.Kernel != o.Configured && o.Note == "" {
				mark = "(differs)"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", o.Name, o.Kernel, o.Configured, strings.TrimSpace(mark+" "+o.Note))
		}
		tw.Flush()
		if lo.SndbufPolicy != "" {
			fmt.Fprintf(w, "  host: net.sctp.sndbuf_policy %s\n", lo.SndbufPolicy)
		}
		if len(lo.Assocs) > 0 {
			fmt.Fprintf(w, "  existing associations (their own values; a change affects new associations only):\n")
			tw := table(w)
			var head []string
			for _, o := range lo.Assocs[0].Options {
				head = append(head, strings.TrimPrefix(o.Name, "sctp-"))
			}
			fmt.Fprintf(tw, "  assoc\tpeer\t%s\n", strings.Join(head, "\t"))
			for _, a := range lo.Assocs {
				vals := make([]string, len(a.Options))
				for i, o := range a.Options {
					vals[i] = o.Kernel
				}
				fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\n", a.ID, strings.Join(a.Peer, " "), strings.Join(vals, "\t"), a.Error)
			}
			tw.Flush()
			if lo.MoreAssocs > 0 {
				fmt.Fprintf(w, "  ... and %d older associations\n", lo.MoreAssocs)
			}
		}
	}
}

// WritePorts prints the sip-ports as show sip-ports does.
func WritePorts(w io.Writer, p *Ports) {
	if p.Version == "" {
		fmt.Fprintf(w, "%% no version applied yet\n")
	} else {
		fmt.Fprintf(w, "serving version %s, applied %s\n", p.Version, p.AppliedAt.Format(time.RFC3339))
	}
	if len(p.Serving) == 0 && p.Version != "" {
		fmt.Fprintf(w, "%% the serving version has no sip-port on an enabled sip-interface\n")
	}
	writePortTable(w, p.Serving, true)
	if f := p.Failed; f != nil {
		fmt.Fprintf(w, "\nlast apply FAILED: version %s at %s was refused; the version above keeps serving\n",
			f.Version, f.At.Format(time.RFC3339))
		writePortTable(w, f.Ports, false)
		for _, e := range f.Errors {
			fmt.Fprintf(w, "%%   error: %s\n", e)
		}
	}
}

func writePortTable(w io.Writer, ports []PortState, counters bool) {
	if len(ports) == 0 {
		return
	}
	tw := table(w)
	if counters {
		fmt.Fprintf(tw, "sip-interface\ttransport\taddress\tport\tstate\tin\tout\n")
	} else {
		fmt.Fprintf(tw, "sip-interface\ttransport\taddress\tport\tstate\n")
	}
	for _, ps := range ports {
		addr := ps.Address
		if len(ps.MultiHomed) > 0 {
			addr += "+" + strings.Join(ps.MultiHomed, "+")
		}
		state := ps.State
		if ps.Reason != "" && ps.State != StateFailed {
			state += " (" + ps.Reason + ")"
		}
		if counters {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d\t%d\n", ps.Interface, ps.Transport, addr, ps.Port, state, ps.In, ps.Out)
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", ps.Interface, ps.Transport, addr, ps.Port, state)
		}
	}
	tw.Flush()
	for _, ps := range ports {
		if counters && ps.RcvBuf > 0 {
			fmt.Fprintf(w, "  %s %s:%d receive buffer %d bytes, %d datagrams dropped by the kernel (buffer full)\n",
				ps.Transport, ps.Address, ps.Port, ps.RcvBuf, ps.KernelDrops)
		}
		if counters && ps.Shed > 0 {
			fmt.Fprintf(w, "  %s %s:%d overload: %d requests refused 503 with Retry-After (%s)\n",
				ps.Transport, ps.Address, ps.Port, ps.Shed, overloadCause(ps.Transport))
		}
	}
	for _, ps := range ports {
		if ps.State == StateFailed {
			fmt.Fprintf(w, "%%   %s %s:%d failed: %s\n", ps.Transport, ps.Address, ps.Port, ps.Reason)
		}
	}
}

// WriteStatus prints the daemon's status.
func WriteStatus(w io.Writer, s *Status) {
	tw := table(w)
	fmt.Fprintf(tw, "runtime pid\t%d\n", s.PID)
	fmt.Fprintf(tw, "started\t%s\n", s.Started.Format(time.RFC3339))
	fmt.Fprintf(tw, "database\t%s\n", s.Database)
	fmt.Fprintf(tw, "control socket\t%s\n", s.Control)
	fmt.Fprintf(tw, "serving version\t%s\n", orNone(s.Version))
	fmt.Fprintf(tw, "listeners\t%d\n", s.Listeners)
	if s.LastError != "" {
		fmt.Fprintf(tw, "last apply error\t%s\n", s.LastError)
	}
	tw.Flush()
}

// overloadCause says when a sip-port of transport t refuses requests.
func overloadCause(t string) string {
	switch t {
	case "UDP":
		return "receive queue over half the buffer"
	case "TCP":
		return "the client's unread answers over half its queue"
	}
	return "backlog over half a limit"
}
