package model

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
)

// TestAppendRecordMatchesJSON holds the hand-written encoder to exactly the
// bytes encoding/json writes for the same record.
func TestAppendRecordMatchesJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	words := []string{"", "a", "m10:0", `q"uote`, `back\slash`, "<html>&", "tab\there", "ünïcödé", "\u2028", string([]byte{0xff, 'x'}), "\x01", "a b c"}
	word := func() string { return words[r.IntN(len(words))] }
	for i := 0; i < 2000; i++ {
		rec := record{V: 1 + r.IntN(2), By: word(), Rev: uint64(r.IntN(3)) * uint64(r.Uint32())}
		if r.IntN(2) == 0 {
			rec.At = time.Unix(r.Int64N(4e9), r.Int64N(1e9)).UTC()
		}
		vals := func() map[string][]string {
			if r.IntN(4) == 0 {
				return nil
			}
			m := map[string][]string{}
			for j := r.IntN(5); j > 0; j-- {
				var items []string
				for k := r.IntN(4); k > 0; k-- {
					items = append(items, word())
				}
				if items == nil && r.IntN(2) == 0 {
					items = []string{}
				}
				m[word()+word()] = items
			}
			return m
		}
		rec.Values = vals()
		for j := r.IntN(3); j > 0; j-- {
			rec.Subs = append(rec.Subs, subRecord{Elem: word(), Values: vals()})
		}
		want, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := appendRecord(nil, &rec); err != nil || string(got) != string(want) {
			t.Fatalf("appendRecord:\n%s\nencoding/json:\n%s", got, want)
		}
	}
}
