package blockread

import (
	"errors"
	"net"
	"os"
	goruntime "runtime"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// udpSocket returns a blocking UDP socket on 127.0.0.1 with the package's
// timeouts, a Waiter for it, and a client connected to it.
func udpSocket(t *testing.T) (int, *Waiter, *net.UDPConn) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := SetTimeouts(fd); err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(fd)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sa.(*unix.SockaddrInet4).Port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		w.Close()
		unix.Close(fd)
	})
	return fd, w, c
}

// receiver is a raw recvfrom into buf that counts its calls, but those a
// signal interrupted.
func receiver(fd int, buf []byte, calls *atomic.Int64) func(int) (int, unix.Errno) {
	return func(flags int) (int, unix.Errno) {
		n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)),
			uintptr(flags), 0, 0)
		if e != unix.EINTR { // a signal (the scheduler's preemption under load) is no receive
			calls.Add(1)
		}
		return int(n), e
	}
}

type result struct {
	n   int
	err error
	at  time.Time
}

func recvAsync(w *Waiter, recv func(int) (int, unix.Errno)) chan result {
	ch := make(chan result, 1)
	go func() {
		n, err := w.Recv(recv)
		ch <- result{n, err, time.Now()}
	}()
	return ch
}

func wait(t *testing.T, ch chan result, what string) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: Recv did not return within 5s", what)
		return result{}
	}
}

// TestRecv: a datagram is received hot, and cold (hot forbidden), and
// after the reader went cold by itself; while idle a cold reader makes one
// receive call, before it parks.
func TestRecv(t *testing.T) {
	for _, c := range []struct {
		name string
		hot  bool
		idle time.Duration // before the datagram
	}{
		{"hot", true, 0},
		{"cold", false, 0},
		{"cold-after-idle", true, ColdAfter*HotTimeout + 300*time.Millisecond},
		{"cold-idle", false, 200 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			fd, w, client := udpSocket(t)
			w.SetHot(c.hot)
			var calls atomic.Int64
			buf := make([]byte, 2048)
			ch := recvAsync(w, receiver(fd, buf, &calls))
			time.Sleep(c.idle)
			idleCalls := calls.Load()
			if _, err := client.Write([]byte("datagram")); err != nil {
				t.Fatal(err)
			}
			r := wait(t, ch, c.name)
			if r.err != nil || string(buf[:r.n]) != "datagram" {
				t.Fatalf("Recv: %q, %v", buf[:r.n], r.err)
			}
			if c.hot && (!w.hot || w.watched) {
				t.Errorf("after a message: hot %v, socket watched by the netpoller %v; want hot and unwatched", w.hot, w.watched)
			}
			switch {
			case !c.hot && idleCalls > 1:
				t.Errorf("a cold reader made %d receive calls while idle, want at most 1 (before it parks)", idleCalls)
			case c.hot && c.idle > 0 && idleCalls > ColdAfter+1:
				t.Errorf("%d receive calls in %v idle: the reader did not go cold after %d", idleCalls, c.idle, ColdAfter)
			}
		})
	}
}

// idleReader returns a Waiter on a socket nobody sends to, hot or cold,
// and a function that starts a Recv on it.
func idleReader(t *testing.T, hot bool) (*Waiter, func() chan result) {
	fd, w, _ := udpSocket(t)
	w.SetHot(hot)
	var calls atomic.Int64
	return w, func() chan result { return recvAsync(w, receiver(fd, make([]byte, 64), &calls)) }
}

// TestCloseAndDeadline: Close and a deadline end a waiting Recv, hot or
// cold, and a deadline set while a cold reader waits wakes it.
func TestCloseAndDeadline(t *testing.T) {
	for _, hot := range []bool{true, false} {
		name := map[bool]string{true: "hot", false: "cold"}[hot]
		t.Run(name+"/close", func(t *testing.T) {
			w, recv := idleReader(t, hot)
			ch := recv()
			time.Sleep(20 * time.Millisecond)
			if !w.Close() || w.Close() {
				t.Fatal("Close: want true the first time, false the second")
			}
			if r := wait(t, ch, "close"); !errors.Is(r.err, net.ErrClosed) {
				t.Fatalf("Recv after Close: %v, want net.ErrClosed", r.err)
			}
			if err := w.SetDeadline(time.Now()); !errors.Is(err, net.ErrClosed) {
				t.Errorf("SetDeadline after Close: %v", err)
			}
		})
		t.Run(name+"/deadline", func(t *testing.T) {
			w, recv := idleReader(t, hot)
			w.SetDeadline(time.Now().Add(50 * time.Millisecond))
			start := time.Now()
			r := wait(t, recv(), "deadline")
			if !errors.Is(r.err, os.ErrDeadlineExceeded) || r.at.Sub(start) < 50*time.Millisecond {
				t.Fatalf("Recv: %v after %v, want the deadline error after 50ms", r.err, r.at.Sub(start))
			}
		})
		t.Run(name+"/new-deadline", func(t *testing.T) {
			w, recv := idleReader(t, hot)
			ch := recv()
			time.Sleep(20 * time.Millisecond)
			w.SetDeadline(time.Now().Add(-time.Second))
			if r := wait(t, ch, "new deadline"); !errors.Is(r.err, os.ErrDeadlineExceeded) {
				t.Fatalf("Recv: %v, want the deadline error", r.err)
			}
		})
	}
}

// TestRecvError: an error of the receive call other than EAGAIN and EINTR
// is Recv's.
func TestRecvError(t *testing.T) {
	_, w, _ := udpSocket(t)
	_, err := w.Recv(func(int) (int, unix.Errno) { return 0, unix.EBADF })
	if !errors.Is(err, unix.EBADF) {
		t.Fatalf("Recv: %v, want EBADF", err)
	}
}

// TestYield: a hot reader that holds the program's only P lets the rest of
// the program run at least every YieldEvery receives, but not before every
// one.
func TestYield(t *testing.T) {
	defer goruntime.GOMAXPROCS(goruntime.GOMAXPROCS(1))
	fd, w, client := udpSocket(t)
	const msgs = 8 * YieldEvery
	for range msgs { // queued before Write returns (loopback)
		if _, err := client.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	var turns atomic.Int64 // the other goroutine's
	var stop atomic.Bool
	go func() {
		for !stop.Load() {
			turns.Add(1)
			goruntime.Gosched()
		}
	}()
	type window struct {
		turns int64
		err   error
	}
	done := make(chan []window, 1)
	go func() {
		var calls atomic.Int64
		buf := make([]byte, 64)
		ws := make([]window, msgs)
		for i := range ws {
			_, ws[i].err = w.Recv(receiver(fd, buf, &calls))
			ws[i].turns = turns.Load()
		}
		stop.Store(true)
		done <- ws
	}()
	var ws []window
	select {
	case ws = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the reader did not receive the queued datagrams within 5s")
	}
	for i, x := range ws {
		if x.err != nil {
			t.Fatalf("Recv %d: %v", i, x.err)
		}
	}
	// Between the first receive and the last: about msgs/YieldEvery
	// yields (the scheduler's queues are not strictly FIFO).
	switch n := ws[msgs-1].turns - ws[0].turns; {
	case n < msgs/YieldEvery/2:
		t.Errorf("the other goroutine ran %d times in %d receives (GOMAXPROCS 1): the reader does not yield", n, msgs)
	case n > msgs/2:
		t.Errorf("the other goroutine ran %d times in %d receives: the reader yields (and pays the scheduler) too often", n, msgs)
	}
	if w.every != YieldEvery {
		t.Errorf("after %d receives in a row the reader yields every %d, want %d", msgs, w.every, YieldEvery)
	}
	// A timeout (like a signal) sets it back to yielding before every
	// receive.
	ch := recvAsync(w, receiver(fd, make([]byte, 64), new(atomic.Int64)))
	time.Sleep(3 * HotTimeout)
	if _, err := client.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if r := wait(t, ch, "after a timeout"); r.err != nil {
		t.Fatal(r.err)
	}
	if w.every != 1 {
		t.Errorf("after a timeout the reader yields every %d receives, want 1", w.every)
	}
}
