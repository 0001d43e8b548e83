package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// RuntimeReport is what a runtime (acli serve) serving a configuration on
// etcd last did, kept under PREFIX/runtimes/ID (show runtimes). The report
// outlives the runtime's link to etcd; PREFIX/alive/ID, on a lease the
// runtime keeps alive, says that it still reaches etcd.
type RuntimeReport struct {
	ID        string    `json:"id"`      // HOST/PID
	Version   string    `json:"version"` // serving
	Tried     string    `json:"tried"`   // last read as running and applied, or refused
	AppliedAt time.Time `json:"applied_at"`
	Listeners int       `json:"listeners"`
	Error     string    `json:"error,omitempty"` // the last apply's failure
	Started   time.Time `json:"started"`
	Reported  time.Time `json:"reported"` // when this report was written
	// Lost: the runtime's lease expired (it lost etcd, or died without
	// stopping); set by Runtimes, not stored.
	Lost bool `json:"-"`
	// Leader: the runtime leads the prefix's election (it enforces
	// confirmed activations' deadlines); set by Runtimes, not stored.
	Leader bool `json:"-"`
}

// runtimeTTL is how long a runtime's alive key outlives the runtime (or its
// link to etcd).
const runtimeTTL = 5 // seconds

// Reporter keeps one runtime's report in etcd, and its alive key on a
// lease kept alive while the runtime runs and reaches etcd: a runtime that
// loses etcd, or dies, is shown lost within runtimeTTL seconds; one that
// stops removes both.
type Reporter struct {
	st     *Store
	id     string
	mu     sync.Mutex
	lease  clientv3.LeaseID
	cancel context.CancelFunc
}

// NewReporter returns the reporter of runtime id on an etcd store; nil on
// a file store (show runtimes asks the runtime's control socket there).
func (s *Store) NewReporter(id string) *Reporter {
	if s.etcd == nil {
		return nil
	}
	return &Reporter{st: s, id: id}
}

// ID is the runtime's id (HOST/PID); "" for a nil reporter.
func (r *Reporter) ID() string {
	if r == nil {
		return ""
	}
	return r.id
}

// Report stores r (its ID set to the reporter's).
func (r *Reporter) Report(rep RuntimeReport) error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.st.etcd
	rep.ID = r.id
	rep.Reported = time.Now().UTC()
	raw, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	for try := 0; try < 2; try++ {
		if r.lease == 0 {
			if err := r.grant(); err != nil {
				return err
			}
		}
		ctx, cancel := e.ctx()
		_, err = e.cli.Txn(ctx).Then(clientv3.OpPut(e.base+"/runtimes/"+r.id, string(raw)),
			clientv3.OpPut(e.base+"/alive/"+r.id, "1", clientv3.WithLease(r.lease))).Commit()
		cancel()
		if err == nil {
			return nil
		}
		r.drop() // the lease may have expired while etcd was lost
	}
	return e.fail("report the runtime's state", err)
}

func (r *Reporter) grant() error {
	e := r.st.etcd
	ctx, cancel := e.ctx()
	l, err := e.cli.Grant(ctx, runtimeTTL)
	cancel()
	if err != nil {
		return e.fail("report the runtime's state", err)
	}
	kctx, kcancel := context.WithCancel(context.Background())
	ch, err := e.cli.KeepAlive(kctx, l.ID)
	if err != nil {
		kcancel()
		return e.fail("report the runtime's state", err)
	}
	go func() {
		for range ch { // drained until the lease ends or Close
		}
	}()
	r.lease, r.cancel = l.ID, kcancel
	return nil
}

func (r *Reporter) drop() {
	if r.cancel != nil {
		r.cancel()
	}
	r.lease, r.cancel = 0, nil
}

// Close removes the report (the runtime stops).
func (r *Reporter) Close() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.st.etcd
	ctx, cancel := e.ctx()
	e.cli.Txn(ctx).Then(clientv3.OpDelete(e.base+"/runtimes/"+r.id), clientv3.OpDelete(e.base+"/alive/"+r.id)).Commit()
	if r.lease != 0 {
		e.cli.Revoke(ctx, r.lease)
	}
	cancel()
	r.drop()
}

// Forget removes the reports of runtimes that are known to be gone (the
// processes of this host that no longer exist) and not reaching etcd.
func (s *Store) Forget(ids []string) error {
	e := s.etcd
	if e == nil || len(ids) == 0 {
		return nil
	}
	ctx, cancel := e.ctx()
	defer cancel()
	for _, id := range ids {
		alive := e.base + "/alive/" + id
		if _, err := e.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(alive), "=", 0)).
			Then(clientv3.OpDelete(e.base + "/runtimes/" + id)).Commit(); err != nil {
			return e.fail("forget a runtime's report", err)
		}
	}
	return nil
}

// Runtimes lists the reports of the runtimes serving the configuration on
// etcd, by ID; on a file store, none (ask the control socket).
func (s *Store) Runtimes() ([]RuntimeReport, error) {
	e := s.etcd
	if e == nil {
		return nil, nil
	}
	ctx, cancel := e.ctx()
	defer cancel()
	r, err := e.cli.Txn(ctx).Then(clientv3.OpGet(e.base+"/runtimes/", clientv3.WithPrefix()),
		clientv3.OpGet(e.electionKey()+"/", clientv3.WithFirstCreate()...),
		clientv3.OpGet(e.base+"/alive/", clientv3.WithPrefix(), clientv3.WithKeysOnly())).Commit()
	if err != nil {
		return nil, e.fail("read the runtimes' reports", err)
	}
	leader := e.leaderIn((*clientv3.GetResponse)(r.Responses[1].GetResponseRange()))
	alive := map[string]bool{}
	for _, kv := range r.Responses[2].GetResponseRange().Kvs {
		alive[strings.TrimPrefix(string(kv.Key), e.base+"/alive/")] = true
	}
	var out []RuntimeReport
	for _, kv := range r.Responses[0].GetResponseRange().Kvs {
		var rep RuntimeReport
		if err := json.Unmarshal(kv.Value, &rep); err != nil {
			return nil, fmt.Errorf("%s: runtime report %s: %v", e.where(), kv.Key, err)
		}
		rep.Leader = rep.ID == leader
		rep.Lost = !alive[rep.ID]
		out = append(out, rep)
	}
	slices.SortFunc(out, func(a, b RuntimeReport) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
