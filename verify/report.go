package verify

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/acli-project/acli/model"
)

// RuleLine is the 69-dash line of ACLI verification output.
const RuleLine = "---------------------------------------------------------------------"

// Success is the line printed when there is nothing to report.
const Success = "Verification successful! No errors nor warnings in the configuration"

// Report prints findings in ACLI style. With no findings:
//
//	---------------------------------------------------------------------
//	Verification successful! No errors nor warnings in the configuration
//
// Otherwise the dashed line, one line per finding, the dashed line again and
// the totals, both always present:
//
//	---------------------------------------------------------------------
//	ERROR: sip-interface [core-172] references realm-id [core-172] which does not exist
//	ERROR: sip-port [172.16.10.76:5060:SCTP] of sip-interface [core-172] has multi-homed-addrs entry [192.16.10.76] which is not the ip-address of any network-interface
//	WARNING: network-parameters sctp-hb-interval [0] disables heartbeats: ...
//	---------------------------------------------------------------------
//	Total:
//	  2 errors
//	  1 warning
//
// A finding line is "ERROR: " or "WARNING: ", the element, its key in
// brackets (none for the singleton network-parameters), " of <parent element>
// [<parent key>]" for a sub-element, and the message.
func Report(w io.Writer, fs []Finding) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, RuleLine)
	if len(fs) == 0 {
		fmt.Fprintln(bw, Success)
		return bw.Flush()
	}
	for _, f := range fs {
		fmt.Fprintln(bw, Line(f))
	}
	errs, warns := Counts(fs)
	fmt.Fprintln(bw, RuleLine)
	fmt.Fprintln(bw, "Total:")
	fmt.Fprintf(bw, "  %s\n  %s\n", plural(errs, "error"), plural(warns, "warning"))
	return bw.Flush()
}

// Line formats one finding as Report prints it.
func Line(f Finding) string {
	var b strings.Builder
	if f.Severity == Warning {
		b.WriteString("WARNING: ")
	} else {
		b.WriteString("ERROR: ")
	}
	b.WriteString(f.Element)
	if e := model.Default.Element(f.Element); e == nil || !e.Singleton || f.Key != "" {
		b.WriteString(" [" + f.Key + "]")
	}
	if f.Parent != "" {
		name := "parent"
		if pe := parentElement(model.Default, f.Element); pe != nil {
			name = pe.Name
		}
		b.WriteString(" of " + name + " [" + f.Parent + "]")
	}
	if f.Message != "" {
		b.WriteString(" " + f.Message)
	}
	return b.String()
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// jsonReport is the document WriteJSON prints.
type jsonReport struct {
	Errors   int       `json:"errors"`
	Warnings int       `json:"warnings"`
	Findings []Finding `json:"findings"`
}

// WriteJSON prints the findings as one indented JSON object:
//
//	{"errors": 1, "warnings": 0, "findings": [{"severity": "error",
//	  "element": "sip-interface", "key": "core-172", "param": "realm-id",
//	  "rule": "sip-interface-realm", "message": "references realm-id ..."}]}
//
// findings is [] (never null) when there are none; "parent" and "param" are
// omitted when empty.
func WriteJSON(w io.Writer, fs []Finding) error {
	errs, warns := Counts(fs)
	if fs == nil {
		fs = []Finding{}
	}
	b, err := json.MarshalIndent(jsonReport{errs, warns, fs}, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
