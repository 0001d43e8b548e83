package store_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/acli-project/acli/model/store"
)

// TestConfirm: a confirmed activation expires at its deadline, back to the
// version that ran before the first of a chain; a plain one confirms it.
func TestConfirm(t *testing.T) {
	store.Backends(t, func(t *testing.T, st *store.Store) {
		for i := 1; i <= 3; i++ {
			vPut(t, st, vRealm(fmt.Sprint("r", i)))
			vSave(t, st, "")
		}
		step := func(fn func(tx *store.Tx) error) {
			t.Helper()
			if err := st.Update(fn); err != nil {
				t.Fatal(err)
			}
		}
		step(func(tx *store.Tx) error { _, err := tx.Activate(1, vEpoch, 0, "admin"); return err })
		step(func(tx *store.Tx) error {
			c, err := tx.Activate(2, vEpoch, 5*time.Minute, "admin")
			if err != nil || c.Previous != 1 || !c.Deadline.Equal(vEpoch.Add(5*time.Minute)) {
				return fmt.Errorf("confirmed 2: %+v %v", c, err)
			}
			c, err = tx.Activate(3, vEpoch.Add(time.Minute), 5*time.Minute, "admin")
			if err != nil || c.Previous != 1 {
				return fmt.Errorf("confirmed 3: %+v %v, want previous 1", c, err)
			}
			return nil
		})
		step(func(tx *store.Tx) error {
			if c, err := tx.ExpireConfirm(vEpoch.Add(5*time.Minute + 59*time.Second)); c != nil || err != nil {
				return fmt.Errorf("expired early: %+v %v", c, err)
			}
			c, err := tx.ExpireConfirm(vEpoch.Add(6 * time.Minute))
			if err != nil || c == nil || c.Version != 3 || c.Previous != 1 {
				return fmt.Errorf("expire: %+v %v", c, err)
			}
			if tx.RunningVersion() != 1 {
				return fmt.Errorf("running %d after expiry, want 1", tx.RunningVersion())
			}
			if r, err := tx.LastAutoRollback(); err != nil || r == nil || r.Version != 3 {
				return fmt.Errorf("last auto rollback %+v %v", r, err)
			}
			if c, _ := tx.PendingConfirm(); c != nil {
				return fmt.Errorf("still pending: %+v", c)
			}
			return nil
		})
		// A plain activation confirms: nothing expires.
		step(func(tx *store.Tx) error {
			if _, err := tx.Activate(2, vEpoch, time.Minute, "admin"); err != nil {
				return err
			}
			if _, err := tx.Activate(2, vEpoch, 0, "admin"); err != nil {
				return err
			}
			if c, err := tx.ExpireConfirm(vEpoch.Add(time.Hour)); c != nil || err != nil || tx.RunningVersion() != 2 {
				return fmt.Errorf("confirmed activation expired: %+v %v", c, err)
			}
			if r, _ := tx.LastAutoRollback(); r != nil {
				return fmt.Errorf("an activation keeps the old rollback notice")
			}
			return nil
		})
	})
}

func TestRuntimeApplyMark(t *testing.T) {
	store.Backends(t, func(t *testing.T, st *store.Store) {
		vPut(t, st, vRealm("r1"))
		vSave(t, st, "")
		vPut(t, st, vRealm("r2"))
		vSave(t, st, "")
		err := st.Update(func(tx *store.Tx) error {
			if err := tx.MarkRuntimeApply(1, 0); err != nil {
				return err
			}
			if err := tx.MarkRuntimeApply(2, 1); err != nil {
				return err
			}
			ra, err := tx.TakeRuntimeApply()
			if err != nil || ra == nil || *ra != (store.RuntimeApply{Version: 2, Previous: 0}) {
				return fmt.Errorf("take %+v %v, want {2 0}", ra, err)
			}
			if ra, _ := tx.TakeRuntimeApply(); ra != nil {
				return fmt.Errorf("taken twice")
			}
			if _, err := tx.Activate(2, vEpoch, time.Minute, "admin"); err != nil {
				return err
			}
			if ok, err := tx.RevertRunning(1, 0); ok || err != nil {
				return fmt.Errorf("revert from a version not running: %v %v", ok, err)
			}
			if ok, err := tx.RevertRunning(2, 1); !ok || err != nil || tx.RunningVersion() != 1 {
				return fmt.Errorf("revert: %v %v running %d", ok, err, tx.RunningVersion())
			}
			if c, _ := tx.PendingConfirm(); c != nil {
				return fmt.Errorf("the refused confirmed activation is still pending")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// TestExpireConfirmOnce: the shell's timer, the next command and the
// runtime daemon may all enforce the same deadline at once, each in a
// transaction of its own (here: processes' worth of stores on one file);
// exactly one of them rolls back.
func TestExpireConfirmOnce(t *testing.T) {
	st := vStore(t)
	for i := 1; i <= 2; i++ {
		vPut(t, st, vRealm(fmt.Sprint("r", i)))
		vSave(t, st, "")
	}
	if err := st.Update(func(tx *store.Tx) error {
		if _, err := tx.Activate(1, vEpoch, 0, "admin"); err != nil {
			return err
		}
		_, err := tx.Activate(2, vEpoch, time.Minute, "admin")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	const n = 8
	rolled := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := store.New(st.Path)
			s.LockTimeout = 10 * time.Second
			var c *store.Confirm
			if err := s.Update(func(tx *store.Tx) (err error) { c, err = tx.ExpireConfirm(vEpoch.Add(time.Hour)); return err }); err != nil {
				t.Error(err)
			}
			if c != nil {
				rolled <- c.Version
			}
		}()
	}
	wg.Wait()
	close(rolled)
	var got []int
	for v := range rolled {
		got = append(got, v)
	}
	if !slices.Equal(got, []int{2}) {
		t.Fatalf("rollbacks %v, want exactly one, of version 2", got)
	}
}
