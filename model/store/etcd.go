package store

// The etcd backend: the same layout as the bbolt file, one etcd key per
// bbolt key, below a prefix (default /acli/default):
//
//	PREFIX/layout                 the root bucket exists
//	PREFIX/commit                 decimal commit count; every commit writes it
//	PREFIX/pending                id of a staged commit not yet rolled forward
//	PREFIX/txn/ID/NNNNNN          a staged commit's operations (JSON)
//	PREFIX/d/ + path + k/KEY      a key of a bucket; path is "b/NAME/" per level
//	PREFIX/d/ + path + c/NAME     sub-bucket NAME exists
//	PREFIX/d/ + path + s          the bucket's sequence
//	PREFIX/runtimes/HOST/PID      a runtime's report (runtimes.go)
//	PREFIX/alive/HOST/PID         the runtime reaches etcd (on its lease)
//	PREFIX/leader/LEASE           a runtime's candidacy (election.go)
//
// A transaction reads a snapshot: every read is at the etcd revision its
// transaction began at, and writes are buffered. Commit is one etcd Txn
// that compares PREFIX/commit's mod revision with the one the snapshot saw
// and writes it: a transaction whose snapshot is stale (anything committed
// since it began, a concurrent done on the same element included) is
// refused with ErrConflict and nothing it did is stored. Every commit
// writing PREFIX/commit serializes writers of a prefix as bbolt's file lock
// does (the editing and version sequences made every pair of writers touch
// a common key anyway), without holding anything between transactions.
//
// etcd bounds a Txn (--max-txn-ops, default 128; --max-request-bytes,
// default 1.5 MiB). A larger commit (a script of thousands of elements, a
// save of a large configuration) is staged: its operations are written
// under PREFIX/txn/ID, then one small Txn comparing PREFIX/commit writes it
// and PREFIX/pending=ID (the commit point), then the operations are applied
// in Txns that each hold only while PREFIX/pending is still ID. A
// transaction that begins while a commit is pending rolls it forward first,
// so no reader sees half of it, and a committer that died after the commit
// point is completed by the next one. Staged operations of a committer that
// died before the commit point stay under PREFIX/txn until deleted.
//
// Version numbers and instance revisions stay the store's own sequences,
// as in bbolt: etcd revisions are per cluster, not per configuration, and
// are lost by etcd's compaction, while versions must survive a migration
// between backends byte for byte.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/acli-project/acli/model"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// ErrUnreachable is wrapped when etcd does not answer in time.
var ErrUnreachable = errors.New("etcd did not answer")

// DefaultEtcdPrefix is the key prefix of the configuration when none is given.
const DefaultEtcdPrefix = "/acli/default"

// Etcd names an etcd cluster and the configuration kept in it.
type Etcd struct {
	Endpoints []string
	Prefix    string // "" : DefaultEtcdPrefix
	// TLS client certificate and the CA that signed the servers' (as
	// etcdctl's --cert, --key, --cacert); empty: plain or default TLS.
	Cert, Key, CACert string
	User, Password    string
	// Timeout bounds each request to etcd (0: DefaultEtcdTimeout).
	Timeout time.Duration
	// BackupDir holds the backups (backup-config) as bbolt files; "":
	// backups are refused.
	BackupDir string
	// MaxTxnOps and MaxRequestBytes are the cluster's limits
	// (--max-txn-ops, --max-request-bytes); 0: etcd's defaults.
	MaxTxnOps, MaxRequestBytes int
}

// DefaultEtcdTimeout bounds each request to etcd when Etcd.Timeout is zero.
const DefaultEtcdTimeout = 5 * time.Second

// etcdBackend is an open client and where the configuration is.
type etcdBackend struct {
	cli       *clientv3.Client
	cfg       Etcd
	tls       *tls.Config // the client's TLS (nil: plain)
	base      string      // the prefix, without a trailing slash
	maxOps    int         // operations per Txn we send
	maxBytes  int         // bytes of operations per Txn we send
	chunkSize int         // bytes of a staged chunk
}

// NewEtcd returns a store on the etcd cluster; it connects lazily, so an
// unreachable cluster is reported (ErrUnreachable) by the first transaction,
// within the timeout. Close releases the client.
func NewEtcd(cfg Etcd) (*Store, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, fmt.Errorf("etcd: no endpoints (give --etcd HOST:PORT[,HOST:PORT...])")
	}
	for _, ep := range cfg.Endpoints {
		if strings.TrimSpace(ep) == "" {
			return nil, fmt.Errorf("etcd: empty endpoint in %q (give --etcd HOST:PORT[,HOST:PORT...])", strings.Join(cfg.Endpoints, ","))
		}
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultEtcdPrefix
	}
	if !strings.HasPrefix(cfg.Prefix, "/") || strings.HasSuffix(cfg.Prefix, "/") || strings.Contains(cfg.Prefix, "//") {
		return nil, &model.ValueError{Param: "etcd prefix", Value: cfg.Prefix, Allowed: "a key path such as /acli/NAME: starting with '/', not ending with one"}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultEtcdTimeout
	}
	if cfg.MaxTxnOps <= 0 {
		cfg.MaxTxnOps = 128
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = 1536 * 1024
	}
	cc := clientv3.Config{
		Endpoints:   cfg.Endpoints,
		DialTimeout: cfg.Timeout,
		Username:    cfg.User,
		Password:    cfg.Password,
		Logger:      zap.NewNop(),
	}
	if cfg.Cert != "" || cfg.Key != "" || cfg.CACert != "" {
		if (cfg.Cert == "") != (cfg.Key == "") {
			return nil, fmt.Errorf("etcd: --cert and --key go together (got cert %q, key %q)", cfg.Cert, cfg.Key)
		}
		tc, err := transport.TLSInfo{CertFile: cfg.Cert, KeyFile: cfg.Key, TrustedCAFile: cfg.CACert}.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("etcd TLS: %w", err)
		}
		cc.TLS = tc
	}
	cli, err := clientv3.New(cc)
	if err != nil {
		return nil, fmt.Errorf("etcd %s: %w", strings.Join(cfg.Endpoints, ","), err)
	}
	be := &etcdBackend{cli: cli, cfg: cfg, tls: cc.TLS, base: cfg.Prefix,
		maxOps: cfg.MaxTxnOps - 1, maxBytes: cfg.MaxRequestBytes - 64*1024}
	be.chunkSize = be.maxBytes / 2 // JSON's base64 grows values by a third
	return &Store{Schema: model.Default, LockTimeout: DefaultLockTimeout, etcd: be}, nil
}

// where names the configuration in messages: etcd ENDPOINTS PREFIX.
func (e *etcdBackend) where() string {
	return fmt.Sprintf("etcd %s %s", strings.Join(e.cfg.Endpoints, ","), e.base)
}

// fail says what went wrong talking to etcd, naming where.
func (e *etcdBackend) fail(what string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "context deadline exceeded") {
		if t := e.tlsTrouble(); t != "" {
			return fmt.Errorf("%s: %w within %v while trying to %s: TLS with %s", e.where(), ErrUnreachable, e.cfg.Timeout, what, t)
		}
		return fmt.Errorf("%s: %w within %v while trying to %s (is etcd running there, and are --etcd and its TLS flags right?)", e.where(), ErrUnreachable, e.cfg.Timeout, what)
	}
	return fmt.Errorf("%s: %s: %w", e.where(), what, err)
}

func (e *etcdBackend) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), e.cfg.Timeout)
}

func (e *etcdBackend) txn(what string, cmps []clientv3.Cmp, ops ...clientv3.Op) (*clientv3.TxnResponse, error) {
	ctx, cancel := e.ctx()
	defer cancel()
	r, err := e.cli.Txn(ctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return nil, e.fail(what, err)
	}
	return r, nil
}

func (e *etcdBackend) commitKey() string  { return e.base + "/commit" }
func (e *etcdBackend) pendingKey() string { return e.base + "/pending" }
func (e *etcdBackend) layoutKey() string  { return e.base + "/layout" }
func (e *etcdBackend) stageDir(id string) string {
	return e.base + "/txn/" + id + "/"
}

// enc is the key prefix of bucket p.
func (e *etcdBackend) enc(p []string) string {
	var b strings.Builder
	b.WriteString(e.base + "/d/")
	for _, n := range p {
		b.WriteString("b/" + url.PathEscape(n) + "/")
	}
	return b.String()
}

// begin starts a transaction at the current revision, after rolling a
// pending commit forward and laying out an empty prefix.
func (e *etcdBackend) begin(write bool) (*etcdKV, error) {
	for range 10 {
		var r *clientv3.TxnResponse
		err := e.retryRead(func() (err error) {
			r, err = e.txn("begin a transaction", nil,
				clientv3.OpGet(e.commitKey()), clientv3.OpGet(e.pendingKey()), clientv3.OpGet(e.layoutKey()))
			return err
		})
		if err != nil {
			return nil, err
		}
		k := &etcdKV{e: e, rev: r.Header.Revision, write: write,
			ranges: map[string][]entry{}, over: map[string]map[string]*etcdOp{}}
		if kvs := r.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
			k.commitRev = kvs[0].ModRevision
			k.commits, _ = strconv.ParseUint(string(kvs[0].Value), 10, 64)
		}
		if kvs := r.Responses[1].GetResponseRange().Kvs; len(kvs) > 0 {
			if err := e.rollForward(string(kvs[0].Value)); err != nil {
				return nil, err
			}
			continue
		}
		if len(r.Responses[2].GetResponseRange().Kvs) == 0 {
			if err := e.layOut(k); err != nil {
				return nil, err
			}
			continue
		}
		return k, nil
	}
	return nil, fmt.Errorf("%s: %w: could not begin a transaction (other sessions kept committing)", e.where(), ErrConflict)
}

// layOut lays an empty prefix out at SchemaVersion (the new file of bbolt).
func (e *etcdBackend) layOut(k *etcdKV) error {
	k.write = true
	for _, p := range [][]string{nil, pMeta, pEditing, pVersions} {
		if err := k.createBucket(p, false); err != nil {
			return err
		}
	}
	if err := k.put(nil, kSchema, []byte(strconv.Itoa(SchemaVersion()))); err != nil {
		return err
	}
	if err := k.commit(); err != nil && !errors.Is(err, ErrConflict) {
		return err
	}
	return nil
}

// etcdOp is a buffered write: a value, or a deletion.
type etcdOp struct {
	v   []byte
	del bool
}

// etcdKV is a kv on an etcd snapshot with buffered writes. Reads load
// whole ranges (a bucket's keys, its sub-buckets) once per transaction.
// An etcd error while reading panics with an etcdFailure, which the Tx
// methods and the store's runners turn into the error they return; it is
// also kept in err, so that nothing is committed after it.
type etcdKV struct {
	e         *etcdBackend
	rev       int64 // the snapshot's revision
	commitRev int64 // mod revision of the commit key at rev (0: none)
	commits   uint64
	write     bool
	ranges    map[string][]entry            // range prefix → base entries, suffixes in order
	over      map[string]map[string]*etcdOp // range prefix → suffix → buffered write
	err       error
	done      bool
}

// etcdFailure carries an etcd error out of a kv method through a panic.
type etcdFailure struct{ err error }

// kvFailed returns the error a recovered panic carries when it is an
// etcdFailure.
func kvFailed(r any) (error, bool) {
	f, ok := r.(etcdFailure)
	return f.err, ok
}

func (k *etcdKV) failed(err error) {
	if k.err == nil {
		k.err = err
	}
	panic(etcdFailure{err})
}

// load returns the base entries of the range prefix pr at the snapshot.
func (k *etcdKV) load(pr string) []entry {
	if es, ok := k.ranges[pr]; ok {
		return es
	}
	var r *clientv3.GetResponse
	err := k.e.retryRead(func() (err error) {
		ctx, cancel := k.e.ctx()
		defer cancel()
		r, err = k.e.cli.Get(ctx, pr, clientv3.WithPrefix(), clientv3.WithRev(k.rev))
		return err
	})
	if err != nil {
		k.failed(k.e.fail("read "+strings.TrimPrefix(pr, k.e.base), err))
	}
	es := make([]entry, 0, len(r.Kvs))
	for _, kv := range r.Kvs {
		v := kv.Value
		if v == nil {
			v = []byte{} // an empty value is a value
		}
		es = append(es, entry{kv.Key[len(pr):], v})
	}
	k.ranges[pr] = es
	return es
}

func (k *etcdKV) lookup(pr, sfx string) []byte {
	if o := k.over[pr][sfx]; o != nil {
		if o.del {
			return nil
		}
		return o.v
	}
	es := k.load(pr)
	i := sort.Search(len(es), func(i int) bool { return string(es[i].k) >= sfx })
	if i < len(es) && string(es[i].k) == sfx {
		return es[i].v
	}
	return nil
}

func (k *etcdKV) set(pr, sfx string, o *etcdOp) error {
	if !k.write {
		return fmt.Errorf("%s: write in a read-only transaction", k.e.where())
	}
	m := k.over[pr]
	if m == nil {
		m = map[string]*etcdOp{}
		k.over[pr] = m
	}
	m[sfx] = o
	return nil
}

// list merges the base entries of pr with the buffered writes, in order.
func (k *etcdKV) list(pr string) []entry {
	base := k.load(pr)
	over := k.over[pr]
	if len(over) == 0 {
		return base
	}
	out := make([]entry, 0, len(base)+len(over))
	for _, e := range base {
		if _, ok := over[string(e.k)]; !ok {
			out = append(out, e)
		}
	}
	for s, o := range over {
		if !o.del {
			out = append(out, entry{[]byte(s), o.v})
		}
	}
	slices.SortFunc(out, func(a, b entry) int { return bytes.Compare(a.k, b.k) })
	return out
}

// marker returns the range prefix and suffix of the key saying that
// bucket p exists.
func (k *etcdKV) marker(p []string) (string, string) {
	if len(p) == 0 {
		return k.e.layoutKey(), ""
	}
	return k.e.enc(p[:len(p)-1]) + "c/", url.PathEscape(p[len(p)-1])
}

func (k *etcdKV) need(p []string) error {
	if !k.hasBucket(p) {
		return fmt.Errorf("%s: no bucket %q", k.e.where(), p)
	}
	return nil
}

func (k *etcdKV) get(p []string, key []byte) []byte {
	return k.lookup(k.e.enc(p)+"k/", string(key))
}

func (k *etcdKV) put(p []string, key, v []byte) error {
	if err := k.need(p); err != nil {
		return err
	}
	if len(key) == 0 {
		return fmt.Errorf("%s: empty key", k.e.where())
	}
	return k.set(k.e.enc(p)+"k/", string(key), &etcdOp{v: bytes.Clone(v)})
}

func (k *etcdKV) del(p []string, key []byte) error {
	if err := k.need(p); err != nil {
		return err
	}
	return k.set(k.e.enc(p)+"k/", string(key), &etcdOp{del: true})
}

func (k *etcdKV) each(p []string, fn func(k, v []byte) error) error {
	for _, e := range k.list(k.e.enc(p) + "k/") {
		if err := fn(e.k, e.v); err != nil {
			return err
		}
	}
	return nil
}

func (k *etcdKV) buckets(p []string) []string {
	var out []string
	for _, e := range k.list(k.e.enc(p) + "c/") {
		if n, err := url.PathUnescape(string(e.k)); err == nil {
			out = append(out, n)
		}
	}
	return out
}

func (k *etcdKV) hasBucket(p []string) bool {
	pr, sfx := k.marker(p)
	return k.lookup(pr, sfx) != nil
}

func (k *etcdKV) createBucket(p []string, _ bool) error {
	if len(p) > 0 {
		if err := k.need(p[:len(p)-1]); err != nil {
			return err
		}
	}
	if k.hasBucket(p) {
		return fmt.Errorf("%s: bucket %q exists", k.e.where(), p)
	}
	pr, sfx := k.marker(p)
	return k.set(pr, sfx, &etcdOp{v: []byte("1")})
}

// deleteBucket deletes, one key at a time (a Txn may not put a key inside
// a range it deletes), every key below p at the snapshot and buffered.
func (k *etcdKV) deleteBucket(p []string) error {
	if err := k.need(p); err != nil {
		return err
	}
	top := k.e.enc(p)
	ctx, cancel := k.e.ctx()
	defer cancel()
	r, err := k.e.cli.Get(ctx, top, clientv3.WithPrefix(), clientv3.WithRev(k.rev), clientv3.WithKeysOnly())
	if err != nil {
		k.failed(k.e.fail("read "+strings.TrimPrefix(top, k.e.base), err))
	}
	for _, kv := range r.Kvs {
		pr, sfx := k.e.split(string(kv.Key))
		if err := k.set(pr, sfx, &etcdOp{del: true}); err != nil {
			return err
		}
	}
	for pr, m := range k.over {
		if strings.HasPrefix(pr, top) {
			for sfx := range m {
				m[sfx] = &etcdOp{del: true}
			}
		}
	}
	pr, sfx := k.marker(p)
	return k.set(pr, sfx, &etcdOp{del: true})
}

// split returns the range prefix and suffix of a key below PREFIX/d/.
func (e *etcdBackend) split(key string) (string, string) {
	i := len(e.base + "/d/")
	for i < len(key) {
		switch {
		case strings.HasPrefix(key[i:], "b/"):
			j := strings.IndexByte(key[i+2:], '/')
			if j < 0 {
				return key, ""
			}
			i += 2 + j + 1
		case strings.HasPrefix(key[i:], "k/"), strings.HasPrefix(key[i:], "c/"):
			return key[:i+2], key[i+2:]
		default:
			return key, ""
		}
	}
	return key, ""
}

func (k *etcdKV) sequence(p []string) uint64 {
	n, _ := strconv.ParseUint(string(k.lookup(k.e.enc(p)+"s", "")), 10, 64)
	return n
}

func (k *etcdKV) setSequence(p []string, n uint64) error {
	if err := k.need(p); err != nil {
		return err
	}
	return k.set(k.e.enc(p)+"s", "", &etcdOp{v: []byte(strconv.FormatUint(n, 10))})
}

func (k *etcdKV) nextSequence(p []string) (uint64, error) {
	n := k.sequence(p) + 1
	return n, k.setSequence(p, n)
}

func (k *etcdKV) writable() bool { return k.write }

func (k *etcdKV) rollback() error { k.done = true; return nil }

// stagedOp is a write in a staged commit.
type stagedOp struct {
	K []byte `json:"k"`
	V []byte `json:"v,omitempty"`
	D bool   `json:"d,omitempty"`
}

func (o stagedOp) op() clientv3.Op {
	if o.D {
		return clientv3.OpDelete(string(o.K))
	}
	return clientv3.OpPut(string(o.K), string(o.V))
}

func (o stagedOp) size() int { return len(o.K) + len(o.V) + 16 }

// errStale marks a commit refused because its snapshot is stale.
var errStale = errors.New("stale snapshot")

// staleError is ErrConflict for a commit refused because its snapshot is
// stale; it also matches errStale, on which run tries again.
type staleError struct {
	where string
	rev   int64
}

func (e *staleError) Error() string {
	return fmt.Sprintf("%s: the configuration was %v during this transaction (it began at etcd revision %d); nothing was stored: run it again", e.where, ErrConflict, e.rev)
}

func (e *staleError) Is(target error) bool { return target == ErrConflict || target == errStale }

// conflict is the error of a commit refused because its snapshot is stale.
func (k *etcdKV) conflict() error { return &staleError{where: k.e.where(), rev: k.rev} }

// commit stores the buffered writes in one Txn, or staged (see the file's
// comment) when they are more than one Txn may hold.
func (k *etcdKV) commit() error {
	id, err := k.commitPoint()
	if err != nil || id == "" {
		return err
	}
	// Committed: whoever begins next completes it should this fail.
	if err := k.e.rollForward(id); err != nil {
		return fmt.Errorf("%w (the commit is stored and is completed by the next transaction)", err)
	}
	k.e.sweep(id)
	return nil
}

// sweep deletes what staged commits other than id left under PREFIX/txn:
// one whose snapshot is older than id's commit can never commit (its
// compare fails), so what it staged is garbage (of a committer that died,
// or that is about to find its commit refused). Best effort.
func (e *etcdBackend) sweep(id string) {
	committed, _, _ := strings.Cut(id, "-")
	at, err := strconv.ParseInt(committed, 10, 64)
	if err != nil {
		return
	}
	ctx, cancel := e.ctx()
	defer cancel()
	r, err := e.cli.Get(ctx, e.base+"/txn/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return
	}
	seen := map[string]bool{}
	for _, kv := range r.Kvs {
		other, _, _ := strings.Cut(strings.TrimPrefix(string(kv.Key), e.base+"/txn/"), "/")
		rev, _, _ := strings.Cut(other, "-")
		if n, err := strconv.ParseInt(rev, 10, 64); err == nil && n < at && !seen[other] {
			seen[other] = true
			e.cli.Delete(ctx, e.stageDir(other), clientv3.WithPrefix())
		}
	}
}

// commitPoint commits the buffered writes: in one Txn, or staged up to
// the commit point, returning the id of the staged commit to roll forward.
func (k *etcdKV) commitPoint() (string, error) {
	if k.done {
		return "", fmt.Errorf("%s: transaction already ended", k.e.where())
	}
	k.done = true
	if k.err != nil {
		return "", k.err
	}
	var ops []stagedOp
	size := 0
	for pr, m := range k.over {
		for sfx, o := range m {
			ops = append(ops, stagedOp{K: []byte(pr + sfx), V: o.v, D: o.del})
			size += ops[len(ops)-1].size()
		}
	}
	if len(ops) == 0 {
		return "", nil
	}
	slices.SortFunc(ops, func(a, b stagedOp) int { return bytes.Compare(a.K, b.K) })
	cmp := clientv3.Compare(clientv3.ModRevision(k.e.commitKey()), "=", k.commitRev)
	count := clientv3.OpPut(k.e.commitKey(), strconv.FormatUint(k.commits+1, 10))
	if len(ops) <= k.e.maxOps && size <= k.e.maxBytes {
		tops := make([]clientv3.Op, 0, len(ops)+1)
		for _, o := range ops {
			tops = append(tops, o.op())
		}
		r, err := k.e.txn("commit", []clientv3.Cmp{cmp}, append(tops, count)...)
		if err != nil {
			return "", ambiguous(err)
		}
		if !r.Succeeded {
			return "", k.conflict()
		}
		return "", nil
	}
	return k.stage(ops, cmp, count)
}

// ambiguous adds to a commit's error that it may have been stored: a
// request that timed out, or that etcd gave up while it may have been
// applied (a member stopping, a leader lost or changed).
func ambiguous(err error) error {
	if errors.Is(err, ErrUnreachable) || notServed(err) {
		return fmt.Errorf("%w (the commit may or may not have been stored)", err)
	}
	return err
}

// notServed reports whether etcd gave up on a request because of its own
// state (a member stopping, a leader lost or changed): a write may or may
// not have been applied; a read may be sent again.
func notServed(err error) bool {
	for _, e := range []error{rpctypes.ErrStopped, rpctypes.ErrLeaderChanged, rpctypes.ErrNoLeader, rpctypes.ErrTimeoutDueToLeaderFail} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// retryRead runs read, again while etcd gives up on it because of its own
// state (notServed), for up to the request timeout.
func (e *etcdBackend) retryRead(read func() error) error {
	deadline := time.Now().Add(e.cfg.Timeout)
	for try := 1; ; try++ {
		err := read()
		if err == nil || !notServed(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(time.Duration(try) * 20 * time.Millisecond)
	}
}

// stage commits ops too many for one Txn: it writes them under a staging
// directory, then commits by writing the commit and pending keys. It
// returns the staged commit's id, to roll forward.
func (k *etcdKV) stage(ops []stagedOp, cmp clientv3.Cmp, count clientv3.Op) (string, error) {
	e := k.e
	var rnd [8]byte
	rand.Read(rnd[:])
	id := fmt.Sprintf("%d-%s", k.rev, hex.EncodeToString(rnd[:]))
	dir := e.stageDir(id)
	cleanup := func() {
		ctx, cancel := e.ctx()
		defer cancel()
		e.cli.Delete(ctx, dir, clientv3.WithPrefix())
	}
	for n, i := 0, 0; i < len(ops); n++ {
		j, size := i, 0
		for j < len(ops) && (j == i || size+ops[j].size() <= e.chunkSize) {
			size += ops[j].size()
			j++
		}
		raw, err := json.Marshal(ops[i:j])
		if err != nil {
			return "", err
		}
		ctx, cancel := e.ctx()
		_, err = e.cli.Put(ctx, fmt.Sprintf("%s%06d", dir, n), string(raw))
		cancel()
		if err != nil {
			cleanup()
			return "", e.fail("stage the commit", err)
		}
		i = j
	}
	r, err := e.txn("commit", []clientv3.Cmp{cmp}, count, clientv3.OpPut(e.pendingKey(), id))
	if err != nil {
		return "", ambiguous(err)
	}
	if !r.Succeeded {
		cleanup()
		return "", k.conflict()
	}
	return id, nil
}

// rollForward applies the staged commit id while it is pending, in Txns
// that hold only while it still is, then clears it.
func (e *etcdBackend) rollForward(id string) error {
	dir := e.stageDir(id)
	ctx, cancel := e.ctx()
	r, err := e.cli.Get(ctx, dir, clientv3.WithPrefix())
	cancel()
	if err != nil {
		return e.fail("read a pending commit", err)
	}
	var ops []stagedOp
	for _, kv := range r.Kvs {
		var chunk []stagedOp
		if err := json.Unmarshal(kv.Value, &chunk); err != nil {
			return fmt.Errorf("%s: %w: staged commit %s: %v", e.where(), model.ErrCorrupt, kv.Key, err)
		}
		ops = append(ops, chunk...)
	}
	still := clientv3.Compare(clientv3.Value(e.pendingKey()), "=", id)
	var batches [][]clientv3.Op
	for i := 0; i < len(ops); {
		j, size := i, 0
		var batch []clientv3.Op
		for j < len(ops) && len(batch) < e.maxOps && (j == i || size+ops[j].size() <= e.maxBytes) {
			batch = append(batch, ops[j].op())
			size += ops[j].size()
			j++
		}
		batches = append(batches, batch)
		i = j
	}
	// A commit writes each key once, so its batches are independent: they
	// go in parallel, each holding only while the commit is pending.
	const workers = 8
	work := make(chan []clientv3.Op)
	errs := make(chan error, workers)
	for range workers {
		go func() {
			var first error
			for batch := range work {
				if first != nil {
					continue
				}
				if _, err := e.txn("apply a committed transaction", []clientv3.Cmp{still}, batch...); err != nil {
					first = err
				}
			}
			errs <- first
		}()
	}
	for _, b := range batches {
		work <- b
	}
	close(work)
	for range workers {
		if err := <-errs; err != nil {
			return err
		}
	}
	_, err = e.txn("finish a committed transaction", []clientv3.Cmp{still},
		clientv3.OpDelete(e.pendingKey()), clientv3.OpDelete(dir, clientv3.WithPrefix()))
	return err
}

// run runs fn in one transaction on etcd. A commit refused because
// another session committed since the transaction began is run again, on a
// fresh snapshot, for up to the store's LockTimeout (as long as bbolt waits
// for another process's lock): fn must only read and write through the Tx
// and set its results, so that running it again is harmless.
func (e *etcdBackend) run(st *Store, write bool, fn func(*Tx) error) error {
	timeout := st.LockTimeout
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	deadline := time.Now().Add(timeout)
	for try := 1; ; try++ {
		err := e.runOnce(st, write, fn)
		if !errors.Is(err, errStale) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w (tried %d times in %v)", err, try, timeout)
		}
		time.Sleep(time.Duration(try) * time.Millisecond)
	}
}

func (e *etcdBackend) runOnce(st *Store, write bool, fn func(*Tx) error) error {
	k, err := e.begin(write)
	if err != nil {
		return err
	}
	t := &Tx{kv: k, schema: st.schema(), path: e.where()}
	if err := t.kvLayout(); err != nil {
		return err
	}
	err = callUser(t, fn)
	switch {
	case k.err != nil:
		return k.err
	case err != nil:
		return err
	case t.err != nil:
		return t.err
	case !write:
		return nil
	}
	return k.commit()
}

// callUser calls fn, turning an etcdFailure panic into its error; any
// other panic is passed on.
func callUser(t *Tx, fn func(*Tx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if ferr, ok := kvFailed(r); ok {
				err = ferr
				return
			}
			panic(r)
		}
	}()
	return fn(t)
}

// Close releases the store's etcd client; a file store holds nothing.
func (s *Store) Close() error {
	if s.etcd == nil {
		return nil
	}
	return s.etcd.cli.Close()
}

// Location names the configuration: the file's path, or etcd ENDPOINTS PREFIX.
func (s *Store) Location() string {
	if s.etcd != nil {
		return s.etcd.where()
	}
	return s.Path
}

// OnEtcd reports whether the store is on etcd.
func (s *Store) OnEtcd() bool { return s.etcd != nil }

// Exists reports whether the configuration has been created: the file
// exists, or the etcd prefix is laid out.
func (s *Store) Exists() (bool, error) {
	if s.etcd == nil {
		_, err := os.Stat(s.Path)
		return err == nil, nil
	}
	ctx, cancel := s.etcd.ctx()
	defer cancel()
	r, err := s.etcd.cli.Get(ctx, s.etcd.layoutKey(), clientv3.WithCountOnly())
	if err != nil {
		return false, s.etcd.fail("read the configuration", err)
	}
	return r.Count > 0, nil
}

// WatchCommits calls changed after each commit to the configuration until
// ctx ends: with nil, or with an error when etcd stops answering (probed
// every second), then nil once it answers again, since commits may have
// been missed meanwhile. It also calls changed(nil) when it starts. A file
// store has nothing to watch: it returns at once. changed is called from
// one goroutine at a time.
func (s *Store) WatchCommits(ctx context.Context, changed func(error)) {
	e := s.etcd
	if e == nil {
		return
	}
	var mu sync.Mutex
	lost := false
	report := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case ctx.Err() != nil:
		case err != nil:
			if !lost {
				lost = true
				changed(err)
			}
		default:
			lost = false
			changed(nil)
		}
	}
	go func() { // the probe: a watch on an unreachable etcd just waits
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			pctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
			_, err := e.cli.Get(pctx, e.commitKey(), clientv3.WithCountOnly())
			cancel()
			mu.Lock()
			was := lost
			mu.Unlock()
			if err != nil {
				report(e.fail("watch the configuration", err))
			} else if was {
				report(nil)
			}
		}
	}()
	for ctx.Err() == nil {
		pctx, pcancel := context.WithTimeout(ctx, e.cfg.Timeout)
		_, err := e.cli.Get(pctx, e.commitKey(), clientv3.WithCountOnly())
		pcancel()
		if err != nil {
			report(e.fail("watch the configuration", err))
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		ch := e.cli.Watch(wctx, e.commitKey())
		report(nil)
		for resp := range ch {
			if err := resp.Err(); err != nil {
				report(e.fail("watch the configuration", err))
				break
			}
			if len(resp.Events) > 0 {
				report(nil)
			}
		}
		cancel()
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
