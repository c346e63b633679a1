// Package finding defines what every check produces and every action consumes:
// a Finding is one distinct problem (an error signature, a puppet failure
// cause, a drift entry, a spike), identified by a stable key.
package finding

import "time"

// Kind says which check produced a finding.
type Kind string

const (
	KindError  Kind = "error"  // a MediaWiki / generic log error signature
	KindPuppet Kind = "puppet" // a puppet agent failure cause
	KindDrift  Kind = "drift"  // a real configuration drift between Beta and production
	KindSpike  Kind = "spike"  // a known signature whose rate jumped
)

// Status is the life-cycle state of a finding as sheriff sees it.
type Status string

const (
	StatusNew       Status = "new"       // first seen in this run, never filed
	StatusKnown     Status = "known"     // seen before, task (if any) still open
	StatusSilenced  Status = "silenced"  // muted by a rule, a silence or a declined task
	StatusResolved  Status = "resolved"  // its task was resolved and it has not recurred
	StatusRegressed Status = "regressed" // it recurred after its task was resolved
)

// Facet counts one dimension of a finding (wiki, host, version) by value.
type Facet map[string]int64

// Finding is one distinct problem. Every text field is already redacted when
// a Finding leaves the check that produced it.
type Finding struct {
	Kind      Kind
	Key       string // stable identity, e.g. the signature id; unique per Kind
	Title     string // short, stable, human title (task title, IRC line)
	Severity  string // from rules: "low", "normal", "high", "unbreak"
	Projects  []string
	Status    Status
	FirstSeen time.Time
	LastSeen  time.Time
	Count     int64            // total occurrences
	NewCount  int64            // occurrences since the previous report of this finding
	Facets    map[string]Facet // "wiki", "host", "version", ... -> counts
	Template  string           // the parameterised message
	Sample    string           // one redacted example message
	Trace     string           // one redacted example trace, if any
	Link      string           // a link to the events (logstash dashboard query)
	Details   string           // extra Markdown for kinds without a trace (drift, puppet)
	// About names the finding this one is news about (a spike is about a
	// signature): its task gets a comment instead of a task of its own.
	About Ref
	// KeepDescription asks the filer to rewrite the task description from
	// this finding on every update, so that it always shows the current
	// state (puppet causes: the hosts failing now); updates that are not
	// news then edit the description instead of commenting.
	KeepDescription bool
	// Returned: the problem came back after the check had said it was
	// resolved. The task is told at once, not held by the comment interval.
	Returned bool
}

// Ref identifies a finding.
type Ref struct {
	Kind Kind
	Key  string
}
