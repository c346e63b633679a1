package esfake

import (
	"strings"
	"time"
	"unicode"
)

// query_string support is a practical subset of the Lucene syntax:
//
//	field:value  field:"a phrase"  field:wild*card  field:*  value (default fields)
//	field:(a OR b)  _exists_:field  field:[lo TO hi]  field:{lo TO hi}  (* = open)
//	field:>=x  field:>x  field:<x  field:<=x
//	a AND b, a && b, a OR b, a || b, NOT a, !a, -a, +a, ( ... ), \-escapes
//
// Clauses combine as in Lucene's classic parser, which Elasticsearch uses:
// each clause is required, optional or prohibited according to its modifier,
// the conjunction before it and default_operator (OR unless given), so
// "a AND b OR c" means +a +b c. A purely negative group matches every
// document not excluded. A plain value matches a field when its tokens occur
// consecutively in the field (a phrase on the fake's analyser), or equals it
// numerically; wildcards match a token or the whole value, ignoring case.
// Fuzzy (~), boosts (^), regular expressions (/re/) and wildcarded field
// names are not supported and are rejected.
type qsParser struct {
	toks      []qsTok
	pos       int
	and       bool // default_operator AND
	fields    []string
	c         *compiler
	fieldStck []string
}

type qsKind int

const (
	qsEOF qsKind = iota
	qsLParen
	qsRParen
	qsAnd
	qsOr
	qsNot
	qsPlus
	qsMinus
	qsField  // text = field name
	qsWord   // text = value, wild = has unescaped wildcards
	qsPhrase // text = quoted value
	qsRange  // lo, hi, incl
)

type qsTok struct {
	kind           qsKind
	text           string
	wild           bool
	lo, hi         string
	loIncl, hiIncl bool
}

func (c *compiler) queryString(body any) (matchFunc, error) {
	m, ok := body.(map[string]any)
	if !ok {
		return nil, parsing("[query_string] query malformed")
	}
	p := &qsParser{c: c}
	var q string
	for k, v := range m {
		switch k {
		case "query":
			q, _ = v.(string)
		case "default_operator":
			s, _ := v.(string)
			switch strings.ToUpper(s) {
			case "AND":
				p.and = true
			case "OR":
			default:
				return nil, parsing("[query_string] unknown default_operator [%s]", s)
			}
		case "default_field":
			s, _ := v.(string)
			p.fields = []string{s}
		case "fields":
			list, _ := v.([]any)
			for _, f := range list {
				if s, ok := f.(string); ok {
					p.fields = append(p.fields, s)
				}
			}
		case "boost", "_name", "analyze_wildcard", "lenient", "allow_leading_wildcard":
		default:
			return nil, parsing("[query_string] option [%s] is not supported by esfake", k)
		}
	}
	if q == "" {
		return nil, parsing("[query_string] requires a non-empty [query]")
	}
	toks, err := lexQS(q)
	if err != nil {
		return nil, err
	}
	p.toks = toks
	f, err := p.parseQuery()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != qsEOF {
		return nil, parsing("[query_string] failed to parse query [%s]: unexpected token at clause %d", q, p.pos+1)
	}
	return f, nil
}

func lexQS(q string) ([]qsTok, error) {
	var toks []qsTok
	r := []rune(q)
	i := 0
	fail := func(msg string) ([]qsTok, error) {
		return nil, parsing("[query_string] failed to parse query [%s]: %s", q, msg)
	}
	special := func(c rune) bool { return unicode.IsSpace(c) || c == '(' || c == ')' }
	for i < len(r) {
		c := r[i]
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '(':
			toks = append(toks, qsTok{kind: qsLParen})
			i++
		case c == ')':
			toks = append(toks, qsTok{kind: qsRParen})
			i++
		case c == '&' && i+1 < len(r) && r[i+1] == '&':
			toks = append(toks, qsTok{kind: qsAnd})
			i += 2
		case c == '|' && i+1 < len(r) && r[i+1] == '|':
			toks = append(toks, qsTok{kind: qsOr})
			i += 2
		case c == '!':
			toks = append(toks, qsTok{kind: qsNot})
			i++
		case c == '+':
			toks = append(toks, qsTok{kind: qsPlus})
			i++
		case c == '-':
			toks = append(toks, qsTok{kind: qsMinus})
			i++
		case c == '"':
			var b strings.Builder
			i++
			for i < len(r) && r[i] != '"' {
				if r[i] == '\\' && i+1 < len(r) {
					i++
				}
				b.WriteRune(r[i])
				i++
			}
			if i >= len(r) {
				return fail("unterminated quote")
			}
			i++
			toks = append(toks, qsTok{kind: qsPhrase, text: b.String()})
		case c == '[' || c == '{':
			end := -1
			for j := i + 1; j < len(r); j++ {
				if r[j] == ']' || r[j] == '}' {
					end = j - i
					break
				}
			}
			if end < 0 {
				return fail("unterminated range")
			}
			body := string(r[i+1 : i+end])
			closer := r[i+end]
			lo, hi, ok := strings.Cut(body, " TO ")
			if !ok {
				return fail("range needs TO")
			}
			toks = append(toks, qsTok{kind: qsRange, lo: strings.TrimSpace(lo), hi: strings.TrimSpace(hi),
				loIncl: c == '[', hiIncl: closer == ']'})
			i += end + 1
		case c == '/' || c == '~' || c == '^':
			return fail("regular expressions, fuzziness and boosts are not supported by esfake")
		default:
			var b strings.Builder
			wild := false
			for i < len(r) && !special(r[i]) {
				if r[i] == '\\' && i+1 < len(r) {
					b.WriteRune('\\')
					b.WriteRune(r[i+1])
					i += 2
					continue
				}
				if r[i] == ':' {
					break
				}
				if r[i] == '~' || r[i] == '^' {
					return fail("fuzziness and boosts are not supported by esfake")
				}
				if r[i] == '*' || r[i] == '?' {
					wild = true
				}
				b.WriteRune(r[i])
				i++
			}
			word := b.String()
			if i < len(r) && r[i] == ':' {
				i++
				toks = append(toks, qsTok{kind: qsField, text: unescape(word)})
				continue
			}
			switch word {
			case "AND":
				toks = append(toks, qsTok{kind: qsAnd})
			case "OR":
				toks = append(toks, qsTok{kind: qsOr})
			case "NOT":
				toks = append(toks, qsTok{kind: qsNot})
			default:
				if wild {
					toks = append(toks, qsTok{kind: qsWord, text: word, wild: true})
				} else {
					toks = append(toks, qsTok{kind: qsWord, text: unescape(word)})
				}
			}
		}
	}
	return toks, nil
}

func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	r := []rune(s)
	for i := 0; i < len(r); i++ {
		if r[i] == '\\' && i+1 < len(r) {
			i++
		}
		b.WriteRune(r[i])
	}
	return b.String()
}

func (p *qsParser) peek() qsTok {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return qsTok{kind: qsEOF}
}

func (p *qsParser) next() qsTok {
	t := p.peek()
	p.pos++
	return t
}

type occur int

const (
	should occur = iota
	must
	mustNot
)

type qsClause struct {
	occur occur
	m     matchFunc
}

// parseQuery reads clauses up to the end or a closing parenthesis and
// combines them the way Lucene's classic query parser does: each clause is
// required, optional or prohibited depending on its modifier, the
// conjunction before it and the default operator.
func (p *qsParser) parseQuery() (matchFunc, error) {
	var clauses []qsClause
	for {
		t := p.peek()
		if t.kind == qsEOF || t.kind == qsRParen {
			break
		}
		conj := qsEOF
		if t.kind == qsAnd || t.kind == qsOr {
			conj = t.kind
			p.next()
			t = p.peek()
		}
		mod := qsEOF
		if t.kind == qsPlus || t.kind == qsMinus || t.kind == qsNot {
			mod = t.kind
			if mod == qsMinus {
				mod = qsNot
			}
			p.next()
		}
		m, err := p.parsePrimary()
		if err != nil {
			return nil, err
		}
		// Lucene QueryParserBase.addClause.
		if n := len(clauses); n > 0 {
			prev := &clauses[n-1]
			if conj == qsAnd && prev.occur != mustNot {
				prev.occur = must
			}
			if p.and && conj == qsOr && prev.occur != mustNot {
				prev.occur = should
			}
		}
		prohibited := mod == qsNot
		var required bool
		if p.and {
			required = !prohibited && conj != qsOr
		} else {
			required = mod == qsPlus || (conj == qsAnd && !prohibited)
		}
		o := should
		switch {
		case prohibited:
			o = mustNot
		case required:
			o = must
		}
		clauses = append(clauses, qsClause{occur: o, m: m})
	}
	if len(clauses) == 0 {
		return nil, parsing("[query_string] empty query or group")
	}
	var musts, shoulds, nots []matchFunc
	for _, c := range clauses {
		switch c.occur {
		case must:
			musts = append(musts, c.m)
		case should:
			shoulds = append(shoulds, c.m)
		default:
			nots = append(nots, c.m)
		}
	}
	// Optional clauses only count when nothing is required; a purely
	// negative query matches everything else, as Elasticsearch makes it.
	needShould := len(musts) == 0 && len(shoulds) > 0
	return func(d *doc) bool {
		for _, m := range musts {
			if !m(d) {
				return false
			}
		}
		for _, m := range nots {
			if m(d) {
				return false
			}
		}
		if !needShould {
			return true
		}
		for _, m := range shoulds {
			if m(d) {
				return true
			}
		}
		return false
	}, nil
}

func (p *qsParser) parsePrimary() (matchFunc, error) {
	t := p.next()
	switch t.kind {
	case qsLParen:
		f, err := p.parseQuery()
		if err != nil {
			return nil, err
		}
		if p.next().kind != qsRParen {
			return nil, parsing("[query_string] missing closing parenthesis")
		}
		return f, nil
	case qsField:
		if p.peek().kind == qsLParen {
			p.fieldStck = append(p.fieldStck, t.text)
			defer func() { p.fieldStck = p.fieldStck[:len(p.fieldStck)-1] }()
			return p.parsePrimary()
		}
		v := p.next()
		if v.kind != qsWord && v.kind != qsPhrase && v.kind != qsRange {
			return nil, parsing("[query_string] field [%s] has no value", t.text)
		}
		return p.term(t.text, v)
	case qsWord, qsPhrase, qsRange:
		field := ""
		if n := len(p.fieldStck); n > 0 {
			field = p.fieldStck[n-1]
		}
		return p.term(field, t)
	}
	return nil, parsing("[query_string] unexpected operator where a clause was expected")
}

func (p *qsParser) term(field string, t qsTok) (matchFunc, error) {
	if field == "_exists_" {
		return existsQuery(map[string]any{"field": t.text})
	}
	if strings.ContainsAny(field, "*?") {
		return nil, parsing("[query_string] wildcarded field names are not supported by esfake")
	}
	var pred func(any) bool
	switch {
	case t.kind == qsRange || (t.kind == qsWord && strings.ContainsAny(t.text[:min(1, len(t.text))], "<>")):
		lo, hi, loIncl, hiIncl := t.lo, t.hi, t.loIncl, t.hiIncl
		if t.kind == qsWord {
			lo, hi = "*", "*"
			switch {
			case strings.HasPrefix(t.text, ">="):
				lo, loIncl = t.text[2:], true
			case strings.HasPrefix(t.text, ">"):
				lo, loIncl = t.text[1:], false
			case strings.HasPrefix(t.text, "<="):
				hi, hiIncl = t.text[2:], true
			case strings.HasPrefix(t.text, "<"):
				hi, hiIncl = t.text[1:], false
			}
		}
		r := rangeBounds{loIncl: loIncl, hiIncl: hiIncl, loc: time.UTC, now: p.c.now}
		if lo != "*" {
			r.lo = lo
			r.loDate, r.loDateErr = p.c.boundDate(lo, "", time.UTC)
		}
		if hi != "*" {
			r.hi = hi
			r.hiDate, r.hiDateErr = p.c.boundDate(hi, "", time.UTC)
		}
		pred = r.contains
	case t.kind == qsWord && t.text == "*":
		if field == "" {
			return matchAll, nil
		}
		return existsQuery(map[string]any{"field": field})
	case t.kind == qsWord && t.wild:
		pat := strings.ToLower(t.text)
		pred = func(v any) bool {
			s, ok := text(v)
			if !ok {
				return false
			}
			if glob(pat, strings.ToLower(s)) {
				return true
			}
			for _, tok := range tokens(s) {
				if glob(pat, tok) {
					return true
				}
			}
			return false
		}
	default:
		want := tokens(t.text)
		raw := t.text
		pred = func(v any) bool {
			if _, ok := number(v); ok {
				return numericCompare(v, raw) == 0
			}
			s, ok := text(v)
			return ok && len(want) > 0 && containsRun(tokens(s), want)
		}
	}
	fields := []string{field}
	if field == "" {
		fields = p.fields
		if len(fields) == 0 {
			fields = []string{"*"}
		}
	}
	return func(d *doc) bool {
		for _, f := range fields {
			var vals []any
			if f == "*" {
				allLeaves(d.m, &vals)
			} else {
				vals = docValues(d, f)
			}
			for _, v := range vals {
				if pred(v) {
					return true
				}
			}
		}
		return false
	}, nil
}
