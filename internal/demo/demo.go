// Package demo bundles a sample of Beta Cluster MediaWiki logstash events so
// that `sheriff run` works out of the box with no external service.
package demo

import _ "embed"

//go:generate sh -c "go run ./gen > sample.ndjson"

//go:embed sample.ndjson
var sample []byte

// Sample returns the bundled NDJSON events. Callers must not modify it.
func Sample() []byte { return sample }
