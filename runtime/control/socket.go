package control

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// EnvSocket names a control socket that overrides the default beside the
// database, for a daemon started with --control elsewhere.
const EnvSocket = "ACLI_CONTROL"

// SocketPath is the control socket of the database at dbPath: $ACLI_CONTROL
// when set, else dbPath + ".sock".
func SocketPath(dbPath string) string {
	if p := os.Getenv(EnvSocket); p != "" {
		return p
	}
	return dbPath + ".sock"
}

// maxSunPath is the room for a path in struct sockaddr_un.
const maxSunPath = len(unix.RawSockaddrUnix{}.Path) - 1

// shortPath returns a name for path that fits a sockaddr_un: path itself,
// or /proc/self/fd/N/base through an O_PATH descriptor of its directory
// (closed by the returned func once bind or connect is done).
func shortPath(path string) (string, func(), error) {
	if len(path) <= maxSunPath {
		return path, func() {}, nil
	}
	fd, err := unix.Open(filepath.Dir(path), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	short := fmt.Sprintf("/proc/self/fd/%d/%s", fd, filepath.Base(path))
	if len(short) > maxSunPath {
		unix.Close(fd)
		return "", nil, fmt.Errorf("control socket %s: file name too long for a unix socket (at most %d bytes)", path, maxSunPath)
	}
	return short, func() { unix.Close(fd) }, nil
}

// listenUnix creates the socket at path with mode 0600 before it accepts
// anything: bind, chmod, then listen.
func listenUnix(path string) (*net.UnixListener, error) {
	name, done, err := shortPath(path)
	if err != nil {
		return nil, err
	}
	defer done()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	fail := func(what string, err error) (*net.UnixListener, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("control socket %s: %s: %w", path, what, err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: name}); err != nil {
		return fail("bind", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		os.Remove(path)
		return fail("chmod 0600", err)
	}
	if err := unix.Listen(fd, 128); err != nil {
		os.Remove(path)
		return fail("listen", err)
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	ul := ln.(*net.UnixListener)
	ul.SetUnlinkOnClose(false) // Server.Close removes the file itself
	return ul, nil
}

// dialUnix connects to the socket at path.
func dialUnix(path string) (*net.UnixConn, error) {
	name, done, err := shortPath(path)
	if err != nil {
		return nil, err
	}
	defer done()
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: name, Net: "unix"})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// notAttached reports whether a dial error means that no daemon serves the
// socket (no socket file, or nobody listening on it).
func notAttached(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ENOTSOCK)
}
