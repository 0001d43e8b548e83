package main

import (
	"bufio"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The SCTP timers of the two servers must be equal: kamailio.cfg's sctp
// modparams against acli.acli's network-parameters. kamToAcli maps the
// Kamailio sctp module's parameter names to acli's.
var kamToAcli = map[string]string{
	"sctp_srto_initial":      "sctp-rto-initial",
	"sctp_srto_min":          "sctp-rto-min",
	"sctp_srto_max":          "sctp-rto-max",
	"sctp_hbinterval":        "sctp-hb-interval",
	"sctp_pathmaxrxt":        "sctp-path-max-retrans",
	"sctp_asocmaxrxt":        "sctp-assoc-max-retrans",
	"sctp_sack_delay":        "sctp-sack-timeout",
	"sctp_sack_freq":         "sctp-sack-freq",
	"sctp_max_burst":         "sctp-max-burst",
	"sctp_init_max_attempts": "sctp-init-max-attempts",
	"sctp_init_max_timeo":    "sctp-init-max-timeo",
	"sctp_autoclose":         "sctp-autoclose",
	"sctp_send_ttl":          "sctp-send-ttl",
	"sctp_send_retries":      "sctp-send-retries",
	"sctp_socket_rcvbuf":     "sctp-socket-rcvbuf",
	"sctp_socket_sndbuf":     "sctp-socket-sndbuf",
	"sctp_assoc_tracking":    "sctp-assoc-tracking",
	"sctp_assoc_reuse":       "sctp-assoc-reuse",
	"sctp_max_assocs":        "sctp-max-assocs",
}

var modparamRE = regexp.MustCompile(`^\s*modparam\(\s*"sctp"\s*,\s*"([a-z_]+)"\s*,\s*(-?\d+)\s*\)`)

// kamailioTimers returns the integer sctp modparams of a Kamailio
// configuration (comments skipped).
func kamailioTimers(cfg string) (map[string]int, error) {
	out := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(cfg))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if t := strings.TrimSpace(line); strings.HasPrefix(t, "#") || strings.HasPrefix(t, "//") {
			continue
		}
		m := modparamRE.FindStringSubmatch(line)
		if m == nil {
			if strings.Contains(line, `modparam("sctp"`) {
				return nil, fmt.Errorf("kamailio.cfg line %d: an sctp modparam without an integer value: %s", n, strings.TrimSpace(line))
			}
			continue
		}
		v, err := strconv.Atoi(m[2])
		if err != nil {
			return nil, fmt.Errorf("kamailio.cfg line %d: %v", n, err)
		}
		if _, dup := out[m[1]]; dup {
			return nil, fmt.Errorf("kamailio.cfg line %d: %s set twice", n, m[1])
		}
		out[m[1]] = v
	}
	return out, sc.Err()
}

// acliTimers returns the sctp-* parameters that an ACLI script sets in
// network-parameters (from the line "network-parameters" to its "done").
func acliTimers(script string) (map[string]string, error) {
	out := map[string]string{}
	in := false
	sc := bufio.NewScanner(strings.NewReader(script))
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch {
		case f[0] == "network-parameters":
			in = true
		case in && (f[0] == "done" || f[0] == "exit"):
			in = false
		case in && strings.HasPrefix(f[0], "sctp-"):
			if len(f) != 2 {
				return nil, fmt.Errorf("acli script line %d: %q: want one value", n, sc.Text())
			}
			if _, dup := out[f[0]]; dup {
				return nil, fmt.Errorf("acli script line %d: %s set twice", n, f[0])
			}
			out[f[0]] = f[1]
		}
	}
	return out, sc.Err()
}

// compareTimers lists every difference between the Kamailio and acli
// SCTP settings: a value that differs, or a parameter set on one side
// only. Kamailio's 0/1 switches equal acli's disabled/enabled.
func compareTimers(kam map[string]int, acli map[string]string) []string {
	var diffs []string
	seen := map[string]bool{}
	for k, v := range kam {
		a, known := kamToAcli[k]
		if !known {
			diffs = append(diffs, fmt.Sprintf("kamailio.cfg sets %s, which has no acli counterpart in the harness", k))
			continue
		}
		seen[a] = true
		av, ok := acli[a]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("kamailio.cfg sets %s %d, acli.acli does not set %s", k, v, a))
			continue
		}
		switch av {
		case "enabled":
			av = "1"
		case "disabled":
			av = "0"
		}
		if av != strconv.Itoa(v) {
			diffs = append(diffs, fmt.Sprintf("%s %d in kamailio.cfg, %s %s in acli.acli", k, v, a, acli[a]))
		}
	}
	for a, v := range acli {
		if !seen[a] {
			diffs = append(diffs, fmt.Sprintf("acli.acli sets %s %s, kamailio.cfg has no matching sctp modparam", a, v))
		}
	}
	slices.Sort(diffs)
	return diffs
}
