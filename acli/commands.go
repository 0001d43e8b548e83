package acli

import (
	"errors"
	"fmt"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/model/store"
	"golang.org/x/crypto/bcrypt"
)

// commands returns what the current mode understands, built once per mode.
func (s *Shell) commands() []*command {
	m := s.cur()
	if m.cmds == nil {
		m.cmds = s.buildCommands(m)
	}
	return m.cmds
}

func (s *Shell) buildCommands(m *mode) []*command {
	exit := &command{name: "exit", help: "leave this mode (at the top: end the session)", run: func(s *Shell, args []Token) error {
		if err := noArgs("exit", args); err != nil {
			return err
		}
		return s.exitMode()
	}}
	switch m.kind {
	case modeConfigure:
		var out []*command
		for _, c := range s.opt.Store.Schema.Containers {
			out = append(out, containerCommand(c))
		}
		return append(append(out, exit), s.globalCommands()...)
	case modeContainer:
		var out []*command
		for _, e := range m.container.Elements {
			out = append(out, elementCommand(e))
		}
		return append(append(out, exit), s.globalCommands()...)
	case modeElement:
		return append(s.elementCommands(m.ed.elem), exit)
	}
	top := []*command{
		{name: "configure", help: "enter configuration mode (configure terminal)", superuser: true,
			args: func(s *Shell, prev []Token) []cand {
				if len(prev) == 0 {
					return []cand{{"terminal", "configure from this terminal"}}
				}
				return nil
			},
			run: func(s *Shell, args []Token) error {
				if len(args) != 1 || args[0].List {
					return errors.New("configure takes one argument: terminal")
				}
				if _, err := pick(args[0].Text, []cand{{"terminal", ""}}, "argument", "configure"); err != nil {
					return err
				}
				s.modes = append(s.modes, &mode{kind: modeConfigure})
				return nil
			}},
		exit,
		{name: "enable", help: "enter superuser mode", run: (*Shell).enable},
		{name: "disable", help: "return to user mode (when an enable secret is set)", run: (*Shell).disable},
		{name: "secret", help: "set the enable secret (secret enable)", superuser: true,
			args: func(s *Shell, prev []Token) []cand {
				if len(prev) == 0 {
					return []cand{{"enable", "the enable secret"}}
				}
				return nil
			},
			run: (*Shell).secret},
	}
	return append(top, s.globalCommands()...)
}

// globalCommands work at the top and in configure and container modes.
func (s *Shell) globalCommands() []*command {
	return append([]*command{
		{name: "show", help: "show configuration and status", args: showArgs, run: (*Shell).show},
		{name: "verify-config", help: "check the editing configuration as a whole", args: verifyArgs, run: (*Shell).verifyConfig},
	}, s.lifecycleCommands()...)
}

func noArgs(cmd string, args []Token) error {
	if len(args) > 0 {
		return fmt.Errorf("%s takes no arguments, got %s", cmd, describeTok(args[0]))
	}
	return nil
}

func containerCommand(c *model.Container) *command {
	return &command{name: c.Name, help: c.Help, run: func(s *Shell, args []Token) error {
		if err := noArgs(c.Name, args); err != nil {
			return err
		}
		s.modes = append(s.modes, &mode{kind: modeContainer, container: c})
		return nil
	}}
}

func elementCommand(e *model.Element) *command {
	return &command{name: e.OpenCommand(), help: "configure " + e.Help, run: func(s *Shell, args []Token) error {
		if err := noArgs(e.OpenCommand(), args); err != nil {
			return err
		}
		ed, err := s.openElement(e, nil)
		if err != nil {
			return err
		}
		s.modes = append(s.modes, &mode{kind: modeElement, ed: ed})
		return nil
	}}
}

const secretKey = "enable-secret"

func (s *Shell) secretHash() ([]byte, error) {
	var h []byte
	err := s.be.read(func(tx *store.Tx) error { h = tx.Meta(secretKey); return nil })
	return h, err
}

// startMode puts the shell in user mode when an enable secret is set.
func (s *Shell) startMode() error {
	h, err := s.secretHash()
	if err != nil {
		return err
	}
	s.super = h == nil
	return nil
}

func (s *Shell) enable(args []Token) error {
	if err := noArgs("enable", args); err != nil {
		return err
	}
	if s.super {
		return nil
	}
	h, err := s.secretHash()
	if err != nil {
		return err
	}
	if h == nil {
		s.super = true
		return nil
	}
	pw, err := s.r.ReadPassword("Password: ")
	if err != nil {
		return fmt.Errorf("enable: %w", err)
	}
	if bcrypt.CompareHashAndPassword(h, []byte(pw)) != nil {
		return errors.New("enable: bad password")
	}
	s.super = true
	return nil
}

func (s *Shell) disable(args []Token) error {
	if err := noArgs("disable", args); err != nil {
		return err
	}
	h, err := s.secretHash()
	if err != nil {
		return err
	}
	if h == nil {
		return errors.New("disable: no enable secret is set, so there is no user mode (set one with secret enable)")
	}
	if len(s.modes) > 1 {
		return errors.New("disable: leave configuration mode first")
	}
	s.super = false
	return nil
}

func (s *Shell) secret(args []Token) error {
	if len(args) != 1 || args[0].List || args[0].Text == "" {
		return errors.New("secret takes one argument: enable")
	}
	if _, err := pick(args[0].Text, []cand{{"enable", ""}}, "argument", "secret"); err != nil {
		return err
	}
	pw, err := s.r.ReadPassword("Enter new password : ")
	if err != nil {
		return fmt.Errorf("secret enable: %w", err)
	}
	again, err := s.r.ReadPassword("Enter password again : ")
	if err != nil {
		return fmt.Errorf("secret enable: %w", err)
	}
	if pw != again {
		return errors.New("secret enable: the passwords do not match; the secret is unchanged")
	}
	var h []byte
	if pw != "" {
		if len(pw) < 8 {
			return errors.New("secret enable: the password must be at least 8 characters (empty removes the secret)")
		}
		if h, err = bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost); err != nil {
			return fmt.Errorf("secret enable: %w", err)
		}
	}
	return s.be.write(func(tx *store.Tx) error { return tx.SetMeta(secretKey, h) })
}
