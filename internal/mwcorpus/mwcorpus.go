// Package mwcorpus reads the labelled corpus of real MediaWiki events
// (testdata/mediawiki-1.39.ndjson.gz, produced by gen/ from a real MediaWiki
// 1.39) and derives from it the shapes sheriff meets in production: Wikimedia
// paths and train versions, a dozen wikis, Beta Cluster host names, the
// ECS-shaped documents and the next train with its code motion. Eval
// measures a grouping against the labels.
package mwcorpus

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// LabelField is the top-level field carrying an event's true error site.
const LabelField = "sheriff_label"

// Doc is one labelled logstash document.
type Doc struct {
	Label  string
	Fields map[string]any // the document without LabelField
}

// Load reads an NDJSON file (gzip-compressed when its name ends in .gz) of
// labelled documents. Every line must be a JSON object with a non-empty
// sheriff_label; the label is removed from Fields.
func Load(path string) ([]Doc, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	docs, err := Read(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return docs, nil
}

// Read parses labelled NDJSON documents from r.
func Read(r io.Reader) ([]Doc, error) {
	var docs []Doc
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		label, _ := m[LabelField].(string)
		if label == "" {
			return nil, fmt.Errorf("line %d: missing field %s", n, LabelField)
		}
		delete(m, LabelField)
		docs = append(docs, Doc{Label: label, Fields: m})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", n+1, err)
	}
	return docs, nil
}

// JSON encodes the document (without its label).
func (d Doc) JSON() []byte {
	b, err := json.Marshal(d.Fields)
	if err != nil { // cannot happen: Fields came from JSON
		panic(err)
	}
	return b
}

// The production shape.
var (
	// Wikis spread over, a dozen of the Beta Cluster's.
	Wikis = []string{"enwiki", "dewiki", "commonswiki", "wikidatawiki", "metawiki", "simplewiki",
		"frwiki", "jawiki", "enwiktionary", "loginwiki", "testwiki", "zhwiki"}
	// Hosts by servergroup, as named in the Beta Cluster.
	Hosts = map[string][]string{
		"appserver":     {"deployment-mediawiki11", "deployment-mediawiki12"},
		"api_appserver": {"deployment-mediawiki13", "deployment-mediawiki14"},
		"jobrunner":     {"deployment-jobrunner04"},
		"maintenance":   {"deployment-deploy04"},
	}
)

const debianRoot = "/usr/share/mediawiki/"

// Root returns the install root of train n: /srv/mediawiki/php-1.47.0-wmf.N/.
func Root(train int) string { return fmt.Sprintf("/srv/mediawiki/php-1.47.0-wmf.%d/", train) }

// Production rewrites a document as the Beta Cluster on train `train` would
// have logged it: paths under /srv/mediawiki/php-1.47.0-wmf.N/ (bundled
// extensions under extensions/), mwversion, a wiki and a host picked
// deterministically from the document (index i), so that one error site is
// seen on several wikis and hosts.
func Production(d Doc, i, train int) Doc {
	root := Root(train)
	out := make(map[string]any, len(d.Fields))
	for k, v := range d.Fields {
		out[k] = rewritePaths(v, root)
	}
	out["mwversion"] = fmt.Sprintf("1.47.0-wmf.%d", train)
	out["wiki"] = Wikis[i%len(Wikis)]
	group, _ := out["servergroup"].(string)
	hosts := Hosts[group]
	if len(hosts) == 0 {
		hosts = Hosts["appserver"]
	}
	out["host"] = hosts[(i/len(Wikis))%len(hosts)]
	return Doc{Label: d.Label, Fields: out}
}

func rewritePaths(v any, root string) any {
	switch v := v.(type) {
	case string:
		if !strings.Contains(v, debianRoot) {
			return v
		}
		v = strings.ReplaceAll(v, debianRoot+"extensions-core/", root+"extensions/")
		return strings.ReplaceAll(v, debianRoot, root)
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = rewritePaths(x, root)
		}
		return m
	}
	return v
}

// lineRef matches a line number after a PHP file in traces ("Foo.php(123)")
// and exception.file ("Foo.php:123").
var lineRef = regexp.MustCompile(`(\.php)([(:])(\d+)`)

// NextTrain returns the document as the next train would log it for the
// same bug: the install root of train+1 and code motion, every line number
// moved by an offset that depends on the file (lines inserted above the
// code), in the trace, exception.file and the messages.
func NextTrain(d Doc, train int) Doc {
	from, to := Root(train), Root(train+1)
	var move func(v any) any
	move = func(v any) any {
		switch v := v.(type) {
		case string:
			v = strings.ReplaceAll(v, from, to)
			v = strings.ReplaceAll(v, strings.TrimSuffix(strings.TrimPrefix(from, "/srv/mediawiki/php-"), "/"),
				strings.TrimSuffix(strings.TrimPrefix(to, "/srv/mediawiki/php-"), "/"))
			return shiftLines(v)
		case map[string]any:
			m := make(map[string]any, len(v))
			for k, x := range v {
				m[k] = move(x)
			}
			return m
		}
		return v
	}
	out := make(map[string]any, len(d.Fields))
	for k, v := range d.Fields {
		out[k] = move(v)
	}
	return Doc{Label: d.Label, Fields: out}
}

// shiftLines moves every "file.php(N)" and "file.php:N" by 3 to 40 lines,
// the same for every reference to one file.
func shiftLines(s string) string {
	if !strings.Contains(s, ".php") {
		return s
	}
	idx := lineRef.FindAllStringSubmatchIndex(s, -1)
	var b strings.Builder
	last := 0
	for _, m := range idx {
		// the file name: back from ".php" to a delimiter
		fs := m[0]
		for fs > 0 && !strings.ContainsRune(" \n\t\"'(#", rune(s[fs-1])) {
			fs--
		}
		h := fnv.New32a()
		h.Write([]byte(s[fs:m[0]]))
		n, _ := strconv.Atoi(s[m[6]:m[7]])
		b.WriteString(s[last:m[6]])
		b.WriteString(strconv.Itoa(n + 3 + int(h.Sum32()%38)))
		last = m[7]
	}
	b.WriteString(s[last:])
	return b.String()
}

// ECS returns the document in the ECS shape of newer MediaWiki producers:
// error.* for the exception (without its file: not every producer sends
// one), labels.* for MediaWiki's fields and context (documents already in
// that shape are returned as they are), log.*, host.name,
// url.full, service.version.
func ECS(d Doc) Doc {
	f := d.Fields
	if _, ecs := f["labels"]; ecs {
		return d // already ECS-shaped
	}
	out := map[string]any{"@timestamp": f["@timestamp"], "message": f["message"], "ecs.version": "1.7.0"}
	labels := map[string]any{}
	logm := map[string]any{}
	for k, v := range f {
		switch k {
		case "@timestamp", "message", "@version":
		case "channel":
			logm["logger"] = v
			labels["channel"] = v
		case "level":
			logm["level"] = v
		case "type":
			out["event.dataset"] = v
		case "host":
			out["host"] = map[string]any{"name": v}
		case "url":
			out["url"] = map[string]any{"full": v}
		case "mwversion":
			out["service"] = map[string]any{"version": v}
		case "reqId":
			out["trace"] = map[string]any{"id": v}
		case "exception":
			e, _ := v.(map[string]any)
			out["error"] = map[string]any{"type": e["class"], "message": e["message"], "stack_trace": e["trace"]}
		default:
			labels[k] = v
		}
	}
	out["labels"] = labels
	out["log"] = logm
	return Doc{Label: d.Label, Fields: out}
}
