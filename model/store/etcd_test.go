package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acli-project/acli/internal/etcdtest"
	"github.com/acli-project/acli/model"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestEtcdStaleDone: two shells on different members select the same
// element; the second done is refused, sequentially (by the element's
// revision) and when both commit at once (by the commit's compare).
func TestEtcdStaleDone(t *testing.T) {
	sa := model.SessionAgent
	a := etcdStore(t, 0)
	b := sameEtcd(t, a, 1)
	mustUpdate(t, a, func(tx *Tx) error { return tx.Put(agent(t, "sa1"), "", 0) })
	selA, selB := get(t, a, sa, "sa1"), get(t, b, sa, "sa1")
	selA.Set("port", []string{"5070"})
	selB.Set("port", []string{"5080"})
	mustUpdate(t, a, func(tx *Tx) error { return tx.Put(selA, "sa1", selA.Rev) })
	err := b.Update(func(tx *Tx) error { return tx.Put(selB, "sa1", selB.Rev) })
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "select it again") {
		t.Fatalf("stale done on member 1: %v, want ErrConflict saying to select it again", err)
	}

	// Two sessions (scripts) begin, both change sa1, both commit.
	cur := get(t, a, sa, "sa1")
	var txs []*Tx
	for i, st := range []*Store{a, b} {
		ss, err := st.OpenSession()
		if err != nil {
			t.Fatal(err)
		}
		tx, err := ss.Begin()
		if err != nil {
			t.Fatal(err)
		}
		in := cur.Clone()
		in.Set("port", []string{fmt.Sprint(6000 + i)})
		if err := tx.Put(in, "sa1", cur.Rev); err != nil {
			t.Fatal(err)
		}
		txs = append(txs, tx)
	}
	if err := txs[0].Commit(); err != nil {
		t.Fatal(err)
	}
	err = txs[1].Commit()
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "nothing was stored") {
		t.Fatalf("second commit: %v, want ErrConflict saying nothing was stored", err)
	}
	if got := get(t, b, sa, "sa1").Get("port"); len(got) != 1 || got[0] != "6000" {
		t.Errorf("port %v, want the first commit's 6000", got)
	}
}

// bigScript puts n agents in one session transaction and commits it.
func bigScript(t testing.TB, st *Store, n int, fail bool) error {
	t.Helper()
	ss, err := st.OpenSession()
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	tx, err := ss.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := tx.Put(agent(t, fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255), "description", strings.Repeat("x", 40)), "", 0); err != nil {
			t.Fatal(err)
		}
	}
	if fail {
		return tx.Rollback()
	}
	return tx.Commit()
}

// TestEtcdLargeTransaction: a script of 10,000 agents is one transaction,
// far beyond etcd's 128 operations and 1.5 MiB per Txn; a rolled-back one
// leaves nothing, a stale one is refused whole.
func TestEtcdLargeTransaction(t *testing.T) {
	const n = 10000
	st := etcdStore(t)
	if err := bigScript(t, st, n, true); err != nil {
		t.Fatal(err)
	}
	if c := editing(t, st); c.Count() != 0 {
		t.Fatalf("a rolled-back script left %d elements", c.Count())
	}
	start := time.Now()
	if err := bigScript(t, st, n, false); err != nil {
		t.Fatal(err)
	}
	t.Logf("10,000 agents committed in %v", time.Since(start))
	other := sameEtcd(t, st, 2)
	if c := editing(t, other); c.Len(model.SessionAgent.Name) != n {
		t.Fatalf("member 2 reads %d agents, want %d", c.Len(model.SessionAgent.Name), n)
	}
	var info VersionInfo
	mustUpdate(t, st, func(tx *Tx) (err error) { info, err = tx.Save(VersionInfo{User: "admin"}); return err })
	if info.Elements != n {
		t.Errorf("saved %d elements, want %d", info.Elements, n)
	}

	// A large transaction whose snapshot went stale stores nothing.
	ss, _ := st.OpenSession()
	tx, err := ss.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ClearEditing(); err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, other, func(tx *Tx) error { return tx.SetMeta("x", []byte("y")) })
	if err := tx.Commit(); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale large commit: %v, want ErrConflict", err)
	}
	if c := editing(t, st); c.Len(model.SessionAgent.Name) != n {
		t.Errorf("after a refused clear: %d agents, want %d", c.Len(model.SessionAgent.Name), n)
	}
}

// TestEtcdCommitCompletedByNext: a committer that dies after the commit
// point (its staged commit pending) is completed by the next transaction,
// which never sees half of it.
func TestEtcdCommitCompletedByNext(t *testing.T) {
	st := etcdStore(t)
	k, err := st.etcd.begin(true)
	if err != nil {
		t.Fatal(err)
	}
	tx := &Tx{kv: k, schema: model.Default, path: st.Location()}
	for i := range 500 {
		if err := tx.Put(agent(t, fmt.Sprintf("sa%d", i)), "", 0); err != nil {
			t.Fatal(err)
		}
	}
	id, err := k.commitPoint()
	if err != nil || id == "" {
		t.Fatalf("commit point: id %q, %v; want a staged commit", id, err)
	}
	// Nothing is applied yet: the raw keys hold no agent.
	r, err := st.etcd.cli.Get(t.Context(), st.etcd.enc(under(pEditing, model.SessionAgent.Name))+"k/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || r.Count != 0 {
		t.Fatalf("before roll-forward: %d agent keys, %v", r.Count, err)
	}
	other := sameEtcd(t, st, 1)
	if c := editing(t, other); c.Len(model.SessionAgent.Name) != 500 {
		t.Fatalf("next reader: %d agents, want 500", c.Len(model.SessionAgent.Name))
	}
	r, err = st.etcd.cli.Get(t.Context(), st.etcd.base+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range r.Kvs {
		if k := string(kv.Key); strings.HasPrefix(k, st.etcd.base+"/txn/") || k == st.etcd.pendingKey() {
			t.Errorf("left after roll-forward: %s", k)
		}
	}
}

// TestEtcdUnreachable: an etcd that does not answer is a clear error
// naming the endpoints, within the timeout.
func TestEtcdUnreachable(t *testing.T) {
	st, err := NewEtcd(Etcd{Endpoints: []string{"127.0.0.1:1", "127.0.0.1:2"}, Prefix: "/acli/x", Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, call := range []struct {
		name string
		fn   func() error
	}{
		{"View", func() error { return st.View(func(*Tx) error { return nil }) }},
		{"Update", func() error { return st.Update(func(tx *Tx) error { return tx.SetMeta("a", []byte("b")) }) }},
		{"Exists", func() error { _, err := st.Exists(); return err }},
	} {
		start := time.Now()
		err := call.fn()
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s took %v", call.name, d)
		}
		if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "127.0.0.1:1,127.0.0.1:2") {
			t.Errorf("%s: %v; want ErrUnreachable naming the endpoints", call.name, err)
		}
	}
}

// TestEtcdLostAfterBegin: etcd lost between a transaction's begin and its
// first read (the layout's) is that transaction's error, not a panic.
func TestEtcdLostAfterBegin(t *testing.T) {
	st := etcdStore(t)
	mustUpdate(t, st, func(*Tx) error { return nil })
	k, err := st.etcd.begin(false)
	if err != nil {
		t.Fatal(err)
	}
	st.etcd.cli.Close()
	tx := &Tx{kv: k, schema: st.schema(), path: st.etcd.where()}
	if err := tx.kvLayout(); err == nil || !strings.Contains(err.Error(), st.etcd.where()+": read /d/k/") {
		t.Errorf("layout read on a closed client: %v; want its error naming the read", err)
	}
}

// TestEtcdAmbiguous: a commit's error says that it may have been stored
// when etcd may have applied it (a timeout, a member stopping, a leader
// lost or changed), and not when etcd refused it.
func TestEtcdAmbiguous(t *testing.T) {
	for _, tt := range []struct {
		err  error
		may  bool
		read bool // a read may be sent again
	}{
		{fmt.Errorf("x: %w", ErrUnreachable), true, false},
		{fmt.Errorf("x: commit: %w", rpctypes.ErrStopped), true, true},
		{fmt.Errorf("x: commit: %w", rpctypes.ErrLeaderChanged), true, true},
		{rpctypes.ErrNoLeader, true, true},
		{rpctypes.ErrPermissionDenied, false, false},
		{rpctypes.ErrTooManyOps, false, false},
	} {
		if got := strings.Contains(ambiguous(tt.err).Error(), "may or may not have been stored"); got != tt.may {
			t.Errorf("%v: ambiguous %v, want %v", tt.err, got, tt.may)
		}
		if notServed(tt.err) != tt.read {
			t.Errorf("%v: notServed %v, want %v", tt.err, !tt.read, tt.read)
		}
	}
}

// TestEtcdConcurrentWriters: writers on every member, each changing its
// own element at once, all succeed (a refused commit runs again).
func TestEtcdConcurrentWriters(t *testing.T) {
	st := etcdStore(t)
	errs := make(chan error, 9)
	for i := range 9 {
		s := sameEtcd(t, st, i%3)
		go func() {
			errs <- s.Update(func(tx *Tx) error { return tx.Put(agent(t, fmt.Sprintf("sa%d", i)), "", 0) })
		}()
	}
	for range 9 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if c := editing(t, st); c.Len(model.SessionAgent.Name) != 9 {
		t.Errorf("%d agents, want 9", c.Len(model.SessionAgent.Name))
	}
}

// TestEtcdPrefixes: bad prefixes and endpoints are refused up front.
func TestEtcdPrefixes(t *testing.T) {
	for _, tt := range []struct {
		cfg  Etcd
		want string
	}{
		{Etcd{}, "no endpoints"},
		{Etcd{Endpoints: []string{"a:1", ""}}, "empty endpoint"},
		{Etcd{Endpoints: []string{"a:1"}, Prefix: "acli"}, "starting with '/'"},
		{Etcd{Endpoints: []string{"a:1"}, Prefix: "/acli/"}, "starting with '/'"},
		{Etcd{Endpoints: []string{"a:1"}, Cert: "c.pem"}, "--cert and --key go together"},
	} {
		_, err := NewEtcd(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

// TestEtcdExpireConfirmOnce: shells and runtimes on every member enforce
// the same deadline at once; exactly one rolls back.
func TestEtcdExpireConfirmOnce(t *testing.T) {
	st := etcdStore(t)
	epoch := time.Date(2026, 11, 18, 11, 6, 40, 0, time.UTC)
	mustUpdate(t, st, func(tx *Tx) error {
		for i := 1; i <= 2; i++ {
			if err := tx.Put(agent(t, fmt.Sprint("sa", i)), "", 0); err != nil {
				return err
			}
			if _, err := tx.Save(VersionInfo{User: "admin", Time: epoch}); err != nil {
				return err
			}
		}
		if _, err := tx.Activate(1, epoch, 0, "admin"); err != nil {
			return err
		}
		_, err := tx.Activate(2, epoch, time.Minute, "admin")
		return err
	})
	const n = 6
	rolled := make(chan int, n)
	errs := make(chan error, n)
	for i := range n {
		s := sameEtcd(t, st, i%3)
		go func() {
			var c *Confirm
			errs <- s.Update(func(tx *Tx) (err error) { c, err = tx.ExpireConfirm(epoch.Add(time.Hour)); return err })
			if c != nil {
				rolled <- c.Version
			}
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	close(rolled)
	var got []int
	for v := range rolled {
		got = append(got, v)
	}
	if len(got) != 1 || got[0] != 2 {
		t.Fatalf("rollbacks %v, want exactly one, of version 2", got)
	}
}

// TestCopyRoundTrip: a file copied to etcd and back holds the same
// editing configuration (revisions included), versions and sequences.
func TestCopyRoundTrip(t *testing.T) {
	a := New(t.TempDir() + "/a.db")
	mustUpdate(t, a, func(tx *Tx) error {
		for i := range 3 {
			if err := tx.Put(agent(t, fmt.Sprint("sa", i)), "", 0); err != nil {
				return err
			}
			if _, err := tx.Save(VersionInfo{User: "admin", Comment: fmt.Sprint("v", i)}); err != nil {
				return err
			}
		}
		if _, err := tx.Activate(2, time.Now(), 0, "admin"); err != nil {
			return err
		}
		return tx.Delete(model.SessionAgent, "sa0", 0)
	})
	e := etcdStore(t)
	if err := a.CopyTo(e); err != nil {
		t.Fatal(err)
	}
	if err := a.CopyTo(e); err == nil || !strings.Contains(err.Error(), "already holds a configuration") {
		t.Errorf("second copy: %v, want a refusal", err)
	}
	b := New(t.TempDir() + "/b.db")
	if err := e.CopyTo(b); err != nil {
		t.Fatal(err)
	}
	type state struct {
		ed       []*model.Instance
		versions []VersionInfo
		running  int
		seq      uint64
	}
	read := func(st *Store) (s state) {
		if err := st.View(func(tx *Tx) (err error) {
			s.ed, err = tx.List(model.SessionAgent)
			if err != nil {
				return err
			}
			s.versions, err = tx.Versions()
			s.running, s.seq = tx.RunningVersion(), tx.kv.sequence(pEditing)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return s
	}
	want := read(a)
	for _, st := range []*Store{e, b} {
		got := read(st)
		if fmt.Sprint(got.versions) != fmt.Sprint(want.versions) || got.running != want.running || got.seq != want.seq || len(got.ed) != len(want.ed) {
			t.Errorf("%s: %+v, want %+v", st.Location(), got, want)
		}
		for i := range got.ed {
			if got.ed[i].Rev != want.ed[i].Rev || !SameInstance(got.ed[i], want.ed[i]) {
				t.Errorf("%s: %v rev %d, want %v rev %d", st.Location(), got.ed[i].Key(), got.ed[i].Rev, want.ed[i].Key(), want.ed[i].Rev)
			}
		}
	}
}

// TestEtcdMemberKilled: the member a 5,000-agent script commits through
// is stopped while it stages its commit, or once it has committed and is
// applying it: read through another member, the script happened whole or
// not at all, and a commit past its commit point is completed. An
// activate-config through the stopped member then fails cleanly and
// changes nothing.
func TestEtcdMemberKilled(t *testing.T) {
	t.Parallel() // a cluster of its own, mostly waiting for members to stop
	for _, tt := range []struct {
		name  string
		watch string // stop the member at the first write under this key
	}{
		{"while staging", "/txn/"},
		{"after the commit point", "/pending"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			t0 := time.Now()
			c, err := etcdtest.Start(t.TempDir(), 3)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			st, err := NewEtcd(Etcd{Endpoints: c.Endpoints[:1], Prefix: "/acli/kill", Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			other, err := NewEtcd(Etcd{Endpoints: c.Endpoints[1:], Prefix: "/acli/kill"})
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			mustUpdate(t, st, func(tx *Tx) error {
				if err := tx.Put(agent(t, "seed"), "", 0); err != nil {
					return err
				}
				if _, err := tx.Save(VersionInfo{User: "admin"}); err != nil {
					return err
				}
				_, err := tx.Activate(1, time.Now(), 0, "admin")
				return err
			})
			w := other.etcd.cli.Watch(t.Context(), "/acli/kill"+tt.watch, clientv3.WithPrefix())
			stopped := make(chan struct{})
			go func() {
				<-w
				c.Stop(0)
				close(stopped)
			}()
			scriptErr := bigScript(t, st, 5000, false)
			<-stopped
			// All or none, as the script's error says.
			want := []int{1, 5001}
			switch {
			case scriptErr == nil || strings.Contains(scriptErr.Error(), "the commit is stored"):
				want = []int{5001}
			case !strings.Contains(scriptErr.Error(), "may or may not"):
				want = []int{1}
			}
			if n := editing(t, other).Len(model.SessionAgent.Name); !slices.Contains(want, n) {
				t.Errorf("through member 1: %d agents (script: %v), want %v", n, scriptErr, want)
			}
			err = st.Update(func(tx *Tx) error {
				_, err := tx.Save(VersionInfo{User: "admin"})
				return err
			})
			if !errors.Is(err, ErrUnreachable) {
				t.Errorf("save through the stopped member: %v, want ErrUnreachable", err)
			}
			var running, saved int
			other.View(func(tx *Tx) error { running, saved = tx.RunningVersion(), tx.SavedVersion(); return nil })
			if running != 1 || saved != 1 {
				t.Errorf("running %d, saved %d; want 1 and 1", running, saved)
			}
			t.Logf("script: %v (%v)", scriptErr, time.Since(t0))
		})
	}
}

// TestEtcdSweep: what a committer that died before its commit point
// staged is deleted by the next staged commit.
func TestEtcdSweep(t *testing.T) {
	st := etcdStore(t)
	orphan := st.etcd.stageDir("1-dead") + "000000"
	if _, err := st.etcd.cli.Put(t.Context(), orphan, "[]"); err != nil {
		t.Fatal(err)
	}
	if err := bigScript(t, st, 500, false); err != nil {
		t.Fatal(err)
	}
	r, err := st.etcd.cli.Get(t.Context(), st.etcd.base+"/txn/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || r.Count != 0 {
		t.Errorf("staged keys left: %d, %v", r.Count, err)
	}
}

// TestEtcdAuth: with etcd's authentication on, the right user and password
// work and a wrong password is a clear error.
func TestEtcdAuth(t *testing.T) {
	t.Parallel() // a cluster of its own, mostly waiting for members to stop
	c, err := etcdtest.Start(t.TempDir(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx := t.Context()
	for _, step := range []func() error{
		func() error { _, err := cli.UserAdd(ctx, "root", "s3cret"); return err },
		func() error { _, err := cli.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := cli.AuthEnable(ctx); return err },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		user, password, want string
	}{
		{"root", "s3cret", ""},
		{"root", "wrong", "authentication failed"},
		{"", "", "user name is empty"},
	} {
		st, err := NewEtcd(Etcd{Endpoints: c.Endpoints, Prefix: "/acli/auth", User: tt.user, Password: tt.password, Timeout: 2 * time.Second})
		if err == nil {
			err = st.Update(func(tx *Tx) error { return tx.SetMeta("k", []byte("v")) })
			st.Close()
		}
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), c.Endpoints[0])) {
			t.Errorf("user %q password %q: %v, want %q", tt.user, tt.password, err, tt.want)
		}
	}
}

// TestEtcdTLS: a cluster that requires client certificates is reached with
// --cacert, --cert and --key; a certificate of another CA, or none, is a
// clear error within the timeout.
func TestEtcdTLS(t *testing.T) {
	t.Parallel() // a cluster of its own, mostly waiting for members to stop
	dir := t.TempDir()
	certs, err := etcdtest.WriteCerts(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := etcdtest.StartTLS(dir, 1, certs)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A refused handshake is said as TLS says it, not as a timeout.
	for _, tt := range []struct {
		name, cert, key, ca string
		want                string // in the error ("": none)
	}{
		{"client certificate", certs.ClientCert, certs.ClientKey, certs.CA, ""},
		{"another CA's certificate", certs.OtherCert, certs.OtherKey, certs.CA,
			"the server refused this client: remote error: tls: unknown certificate authority (check --cert and --key)"},
		{"no certificate", "", "", certs.CA, "the server refused this client: remote error: tls: certificate required (check --cert and --key)"},
		{"server not trusted", certs.ClientCert, certs.ClientKey, "",
			"TLS handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority (check --cacert)"},
		{"no TLS flags", "", "", "", "the server speaks TLS: give --cacert (and --cert, --key if it asks for a client certificate)"},
	} {
		st, err := NewEtcd(Etcd{Endpoints: c.Endpoints, Prefix: "/acli/tls", Cert: tt.cert, Key: tt.key, CACert: tt.ca, Timeout: time.Second})
		if err == nil {
			err = st.Update(func(tx *Tx) error { return tx.SetMeta("k", []byte("v")) })
			st.Close()
		}
		t.Logf("%s: %v", tt.name, err)
		if (tt.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), "TLS with "+c.Endpoints[0]+": "+tt.want) {
			t.Errorf("%s: %v; want %q", tt.name, err, tt.want)
		}
	}
	if _, err := NewEtcd(Etcd{Endpoints: c.Endpoints, Cert: dir + "/none.pem", Key: dir + "/none.pem"}); err == nil || !strings.Contains(err.Error(), "none.pem") {
		t.Errorf("a missing certificate file: %v", err)
	}
}

// TestEtcdWatchCommits: a watcher on one member hears of each commit, says
// when its member stops answering, and once it is back hears again, so
// that a commit made meanwhile through another member is not missed.
func TestEtcdWatchCommits(t *testing.T) {
	t.Parallel() // a cluster of its own, mostly waiting for members to stop
	c, err := etcdtest.Start(t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w, err := NewEtcd(Etcd{Endpoints: c.Endpoints[:1], Prefix: "/acli/watch", Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	other, err := NewEtcd(Etcd{Endpoints: c.Endpoints[1:], Prefix: "/acli/watch"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	mustUpdate(t, other, func(tx *Tx) error { return nil }) // lay it out
	events := make(chan error, 100)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go w.WatchCommits(ctx, func(err error) { events <- err })
	next := func(what string, wantErr bool) {
		t.Helper()
		select {
		case err := <-events:
			if (err != nil) != wantErr || wantErr && !errors.Is(err, ErrUnreachable) {
				t.Fatalf("%s: %v", what, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: nothing heard", what)
		}
	}
	next("start", false)
	mustUpdate(t, other, func(tx *Tx) error { return tx.SetMeta("a", []byte("1")) })
	next("a commit", false)
	c.Stop(0)
	next("member stopped", true)
	mustUpdate(t, other, func(tx *Tx) error { return tx.SetMeta("a", []byte("2")) })
	if err := c.Restart(0); err != nil {
		t.Fatal(err)
	}
	next("member back", false)
	var got string
	if err := w.View(func(tx *Tx) error { got = string(tx.Meta("a")); return nil }); err != nil || got != "2" {
		t.Errorf("after the member came back: %q, %v; want the commit made meanwhile", got, err)
	}
}
