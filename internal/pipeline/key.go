package pipeline

import (
	"github.com/wikimedia/sheriff/internal/event"
	"github.com/wikimedia/sheriff/internal/signature"
	"github.com/wikimedia/sheriff/rules"
)

// Key is what the pipeline records an event under.
type Key struct {
	ID, Title, Template string
	Generic             bool // from the template miner (ids may become aliases)
}

// LineGrouper groups untemplated events (the template miner).
type LineGrouper interface {
	Group(ev *event.Event) (id, template string)
}

// Keyer decides the signature of an event once the rules have spoken: an
// explicit fingerprint, the template miner for untemplated events, else the
// MediaWiki signature. It is the one code path of the ingester, `sheriff
// fingerprint` and `sheriff eval-signatures`, so that they print the ids the
// pipeline records. Not safe for concurrent use.
type Keyer struct {
	Generic LineGrouper // optional
	fp      *signature.Fingerprinter
}

// Key returns the key of ev under decision d (d.Ignore is the caller's
// business).
func (k *Keyer) Key(ev *event.Event, d rules.Decision) Key {
	if k.fp == nil {
		k.fp = signature.NewFingerprinter()
	}
	switch {
	case d.Fingerprint != "":
		s := k.fp.ComputeExplicit(ev, d.Fingerprint)
		return Key{ID: s.ID, Title: s.Title, Template: s.Template}
	case k.Generic != nil && untemplated(ev):
		id, tmpl := k.Generic.Group(ev)
		return Key{ID: id, Title: tmpl, Template: tmpl, Generic: true}
	}
	s := k.fp.Compute(ev)
	return Key{ID: s.ID, Title: s.Title, Template: s.Template}
}

// GroupLine is the text of an event the template miner groups.
func GroupLine(ev *event.Event) string {
	if ev.Message != "" {
		return ev.Message
	}
	return ev.ExcMessage
}
