// Package diff compares production and Beta configuration structurally and
// classifies each difference.
package diff

import (
	"encoding/json"
	"fmt"
)

// Class classifies a drift finding.
type Class string

const (
	ClassExpected      Class = "expected"        // a rule explains it
	ClassSizing        Class = "sizing"          // replicas, pool sizes, worker counts
	ClassBetaOnly      Class = "beta-only"       // present in Beta only
	ClassMissingInBeta Class = "missing-in-beta" // present in production only
	ClassStaleOverride Class = "stale-override"  // Beta overrides with the production value, or a setting production no longer has
	ClassDeadKey       Class = "dead-key"        // a Beta key nothing reads
	ClassReal          Class = "real"            // unexplained drift
)

// Finding is one difference between production and Beta at one path.
type Finding struct {
	Source       string `json:"source"`         // "puppet", "mediawiki-config", "helm"
	Key          string `json:"key"`            // hiera key, setting name, service name
	Wiki         string `json:"wiki,omitempty"` // mediawiki-config only
	Path         string `json:"path"`           // path inside the value, "" for the whole value
	Prod         any    `json:"prod,omitempty"`
	Beta         any    `json:"beta,omitempty"`
	ProdPresent  bool   `json:"-"`
	BetaPresent  bool   `json:"-"`
	Class        Class  `json:"class"`
	Rule         string `json:"rule,omitempty"`
	Reason       string `json:"reason,omitempty"`
	ProdFile     string `json:"prod_file,omitempty"`
	ProdLine     int    `json:"prod_line,omitempty"`
	BetaFile     string `json:"beta_file,omitempty"`
	BetaLine     int    `json:"beta_line,omitempty"`
	Interpolated bool   `json:"interpolated,omitempty"` // a value holds %{...} and was compared as text

	// Fields added by the drift checker.
	Host      string   `json:"host,omitempty"`       // puppet: the Beta host whose hosts/<host>.yaml sets the key
	Wikis     []string `json:"wikis,omitempty"`      // mediawiki-config: every wiki the finding covers when more than one
	ProdScope string   `json:"prod_scope,omitempty"` // puppet: which production layer the value was compared with ("common", "role mediawiki/appserver")
	// Accepted is set when a baseline entry accepts the finding; it is then
	// not counted as drift.
	Accepted       bool   `json:"accepted,omitempty"`
	AcceptedReason string `json:"accepted_reason,omitempty"`
	// New is set when the finding was absent from the previous run.
	New bool `json:"new,omitempty"`
}

// ID identifies a finding across runs: the same difference at the same place
// has the same ID whatever its values.
func (f *Finding) ID() string {
	return f.Source + "|" + f.Key + "|" + f.Wiki + "|" + f.Host + "|" + f.Path
}

// Problem is an input the checker could not read completely (malformed YAML,
// unknown PHP constant). The run goes on without it.
type Problem struct {
	Source  string `json:"source"`
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	if p.File != "" {
		return p.File + ": " + p.Message
	}
	return p.Message
}

// findingJSON is Finding without its methods, for encoding.
type findingJSON Finding

// MarshalJSON writes prod and beta whenever they are present, as null for a
// present null value, and leaves them out when missing on that side.
func (f Finding) MarshalJSON() ([]byte, error) {
	type out struct {
		findingJSON
		Prod *json.RawMessage `json:"prod,omitempty"`
		Beta *json.RawMessage `json:"beta,omitempty"`
	}
	o := out{findingJSON: findingJSON(f)}
	for _, side := range []struct {
		present bool
		v       any
		dst     **json.RawMessage
	}{{f.ProdPresent || f.Prod != nil, f.Prod, &o.Prod}, {f.BetaPresent || f.Beta != nil, f.Beta, &o.Beta}} {
		if !side.present {
			continue
		}
		b, err := json.Marshal(side.v)
		if err != nil {
			return nil, err
		}
		raw := json.RawMessage(b)
		*side.dst = &raw
	}
	return json.Marshal(o)
}

// UnmarshalJSON reads what MarshalJSON writes; a side is present when its
// key is.
func (f *Finding) UnmarshalJSON(b []byte) error {
	var in struct {
		findingJSON
		Prod json.RawMessage `json:"prod"`
		Beta json.RawMessage `json:"beta"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*f = Finding(in.findingJSON)
	f.Prod, f.Beta, f.ProdPresent, f.BetaPresent = nil, nil, false, false
	if in.Prod != nil {
		f.ProdPresent = true
		if err := json.Unmarshal(in.Prod, &f.Prod); err != nil {
			return err
		}
		f.Prod = Normalize(normalizeJSON(f.Prod))
	}
	if in.Beta != nil {
		f.BetaPresent = true
		if err := json.Unmarshal(in.Beta, &f.Beta); err != nil {
			return err
		}
		f.Beta = Normalize(normalizeJSON(f.Beta))
	}
	return nil
}
