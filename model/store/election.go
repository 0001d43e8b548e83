package store

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// ElectionTTL is the lease, in seconds, of a runtime's candidacy in the
// prefix's election: a leader that dies (or loses etcd) is replaced within
// it.
const ElectionTTL = 5

// electionKey is the prefix of the candidates' keys (concurrency.Election):
// the one created first leads.
func (e *etcdBackend) electionKey() string { return e.base + "/leader" }

// Campaign runs runtime id's candidacy in the election of the configuration
// on etcd until ctx ends: leading(true) when it becomes the leader,
// leading(false) when it stops being one (its lease expired: etcd lost, or
// the runtime stalled), after which it stands again. On ctx's end a leader
// resigns, handing over at once. A file store has no election: Campaign
// returns at once. leading is called from one goroutine.
func (s *Store) Campaign(ctx context.Context, id string, leading func(bool)) {
	e := s.etcd
	if e == nil {
		return
	}
	pause := func() {
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	for ctx.Err() == nil {
		sess, err := concurrency.NewSession(e.cli, concurrency.WithTTL(ElectionTTL), concurrency.WithContext(ctx))
		if err != nil {
			pause()
			continue
		}
		el := concurrency.NewElection(sess, e.electionKey())
		// The session's context ends with its lease: a candidate whose
		// lease expired while waiting does not go on to lead.
		if err := el.Campaign(sess.Ctx(), id); err != nil {
			sess.Close()
			pause()
			continue
		}
		leading(true)
		select {
		case <-sess.Done():
		case <-ctx.Done():
		}
		leading(false)
		if ctx.Err() != nil {
			rctx, cancel := e.ctx()
			el.Resign(rctx)
			cancel()
		}
		sess.Close()
	}
}

// leader returns the id of the election's leader ("" : none) at the
// response's revision.
func (e *etcdBackend) leaderIn(r *clientv3.GetResponse) string {
	if len(r.Kvs) == 0 {
		return ""
	}
	return string(r.Kvs[0].Value)
}
