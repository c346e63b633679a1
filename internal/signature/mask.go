package signature

import (
	"strings"
	"unicode/utf8"

	"github.com/wikimedia/sheriff/internal/textscan"
)

// The placeholders Mask writes. They are part of every signature id: changing
// the set, the spelling or what they match changes the ids of the templates
// concerned (and only those). Bump idVersion only to re-key every signature.
//
// Braces are used because MediaWiki's own PSR-3 templates use them, so a
// template from normalized_message and a masked interpolated message read the
// same.
const (
	PhNum     = "{num}"     // 42, 3.14, 1.47.0, and bare hex values of >= 8 digits (deadbeef01)
	PhHex     = "{hex}"     // 0x1f
	PhUUID    = "{uuid}"    // 8-4-4-4-12 hex
	PhIP      = "{ip}"      // IPv4, IPv6 (compressed, zoned, IPv4-mapped)
	PhEmail   = "{email}"   // local@domain.tld
	PhQuoted  = "{quoted}"  // '...' and "..." including the quotes
	PhPath    = "{path}"    // the MediaWiki install root incl. train version: /srv/mediawiki/php-1.47.0-wmf.16
	PhVersion = "{version}" // a train version outside a path: 1.47.0-wmf.16
	PhWiki    = "{wiki}"    // the wiki part of a wiki's host name in a URL: https://{wiki}.beta.wmcloud.org
	PhID      = "{id}"      // a random-looking token: >= 16 word chars mixing letters and digits
	PhVal     = "{val}"     // a URL query value (?title={val}&action={val}), the path of an absolute URL after its first segments (http://thumbor:8800/wikipedia/commons/{val}), or an unquoted value after an introducer (Invalid username: {val}, got page {val} in; see intro.go)
)

// Character classes of the scanner's lookup table.
const (
	cWord   uint8 = 1 << iota // [A-Za-z0-9_]; bytes >= 0x80 are handled separately
	cDigit                    // [0-9]
	cHex                      // [0-9A-Fa-f]
	cUpper                    // [A-Z]
	cLower                    // [a-z]
	cLocal                    // email local part: [A-Za-z0-9._%+-]
	cKey                      // URL query key: [A-Za-z0-9_.%[\]-]
	cValEnd                   // ends a URL query value: & # whitespace quotes < >
)

// ctab is written once at package initialisation and only read afterwards.
var ctab = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		switch {
		case b >= '0' && b <= '9':
			t[c] |= cWord | cDigit | cHex | cLocal | cKey
		case b >= 'a' && b <= 'z':
			t[c] |= cWord | cLower | cLocal | cKey
			if b <= 'f' {
				t[c] |= cHex
			}
		case b >= 'A' && b <= 'Z':
			t[c] |= cWord | cUpper | cLocal | cKey
			if b <= 'F' {
				t[c] |= cHex
			}
		case b == '_':
			t[c] |= cWord | cLocal | cKey
		}
		switch b {
		case '.', '%', '+', '-':
			t[c] |= cLocal
		}
		switch b {
		case '.', '%', '[', ']', '-':
			t[c] |= cKey
		}
		switch b {
		case '&', '#', ' ', '\t', '\n', '\r', '"', '\'', '<', '>':
			t[c] |= cValEnd
		}
	}
	return t
}()

// maxQuoted bounds how far a quoted value may extend; longer stretches are
// left as they are. It also bounds the scanner's worst case on hostile input.
const maxQuoted = 512

// Mask appends to dst the parameterised form of msg: every variable part is
// replaced by a named placeholder (see the Ph* constants) and everything else
// is copied unchanged. Invalid UTF-8 is replaced by U+FFFD, so the output is
// always valid UTF-8. Mask runs in time linear in len(msg) and allocates only
// when dst must grow.
//
// Values MediaWiki interpolates without quotes are recognised by the word
// that introduces them (user, username, page, title, index, property, key,
// wiki, database; see intro.go): "for user Jdoe (WMF) (a@b.org)" -> "for
// user {val} ({email})", "Undefined index: pageids in" -> "Undefined index:
// {val} in".
//
// What is deliberately NOT masked:
//   - digits inside words that start with a letter (Html5Parser, x86_64), and
//     a single trailing digit after three or more letters (utf8, Html5): they
//     are code identifiers, not values. Longer trailing digit runs and those
//     after one or two letters are masked, because host names and ids look
//     like that (db1171 -> db{num}, Q42 -> Q{num}, T5 -> T{num}; also
//     sha256 -> sha{num}, which is harmless). Letter-led words that look
//     random (>= 16 chars mixing letters and digits) become {id}, all-hex
//     words of >= 8 digits {num};
//   - PSR-3 placeholders already present ({title}, {exception_url});
//   - backquoted SQL identifiers (`page`) and empty pairs of quotes;
//   - apostrophes inside words (can't, users' pages);
//   - random tokens made of letters only (no digit): they cannot be told from
//     words, so they split signatures (rare in MediaWiki messages; the
//     request id, which is such a token, is in the stripped prefix);
//   - unquoted free text without an introducer, and code names after one
//     (file paths, module, function and class names): a different file or
//     caller is a different bug.
//
// Words that start with a digit have every digit run masked (1234ms -> {num}ms,
// 2024-05-01T12 -> {num}-{num}-{num}T{num}).
func Mask(dst []byte, msg string) []byte {
	m := masker{s: msg, dst: dst, nextAt: -2, pathAt: -1}
	m.run()
	return m.dst
}

type masker struct {
	s   string
	dst []byte
	lit int // start of the literal stretch not yet copied to dst

	nextAt    int // index of the next '@' at or after the scan position; -1: none; -2: unknown
	pathAt    int // index of the path of the last absolute URL seen (see urlPath)
	emailFail int // no email can start before this index (its local part was already scanned)
	qFail     [2]int
}

// replace copies the pending literal text before [from, to) and then ph.
func (m *masker) replace(from, to int, ph string) {
	m.dst = append(m.dst, m.s[m.lit:from]...)
	m.dst = append(m.dst, ph...)
	m.lit = to
}

func (m *masker) run() {
	s := m.s
	n := len(s)
	i := 0
	for i < n {
		c := s[i]
		if c >= utf8.RuneSelf {
			i = m.word(i)
			continue
		}
		if ctab[c]&cWord != 0 {
			i = m.word(i)
			continue
		}
		switch c {
		case '"', '\'':
			if j := m.quoted(i); j > 0 {
				m.replace(i, j, PhQuoted)
				i = j
				continue
			}
		case '{':
			if j := placeholderEnd(s, i); j > 0 {
				i = j // copied as literal
				continue
			}
		case '/':
			if i == m.pathAt {
				if v, j := urlPath(s, i); v > 0 {
					m.replace(v, j, PhVal) // the kept segments before v are copied as they are
					i = j
					continue
				}
			}
			if j := versionPathEnd(s, i); j > 0 {
				m.replace(i, j, PhPath+"/")
				i = j
				continue
			}
		case '?', '&':
			if v, j := queryValue(s, i); j > 0 {
				m.replace(v, j, PhVal)
				i = j
				continue
			}
		case ':':
			if i+1 < n && s[i+1] == ':' && (i == 0 || !isWordByte(s[i-1]) && s[i-1] != ':' && s[i-1] != '.') {
				if j := addrRules().IPv6End(s, i); j > 0 {
					m.replace(i, j, PhIP)
					i = j
					continue
				}
			}
		}
		i++
	}
	m.dst = append(m.dst, s[m.lit:]...)
}

func isWordByte(c byte) bool { return c >= utf8.RuneSelf || ctab[c]&cWord != 0 }

// word handles the word starting at i (a run of [A-Za-z0-9_] and valid
// non-ASCII runes) and whatever special form starts with it; it returns the
// index after what it consumed.
func (m *masker) word(i int) int {
	s := m.s
	n := len(s)
	start := i
	var any uint8
	all := uint8(0xff)
	for i < n {
		c := s[i]
		if c < utf8.RuneSelf {
			t := ctab[c]
			if t&cWord == 0 {
				break
			}
			any |= t
			all &= t
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		all = 0
		i += size
	}
	if i == start { // an invalid byte
		m.replace(i, i+1, "\uFFFD")
		return i + 1
	}
	w := s[start:i]
	next := byte(0)
	if i < n {
		next = s[i]
	}

	// An IPv6 address cannot continue a Class::method or a dotted name.
	afterColon := start > 0 && (s[start-1] == ':' || s[start-1] == '.')
	if next == '@' || next == '.' || next == '+' || next == '-' || next == '%' {
		if j := m.email(start); j > 0 {
			m.replace(max(textscan.SpacedLocalStart(s, start), m.lit), j, PhEmail)
			return j
		}
	}
	if any&cDigit == 0 {
		switch {
		case next == ':' && all&cHex != 0 && len(w) <= 4 && !afterColon:
			if j := addrRules().IPv6End(s, start); j > 0 {
				m.replace(start, j, PhIP)
				return j
			}
		case next == ':' && (len(w) == 4 || len(w) == 5) && strings.HasPrefix(s[i:], "://") && isHTTP(w):
			// Scheme, host and port name the backend and stay (host
			// numbers and addresses are masked as anywhere else); the path
			// after the authority is handled by urlPath.
			b := i + 3
			for b < n && !isAuthorityEnd(s[b]) {
				b++
			}
			m.authority(i+3, b)
			m.pathAt = b
			return b
		}
		if uint(len(w)-3) <= 8-3 && maybeIntroducer(w[0]) && (next == ' ' || next == ':') && (start == 0 || introBoundary(s[start-1])) {
			if fl := introducer(w); fl != 0 {
				if vs, ve := introValue(s, i, fl); ve > 0 {
					m.replace(vs, ve, PhVal)
					return ve
				}
			}
		}
		return i
	}

	if all&cHex != 0 {
		if len(w) == 8 && next == '-' {
			if j := uuidEnd(s, start); j > 0 {
				m.replace(start, j, PhUUID)
				return j
			}
		}
		if len(w) <= 4 && next == ':' && !afterColon {
			if j := addrRules().IPv6End(s, start); j > 0 {
				m.replace(start, j, PhIP)
				return j
			}
		}
	}
	if all&cDigit != 0 { // only digits
		if start >= 6 && s[start-6:start] == "Error " && (next == ':' || next == ' ') {
			// "Error 1205: Lock wait timeout", "Error 1213 from Foo::bar":
			// MediaWiki keeps the MySQL error number in its templates on
			// purpose, it identifies the failure
			return i
		}
		if next == '.' {
			return m.dotted(start, i)
		}
		m.replace(start, i, PhNum)
		return i
	}
	switch {
	case len(w) > 2 && w[0] == '0' && (w[1] == 'x' || w[1] == 'X') && allHex(w[2:]):
		m.replace(start, i, PhHex)
		return i
	case all&cHex != 0 && len(w) >= 8:
		// a bare hex value is a decimal number when it happens to lack
		// letters (2% of 8-digit ones), so both must give the same placeholder
		m.replace(start, i, PhNum)
		return i
	case len(w) >= 16 && any&(cUpper|cLower) != 0:
		m.replace(start, i, PhID)
		return i
	}
	if ctab[w[0]]&cDigit == 0 {
		// letters then digits: a host (db1171, mw1385), an entity or task id
		// (Q42, T12345). Short suffixes of longer words stay (utf8, Html5).
		e := len(w)
		for e > 0 && ctab[w[e-1]]&cDigit != 0 {
			e--
		}
		if e > 0 && e < len(w) && ctab[w[e-1]]&(cUpper|cLower) != 0 && (len(w)-e >= 2 || e <= 2) {
			m.replace(start+e, i, PhNum)
		}
		return i
	}
	{
		// mask every digit run of a word that starts with one
		for k := start; k < i; {
			if ctab[s[k]]&cDigit == 0 {
				k++
				continue
			}
			e := k
			for e < i && ctab[s[e]]&cDigit != 0 {
				e++
			}
			m.replace(k, e, PhNum)
			k = e
		}
	}
	return i
}

// dotted handles a digit run at [start, end) followed by '.': an IPv4
// address, a train version (1.47.0-wmf.16) or a dotted number (3.14, 1.47.0).
func (m *masker) dotted(start, end int) int {
	s := m.s
	n := len(s)
	parts := 1
	j := end
	for j+1 < n && s[j] == '.' && ctab[s[j+1]]&cDigit != 0 {
		k := j + 1
		for k < n && ctab[s[k]]&cDigit != 0 {
			k++
		}
		parts++
		j = k
	}
	// Only four parts can be an address: versions and decimals are not
	// scanned twice.
	if parts == 4 && addrRules().IPv4End(s, start) == j {
		m.replace(start, j, PhIP)
		return j
	}
	if parts >= 2 && strings.HasPrefix(s[j:], "-wmf.") {
		k := j + 5
		for k < n && ctab[s[k]]&cDigit != 0 {
			k++
		}
		if k > j+5 {
			m.replace(start, k, PhVersion)
			return k
		}
	}
	m.replace(start, j, PhNum)
	return j
}

func allHex(w string) bool {
	for i := 0; i < len(w); i++ {
		if ctab[w[i]]&cHex == 0 {
			return false
		}
	}
	return true
}

func isHTTP(w string) bool {
	return strings.EqualFold(w, "http") || strings.EqualFold(w, "https")
}

func isAuthorityEnd(c byte) bool {
	switch c {
	case '/', '?', '#', ' ', '\t', '\n', '\r', '"', '\'', '<', '>', '\\', ')', ']', ',':
		return true
	}
	return c < ' '
}

// uuidEnd returns the end of an 8-4-4-4-12 hex UUID starting at i, or -1.
func uuidEnd(s string, i int) int {
	groups := [...]int{8, 4, 4, 4, 12}
	j := i
	for g, size := range groups {
		if g > 0 {
			if j >= len(s) || s[j] != '-' {
				return -1
			}
			j++
		}
		for k := 0; k < size; k++ {
			if j >= len(s) || ctab[s[j]]&cHex == 0 {
				return -1
			}
			j++
		}
	}
	if j < len(s) && isWordByte(s[j]) {
		return -1
	}
	return j
}

// email returns the end of an email address whose local part starts at i, or
// -1. A failed attempt records how far the local part reached, so that later
// words inside the same run are not rescanned (keeps Mask linear).
func (m *masker) email(i int) int {
	s := m.s
	n := len(s)
	if i < m.emailFail {
		return -1
	}
	if m.nextAt == -2 || (m.nextAt >= 0 && m.nextAt < i) {
		m.nextAt = -1
		if k := strings.IndexByte(s[i:], '@'); k >= 0 {
			m.nextAt = i + k
		}
	}
	if m.nextAt < 0 {
		m.emailFail = n
		return -1
	}
	j := i
	for j < n && ctab[s[j]]&cLocal != 0 {
		j++
	}
	if j != m.nextAt || j == i {
		m.emailFail = j
		return -1
	}
	// domain: labels of [A-Za-z0-9-] separated by dots, at least two labels,
	// the last of letters only (two or more).
	k := j + 1
	labels, lastStart, lastLetters := 0, k, true
	for {
		ls := k
		letters := true
		for k < n && (ctab[s[k]]&cWord != 0 && s[k] != '_' || s[k] == '-') {
			if ctab[s[k]]&(cUpper|cLower) == 0 {
				letters = false
			}
			k++
		}
		if k == ls {
			k = ls - 1 // drop the dot we consumed
			break
		}
		labels++
		lastStart, lastLetters = ls, letters
		if k+1 < n && s[k] == '.' && isWordByte(s[k+1]) {
			k++
			continue
		}
		break
	}
	if labels < 2 || !lastLetters || k-lastStart < 2 {
		m.emailFail = j + 1
		return -1
	}
	return k
}

// quoted returns the end (after the closing quote) of a quoted value starting
// at i, or -1. The opening quote must not follow a word character and the
// closing one must not precede one, so apostrophes in words are left alone.
func (m *masker) quoted(i int) int {
	s := m.s
	q := s[i]
	qi := 0
	if q == '\'' {
		qi = 1
	}
	if i < m.qFail[qi] {
		return -1
	}
	if i > 0 && isWordByte(s[i-1]) {
		return -1
	}
	limit := min(len(s), i+1+maxQuoted)
	for j := i + 1; j < limit; j++ {
		switch s[j] {
		case '\\':
			j++
		case '\n':
			m.qFail[qi] = j
			return -1
		case q:
			if j+1 < len(s) && isWordByte(s[j+1]) {
				continue
			}
			if j == i+1 { // empty quotes carry no variable content
				return -1
			}
			return j + 1
		}
	}
	if limit == len(s) {
		m.qFail[qi] = len(s)
	}
	return -1
}

// wikiDomains are the domains under which wikis live: the part of a host
// before one of them names the wiki, which is a facet, not the problem
// (https://{wiki}.beta.wmcloud.org/w/api.php).
var wikiDomains = [...]string{".beta.wmcloud.org", ".wikipedia.org", ".wikimedia.org", ".wiktionary.org", ".wikibooks.org",
	".wikinews.org", ".wikiquote.org", ".wikisource.org", ".wikiversity.org", ".wikivoyage.org", ".wikidata.org",
	".mediawiki.org", ".wikifunctions.org"}

// authority writes the masked authority [a, b) of an absolute URL:
// credentials become {val}, addresses {ip}, the wiki part of a wiki's host
// {wiki}, the numbers of numbered hosts {num} (mw1385 -> mw{num}: one pool
// is one backend); the rest of the host and the port stay, because they
// name the backend.
func (m *masker) authority(a, b int) {
	s := m.s
	m.dst = append(m.dst, s[m.lit:a]...)
	m.lit = b
	if k := strings.LastIndexByte(s[a:b], '@'); k >= 0 {
		m.dst = append(m.dst, PhVal+"@"...)
		a += k + 1
	}
	host, port := s[a:b], ""
	if strings.HasPrefix(host, "[") {
		if k := strings.IndexByte(host, ']'); k >= 0 {
			host, port = host[:k+1], host[k+1:]
		}
	} else if k := strings.LastIndexByte(host, ':'); k >= 0 {
		host, port = host[:k], host[k:]
	}
	switch {
	case strings.HasPrefix(host, "[") || addrRules().IPv4End(host, 0) == len(host) && host != "":
		m.dst = append(m.dst, PhIP...)
	default:
		wiki := false
		for _, d := range wikiDomains {
			if len(host) > len(d) && strings.HasSuffix(host, d) {
				m.dst = append(m.dst, PhWiki...)
				m.dst = append(m.dst, d...)
				wiki = true
				break
			}
		}
		if !wiki {
			for i := 0; i < len(host); {
				c := host[i]
				if c < '0' || c > '9' || i == 0 || host[i-1] == '.' || host[i-1] == '-' {
					m.dst = append(m.dst, c)
					i++
					continue
				}
				j := i
				for j < len(host) && host[j] >= '0' && host[j] <= '9' {
					j++
				}
				m.dst = append(m.dst, PhNum...)
				i = j
			}
		}
	}
	m.dst = append(m.dst, port...)
}

// maxURLSegments is how many leading path segments of an absolute URL are
// kept: they name the service or the endpoint (/w/api.php,
// /wikipedia/commons, /en.wikipedia.org/v1).
const maxURLSegments = 2

// urlPath returns the bounds of what is masked in the path of an absolute
// URL starting at s[i] == '/': everything after the first maxURLSegments
// segments that look like names (lowercase letters, digits, '.', '_', '-',
// not only digits), up to the query, fragment or end of the URL. Ids and
// titles (Main_Page, 12345, Q42) end the kept part. Returns -1, -1 when
// nothing is masked.
func urlPath(s string, i int) (int, int) {
	p := i
	for seg := 0; seg < maxURLSegments && p < len(s) && s[p] == '/'; seg++ {
		q := p + 1
		letter := false
		for q < len(s) && s[q] != '/' && !isPathEnd(s[q]) {
			c := s[q]
			switch {
			case c >= 'a' && c <= 'z':
				letter = true
			case c >= '0' && c <= '9', c == '.', c == '_', c == '-':
			default:
				return pathRest(s, p)
			}
			q++
		}
		if !letter {
			return pathRest(s, p)
		}
		p = q
	}
	return pathRest(s, p)
}

// pathRest returns the bounds of the path after the kept part ending at p.
func pathRest(s string, p int) (int, int) {
	if p >= len(s) || s[p] != '/' {
		return -1, -1
	}
	e := p + 1
	for e < len(s) && !isPathEnd(s[e]) {
		e++
	}
	if e == p+1 {
		return -1, -1
	}
	return p + 1, e
}

func isPathEnd(c byte) bool { return c == '?' || c == '#' || isAuthorityEnd(c) && c != '/' }

// placeholderEnd returns the end of a PSR-3 placeholder ({name}) at i, or -1.
func placeholderEnd(s string, i int) int {
	j := i + 1
	for j < len(s) && j-i <= 64 && (ctab[s[j]]&cWord != 0 || s[j] == '.' || s[j] == '-') {
		j++
	}
	if j == i+1 || j >= len(s) || s[j] != '}' {
		return -1
	}
	return j + 1
}

// versionPathEnd returns the end of a MediaWiki install root at i
// (/srv/mediawiki/php-1.47.0-wmf.16, /srv/mediawiki-staging/php-master,
// /srv/mediawiki), not including the final slash, or -1.
func versionPathEnd(s string, i int) int {
	const root = "/srv/mediawiki"
	if !strings.HasPrefix(s[i:], root) {
		return -1
	}
	j := i + len(root)
	if strings.HasPrefix(s[j:], "-staging") {
		j += len("-staging")
	}
	if j >= len(s) || s[j] != '/' {
		return -1
	}
	if strings.HasPrefix(s[j+1:], "php-") || strings.HasPrefix(s[j+1:], "php/") {
		k := j + 1
		for k < len(s) && k-j < 64 && s[k] != '/' && s[k] > ' ' {
			k++
		}
		if k < len(s) && s[k] == '/' {
			j = k
		}
	}
	return j + 1
}

// queryValue recognises "?key=value" or "&key=value" at i and returns the
// bounds of the non-empty value, or -1.
func queryValue(s string, i int) (int, int) {
	j := i + 1
	for j < len(s) && j-i <= 64 && ctab[s[j]]&cKey != 0 {
		j++
	}
	if j == i+1 || j >= len(s) || s[j] != '=' {
		return -1, -1
	}
	v := j + 1
	k := v
	for k < len(s) && ctab[s[k]]&cValEnd == 0 && s[k] >= ' ' {
		k++
	}
	if k == v {
		return -1, -1
	}
	return v, k
}

// addrRules says how Mask recognises IP addresses. Its words include
// non-ASCII runes, so an address must not run into one; and IPv6 candidates
// mixing letter case are PHP names (Face::Add1), which must stay in the
// template rather than merge different call sites into one {ip}.
func addrRules() textscan.Rules {
	return textscan.Rules{NonASCIIWord: true, SingleCase: true}
}
