package verify

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acli-project/acli/model"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// TestSeedExample checks the guide's example: as printed it lists secondary
// addresses no network-interface owns; with their interfaces it is clean.
func TestSeedExample(t *testing.T) {
	for _, tc := range []struct {
		name       string
		withOwners bool
		errs, warn int
	}{
		{"seed-as-printed", false, 3, 1},
		{"seed-with-owners", true, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := Run(SeedExample(tc.withOwners))
			if e, w := Counts(fs); e != tc.errs || w != tc.warn {
				t.Errorf("Counts = %d errors, %d warnings; want %d, %d", e, w, tc.errs, tc.warn)
			}
			var txt, js bytes.Buffer
			if err := Report(&txt, fs); err != nil {
				t.Fatal(err)
			}
			if err := WriteJSON(&js, fs); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name+".txt", txt.Bytes())
			golden(t, tc.name+".json", js.Bytes())
		})
	}
	fs := Run(SeedExample(false))
	for _, a := range []string{"192.16.10.76", "196.15.32.108"} {
		want := "ERROR: sip-port [172.16.10.76:5060:SCTP] of sip-interface [core-172] has multi-homed-addrs entry [" + a +
			"] which is not the ip-address of any network-interface"
		found := false
		for _, f := range fs {
			found = found || Line(f) == want
		}
		if !found {
			t.Errorf("missing %q", want)
		}
	}
}

func TestReport(t *testing.T) {
	fs := []Finding{
		{Severity: Error, Element: "sip-interface", Key: "core-172", Param: "realm-id", Rule: "sip-interface-realm",
			Message: "references realm-id [core-172] which does not exist"},
		{Severity: Warning, Element: "network-parameters", Param: "sctp-hb-interval", Rule: "sctp-heartbeat", Message: "has sctp-hb-interval [0] which disables heartbeats"},
	}
	var b bytes.Buffer
	Report(&b, fs)
	want := RuleLine + "\n" +
		"ERROR: sip-interface [core-172] references realm-id [core-172] which does not exist\n" +
		"WARNING: network-parameters has sctp-hb-interval [0] which disables heartbeats\n" +
		RuleLine + "\nTotal:\n  1 error\n  1 warning\n"
	if b.String() != want {
		t.Errorf("Report:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	Report(&b, nil)
	if want := strings.Repeat("-", 69) + "\n" + Success + "\n"; b.String() != want {
		t.Errorf("Report(nil) = %q, want %q", b.String(), want)
	}
	b.Reset()
	if err := WriteJSON(&b, nil); err != nil || !strings.Contains(b.String(), `"findings": []`) {
		t.Errorf("WriteJSON(nil) = %q, %v", b.String(), err)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	fs := Run(SeedExample(false))
	var b bytes.Buffer
	if err := WriteJSON(&b, fs); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Errors, Warnings int
		Findings         []Finding
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fs, doc.Findings); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if e, w := Counts(fs); doc.Errors != e || doc.Warnings != w {
		t.Errorf("counts %d/%d, want %d/%d", doc.Errors, doc.Warnings, e, w)
	}
}

// TestOrder checks the order of findings: element type in tree order, then
// key in the configuration's key order (m1:2 before m1:10), then rule.
func TestOrder(t *testing.T) {
	c := SeedExample(true)
	params(c, "sctp-hb-interval", "0")
	add(c, model.SessionAgent, "hostname", "a.example.com", "realm-id", "nowhere")
	add(c, model.PhyInterface, "name", "z", "operation-type", "Media", "slot", "1", "port", "0")
	addIface(c, "m1", "10.0.0.1", "255.0.0.0", "")
	add(c, model.NetworkInterface, "name", "m1", "sub-port-id", "10")
	add(c, model.NetworkInterface, "name", "m1", "sub-port-id", "2")
	c.Delete(model.RealmConfig.Name, "core-172")
	var got []string
	for _, f := range Run(c) {
		got = append(got, f.Element+" "+f.Parent+" "+f.Key+" "+f.Rule)
	}
	want := []string{
		"phy-interface  z phy-interface-duplicate-port",
		"network-interface  m1:2 network-interface-address",
		"network-interface  m1:10 network-interface-address",
		"network-parameters   sctp-heartbeat",
		"sip-interface  core-172 sip-interface-realm",
		"session-agent  a.example.com session-agent-realm",
		"session-agent  core-172S1 session-agent-realm",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestRulesWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for i, r := range Rules {
		if r.Name == "" || r.Doc == "" || r.Check == nil {
			t.Errorf("rule %d %q is incomplete", i, r.Name)
		}
		if seen[r.Name] {
			t.Errorf("rule %s listed twice", r.Name)
		}
		seen[r.Name] = true
		if i > 0 && Rules[i-1].Name > r.Name {
			t.Errorf("Rules not sorted at %s", r.Name)
		}
	}
}

func TestEmpty(t *testing.T) {
	for _, c := range []*model.Config{nil, model.NewConfig(model.Default), model.NewConfig(nil)} {
		if fs := Run(c); len(fs) != 0 {
			t.Errorf("Run(empty) = %v", fs)
		}
	}
}
