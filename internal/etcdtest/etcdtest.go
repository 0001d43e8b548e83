// Package etcdtest starts a real etcd cluster of embedded members on
// loopback for tests. Only tests import it, so the acli binary links the
// etcd client alone.
package etcdtest

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
)

// Cluster is a running cluster.
type Cluster struct {
	// Endpoints are the members' client addresses (host:port), in order.
	Endpoints []string
	members   []*embed.Etcd
	cfgs      []*embed.Config
	closing   []chan struct{} // closed when a killed member's Close has returned
}

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Start starts an n-member cluster with its data under dir and waits, up
// to a minute, until every member serves.
func Start(dir string, n int) (*Cluster, error) { return start(dir, n, nil) }

// StartTLS is Start with clients served over TLS, each required to show a
// certificate signed by the CA (see WriteCerts).
func StartTLS(dir string, n int, certs Certs) (*Cluster, error) {
	return start(dir, n, &transport.TLSInfo{CertFile: certs.ServerCert, KeyFile: certs.ServerKey,
		TrustedCAFile: certs.CA, ClientCertAuth: true})
}

func start(dir string, n int, tls *transport.TLSInfo) (*Cluster, error) {
	ports, err := freePorts(2 * n)
	if err != nil {
		return nil, err
	}
	u := func(port int) url.URL { return url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", port)} }
	str := func(x url.URL) string { return x.String() }
	var initial []string
	for i := range n {
		initial = append(initial, fmt.Sprintf("m%d=%s", i, str(u(ports[2*i+1]))))
	}
	c := &Cluster{}
	for i := range n {
		cfg := embed.NewConfig()
		cfg.Name = fmt.Sprintf("m%d", i)
		cfg.Dir = filepath.Join(dir, cfg.Name)
		cfg.ListenClientUrls = []url.URL{u(ports[2*i])}
		if tls != nil {
			cfg.ListenClientUrls[0].Scheme = "https"
			cfg.ClientTLSInfo = *tls
		}
		cfg.AdvertiseClientUrls = cfg.ListenClientUrls
		cfg.ListenPeerUrls = []url.URL{u(ports[2*i+1])}
		cfg.AdvertisePeerUrls = cfg.ListenPeerUrls
		cfg.InitialCluster = strings.Join(initial, ",")
		cfg.InitialClusterToken = "acli-test"
		cfg.LogLevel = "error"
		cfg.LogOutputs = []string{filepath.Join(dir, cfg.Name+".log")}
		cfg.UnsafeNoFsync = true // a test cluster: speed over durability
		// A stopped leader is replaced within half a second.
		cfg.TickMs, cfg.ElectionMs = 50, 500
		e, err := embed.StartEtcd(cfg)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("start etcd member %s: %w", cfg.Name, err)
		}
		c.members = append(c.members, e)
		c.cfgs = append(c.cfgs, cfg)
		c.Endpoints = append(c.Endpoints, u(ports[2*i]).Host)
	}
	timeout := time.After(time.Minute)
	for _, e := range c.members {
		select {
		case <-e.Server.ReadyNotify():
		case err := <-e.Err():
			c.Close()
			return nil, fmt.Errorf("etcd member %s: %w", e.Config().Name, err)
		case <-timeout:
			c.Close()
			return nil, errors.New("etcd cluster not ready within a minute")
		}
	}
	return c, nil
}

// Stop stops member i (its endpoint stops answering). A leader hands its
// leadership over first. Stop waits for the member's clients' streams to
// end, up to etcd's request timeout (6 s here).
func (c *Cluster) Stop(i int) {
	c.waitClosed(i)
	if c.members[i] != nil {
		c.members[i].Close()
		c.members[i] = nil
	}
}

// Kill stops member i as a crash does: its raft stops at once (a leader
// hands nothing over), so it answers no request, and it is closed in the
// background (Restart and Close wait for that).
func (c *Cluster) Kill(i int) {
	c.waitClosed(i)
	e := c.members[i]
	if e == nil {
		return
	}
	e.Server.HardStop()
	c.members[i] = nil
	for len(c.closing) <= i {
		c.closing = append(c.closing, nil)
	}
	done := make(chan struct{})
	c.closing[i] = done
	go func() {
		defer close(done)
		e.Close()
	}()
}

// waitClosed waits for killed member i to be closed.
func (c *Cluster) waitClosed(i int) {
	if i < len(c.closing) && c.closing[i] != nil {
		<-c.closing[i]
		c.closing[i] = nil
	}
}

// Restart starts stopped members again on their data and waits until
// they serve; members that make a quorum only together (the whole cluster
// stopped) are restarted in one call.
func (c *Cluster) Restart(members ...int) error {
	var started []*embed.Etcd
	for _, i := range members {
		c.waitClosed(i)
		if c.members[i] != nil {
			continue
		}
		e, err := embed.StartEtcd(c.cfgs[i])
		if err != nil {
			return fmt.Errorf("restart etcd member %s: %w", c.cfgs[i].Name, err)
		}
		c.members[i] = e
		started = append(started, e)
	}
	timeout := time.After(time.Minute)
	for _, e := range started {
		select {
		case <-e.Server.ReadyNotify():
		case err := <-e.Err():
			return err
		case <-timeout:
			return errors.New("etcd member not ready within a minute")
		}
	}
	return nil
}

// Close stops every member.
func (c *Cluster) Close() {
	for i := range c.members {
		c.Stop(i)
	}
}

// Leader returns the index of the member leading the cluster's raft, or
// -1 when no running member leads.
func (c *Cluster) Leader() int {
	for i, e := range c.members {
		if e != nil && e.Server.Leader() == e.Server.MemberID() {
			return i
		}
	}
	return -1
}
