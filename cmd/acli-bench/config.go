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

// The two servers must also listen on the same addresses (and, on the
// host, forward to the same session agents): kamailio.cfg's listen= lines
// against acli's sip-ports, and its route's $du against acli's
// session-agents. Both sides are rendered "transport:address:port".

var listenRE = regexp.MustCompile(`^\s*listen\s*=\s*([a-z]+):([0-9.]+):(\d+)\s*$`)

// kamailioListens returns the listen= sockets of a Kamailio configuration.
func kamailioListens(cfg string) ([]string, error) {
	var out []string
	for n, line := range strings.Split(cfg, "\n") {
		t := strings.TrimSpace(line)
		if !strings.HasPrefix(t, "listen") {
			continue
		}
		m := listenRE.FindStringSubmatch(t)
		if m == nil {
			return nil, fmt.Errorf("kamailio.cfg line %d: %q: want listen=PROTO:IP:PORT", n+1, t)
		}
		out = append(out, m[1]+":"+m[2]+":"+m[3])
	}
	slices.Sort(out)
	return out, nil
}

// forwardRE matches a stateless forward to an agent, on one line:
// if ($rd == "HOST") { $du = "sip:IP:PORT;transport=PROTO"; forward(); ...
var forwardRE = regexp.MustCompile(`\$rd\s*==\s*"([^"]+)"\s*\)\s*\{\s*\$du\s*=\s*"sip:([0-9.]+):(\d+);transport=([a-z]+)"\s*;\s*forward\(\)`)

// kamailioForwards returns the agents a Kamailio configuration forwards
// to: Request-URI host to "transport:address:port".
func kamailioForwards(cfg string) (map[string]string, error) {
	out := map[string]string{}
	for n, line := range strings.Split(cfg, "\n") {
		if t := strings.TrimSpace(line); strings.HasPrefix(t, "#") || !strings.Contains(t, "$du") {
			continue
		}
		m := forwardRE.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("kamailio.cfg line %d: %q: want if ($rd == \"HOST\") { $du = \"sip:IP:PORT;transport=PROTO\"; forward(); ... on one line", n+1, strings.TrimSpace(line))
		}
		if _, dup := out[m[1]]; dup {
			return nil, fmt.Errorf("kamailio.cfg line %d: %s forwarded twice", n+1, m[1])
		}
		out[m[1]] = m[4] + ":" + m[2] + ":" + m[3]
	}
	return out, nil
}

// acliBlocks returns the parameters set in each block of element in an
// ACLI script: from a line holding only element to the next "done".
func acliBlocks(script, element string) ([]map[string]string, error) {
	var out []map[string]string
	var cur map[string]string
	sc := bufio.NewScanner(strings.NewReader(script))
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 0 || strings.HasPrefix(f[0], "#"):
		case len(f) == 1 && f[0] == element:
			if cur != nil {
				return nil, fmt.Errorf("acli script line %d: %s inside %s", n, element, element)
			}
			cur = map[string]string{}
		case cur != nil && f[0] == "done":
			out = append(out, cur)
			cur = nil
		case cur != nil && len(f) == 2:
			cur[f[0]] = f[1]
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("acli script: %s without done", element)
	}
	return out, sc.Err()
}

// acliListens returns the sip-ports of an ACLI script.
func acliListens(script string) ([]string, error) {
	ports, err := acliBlocks(script, "sip-ports")
	if err != nil {
		return nil, err
	}
	var out []string
	for i, p := range ports {
		if p["address"] == "" || p["port"] == "" || p["transport-protocol"] == "" {
			return nil, fmt.Errorf("acli script: sip-ports %d: want address, port and transport-protocol", i+1)
		}
		out = append(out, strings.ToLower(p["transport-protocol"])+":"+p["address"]+":"+p["port"])
	}
	slices.Sort(out)
	return out, nil
}

// acliAgents returns the session-agents of an ACLI script: hostname to
// "transport:address:port" (transport-method UDP is udp, StaticTCP tcp).
func acliAgents(script string) (map[string]string, error) {
	agents, err := acliBlocks(script, "session-agent")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, a := range agents {
		h := a["hostname"]
		tr, ok := map[string]string{"": "udp", "udp": "udp", "statictcp": "tcp"}[strings.ToLower(a["transport-method"])]
		if h == "" || a["ip-address"] == "" || a["port"] == "" || !ok {
			return nil, fmt.Errorf("acli script: session-agent %q: want hostname, ip-address, port and transport-method UDP or StaticTCP", h)
		}
		out[h] = tr + ":" + a["ip-address"] + ":" + a["port"]
	}
	return out, nil
}

// compareConfigs lists every difference between a Kamailio configuration
// and an ACLI script that the harness compares: the 19 SCTP settings, the
// listening sockets and the agents requests are forwarded to.
func compareConfigs(kamCfg, acliScript string) ([]string, error) {
	k, err := kamailioTimers(kamCfg)
	if err != nil {
		return nil, err
	}
	a, err := acliTimers(acliScript)
	if err != nil {
		return nil, err
	}
	diffs := compareTimers(k, a)
	kl, err := kamailioListens(kamCfg)
	if err != nil {
		return nil, err
	}
	al, err := acliListens(acliScript)
	if err != nil {
		return nil, err
	}
	for _, l := range kl {
		if !slices.Contains(al, l) {
			diffs = append(diffs, "kamailio.cfg listens on "+l+", acli has no such sip-port")
		}
	}
	for _, l := range al {
		if !slices.Contains(kl, l) {
			diffs = append(diffs, "acli has a sip-port "+l+", kamailio.cfg does not listen there")
		}
	}
	kf, err := kamailioForwards(kamCfg)
	if err != nil {
		return nil, err
	}
	af, err := acliAgents(acliScript)
	if err != nil {
		return nil, err
	}
	for h, t := range kf {
		if af[h] != t {
			diffs = append(diffs, fmt.Sprintf("kamailio.cfg forwards %s to %s, acli's session-agent %s is %q", h, t, h, af[h]))
		}
	}
	for h, t := range af {
		if _, ok := kf[h]; !ok {
			diffs = append(diffs, fmt.Sprintf("acli has a session-agent %s (%s), kamailio.cfg does not forward to it", h, t))
		}
	}
	return diffs, nil
}
