package runtime

import (
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/acli-project/acli/model/store"
)

// TestConfirmedRollback: the daemon owns a confirmed activation's
// deadline. Version 2 (UDP port b instead of a) is activated confirmed
// within a short window; unless confirmed, the daemon returns running to
// version 1 and applies it by itself: port a serves again and port b is
// released. It does so across its own restart too (a deadline still ahead
// is timed; one that passed while it was down rolls back at start), and a
// confirmation cancels it.
func TestConfirmedRollback(t *testing.T) {
	const window = 1500 * time.Millisecond
	tests := []struct {
		name string
		// between runs after the confirmed activation has been applied.
		between  func(t *testing.T, d *Daemon, db string) *Daemon
		wantBack bool
	}{
		{"timer", func(t *testing.T, d *Daemon, db string) *Daemon { return d }, true},
		{"restart before the deadline", func(t *testing.T, d *Daemon, db string) *Daemon {
			d.Close()
			return startDaemon(t, db)
		}, true},
		{"restart after the deadline", func(t *testing.T, d *Daemon, db string) *Daemon {
			d.Close()
			time.Sleep(window + 500*time.Millisecond)
			d = startDaemon(t, db)
			if v, _ := d.Engine().Version(); v != "1" {
				t.Errorf("a deadline passed while no daemon ran: serving version %s at start, want 1", v)
			}
			return d
		}, true},
		{"confirmed", func(t *testing.T, d *Daemon, db string) *Daemon {
			if err := store.New(db).Update(func(tx *store.Tx) error {
				_, err := tx.Activate(2, time.Now(), 0, "test")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			d.Apply() // as activate-config asks it to
			return d
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "acli.db")
			a, b := freePort(t), freePort(t)
			writeConfig(t, db, config([]port{{"core", "UDP", "127.0.0.1", a, nil}}, nil, nil))
			d := startDaemon(t, db)
			writeConfig(t, db, config([]port{{"core", "UDP", "127.0.0.1", b, nil}}, nil, nil))
			// Make version 2 running again, confirmed within the window.
			if err := store.New(db).Update(func(tx *store.Tx) error {
				if _, err := tx.Activate(1, time.Now(), 0, "test"); err != nil {
					return err
				}
				_, err := tx.Activate(2, time.Now(), window, "test")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if rep := d.Apply(); rep.Version != "2" || len(rep.Errors) > 0 {
				t.Fatalf("apply of version 2: %+v", rep)
			}
			if s, err := udpOptions(t, addr("127.0.0.1", b)); err != nil || s != "SIP/2.0 200 OK" {
				t.Fatalf("version 2's port: %q, %v", s, err)
			}
			d = tt.between(t, d, db)

			want := "2"
			if tt.wantBack {
				want = "1"
			}
			deadline := time.Now().Add(window + 5*time.Second)
			for v, _ := d.Engine().Version(); v != want; v, _ = d.Engine().Version() {
				if time.Now().After(deadline) {
					t.Fatalf("serving version %s, want %s", v, want)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if !tt.wantBack {
				time.Sleep(window + 500*time.Millisecond)
				if v, _ := d.Engine().Version(); v != "2" {
					t.Fatalf("a confirmed activation rolled back: serving version %s", v)
				}
				return
			}
			var running int
			var rolled *store.Confirm
			if err := store.New(db).View(func(tx *store.Tx) (err error) {
				running = tx.RunningVersion()
				rolled, err = tx.LastAutoRollback()
				return err
			}); err != nil || running != 1 || rolled == nil || rolled.Version != 2 {
				t.Fatalf("after the deadline: running %d, last rollback %+v, %v", running, rolled, err)
			}
			if s, err := udpOptions(t, addr("127.0.0.1", a)); err != nil || s != "SIP/2.0 200 OK" {
				t.Errorf("version 1's port after the rollback: %q, %v", s, err)
			}
			if u, err := net.ListenPacket("udp", addr("127.0.0.1", b)); err != nil {
				t.Errorf("version 2's port still held after the rollback: %v", err)
			} else {
				u.Close()
			}
		})
	}
}
