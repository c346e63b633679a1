package redact

import (
	"net/netip"
	"strings"

	"github.com/wikimedia/sheriff/internal/textscan"
)

const (
	cWord  uint8 = 1 << iota // [A-Za-z0-9_]
	cDigit                   // [0-9]
	cHex                     // [0-9A-Fa-f]
	cUpper                   // [A-Z]
	cLower                   // [a-z]
	cRun                     // base64 / token alphabet: [A-Za-z0-9+/_-]
	cKey                     // key names: [A-Za-z0-9_.$-]
	cLocal                   // email local part: [A-Za-z0-9._%+-]
)

// ctab is written once at package initialisation and only read afterwards.
var ctab = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		switch {
		case b >= '0' && b <= '9':
			t[c] = cWord | cDigit | cHex | cRun | cKey | cLocal
		case b >= 'a' && b <= 'z':
			t[c] = cWord | cLower | cRun | cKey | cLocal
			if b <= 'f' {
				t[c] |= cHex
			}
		case b >= 'A' && b <= 'Z':
			t[c] = cWord | cUpper | cRun | cKey | cLocal
			if b <= 'F' {
				t[c] |= cHex
			}
		case b == '_':
			t[c] = cWord | cRun | cKey | cLocal
		case b == '-':
			t[c] = cRun | cKey | cLocal
		case b == '+':
			t[c] = cRun | cLocal
		case b == '/':
			t[c] = cRun
		case b == '.':
			t[c] = cKey | cLocal
		case b == '%':
			t[c] = cLocal
		case b == '$':
			t[c] = cKey
		}
	}
	return t
}()

func isWord(c byte) bool { return ctab[c]&cWord != 0 }

// minSecretRun is the length from which a random-looking run of the token
// alphabet is taken for a secret.
const minSecretRun = 32

// scanner finds the built-in kinds of private data in s. Every detector
// does bounded work per position or remembers how far it looked, so a scan
// is linear in len(s).
type scanner struct {
	s      string
	spans  []span
	runEnd int // the token run ending here was already examined
	skipAt int // an '@' that belongs to URL credentials already redacted

	valFrom, valEnd  int // memo of valueEnd
	lineFrom, lineAt int // memo of lineEnd
}

// addIP redacts the address s[a:b] unless it is loopback or unspecified
// (127.0.0.1, ::1, 0.0.0.0): those name no one and no machine, and hiding
// them only makes logs ("listening on [IP]:8080") harder to read.
func (sc *scanner) addIP(a, b int) {
	if ip, err := netip.ParseAddr(sc.s[a:b]); err == nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		return
	}
	sc.add(a, b, IP)
}

func (sc *scanner) add(a, b int, label string) {
	if b > a {
		sc.spans = append(sc.spans, span{a, b, label})
	}
}

func (sc *scanner) scan() {
	s := sc.s
	n := len(s)
	sc.skipAt = -1
	sc.valFrom, sc.valEnd, sc.lineFrom, sc.lineAt = -1, -1, -1, -1
	for i := 0; i < n; i++ {
		c := s[i]
		if ctab[c]&cWord != 0 {
			if i == 0 || !isWord(s[i-1]) {
				sc.wordStart(i)
			}
			continue
		}
		switch c {
		case '@':
			if i != sc.skipAt {
				sc.email(i, 1)
			}
		case '%':
			if i+2 < n && s[i+1] == '4' && s[i+2] == '0' {
				sc.email(i, 3)
			} else if i+2 < n && s[i+1] == '3' && (s[i+2] == 'D' || s[i+2] == 'd') {
				sc.keyValue(i, 3)
			}
		case '=':
			sc.keyValue(i, 1)
		case ':':
			switch {
			case strings.HasPrefix(s[i:], "://"):
				sc.userinfo(i + 3)
			case i+1 < n && s[i+1] == ':':
				if i == 0 || !isWord(s[i-1]) && s[i-1] != ':' && s[i-1] != '.' {
					if j := textscan.IPv6End(s, i); j > 0 {
						sc.addIP(i, j)
					}
				}
			default:
				sc.keyValue(i, 1)
			}
		case '-':
			if strings.HasPrefix(s[i:], "-----BEGIN ") {
				sc.pem(i)
			}
		}
	}
}

// wordStart runs the detectors for things that begin a word.
func (sc *scanner) wordStart(i int) {
	s := sc.s
	n := len(s)
	j := i
	var all uint8 = 0xff
	for j < n && ctab[s[j]]&cWord != 0 {
		all &= ctab[s[j]]
		j++
	}
	w := s[i:j]
	next := byte(0)
	if j < n {
		next = s[j]
	}
	// Not inside a dotted version (1.2.3.4.5) or a Class::method.
	afterDot := i > 0 && s[i-1] == '.'
	afterDouble := i > 1 && s[i-1] == ':' && s[i-2] == ':'
	// textscan's default rules: an address run into a non-ASCII letter or
	// written in mixed case is still redacted, because a leak costs more
	// than a needless [IP].
	if next == '.' && all&cDigit != 0 && len(w) <= 3 && !afterDot {
		if e := textscan.IPv4End(s, i); e > 0 {
			sc.addIP(i, e)
			return
		}
	}
	if next == ':' && all&cHex != 0 && len(w) <= 4 && !afterDot && !afterDouble {
		if e := textscan.IPv6End(s, i); e > 0 {
			sc.addIP(i, e)
			return
		}
	}
	if e := prefixedToken(s, i, w); e > 0 {
		sc.add(i, e, Redacted)
		return
	}
	if len(w) == 6 && next == ' ' && strings.EqualFold(w, "bearer") || len(w) == 5 && next == ' ' && strings.EqualFold(w, "basic") {
		a := j
		for a < n && s[a] == ' ' {
			a++
		}
		b := a
		for b < n && (ctab[s[b]]&cRun != 0 || s[b] == '.' || s[b] == '~' || s[b] == '=') {
			b++
		}
		if b-a >= 8 && looksEncoded(s[a:b]) {
			sc.add(a, b, Redacted)
		}
		return
	}
	if i >= sc.runEnd {
		e, secret := tokenRun(s, i)
		sc.runEnd = e
		if secret {
			sc.add(i, e, Redacted)
		}
	}
}

// looksEncoded tells an opaque credential from an English word after
// "Bearer " or "Basic ".
func looksEncoded(t string) bool {
	for k := 0; k < len(t); k++ {
		c := t[k]
		if ctab[c]&cDigit != 0 || c == '+' || c == '/' || c == '=' || c == '.' || c == '_' || c == '-' || (k > 0 && ctab[c]&cUpper != 0) {
			return true
		}
	}
	return false
}

// tokenRun returns the end of the run of the token alphabet starting at i
// (with base64 padding) and whether it looks like a random secret: at least
// minSecretRun long and either hex mixing digits and letters, or mixing
// letters and digits with frequent changes of character class (random data
// changes class at about 2 of 3 positions; identifiers, paths and slugs at
// far fewer).
func tokenRun(s string, i int) (int, bool) {
	j := i
	var upper, lower, digit, changes int
	allHex := true
	prev := uint8(0)
	for j < len(s) {
		t := ctab[s[j]]
		if t&cRun == 0 {
			break
		}
		cls := t & (cUpper | cLower | cDigit)
		switch cls {
		case cUpper:
			upper++
		case cLower:
			lower++
		case cDigit:
			digit++
		}
		if t&cHex == 0 {
			allHex = false
		}
		if j > i && cls != prev {
			changes++
		}
		prev = cls
		j++
	}
	length := j - i
	for k := 0; k < 3 && j < len(s) && s[j] == '='; k++ {
		j++
	}
	if length >= minSecretRun && strings.IndexByte(s[i:i+length], '/') >= 0 {
		return j, slashedSecret(s[i : i+length])
	}
	if length < minSecretRun || length == 36 && isUUID(s[i:i+36]) {
		// UUIDs are request ids far more often than secrets, and useful
		// to look events up; after a sensitive key they are still redacted.
		return j, false
	}
	if allHex && digit > 0 && upper+lower > 0 {
		return j, true
	}
	return j, digit >= 2 && upper+lower >= 2 && changes*10 >= length*3
}

// slashedSecret judges a token run that contains '/': base64 uses '/', but
// so do paths, and a path of CamelCase class names
// (16/extensions/Wikibase/lib/includes/Store/Sql/WikiPageEntityDataLoader)
// changes character class as often as random data does. Base64 puts a '/'
// in about one position in 64, so a secret has long segments; each segment
// is judged on its own, and the run is a secret only if one of them is.
func slashedSecret(run string) bool {
	for seg := range strings.SplitSeq(run, "/") {
		if len(seg) < 20 || hasSlugWord(seg) {
			continue
		}
		var upper, lower, digit, changes int
		prev := uint8(0)
		for k := 0; k < len(seg); k++ {
			cls := ctab[seg[k]] & (cUpper | cLower | cDigit)
			switch cls {
			case cUpper:
				upper++
			case cLower:
				lower++
			case cDigit:
				digit++
			}
			if k > 0 && cls != prev {
				changes++
			}
			prev = cls
		}
		if digit >= 2 && upper+lower >= 2 && changes*10 >= len(seg)*3 {
			return true
		}
	}
	return false
}

// hasSlugWord reports whether a '-' or '_' separated part of seg is a plain
// word of four or more letters ("error-c964e35973b8f53a"): a file or page
// name with an id in it, which random base64 practically never produces.
func hasSlugWord(seg string) bool {
	for part := range strings.FieldsFuncSeq(seg, func(r rune) bool { return r == '-' || r == '_' }) {
		if len(part) < 4 {
			continue
		}
		word := true
		for k := 0; k < len(part); k++ {
			t := ctab[part[k]]
			if t&cLower == 0 && !(k == 0 && t&cUpper != 0) {
				word = false
				break
			}
		}
		if word {
			return true
		}
	}
	return false
}

func isUUID(s string) bool {
	for i := 0; i < len(s); i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if s[i] != '-' {
				return false
			}
		} else if ctab[s[i]]&cHex == 0 {
			return false
		}
	}
	return true
}

// prefixedToken recognises credentials by their documented prefixes and
// returns their end, or -1.
func prefixedToken(s string, i int, w string) int {
	alnumRun := func(from int, extra string) int {
		k := from
		for k < len(s) && (ctab[s[k]]&(cUpper|cLower|cDigit) != 0 || strings.IndexByte(extra, s[k]) >= 0) {
			k++
		}
		return k
	}
	switch w[0] {
	case 'g':
		for _, p := range []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"} {
			if strings.HasPrefix(s[i:], p) {
				if e := alnumRun(i+len(p), "_"); e-i-len(p) >= 20 {
					return e
				}
			}
		}
		if strings.HasPrefix(s[i:], "glpat-") {
			if e := alnumRun(i+6, "_-"); e-i-6 >= 20 {
				return e
			}
		}
	case 'a', 'c': // Phabricator Conduit tokens: api-/cli- and 28 [a-z0-9]
		if len(w) == 3 && (w == "api" || w == "cli") && i+4 < len(s) && s[i+3] == '-' {
			k := i + 4
			for k < len(s) && ctab[s[k]]&(cLower|cDigit) != 0 {
				k++
			}
			if k-i-4 == 28 && (k == len(s) || !isWord(s[k]) && s[k] != '-') {
				return k
			}
		}
	case 'x': // Slack
		if len(w) == 4 && strings.HasPrefix(w, "xox") && i+4 < len(s) && s[i+4] == '-' {
			if e := alnumRun(i+5, "-"); e-i-5 >= 10 {
				return e
			}
		}
	case 'A':
		if (strings.HasPrefix(w, "AKIA") || strings.HasPrefix(w, "ASIA")) && len(w) == 20 {
			return i + 20
		}
		if strings.HasPrefix(s[i:], "AIza") {
			if e := alnumRun(i+4, "_-"); e-i-4 >= 30 {
				return e
			}
		}
	case 's', 'r':
		for _, p := range []string{"sk_live_", "sk_test_", "rk_live_"} {
			if strings.HasPrefix(s[i:], p) {
				if e := alnumRun(i+len(p), ""); e-i-len(p) >= 16 {
					return e
				}
			}
		}
	case 'n':
		if strings.HasPrefix(w, "npm_") && len(w) >= 40 {
			return i + len(w)
		}
	case 'e': // JWT: base64url(JSON header) "." payload ["." signature]
		if strings.HasPrefix(w, "eyJ") {
			seg := func(from int) int {
				k := from
				for k < len(s) && (ctab[s[k]]&(cUpper|cLower|cDigit) != 0 || s[k] == '_' || s[k] == '-') {
					k++
				}
				return k
			}
			e := seg(i)
			if e-i >= 10 && e < len(s) && s[e] == '.' {
				e2 := seg(e + 1)
				if e2 > e+1 {
					if e2 < len(s) && s[e2] == '.' {
						e2 = seg(e2 + 1)
					}
					return e2
				}
			}
		}
	}
	return -1
}

// email redacts an address around the '@' (or "%40") at i.
func (sc *scanner) email(at, atLen int) {
	s := sc.s
	a := at
	for a > 0 && at-a < 64 && ctab[s[a-1]]&cLocal != 0 {
		a--
	}
	for a < at && (s[a] == '.' || s[a] == '-') {
		a++
	}
	if a == at {
		return
	}
	a = textscan.SpacedLocalStart(s, a)
	// domain: labels of [A-Za-z0-9-], at least two, the last of letters
	k := at + atLen
	labels := 0
	lastLetters := false
	end := -1
	for {
		ls := k
		letters := true
		for k < len(s) && (ctab[s[k]]&(cUpper|cLower|cDigit) != 0 || s[k] == '-') {
			if ctab[s[k]]&cDigit != 0 {
				letters = false
			}
			k++
		}
		if k == ls {
			break
		}
		labels++
		lastLetters = letters && k-ls >= 2
		if labels >= 2 && lastLetters {
			end = k
		}
		if k+1 < len(s) && s[k] == '.' {
			k++
			continue
		}
		break
	}
	if end > 0 {
		sc.add(a, end, Email)
	}
}

// userinfo redacts the credentials of a URL whose authority starts at i
// (https://user:pass@host -> https://[REDACTED]@host).
func (sc *scanner) userinfo(i int) {
	s := sc.s
	at := -1
	for k := i; k < len(s); k++ {
		c := s[k]
		if c == '/' || c == '?' || c == '#' || c <= ' ' || c == '"' || c == '\'' || c == '<' || c == '>' || c == '`' {
			break
		}
		if c == '@' {
			at = k
		}
	}
	if at > i {
		sc.add(i, at, Redacted)
		sc.skipAt = at
	}
}

// pem redacts a PEM block that starts at i.
func (sc *scanner) pem(i int) {
	s := sc.s
	head := s[i:min(len(s), i+80)]
	if nl := strings.IndexByte(head, '\n'); nl >= 0 {
		head = head[:nl]
	}
	if !strings.Contains(head, "PRIVATE KEY") {
		return
	}
	end := len(s)
	if k := strings.Index(s[i:], "-----END "); k >= 0 {
		e := i + k + len("-----END ")
		if d := strings.Index(s[e:], "-----"); d >= 0 {
			end = e + d + len("-----")
		}
	}
	sc.add(i, end, Redacted)
}

// Key classes.
const (
	keyNone   = iota
	keyWeak   // a secret only as "key=value" (URL parameters, cookies)
	keyStrong // also as "key: value"
	keyHeader // the whole rest of the line (Cookie, Authorization)
)

// classifyKey decides whether a key names a secret. The key is compared
// lower-case with everything but letters and digits removed, so
// "X-Api-Key", "api_key" and "apiKey" are one.
//
// With suffixOnly (a "key: value" outside quotes, which prose also looks
// like: "SessionManager: bad id") the key must end with the sensitive word.
func classifyKey(key string, suffixOnly bool) int {
	var buf [64]byte
	n := 0
	for i := 0; i < len(key) && n < len(buf); i++ {
		c := key[i]
		switch {
		case c >= 'A' && c <= 'Z':
			buf[n] = c + 'a' - 'A'
			n++
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			buf[n] = c
			n++
		}
	}
	k := string(buf[:n]) // does not escape; the compiler avoids the allocation for the comparisons below
	if n == 0 {
		return keyNone
	}
	if keyHas(k, "cookie", suffixOnly) || keyHas(k, "authorization", suffixOnly) {
		return keyHeader
	}
	for _, sub := range strongKeys {
		if keyHas(k, sub, suffixOnly) {
			return keyStrong
		}
	}
	switch k {
	case "pwd", "pass", "pw", "key", "sig", "signature", "sid", "jwt", "auth", "user", "geoip", "code", "otp":
		return keyWeak
	}
	for _, suf := range []string{"username", "userid", "user", "auth", "sig"} {
		if len(k) > len(suf) && strings.HasSuffix(k, suf) {
			return keyWeak
		}
	}
	return keyNone
}

func keyHas(k, sub string, suffix bool) bool {
	if suffix {
		return strings.HasSuffix(k, sub)
	}
	return strings.Contains(k, sub)
}

var strongKeys = []string{"password", "passwd", "passphrase", "secret", "token", "session", "sessid", "sessionid",
	"apikey", "accesskey", "privatekey", "credential", "csrf", "xsrf", "bearer"}

// keyValue redacts the value of a sensitive key around the separator at sep
// ('=', "=>", ':' or "%3D").
func (sc *scanner) keyValue(sep, sepLen int) {
	s := sc.s
	n := len(s)
	colon := s[sep] == ':'
	switch s[sep] {
	case '=':
		if sep+1 < n && s[sep+1] == '=' || sep > 0 && strings.IndexByte("=!<>", s[sep-1]) >= 0 {
			return // a comparison
		}
		if sep+1 < n && s[sep+1] == '>' {
			sepLen = 2 // PHP: 'password' => 'x'
		}
	case ':':
		if sep > 0 && s[sep-1] == ':' {
			return
		}
	}
	// the key, looking back over blanks and a closing quote or bracket
	k := sep
	for k > 0 && sep-k < 3 && (s[k-1] == ' ' || s[k-1] == '\t') {
		k--
	}
	if k > 0 && (s[k-1] == '"' || s[k-1] == '\'' || s[k-1] == ']') {
		k--
		if k > 0 && s[k-1] == '\\' {
			k--
		}
	}
	keyEnd := k
	for k > 0 && keyEnd-k < 64 && ctab[s[k-1]]&cKey != 0 {
		k--
	}
	if k == keyEnd {
		return
	}
	if k >= 2 && (s[k-2:k] == "::" || s[k-2:k] == "->") {
		return // Class::method: or $obj->prop, not a key
	}
	// "user: Foo" in prose is no key-value pair; {"user":"Foo"} is.
	quotedKey := keyEnd < sep && (s[keyEnd] == '"' || s[keyEnd] == '\'' || s[keyEnd] == '\\')
	prose := colon && !quotedKey
	kind := classifyKey(s[k:keyEnd], prose)
	if kind == keyNone || kind == keyWeak && prose {
		return
	}

	// the value
	v := sep + sepLen
	for v < n && (s[v] == ' ' || s[v] == '\t') {
		v++
	}
	if v >= n {
		return
	}
	switch {
	case strings.HasPrefix(s[v:], Redacted), strings.HasPrefix(s[v:], IP), strings.HasPrefix(s[v:], Email):
		return // already redacted
	case s[v] == '{' || s[v] == '[' || s[v] == '(':
		return // a structure: its own keys decide
	}
	esc := false
	if s[v] == '\\' && v+1 < n && (s[v+1] == '"' || s[v+1] == '\'') {
		esc = true
		v++
	}
	if q := s[v]; q == '"' || q == '\'' {
		if e := closingQuote(s, v+1, q, esc); e > 0 {
			a := v + 1
			if kind == keyHeader {
				a = skipScheme(s, a, e)
			}
			sc.add(a, e, Redacted)
			return
		}
		v++ // unterminated: redact as unquoted
	}
	var e int
	if kind == keyHeader {
		e = sc.lineEnd(v)
		for e > v && (s[e-1] == ' ' || s[e-1] == '\t') {
			e--
		}
		v = skipScheme(s, v, e)
	} else {
		e = sc.valueEnd(v)
	}
	sc.add(v, e, Redacted)
}

// valueEnd returns the end of an unquoted value starting at v. The last
// answer is remembered: "token=token=token=..." must not rescan the rest of
// the text for every '='.
func (sc *scanner) valueEnd(v int) int {
	if v >= sc.valFrom && v <= sc.valEnd {
		return sc.valEnd
	}
	e := v
	for e < len(sc.s) && !isValueEnd(sc.s[e]) {
		e++
	}
	sc.valFrom, sc.valEnd = v, e
	return e
}

// lineEnd returns the end of the line containing v, remembered likewise.
func (sc *scanner) lineEnd(v int) int {
	if v >= sc.lineFrom && v <= sc.lineAt {
		return sc.lineAt
	}
	e := v
	for e < len(sc.s) && sc.s[e] != '\n' && sc.s[e] != '\r' {
		e++
	}
	sc.lineFrom, sc.lineAt = v, e
	return e
}

func isValueEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '&', ';', ',', '"', '\'', '<', '>', ')', ']', '}', '\\', '|', '`':
		return true
	}
	return c < ' '
}

// closingQuote returns the index of the quote closing a value that starts at
// i, or -1. With esc the quotes are backslash-escaped (JSON inside a string).
func closingQuote(s string, i int, q byte, esc bool) int {
	limit := min(len(s), i+4096)
	for k := i; k < limit; k++ {
		switch s[k] {
		case '\n':
			return -1
		case '\\':
			if esc && k+1 < limit && s[k+1] == q {
				return k
			}
			k++
		case q:
			if !esc {
				return k
			}
		}
	}
	return -1
}

// skipScheme keeps the authentication scheme of an Authorization value
// ("Bearer ", "Basic ") readable.
func skipScheme(s string, a, e int) int {
	k := a
	for k < e && ctab[s[k]]&(cUpper|cLower) != 0 {
		k++
	}
	if k > a && k-a <= 16 && k < e && s[k] == ' ' {
		for k < e && s[k] == ' ' {
			k++
		}
		return k
	}
	return a
}
