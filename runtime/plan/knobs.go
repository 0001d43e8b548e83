package plan

import (
	"slices"
	"strconv"
	"strings"

	"github.com/acli-project/acli/model"
)

// Knob is one SCTP option of network-parameters: the schema parameter and
// the SCTPOptions field it sets. SCTPOptions is built by a loop over the
// knobs (Knobs), and the runtime's show sctp options and change messages
// read them, so that a new knob is one row here (and a field of
// SCTPOptions and of the socket options it mirrors, with its setsockopt).
type Knob struct {
	Param model.Ref // the network-parameters parameter
	// PerAssoc: the option exists per association (set and read back on
	// each one); the others are the endpoint's.
	PerAssoc bool
	// PerSend: applied to every message sent, so a change takes effect at
	// once, on existing associations too.
	PerSend bool
	// Runtime: enforced by the runtime, not a kernel option.
	Runtime bool

	field func(*SCTPOptions) *int  // an integer knob's field
	flag  func(*SCTPOptions) *bool // an enum knob's field: true when the value is on
	on    string                   // the enum value that sets flag
}

// Name is the parameter's name, e.g. sctp-rto-min.
func (k Knob) Name() string { return k.Param.Name() }

// NewOnly reports whether a change affects new associations only, as the
// schema declares (model.Param.NewAssocOnly).
func (k Knob) NewOnly() bool { return k.Param.Param().NewAssocOnly }

// Value is the knob's value in o, as configured values are written.
func (k Knob) Value(o SCTPOptions) string {
	if k.flag != nil {
		if *k.flag(&o) {
			return k.on
		}
		return k.off()
	}
	return strconv.Itoa(*k.field(&o))
}

// off is the enum value that clears an enum knob's flag.
func (k Knob) off() string {
	for _, v := range k.Param.Param().Values {
		if v != k.on {
			return v
		}
	}
	return ""
}

// set stores the knob's value in the network-parameters in into o.
func (k Knob) set(o *SCTPOptions, in *model.Instance) {
	if k.flag != nil {
		*k.flag(o) = k.Param.Str(in) == k.on
		return
	}
	*k.field(o) = int(k.Param.Int(in))
}

// npParam is network-parameters' parameter name (resolved at package init).
func npParam(name string) model.Ref { return model.NetworkParameters.MustParam(name) }

// The knobs' parameters that the plan's rules and verify name too.
var (
	NPRTOInitial      = npParam("sctp-rto-initial")
	NPRTOMin          = npParam("sctp-rto-min")
	NPRTOMax          = npParam("sctp-rto-max")
	NPHBInterval      = npParam("sctp-hb-interval")
	NPPathMaxRetrans  = npParam("sctp-path-max-retrans")
	NPAssocMaxRetrans = npParam("sctp-assoc-max-retrans")
	NPSackTimeout     = npParam("sctp-sack-timeout")
	NPSackFreq        = npParam("sctp-sack-freq")
)

// assocKnob is a per-association integer knob; endpointKnob one of the
// endpoint; runtimeKnob one the runtime enforces.
func assocKnob(p model.Ref, f func(*SCTPOptions) *int) Knob {
	return Knob{Param: p, PerAssoc: true, field: f}
}

func endpointKnob(p model.Ref, f func(*SCTPOptions) *int) Knob {
	return Knob{Param: p, field: f}
}

func runtimeKnob(p model.Ref, f func(*SCTPOptions) *int) Knob {
	return Knob{Param: p, Runtime: true, field: f}
}

// knobs is the table, in the order show sctp options lists them.
var knobs = []Knob{
	assocKnob(NPRTOInitial, func(o *SCTPOptions) *int { return &o.RTOInitial }),
	assocKnob(NPRTOMin, func(o *SCTPOptions) *int { return &o.RTOMin }),
	assocKnob(NPRTOMax, func(o *SCTPOptions) *int { return &o.RTOMax }),
	assocKnob(NPHBInterval, func(o *SCTPOptions) *int { return &o.HBInterval }),
	assocKnob(NPPathMaxRetrans, func(o *SCTPOptions) *int { return &o.PathMaxRetrans }),
	assocKnob(NPAssocMaxRetrans, func(o *SCTPOptions) *int { return &o.AssocMaxRetrans }),
	assocKnob(NPSackTimeout, func(o *SCTPOptions) *int { return &o.SackDelay }),
	assocKnob(NPSackFreq, func(o *SCTPOptions) *int { return &o.SackFreq }),
	assocKnob(npParam("sctp-max-burst"), func(o *SCTPOptions) *int { return &o.MaxBurst }),
	endpointKnob(npParam("sctp-init-max-attempts"), func(o *SCTPOptions) *int { return &o.InitMaxAttempts }),
	endpointKnob(npParam("sctp-init-max-timeo"), func(o *SCTPOptions) *int { return &o.InitMaxTimeout }),
	endpointKnob(npParam("sctp-socket-rcvbuf"), func(o *SCTPOptions) *int { return &o.RcvBuf }),
	endpointKnob(npParam("sctp-socket-sndbuf"), func(o *SCTPOptions) *int { return &o.SndBuf }),
	endpointKnob(npParam("sctp-autoclose"), func(o *SCTPOptions) *int { return &o.Autoclose }),
	{Param: npParam("sctp-send-ttl"), PerAssoc: true, PerSend: true, field: func(o *SCTPOptions) *int { return &o.SendTTL }},
	{Param: npParam("sctp-send-mode"), PerAssoc: true, PerSend: true, flag: func(o *SCTPOptions) *bool { return &o.Unordered }, on: "unordered"},
	runtimeKnob(NPMaxAssocs, func(o *SCTPOptions) *int { return &o.MaxAssocs }),
	runtimeKnob(npParam("sctp-backlog-assoc"), func(o *SCTPOptions) *int { return &o.BacklogAssoc }),
	runtimeKnob(npParam("sctp-backlog-total"), func(o *SCTPOptions) *int { return &o.BacklogTotal }),
}

// Knobs returns the SCTP knob table (a copy).
func Knobs() []Knob { return slices.Clone(knobs) }

// Policies are the sctp-* parameters of network-parameters that are not
// socket options but rules of the runtime, each read where it applies.
var policies = []model.Ref{
	NPSendRetries,   // a session-agent resends on a re-opened association
	NPAssocTracking, // the listener reads association notifications
	NPAssocReuse,    // responses use the request's association
}

// Policies returns the names of the sctp-* parameters the runtime applies
// as policies rather than socket options.
func Policies() []string {
	out := make([]string, len(policies))
	for i, r := range policies {
		out[i] = r.Name()
	}
	return out
}

// Unplaced returns the sctp-* parameters of e (network-parameters, in the
// real schema or a test's) that are neither a knob nor a policy: values
// that would be stored and verified but never applied.
func Unplaced(e *model.Element) []string {
	var out []string
	for _, p := range e.Params {
		if !strings.HasPrefix(p.Name, "sctp-") {
			continue
		}
		known := slices.ContainsFunc(knobs, func(k Knob) bool { return k.Name() == p.Name }) ||
			slices.Contains(Policies(), p.Name)
		if !known {
			out = append(out, p.Name)
		}
	}
	return out
}

// SCTPOptionsOf builds the SCTP options of network-parameters np: a loop
// over the knobs, with the streams the runtime offers.
func SCTPOptionsOf(np *model.Instance) SCTPOptions {
	o := SCTPOptions{OutStreams: Streams, InStreams: Streams}
	for _, k := range knobs {
		k.set(&o, np)
	}
	return o
}
