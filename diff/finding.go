// Package diff compares production and Beta configuration structurally and
// classifies each difference.
package diff

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
}
