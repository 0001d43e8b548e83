package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrNotAttached means that no runtime daemon serves the control socket.
var ErrNotAttached = errors.New("no runtime is attached")

// NotAttachedError is the error of a Client whose socket has no daemon.
type NotAttachedError struct {
	Path string
	Err  error
}

func (e *NotAttachedError) Error() string {
	return fmt.Sprintf("%v: nothing serves %s (start one with: acli serve)", ErrNotAttached, e.Path)
}

// Unwrap lets errors.Is find ErrNotAttached.
func (e *NotAttachedError) Unwrap() []error { return []error{ErrNotAttached, e.Err} }

// Client asks a daemon over its control socket.
type Client struct {
	Path    string
	Timeout time.Duration // for one request and its response
}

// NewClient returns a client of the socket at path.
func NewClient(path string) *Client { return &Client{Path: path, Timeout: 60 * time.Second} }

// Do sends req and returns the response. A response carrying Error is
// returned as an error.
func (c *Client) Do(req Request) (*Response, error) {
	conn, err := dialUnix(c.Path)
	if err != nil {
		if notAttached(err) {
			return nil, &NotAttachedError{Path: c.Path, Err: err}
		}
		return nil, fmt.Errorf("control socket %s: %w", c.Path, err)
	}
	defer conn.Close()
	if c.Timeout > 0 {
		conn.SetDeadline(time.Now().Add(c.Timeout))
	}
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return nil, fmt.Errorf("control socket %s: send %s: %w", c.Path, req.Command, err)
	}
	conn.CloseWrite()
	var resp Response
	if err := json.NewDecoder(io.LimitReader(conn, MaxMessage)).Decode(&resp); err != nil {
		return nil, fmt.Errorf("control socket %s: read the answer to %s: %w", c.Path, req.Command, err)
	}
	if resp.Error != "" {
		return &resp, fmt.Errorf("runtime: %s", resp.Error)
	}
	return &resp, nil
}

// Apply asks the daemon to apply the running configuration. A refused
// version is a report with Errors, not an error.
func (c *Client) Apply() (*ApplyReport, error) {
	r, err := c.Do(Request{Command: CmdApply})
	if err != nil {
		return nil, err
	}
	if r.Apply == nil {
		return nil, fmt.Errorf("runtime: apply answered without a report")
	}
	return r.Apply, nil
}

// SCTPInfo returns the SCTP listeners.
func (c *Client) SCTPInfo() ([]Listener, error) {
	r, err := c.Do(Request{Command: CmdSCTPInfo})
	if err != nil {
		return nil, err
	}
	return r.Listeners, nil
}

// SCTPOptions returns the SCTP options of the listeners bound to address
// ("" for all).
func (c *Client) SCTPOptions(address string) ([]ListenerOptions, error) {
	r, err := c.Do(Request{Command: CmdSCTPOptions, Address: address})
	if err != nil {
		return nil, err
	}
	return r.Options, nil
}

// SIPPorts returns the configured sip-ports and their state.
func (c *Client) SIPPorts() (*Ports, error) {
	r, err := c.Do(Request{Command: CmdSIPPorts})
	if err != nil {
		return nil, err
	}
	if r.Ports == nil {
		return &Ports{}, nil
	}
	return r.Ports, nil
}

// SessionAgents returns the session-agents with their live state: the
// one named hostname, or all ("").
func (c *Client) SessionAgents(hostname string) ([]Agent, error) {
	r, err := c.Do(Request{Command: CmdAgents, Hostname: hostname})
	if err != nil {
		return nil, err
	}
	return r.Agents, nil
}

// Status returns the daemon's state.
func (c *Client) Status() (*Status, error) {
	r, err := c.Do(Request{Command: CmdStatus})
	if err != nil {
		return nil, err
	}
	if r.Status == nil {
		return nil, fmt.Errorf("runtime: status answered without a status")
	}
	return r.Status, nil
}

// NotifyApply tells the daemon serving the database at dbPath to apply the
// running version, for activate-config. Call it after the transaction that
// recorded the running version has committed: the daemon reads the
// database itself. It returns the report to print; attached is false (and
// err nil) when no daemon is running. err is the report's errors when the
// daemon refused the version (it then keeps serving the previous one).
func NotifyApply(dbPath string) (report string, attached bool, err error) {
	r, err := NewClient(SocketPath(dbPath)).Apply()
	if errors.Is(err, ErrNotAttached) {
		return "", false, nil
	}
	if err != nil {
		return "", true, err
	}
	return r.String(), true, r.Err()
}
