// Package redact removes private data from text before it leaves sheriff:
// Phabricator tasks and comments, IRC lines, reports, logs and the outbox.
//
// Built in (no configuration needed): IPv4 and IPv6 addresses, email
// addresses, credentials in URLs (https://user:pass@host), Authorization,
// Cookie and Set-Cookie header values, values of sensitive keys in query
// strings, JSON, PHP arrays, YAML, headers and "key=value" text (passwords,
// secrets, tokens, API keys, session ids, CSRF tokens, signatures), bearer
// tokens, JWTs, well-known token formats (GitHub, GitLab, Phabricator,
// Slack, AWS), PEM private keys, and long random-looking hex or base64
// strings. Configured on top: extra regular expressions and literal values
// (user names).
//
// Only the secret part is replaced, by one of the labels below, so the text
// stays readable:
//
//	/w/api.php?action=edit&token=[REDACTED]&title=Foo
//	Rate limit hit for [IP] by [EMAIL]
//	Authorization: Bearer [REDACTED]
//
// Detection is a hand-written single pass (plus the configured regexps), so
// it can run on every outgoing line. It errs on the side of redacting: a
// 32-digit hex hash or a "key=..." URL parameter is redacted too.
package redact

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
)

// Replacement labels.
const (
	Redacted = "[REDACTED]"
	IP       = "[IP]"
	Email    = "[EMAIL]"
)

// Config configures a Redactor on top of the built-in rules.
type Config struct {
	// Patterns are extra regular expressions (Go syntax). Each match is
	// replaced by [REDACTED]; if the expression has a capturing group, only
	// the text of the first group is.
	Patterns []string
	// Fields are literal values to redact wherever they appear as whole words,
	// such as user names. "John Doe" also matches John_Doe, John+Doe and
	// John%20Doe, and "john" also matches "John" (MediaWiki capitalises the
	// first letter of user names).
	Fields []string
}

// Redactor redacts text. It is safe for concurrent use.
type Redactor struct {
	patterns []*regexp.Regexp
	mu       sync.Mutex               // serialises AddFields
	literals atomic.Pointer[[]string] // longest first; replaced, never modified
}

// New compiles cfg. An invalid pattern is an error naming its index.
func New(cfg Config) (*Redactor, error) {
	r := &Redactor{}
	for i, p := range cfg.Patterns {
		if p == "" {
			return nil, fmt.Errorf("redact: patterns[%d]: empty pattern", i)
		}
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("redact: patterns[%d] %q: %w", i, p, err)
		}
		if re.MatchString("") {
			return nil, fmt.Errorf("redact: patterns[%d] %q matches the empty string", i, p)
		}
		r.patterns = append(r.patterns, re)
	}
	r.literals.Store(&[]string{})
	r.AddFields(cfg.Fields...)
	return r, nil
}

// AddFields adds literal values to redact (see Config.Fields). Values shorter
// than two characters are ignored: they would destroy the text.
func (r *Redactor) AddFields(values ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.literals.Load()
	set := make(map[string]bool, len(old)+4*len(values))
	for _, v := range old {
		set[v] = true
	}
	for _, v := range values {
		v = strings.TrimSpace(v)
		if utf8.RuneCountInString(v) < 2 {
			continue
		}
		for _, variant := range variants(v) {
			set[variant] = true
		}
	}
	lits := make([]string, 0, len(set))
	for v := range set {
		lits = append(lits, v)
	}
	// Longest first, so that "John Doe" wins over "John".
	slices.SortFunc(lits, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	r.literals.Store(&lits)
}

func variants(v string) []string {
	out := []string{v}
	if strings.Contains(v, " ") {
		out = append(out, strings.ReplaceAll(v, " ", "_"), strings.ReplaceAll(v, " ", "+"), strings.ReplaceAll(v, " ", "%20"))
	}
	if strings.Contains(v, "_") {
		out = append(out, strings.ReplaceAll(v, "_", " "))
	}
	r, size := utf8.DecodeRuneInString(v)
	if u := unicode.ToUpper(r); u != r {
		for _, o := range out[:len(out):len(out)] {
			out = append(out, string(u)+o[size:])
		}
	}
	return out
}

// span is a stretch of the input to replace by label.
type span struct {
	start, end int
	label      string
}

// String returns s with private data replaced. It returns s itself (no
// allocation) when there is nothing to redact.
func (r *Redactor) String(s string) string {
	if s == "" {
		return s
	}
	sc := scanner{s: s}
	sc.scan()
	spans := sc.spans
	for _, lit := range *r.literals.Load() {
		spans = findLiteral(spans, s, lit)
	}
	for _, re := range r.patterns {
		for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
			a, b := m[0], m[1]
			if len(m) >= 4 && m[2] >= 0 {
				a, b = m[2], m[3]
			}
			if b > a {
				spans = append(spans, span{a, b, Redacted})
			}
		}
	}
	if len(spans) == 0 {
		return s
	}
	return apply(s, spans)
}

// apply replaces the spans, merging overlapping ones.
func apply(s string, spans []span) string {
	slices.SortFunc(spans, func(a, b span) int {
		if a.start != b.start {
			return a.start - b.start
		}
		return b.end - a.end
	})
	var b strings.Builder
	b.Grow(len(s))
	pos := 0
	for i := 0; i < len(spans); {
		cur := spans[i]
		i++
		for i < len(spans) && spans[i].start < cur.end {
			if spans[i].end > cur.end {
				cur.end = spans[i].end
			}
			if spans[i].label != cur.label {
				cur.label = Redacted
			}
			i++
		}
		b.WriteString(s[pos:cur.start])
		b.WriteString(cur.label)
		pos = cur.end
	}
	b.WriteString(s[pos:])
	return b.String()
}

// findLiteral appends the whole-word occurrences of lit in s.
func findLiteral(spans []span, s, lit string) []span {
	for off := 0; ; {
		k := strings.Index(s[off:], lit)
		if k < 0 {
			return spans
		}
		a := off + k
		b := a + len(lit)
		if !wordRuneBefore(s, a) && !wordRuneAt(s, b) {
			spans = append(spans, span{a, b, Redacted})
			off = b
			continue
		}
		_, size := utf8.DecodeRuneInString(s[a:])
		off = a + size
	}
}

func wordRuneBefore(s string, i int) bool {
	if i == 0 {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

func wordRuneAt(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}
