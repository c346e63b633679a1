package signature

import (
	"bufio"
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/wikimedia/sheriff/internal/demo"
	"github.com/wikimedia/sheriff/internal/event"
)

// sampleKinds is the ground truth of the bundled demo sample: one entry per
// element of `kinds` in internal/demo/gen/main.go, in the same order, with a
// substring of the message that only that kind has, and how many signatures
// the kind must give.
//
// Every kind is one bug, so one signature, except where the generator varies
// code, not data, inside the message:
//   - "Function: {fn}" of the DBQueryError and "[Called from {fn}]" of the
//     deprecation name the calling function (2 in the generator). The caller
//     is what a developer fixes, so each is its own signature, like a
//     different top frame (the default rule rdbms-lock-wait-timeout regroups
//     lock wait timeouts on purpose, above the signature level);
//   - "{file}.less" of the filemtime warning names one of 3 source files of
//     Vector; a path in the code base is kept (only the install root is
//     masked), so each missing file is its own signature.
//
// Data is masked: user names, page titles, array keys, stdClass properties
// (the property of a decoded row is data like an array key; the top frames
// still tell apart different code that reads them).
var sampleKinds = []struct {
	marker string
	ids    int
}{
	{`PHP Warning: Undefined array key`, 1},
	{`Lock wait timeout exceeded`, 2}, // {fn}
	{`Call to a member function getId() on null`, 1},
	{`RevisionStore::getRevisionById(): Argument #1`, 1},
	{`Expected a ProperPageIdentity, got page`, 1},
	{`/extensions/WikimediaMessages/i18n/`, 1},
	{`Could not enqueue jobs`, 1},
	{`Trying to access array offset on value of type null`, 1},
	{`Use of ParserOutput::getText was deprecated`, 2}, // {fn}
	{`Can't connect to MySQL server`, 1},
	{`Invalid username: `, 1},
	{`Unrecognised token`, 1},
	{`Failed to load entity`, 1},
	{`Failed to parse JSON from`, 1},
	{`filemtime(): stat failed`, 3}, // {file}
	{`Allowed memory size of`, 1},
	{`Multiple sessions for this request`, 1},
	{`Memcached error for key`, 1},
	{`Undefined index: `, 1},
	{`Unexpected page namespace`, 1},
	{`Cannot modify header information`, 1},
	{`Math extension cannot connect to Restbase`, 1},
	{`Cannot call getTitle() on a section-less revision`, 1},
	{`array_combine(): Argument #1`, 1},
	{`Transaction spent`, 1},
	{`Unable to reach the thumbnailer`, 1},
	{`LinkRenderer::makeBrokenLink()`, 1},
	{`Undefined property: stdClass::$`, 1},
	{`Failed to decrypt secret for user`, 1},
}

// sampleSignatures is the number of distinct signatures the demo sample must
// give: 29 kinds, plus one more for each of the two {fn} kinds and two more
// for the {file} kind (see sampleKinds).
const sampleSignatures = 33

func TestDemoSampleSignatures(t *testing.T) {
	// A kind added to the generator must be added here too.
	src, err := os.ReadFile("../demo/gen/main.go")
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(src, []byte("\n\t{channel: ")); n != len(sampleKinds) {
		t.Fatalf("the generator has %d kinds, sampleKinds %d: update the ground truth", n, len(sampleKinds))
	}
	total := 0
	for _, k := range sampleKinds {
		total += k.ids
	}
	if total != sampleSignatures {
		t.Fatalf("sampleKinds adds up to %d signatures, sampleSignatures is %d", total, sampleSignatures)
	}

	f := NewFingerprinter()
	perKind := make([]map[string]string, len(sampleKinds)) // id -> template
	for i := range perKind {
		perKind[i] = map[string]string{}
	}
	owner := map[string]int{} // id -> kind
	events := 0
	sc := bufio.NewScanner(bytes.NewReader(demo.Sample()))
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		ev, err := event.Decode(sc.Bytes())
		if err != nil {
			continue // the sample's deliberately malformed lines
		}
		events++
		msg := Message(&ev)
		kind := -1
		for i, k := range sampleKinds {
			if strings.Contains(msg, k.marker) {
				if kind >= 0 {
					t.Fatalf("line %d matches kinds %d and %d: %q", line, kind, i, msg)
				}
				kind = i
			}
		}
		if kind < 0 {
			t.Fatalf("line %d matches no kind: %q", line, msg)
		}
		s := f.Compute(&ev)
		if other, ok := owner[s.ID]; ok && other != kind {
			t.Errorf("kinds %q and %q collapse into %s: %q", sampleKinds[other].marker, sampleKinds[kind].marker, s.ID, s.Template)
		}
		owner[s.ID] = kind
		perKind[kind][s.ID] = s.Template
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if events != 640 {
		t.Errorf("%d well-formed events in the sample, want 640", events)
	}
	for i, k := range sampleKinds {
		if len(perKind[i]) != k.ids {
			var tmpls []string
			for id, tmpl := range perKind[i] {
				tmpls = append(tmpls, id+" "+tmpl)
			}
			t.Errorf("kind %q: %d signatures, want %d:\n  %s", k.marker, len(perKind[i]), k.ids, strings.Join(tmpls, "\n  "))
		}
	}
	if len(owner) != sampleSignatures {
		t.Errorf("%d distinct signatures in the demo sample, want %d", len(owner), sampleSignatures)
	}
}
