package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Server serves the control protocol for a Backend.
type Server struct {
	path string
	ln   *net.UnixListener
	b    Backend
	log  *slog.Logger
	wg   sync.WaitGroup
	once sync.Once
}

// Listen creates the control socket at path (mode 0600). A socket left by a
// daemon that is gone is replaced; one that a live daemon answers on is an
// error.
func Listen(path string, b Backend, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("control socket %s: exists and is not a socket", path)
		}
		c, err := dialUnix(path)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("control socket %s: another runtime is serving it", path)
		}
		if !notAttached(err) {
			return nil, fmt.Errorf("control socket %s: %w", path, err)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("control socket %s: remove stale socket: %w", path, err)
		}
		log.Info("removed stale control socket", "path", path)
	}
	ln, err := listenUnix(path)
	if err != nil {
		return nil, err
	}
	return &Server{path: path, ln: ln, b: b, log: log}, nil
}

// Path returns the socket's path.
func (s *Server) Path() string { return s.path }

// Serve answers connections until Close; it returns nil after Close.
func (s *Server) Serve() error {
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("control socket %s: accept: %w", s.path, err)
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(c)
		}()
	}
}

// Close stops accepting, waits for the requests being answered and removes
// the socket file.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		err = s.ln.Close()
		s.wg.Wait()
		if rerr := os.Remove(s.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
			err = rerr
		}
	})
	return err
}

func (s *Server) handle(c *net.UnixConn) {
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var req Request
	var resp Response
	dec := json.NewDecoder(io.LimitReader(c, MaxMessage))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		resp.Error = fmt.Sprintf("malformed request: %v", err)
	} else {
		resp = s.Answer(req)
	}
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := json.NewEncoder(c).Encode(&resp); err != nil {
		s.log.Warn("control: answer not sent", "command", req.Command, "err", err)
	}
}

// Answer runs one request on the backend.
func (s *Server) Answer(req Request) Response {
	var resp Response
	switch req.Command {
	case CmdApply:
		s.log.Info("control: apply requested")
		r := s.b.Apply()
		resp.Apply = &r
	case CmdSCTPInfo:
		resp.Listeners = s.b.SCTPInfo()
	case CmdSCTPOptions:
		o, err := s.b.SCTPOptions(req.Address)
		if err != nil {
			resp.Error = err.Error()
		}
		resp.Options = o
	case CmdSIPPorts:
		p := s.b.SIPPorts()
		resp.Ports = &p
	case CmdAgents:
		as, err := s.b.SessionAgents(req.Hostname)
		if err != nil {
			resp.Error = err.Error()
		}
		resp.Agents = as
	case CmdStatus:
		st := s.b.Status()
		resp.Status = &st
	default:
		resp.Error = fmt.Sprintf("unknown command %q: allowed %s", req.Command, strings.Join(slices.Sorted(slices.Values(Commands)), ", "))
	}
	return resp
}
