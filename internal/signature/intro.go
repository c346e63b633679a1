package signature

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MediaWiki interpolates free text (user names, page titles, array keys) into
// exception messages without quotes: "Invalid username: Jdoe (WMF)", "got page
// User:Example/sandbox in namespace 2". Nothing in such a value's own shape
// tells it from the surrounding words, but its position does: it follows a
// noun naming what it is, the introducer. The scanner masks the value after
// an introducer as {val}.
//
// The vocabulary is kept to nouns whose values are data, which vary between
// occurrences of one bug: user names, page titles, array keys, wiki ids.
// Nouns whose values are code or configuration (module, file, function,
// class, content model, group, right) are left out on purpose: a different
// ResourceLoader module or Lua module in a message is a different bug.
// Numeric ids (revision 123, namespace 4, Q42) are already masked by the
// number rules.

// Introducer flags: where the value after an introducer may start and how far
// it extends.
const (
	inWord    uint16 = 1 << iota // "for user Foo": the value follows one space
	inColon                      // "Invalid username: Foo": the value follows ": "
	inDigit                      // the value may start with a digit (anonymous users are IP addresses)
	inAnyCase                    // the first token may be a lowercase ASCII word (array keys); else such a word is English and ends the match
	inMulti                      // the value may span several space-separated tokens (user names and titles have spaces)
	inWikiID                     // the value must be a wiki database name (enwiki, en_rtlwiki, dewiktionary)
	inProp                       // "stdClass::$name": only the property name is the value
)

// maxValue bounds a masked value: MediaWiki titles are at most 255 bytes,
// user names shorter. It also bounds the scanner's look-ahead.
const maxValue = 255

// introducer returns the flags of w if it introduces a value, else 0. Only
// the all-lowercase and the capitalised spelling count ("user", "User").
func introducer(w string) uint16 {
	if len(w) < 3 || len(w) > 8 {
		return 0
	}
	rest := w[1:]
	switch w[0] | 0x20 {
	case 'u':
		if rest == "ser" || rest == "sername" {
			return inWord | inColon | inDigit | inMulti
		}
	case 'p':
		if rest == "age" {
			return inWord | inColon | inMulti
		}
		if rest == "roperty" {
			// colon only: "Typed property Foo::$bar must not be accessed"
			// names the bug by its property, "Undefined property: stdClass::$x"
			// reports a missing field of a decoded row (like an array key)
			return inColon | inAnyCase | inProp
		}
	case 't':
		if rest == "itle" {
			return inWord | inColon | inMulti
		}
	case 'i':
		if rest == "ndex" { // PHP 7: "Undefined index: pageids in ..."
			return inColon | inAnyCase | inMulti
		}
	case 'k':
		if rest == "ey" { // "for key enwiki:page-recent-delete:..."; PHP 8 quotes its keys
			return inWord
		}
	case 'w':
		if rest == "iki" {
			return inWord | inColon | inWikiID
		}
	case 'd':
		if rest == "atabase" {
			return inWord | inColon | inWikiID
		}
	}
	return 0
}

// introFirst has a bit per letter that starts an introducer (d i k p t u w),
// so that the scanner can dismiss almost every word without a call.
const introFirst = 1<<('d'-'a') | 1<<('i'-'a') | 1<<('k'-'a') | 1<<('p'-'a') | 1<<('t'-'a') | 1<<('u'-'a') | 1<<('w'-'a')

// maybeIntroducer reports whether a word starting with c may be an introducer.
func maybeIntroducer(c byte) bool {
	l := uint(c|0x20) - 'a'
	return l < 26 && introFirst>>l&1 != 0
}

// introValue returns the bounds of the value introduced by the word ending at
// i (s[i] is ' ' or ':'), or -1, -1.
func introValue(s string, i int, fl uint16) (int, int) {
	n := len(s)
	var vs int
	colon := s[i] == ':'
	switch {
	case colon && fl&inColon != 0 && i+2 < n && s[i+1] == ' ':
		vs = i + 2
	case !colon && fl&inWord != 0 && i+1 < n:
		vs = i + 1
	default:
		return -1, -1
	}
	if !valueStart(s, vs, fl) {
		return -1, -1
	}
	te := tokenEnd(s, vs)
	ve := trimValue(s, vs, te)
	if ve <= vs || te-vs > maxValue {
		return -1, -1
	}
	tok := s[vs:ve]
	switch {
	case fl&inWikiID != 0:
		if !isWikiID(tok) {
			return -1, -1
		}
		return vs, ve
	case fl&inProp != 0:
		if k := strings.Index(tok, "::$"); k >= 0 {
			vs += k + 3
			if vs >= ve || !valueStart(s, vs, fl) {
				return -1, -1
			}
		}
		return vs, ve
	case fl&inAnyCase == 0 && !looksLikeValue(tok):
		return -1, -1
	}
	if fl&inMulti == 0 || ve < te { // trailing punctuation ends the value
		return vs, ve
	}
	if colon {
		return vs, colonValueEnd(s, vs, ve)
	}
	return vs, wordValueEnd(s, vs, ve)
}

// valueStart reports whether a value may start at s[j]: a letter, '_', '~'
// (temporary accounts), a digit when fl allows it. Not a quote (the quoted
// rule applies), not '{' (a placeholder: masking must be idempotent), not
// punctuation.
func valueStart(s string, j int, fl uint16) bool {
	c := s[j]
	if c < utf8.RuneSelf {
		t := ctab[c]
		return t&(cUpper|cLower) != 0 || c == '_' || c == '~' || t&cDigit != 0 && fl&inDigit != 0
	}
	r, _ := utf8.DecodeRuneInString(s[j:])
	return unicode.IsLetter(r)
}

// tokenEnd returns the end of the run of non-blank bytes at j, looking at
// most maxValue+1 bytes ahead.
func tokenEnd(s string, j int) int {
	limit := min(len(s), j+maxValue+1)
	for j < limit && s[j] > ' ' && s[j] != 0x7f {
		j++
	}
	return j
}

// trimValue drops punctuation that ends a sentence or an enclosing bracket
// from the end of the token [a, b): "user Foo." and "(page Bar)".
func trimValue(s string, a, b int) int {
	for b > a {
		switch s[b-1] {
		case '.', ',', ';', ':', '!', '?', '"', '\'':
		case ')':
			if strings.IndexByte(s[a:b], '(') >= 0 {
				return b
			}
		case ']':
			if strings.IndexByte(s[a:b], '[') >= 0 {
				return b
			}
		default:
			return b
		}
		b--
	}
	return b
}

// looksLikeValue reports whether a token after an introducer is a value
// rather than English: "page namespace", "user is blocked" and "user ID" go
// on as text. MediaWiki capitalises the first letter of user names and of
// titles on all but a few wikis (Wiktionary), so a lowercase ASCII word is
// taken as English.
func looksLikeValue(t string) bool {
	lower := true
	for i := 0; i < len(t); i++ {
		if c := t[i]; c < 'a' || c > 'z' {
			lower = false
			break
		}
	}
	if lower {
		return false
	}
	if len(t) <= 4 {
		for _, w := range [...]string{"id", "ids", "ip", "url", "uri", "api", "sql"} {
			if strings.EqualFold(t, w) {
				return false
			}
		}
	}
	return !sqlKeyword(t)
}

// sqlKeyword reports whether t is an upper-case SQL keyword that can follow
// a table or column named like an introducer: "UPDATE page SET",
// "FROM user WHERE", "JOIN page ON".
func sqlKeyword(t string) bool {
	if len(t) < 2 || len(t) > 8 || ctab[t[0]]&cUpper == 0 || ctab[t[1]]&cUpper == 0 {
		return false
	}
	switch t {
	case "AS", "ON", "IN", "IS", "OR", "AND", "NOT", "SET", "USE", "FOR", "FROM", "JOIN", "LEFT", "INNER",
		"OUTER", "CROSS", "STRAIGHT", "WHERE", "LIMIT", "ORDER", "GROUP", "HAVING", "UNION", "FORCE", "IGNORE",
		"INDEX", "VALUES", "SELECT", "UPDATE", "DELETE", "INSERT", "INTO", "LOCK", "USING", "OFFSET":
		return true
	}
	return false
}

// wordValueEnd extends a value found after "introducer " over following
// capitalised words ("Jimmy Wales", "Main Page") and a parenthesised
// suffix ("Jdoe (WMF)", "Mercury (planet)"); a lowercase word ("in
// namespace 4"), a placeholder or any other bracket ends it.
func wordValueEnd(s string, vs, ve int) int {
	n := len(s)
	for ve+1 < n && s[ve] == ' ' {
		k := ve + 1
		if s[k] == '(' {
			if e := suffixEnd(s, k); e > 0 && e-vs <= maxValue {
				return e
			}
			return ve
		}
		if !capitalised(s, k) {
			return ve
		}
		te := tokenEnd(s, k)
		tt := trimValue(s, k, te)
		if tt == k || tt-vs > maxValue || !looksLikeValue(s[k:tt]) {
			return ve
		}
		ve = tt
		if tt < te {
			return ve
		}
	}
	return ve
}

// colonValueEnd extends a value found after "introducer: " up to the end of
// the line or to a delimiter: " (" (unless a suffix such as "(WMF)"), " in ",
// " at ", " on ", " for ", " from ", a placeholder, or punctuation ending a
// token (", ", "; ", ". "). A value that would exceed maxValue stops at the
// last token that fits.
func colonValueEnd(s string, vs, ve int) int {
	n := len(s)
	for ve+1 < n && s[ve] == ' ' {
		k := ve + 1
		switch s[k] {
		case '(':
			if e := suffixEnd(s, k); e > 0 && e-vs <= maxValue {
				return e
			}
			return ve
		case '{', '"', '\'', '[', '<', '-', '#', ' ':
			return ve
		}
		te := tokenEnd(s, k)
		switch s[k:te] {
		case "in", "at", "on", "for", "from":
			return ve
		}
		tt := trimValue(s, k, te)
		if tt == k || tt-vs > maxValue {
			return ve
		}
		ve = tt
		if tt < te {
			return ve
		}
	}
	return ve
}

// suffixEnd returns the end of a parenthesised name suffix at s[k] == '(':
// letters and '-' only, at most 24 bytes, e.g. (WMF), (WMDE), (test),
// (disambiguation). Numbers ((110)), addresses ((user1@example.org)) and
// phrases ((HTTP 502)) are not suffixes.
func suffixEnd(s string, k int) int {
	j := k + 1
	for j < len(s) && j-k <= 25 {
		c := s[j]
		switch {
		case c == ')':
			if j == k+1 {
				return -1
			}
			if j+1 < len(s) && isWordByte(s[j+1]) {
				return -1
			}
			return j + 1
		case c < utf8.RuneSelf && ctab[c]&(cUpper|cLower) == 0 && c != '-':
			return -1
		}
		j++
	}
	return -1
}

// capitalised reports whether an upper-case letter starts at s[k].
func capitalised(s string, k int) bool {
	c := s[k]
	if c < utf8.RuneSelf {
		return ctab[c]&cUpper != 0
	}
	r, _ := utf8.DecodeRuneInString(s[k:])
	return unicode.IsUpper(r)
}

// wikiSuffixes end the database names of Wikimedia wikis.
var wikiSuffixes = [...]string{"wiki", "wiktionary", "wikiquote", "wikibooks", "wikisource", "wikinews", "wikiversity", "wikivoyage", "wikimedia"}

// isWikiID reports whether t is a wiki database name: [a-z0-9_] ending in a
// project suffix after at least two characters (enwiki, en_rtlwiki,
// wikidatawiki, test2wiki), so that "wiki page" and "wiki farm" stay. The
// software and the parser tag are not wikis (mediawiki.org is mediawikiwiki).
func isWikiID(t string) bool {
	if t == "mediawiki" || t == "nowiki" {
		return false
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	for _, suf := range wikiSuffixes {
		if len(t) >= len(suf)+2 && strings.HasSuffix(t, suf) {
			return true
		}
	}
	return false
}

// introBoundary reports whether c may precede an introducer: the word must
// not be part of a path, a variable or a qualified name ($user, ->page,
// Foo\User, ?title).
func introBoundary(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '(', '[', ',', ';':
		return true
	}
	return false
}
