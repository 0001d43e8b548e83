package store

import (
	"context"
	"testing"
	"time"
)

// TestEtcdRuntimes: a runtime's report says whether it reaches etcd (its
// alive key's lease) and whether it leads the prefix's election; a leader
// that stops hands over at once; a lost report can be forgotten, a live
// one not.
func TestEtcdRuntimes(t *testing.T) {
	st := etcdStore(t)
	mustUpdate(t, st, func(*Tx) error { return nil })
	a, b := st.NewReporter("h/1"), st.NewReporter("h/2")
	defer a.Close()
	for _, r := range []*Reporter{a, b} {
		if err := r.Report(RuntimeReport{Version: "1"}); err != nil {
			t.Fatal(err)
		}
	}
	leading := make(chan string, 4)
	ctxA, stopA := context.WithCancel(t.Context())
	doneA := make(chan struct{})
	go func() {
		defer close(doneA)
		st.Campaign(ctxA, "h/1", func(on bool) {
			if on {
				leading <- "h/1"
			}
		})
	}()
	if got := <-leading; got != "h/1" {
		t.Fatalf("leader %s", got)
	}
	ctxB, stopB := context.WithCancel(t.Context())
	defer stopB()
	go st.Campaign(ctxB, "h/2", func(on bool) {
		if on {
			leading <- "h/2"
		}
	})
	check := func(want map[string][2]bool) { // id → lost, leader
		t.Helper()
		reps, err := st.Runtimes()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][2]bool{}
		for _, r := range reps {
			got[r.ID] = [2]bool{r.Lost, r.Leader}
		}
		if len(got) != len(want) {
			t.Fatalf("runtimes %v, want %v", got, want)
		}
		for id, w := range want {
			if got[id] != w {
				t.Errorf("%s: lost, leader %v; want %v", id, got[id], w)
			}
		}
	}
	check(map[string][2]bool{"h/1": {false, true}, "h/2": {false, false}})

	stopA() // resigns
	<-doneA
	select {
	case got := <-leading:
		if got != "h/2" {
			t.Fatalf("leader %s after h/1 stopped", got)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("h/2 does not lead within 2 s of h/1 resigning")
	}
	// h/1's lease ends as a lost runtime's does.
	if _, err := st.etcd.cli.Revoke(t.Context(), a.lease); err != nil {
		t.Fatal(err)
	}
	check(map[string][2]bool{"h/1": {true, false}, "h/2": {false, true}})
	if err := st.Forget([]string{"h/1", "h/2"}); err != nil {
		t.Fatal(err)
	}
	check(map[string][2]bool{"h/2": {false, true}})
	b.Close()
	check(nil)
}
