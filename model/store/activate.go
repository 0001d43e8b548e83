package store

// Confirmed activation and the running pointer: Activate moves it (with a
// deadline when confirmed), ExpireConfirm returns it when the deadline
// passes unconfirmed, and a RuntimeApply mark tells the runtime daemon that
// it moved (RevertRunning puts it back when the daemon refuses a version).

import (
	"time"
)

// Confirm is a confirmed activation (activate-config confirmed MINUTES):
// unless confirmed before Deadline, running returns to Previous (0: none).
type Confirm struct {
	Version  int       `json:"version"`
	Previous int       `json:"previous"`
	Deadline time.Time `json:"deadline"`
	User     string    `json:"user"`
	// At is when an expired confirmation was rolled back (LastAutoRollback).
	At time.Time `json:"at,omitzero"`
}

// PendingConfirm returns the confirmed activation waiting for confirmation,
// or nil.
func (t *Tx) PendingConfirm() (_ *Confirm, err error) {
	defer recoverDamage(&err)
	b, err := t.lcKV()
	if err != nil {
		return nil, err
	}
	var c Confirm
	if ok, err := metaJSON(b, metaConfirm, &c); !ok || err != nil {
		return nil, err
	}
	return &c, nil
}

// LastAutoRollback returns the last confirmed activation that expired and
// was rolled back by ExpireConfirm, or nil.
func (t *Tx) LastAutoRollback() (_ *Confirm, err error) {
	defer recoverDamage(&err)
	b, err := t.lcKV()
	if err != nil {
		return nil, err
	}
	var c Confirm
	if ok, err := metaJSON(b, metaRollback, &c); !ok || err != nil {
		return nil, err
	}
	return &c, nil
}

// Activate makes version n running. A plain activation (within 0) confirms
// a pending confirmed activation. With within > 0, unless Activate is called
// again before now+within, ExpireConfirm returns running to the version
// that ran before (before the first of several confirmed activations in a
// row); the returned Confirm describes that.
func (t *Tx) Activate(n int, now time.Time, within time.Duration, user string) (_ *Confirm, err error) {
	defer recoverDamage(&err)
	b, err := t.lcKV()
	if err != nil {
		return nil, err
	}
	if version(b, n) == nil {
		return nil, notFound(b, n)
	}
	var pending Confirm
	hadPending, err := metaJSON(b, metaConfirm, &pending)
	if err != nil {
		return nil, err
	}
	prev := metaInt(b, metaRunning)
	if err := setMetaInt(b, metaRunning, n); err != nil {
		return nil, err
	}
	if err := b.del(pMeta, []byte(metaRollback)); err != nil {
		return nil, err
	}
	var c *Confirm
	if within <= 0 {
		err = b.del(pMeta, []byte(metaConfirm))
	} else {
		c = &Confirm{Version: n, Previous: prev, Deadline: now.Add(within).UTC().Truncate(time.Second), User: user}
		if hadPending {
			c.Previous = pending.Previous
		}
		err = setMetaJSON(b, metaConfirm, c)
	}
	if err != nil {
		return nil, err
	}
	return c, prune(b) // the version that stopped running may go
}

// ExpireConfirm enforces a pending confirmed activation whose deadline has
// passed at now: running returns to the previous version (none if none ran)
// and the expired confirmation is returned, with At set; otherwise nil.
func (t *Tx) ExpireConfirm(now time.Time) (_ *Confirm, err error) {
	defer recoverDamage(&err)
	b, err := t.lcKV()
	if err != nil {
		return nil, err
	}
	var c Confirm
	if ok, err := metaJSON(b, metaConfirm, &c); !ok || err != nil || now.Before(c.Deadline) {
		return nil, err
	}
	if version(b, c.Previous) == nil {
		c.Previous = 0 // prune keeps it; a damaged pointer runs nothing
	}
	if err := setMetaInt(b, metaRunning, c.Previous); err != nil {
		return nil, err
	}
	if err := b.del(pMeta, []byte(metaConfirm)); err != nil {
		return nil, err
	}
	c.At = now.UTC().Truncate(time.Second)
	return &c, setMetaJSON(b, metaRollback, &c)
}

// RuntimeApply records a change of the running version that the runtime
// daemon has not been told about yet: it is marked in the transaction that
// changes running and taken once that transaction has committed.
type RuntimeApply struct {
	Version  int `json:"version"`  // running now
	Previous int `json:"previous"` // running before (0: none)
}

// MarkRuntimeApply records that running changed from previous to version;
// an earlier mark not yet taken keeps its Previous.
func (t *Tx) MarkRuntimeApply(version, previous int) (err error) {
	defer recoverDamage(&err)
	b, err := t.lcKV()
	if err != nil {
		return err
	}
	var ra RuntimeApply
	if ok, err := metaJSON(b, metaApply, &ra); err != nil {
		return err
	} else if ok {
		previous = ra.Previous
	}
	return setMetaJSON(b, metaApply, RuntimeApply{Version: version, Previous: previous})
}

// TakeRuntimeApply returns the pending mark, or nil, and clears it when
// the transaction is writable.
func (t *Tx) TakeRuntimeApply() (_ *RuntimeApply, err error) {
	defer recoverDamage(&err)
	b, err := t.lcKV()
	if err != nil {
		return nil, err
	}
	var ra RuntimeApply
	if ok, err := metaJSON(b, metaApply, &ra); !ok || err != nil {
		return nil, err
	}
	if t.kv.writable() {
		if err := b.del(pMeta, []byte(metaApply)); err != nil {
			return nil, err
		}
	}
	return &ra, nil
}

// RevertRunning puts back version to as running when from still is (the
// runtime refused from and keeps serving to), dropping a pending confirmed
// activation of from. It reports whether it did.
func (t *Tx) RevertRunning(from, to int) (_ bool, err error) {
	defer recoverDamage(&err)
	b, err := t.lcKV()
	if err != nil {
		return false, err
	}
	if metaInt(b, metaRunning) != from || to != 0 && version(b, to) == nil {
		return false, nil
	}
	var c Confirm
	if ok, err := metaJSON(b, metaConfirm, &c); err != nil {
		return false, err
	} else if ok && c.Version == from {
		if err := b.del(pMeta, []byte(metaConfirm)); err != nil {
			return false, err
		}
	}
	return true, setMetaInt(b, metaRunning, to)
}
