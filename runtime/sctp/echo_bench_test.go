package sctp

import (
	"bytes"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// cpuTicks returns the process's user+system CPU time in clock ticks
// (/proc/self/stat utime+stime), or -1.
func cpuTicks() int64 {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return -1
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return u + s
}

// BenchmarkEcho sends SIP-sized messages over one association to a
// Listener that echoes them, one at a time (request, response), as a SIP
// server does. It reports the round trip and the CPU of the whole process
// (client and server) per message. The client is either a Conn on the
// benchmark's goroutine (conn) or a blocking one-to-one socket on a thread
// of its own (thread: closer to a peer in another process, such as SIPp).
// (Locking the server's reader to its thread made no difference.)
func BenchmarkEcho(b *testing.B) {
	b.Run("conn", func(b *testing.B) { benchEcho(b, false) })
	b.Run("thread", func(b *testing.B) { benchEcho(b, true) })
}

func benchEcho(b *testing.B, thread bool) {
	l, err := Listen([]netip.Addr{lo1}, 0, testOptions())
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, info, err := l.ReadMsg(buf)
			if err != nil {
				return
			}
			if err := l.WriteMsg(buf[:n], info.Assoc, info.Stream, info.PPID); err != nil {
				return
			}
		}
	}()
	defer func() {
		l.Close()
		<-done
	}()
	var roundTrip func()
	msg := bytes.Repeat([]byte("x"), 600) // an INVITE-sized message
	buf := make([]byte, 64<<10)
	if thread {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_SCTP)
		if err != nil {
			b.Fatal(err)
		}
		defer unix.Close(fd)
		if err := unix.Connect(fd, &unix.SockaddrInet4{Addr: lo1.As4(), Port: l.Port()}); err != nil {
			b.Fatal(err)
		}
		roundTrip = func() {
			if _, err := unix.Write(fd, msg); err != nil {
				b.Fatal(err)
			}
			if _, err := unix.Read(fd, buf); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		c := dial(b, nil, []netip.Addr{lo1}, l.Port(), testOptions())
		roundTrip = func() {
			if err := c.WriteMsg(msg, 0, 0); err != nil {
				b.Fatal(err)
			}
			if _, _, err := c.ReadMsg(buf); err != nil {
				b.Fatal(err)
			}
		}
	}
	for range 100 { // warm up
		roundTrip()
	}
	b.ReportAllocs()
	t0 := cpuTicks()
	b.ResetTimer()
	for b.Loop() {
		roundTrip()
	}
	b.StopTimer()
	if t1 := cpuTicks(); t0 >= 0 && t1 >= 0 {
		b.ReportMetric(float64(t1-t0)*1e7/float64(b.N), "cpu-ns/msg") // 100 ticks/s
	}
}
