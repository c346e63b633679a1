package miner

import "strings"

// The masking tokenizer. It runs on every line, so it is hand written: one
// pass to find a token's end and classify it, one pass to hash its canonical
// form, no allocation, no regexp.
//
// A token is a run of non-blank bytes, widened so that a value that obviously
// belongs together stays one token even when it holds blanks:
//   - a quoted value ('...', "...", `...`) starting a token or following "=";
//   - a bracketed group [...] or {...} whose closing bracket comes later on
//     the line (lists, JSON, kernel time stamps, puppet titles with blanks).
//
// Each token is then either a constant (kept verbatim) or masked: the
// variable part is replaced by <*> and the punctuation around it is kept, so
// that "pid=123," becomes "pid=<*>," and "Service[nginx]:" becomes
// "Service[<*>]:". What is masked:
//   - anything holding a digit (numbers, hex ids, IPs, UUIDs, durations,
//     timings, versions, host names such as mw1234.eqiad.wmnet, ports);
//   - paths and URLs (a '/' inside), e-mail and user@host ('@' inside);
//   - lower-case dotted names (FQDNs, file names, python modules); dotted
//     names with a capitalised segment are class names (java.io.IOException,
//     org.apache...DataNode) and stay: they tell failures apart;
//   - quoted values and bracketed groups that span blanks;
//   - the value of key=value (the key stays);
//   - the title of a puppet-style resource reference Type[title]: the type is
//     structure, the title a parameter. A failing Service[nginx] and a
//     failing Service[apache2] are one cause (a service that does not start);
//     the resource type and the error text around it tell causes apart, and
//     the title is reported as a parameter of the group.

const (
	maxTokens  = 96   // tokens beyond this are folded into one trailing parameter
	maxSpan    = 4096 // how far a bracket or quote may reach: long URLs in request lines
	fnvOffset  = 14695981039346656037
	fnvPrime   = 1099511628211
	wildString = "<*>"
)

// tok is one token of a line: a span of the line, and for a masked token how
// many bytes before and after the mask are kept.
type tok struct {
	h        uint64
	s, e     int32
	pre, suf int32
	masked   bool
}

// canon returns the canonical text of t in line (allocates; only used when a
// template is created).
func (t tok) canon(line string) string {
	s := line[t.s:t.e]
	if !t.masked {
		return s
	}
	return s[:t.pre] + wildString + s[len(s)-int(t.suf):]
}

// wild reports whether the token is a bare parameter, with no punctuation of
// its own: such a position matches anything.
func (t tok) wild() bool { return t.masked && t.pre == 0 && t.suf == 0 }

func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// hashCanon hashes a canonical token text; it equals the hash the tokenizer
// computes for a token of that canonical form.
func hashCanon(s string) uint64 { return hashString(fnvOffset, s) }

// Byte classes, looked up once per byte in the hot loops.
const (
	cSpace   = 1 << iota
	cDigit   // 0-9
	cLower   // a-z
	cUpper   // A-Z
	cNotHex  // anything but 0-9 and a-f
	cSpecial // bytes classify must look at: / @ . = [ ] \ :
	cTok     // bytes the token scanner must look at: blanks [ ] { } =
)

// classes is a constant table, built once.
var classes = func() (t [256]uint8) {
	for c := range 256 {
		b := byte(c)
		var f uint8 = cNotHex
		switch {
		case b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\v' || b == '\f':
			f |= cSpace | cTok
		case b >= '0' && b <= '9':
			f = cDigit
		case b >= 'a' && b <= 'f':
			f = cLower
		case b >= 'g' && b <= 'z':
			f |= cLower
		case b >= 'A' && b <= 'Z':
			f |= cUpper
		}
		switch b {
		case '/', '@', '.', '=', '[', ']', '\\', ':':
			f |= cSpecial
		}
		switch b {
		case '[', ']', '{', '}', '=':
			f |= cTok
		}
		t[c] = f
	}
	return t
}()

func isSpace(c byte) bool { return classes[c]&cSpace != 0 }

func isOpener(c byte) bool {
	return c == '(' || c == '[' || c == '{' || c == '<' || c == '"' || c == '\'' || c == '`'
}

func isTrailer(c byte) bool {
	switch c {
	case ')', ']', '}', '>', ',', ';', ':', '.', '!', '?', '"', '\'', '`':
		return true
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isAlnum(c byte) bool { return isDigit(c) || isLower(c) || isUpper(c) }

// closeQuote returns the index of the quote closing the one at line[i], or -1.
// A closing quote must be followed by a blank, the end of the line or
// punctuation, so that apostrophes inside ('can't connect') do not close it.
func closeQuote(line string, i int) int {
	q := line[i]
	lim := min(len(line), i+maxSpan)
	for j := i + 1; j < lim; j++ {
		if line[j] != q {
			continue
		}
		if j+1 == len(line) {
			return j
		}
		switch c := line[j+1]; {
		case isSpace(c), c == ',', c == ';', c == ':', c == '.', c == ')', c == ']', c == '}', c == '>':
			// A value may hold quotes of its own (SQL in a quoted query):
			// if an odd number of quotes follow, this one is inside.
			if strings.Count(line[j+1:], line[i:i+1])%2 == 0 {
				return j
			}
		}
	}
	return -1
}

// closeBracket returns the index just past the point where the brackets open
// at depth become balanced, scanning from j, or -1.
func closeBracket(line string, j, depth int) int {
	lim := min(len(line), j+maxSpan)
	for ; j < lim; j++ {
		switch line[j] {
		case '[', '{':
			depth++
		case ']', '}':
			depth--
			if depth == 0 {
				return j + 1
			}
		}
	}
	return -1
}

// tokenize appends the tokens of line to out and returns it.
func tokenize(line string, out []tok) []tok {
	n := len(line)
	i := 0
	for i < n {
		c := line[i]
		if isSpace(c) {
			i++
			continue
		}
		if len(out) == maxTokens-1 {
			// Fold the rest into one parameter: a 64 KiB message must not
			// make a template of thousands of positions.
			out = append(out, tok{h: hashCanon(wildString), s: int32(i), e: int32(n), masked: true})
			return out
		}
		start := i
		if classes[c]&(cDigit|cUpper) != 0 || c == '[' || c == '(' {
			if e, pre := dateAt(line, i); e > 0 {
				// A date or time, blanks and names included, is one value.
				end := e
				for end < n && !isSpace(line[end]) {
					end++
				}
				suf := 0
				for suf < end-e && isTrailer(line[end-1-suf]) {
					suf++
				}
				out = append(out, mkMasked(line, start, end, int32(pre), int32(suf)))
				i = end
				continue
			}
		}
		if c == '"' || c == '\'' || c == '`' {
			if j := closeQuote(line, i); j > 0 {
				end := j + 1
				for end < n && !isSpace(line[end]) {
					end++
				}
				// A quoted request line is one value, its method included
				// (see README, conventions).
				out = append(out, mkMasked(line, start, end, 1, int32(end-j)))
				i = end
				continue
			}
		}
		j := i
		depth := 0
		spanned := false
		for j < n {
			c := line[j]
			if classes[c]&cTok == 0 {
				j++
				continue
			}
			switch {
			case c == '[' || c == '{':
				depth++
			case (c == ']' || c == '}') && depth > 0:
				depth--
			case c == '=' && j+1 < n && (line[j+1] == '"' || line[j+1] == '\''):
				if k := closeQuote(line, j+1); k > 0 {
					for q := j + 1; q < k; q++ {
						if isSpace(line[q]) {
							spanned = true
						}
					}
					j = k + 1
					continue
				}
			case isSpace(c):
				if depth > 0 {
					if k := closeBracket(line, j, depth); k > 0 {
						j, depth, spanned = k, 0, true
						continue
					}
				}
			}
			if isSpace(c) {
				break
			}
			j++
		}
		if k := leaderDots(line[start:j]); k > 0 && !spanned {
			// "caused by dcbf.........0": the word before leader dots is
			// a word of its own, the dots and the value after them one
			// value.
			out = append(out, classify(line, start, start+k, false))
			start = start + k
		}
		t := classify(line, start, j, spanned)
		if k := len(out) - 1; !t.masked && k >= 0 && out[k].masked && out[k].suf == 0 && isUnit(line[t.s:t.e]) {
			// "12 MB", "3.5 ms", "(1.16 KB)": the unit goes with the number.
			suf := int32(0)
			for int(suf) < j-start && isTrailer(line[j-1-int(suf)]) {
				suf++
			}
			prev := out[k]
			out = out[:k]
			t = mkMasked(line, int(prev.s), j, prev.pre, suf)
			if k := len(out) - 1; k >= 0 && out[k].wild() && t.pre == 1 && t.suf == 1 && line[t.s] == '(' && line[t.e-1] == ')' {
				// "1190 bytes (1.16 KB)": an amount given twice is one
				// value, so lines with and without the second form align.
				t = mkMasked(line, int(out[k].s), j, 0, 0)
				out = out[:k]
			}
		}
		out = append(out, t)
		i = j
	}
	return splitLast(line, out)
}

// splitLast cuts the sentence punctuation off the last token of a line, so
// that "Started Foo Bar." and "Started Baz." end alike, and "Starting Foo..."
// differs from them in one token, not in its last word.
func splitLast(line string, out []tok) []tok {
	if len(out) == 0 || len(out) == maxTokens {
		return out
	}
	t := out[len(out)-1]
	if t.masked {
		// "UID 1000." -> "<*>" "."; other suffixes ("<*>)") are structure.
		k := int(t.e) - int(t.suf)
		for k < int(t.e) && (line[k] == '.' || line[k] == '!' || line[k] == '?' || line[k] == ':' || line[k] == ';' || line[k] == ',') {
			k++
		}
		if t.suf == 0 || k != int(t.e) {
			return out
		}
		k = int(t.e) - int(t.suf)
		out[len(out)-1] = mkMasked(line, int(t.s), k, t.pre, 0)
		return append(out, mkConst(line, k, int(t.e)))
	}
	e := int(t.e)
	k := e
	for k > int(t.s) && (line[k-1] == '.' || line[k-1] == '!' || line[k-1] == '?' || line[k-1] == ':' || line[k-1] == ';' || line[k-1] == ',') {
		k--
	}
	if k == e || k == int(t.s) {
		return out
	}
	out[len(out)-1] = classify(line, int(t.s), k, false)
	return append(out, mkConst(line, k, e))
}

func isUnit(w string) bool {
	for len(w) > 0 && isTrailer(w[len(w)-1]) {
		w = w[:len(w)-1]
	}
	switch w {
	case "B", "KB", "MB", "GB", "TB", "PB", "kB", "KiB", "MiB", "GiB", "TiB", "K", "M", "G",
		"ms", "us", "µs", "ns", "s", "sec", "secs", "min", "mins", "h", "bytes", "%":
		return true
	}
	return false
}

func mkMasked(line string, s, e int, pre, suf int32) tok {
	h := hashString(fnvOffset, line[s:s+int(pre)])
	h = hashString(h, wildString)
	h = hashString(h, line[e-int(suf):e])
	return tok{h: h, s: int32(s), e: int32(e), pre: pre, suf: suf, masked: true}
}

func mkConst(line string, s, e int) tok {
	return tok{h: hashString(fnvOffset, line[s:e]), s: int32(s), e: int32(e)}
}

// classify decides whether line[s:e] is a constant or (partly) a parameter.
func classify(line string, s, e int, spanned bool) tok {
	t := line[s:e]
	p := 0
	for p < len(t) && p < 3 && isOpener(t[p]) {
		p++
	}
	if p > 0 && t[p-1] == '<' && p < len(t) && isDigit(t[p]) && strings.IndexByte(t, '>') < 0 {
		p-- // "<1 sec": the sign belongs to the number
	}
	q := len(t)
	for q > p && isTrailer(t[q-1]) {
		q--
	}
	if p == q {
		return mkConst(line, s, e) // punctuation only: "-", "|", "=>", "..."
	}
	core := t[p:q]
	suf := int32(len(t) - q)
	if l := core[len(core)-1]; l == 'e' || l == 'E' { // true, false
		if isBool(core) {
			return mkMasked(line, s, e, int32(p), suf)
		}
		if c := strings.LastIndexByte(core, ':'); c > 0 && isBool(core[c+1:]) && validKey(core[:c]) {
			return mkMasked(line, s, e, int32(p+c+1), suf) // enabled:true
		}
	}
	var upperSeg bool
	var flags uint8
	eq, br, brClose := -1, -1, -1
	dotted, at := false, false
	for k := 0; k < len(core); k++ {
		c := core[k]
		f := classes[c]
		flags |= f
		if f&cUpper != 0 && (k == 0 || core[k-1] == '.' || core[k-1] == '\\' || core[k-1] == ':') {
			upperSeg = true
		}
		if f&cSpecial == 0 {
			continue
		}
		switch c {
		case '@':
			if k > 0 && k+1 < len(core) {
				at = true
			}
		case '.':
			if k > 0 && k+1 < len(core) && isAlnum(core[k-1]) && isAlnum(core[k+1]) {
				dotted = true
			}
		case '=':
			if eq < 0 && br < 0 {
				eq = k
			}
		case '[':
			if br < 0 && eq < 0 {
				br = k
			}
		case ']':
			brClose = k
		}
	}
	digit := flags&cDigit != 0
	slash := strings.IndexByte(core, '/') >= 0 && flags&cSpecial != 0
	hexOnly := len(core) >= 8 && flags&cNotHex == 0 && !digit
	if eq > 0 && validKey(core[:eq]) {
		if eq == len(core)-1 {
			return mkConst(line, s, e)
		}
		pre := p + eq + 1
		if c := t[pre]; c == '"' || c == '\'' {
			pre++ // keep the quote: msg="<*>"
		}
		return mkMasked(line, s, e, int32(pre), suf)
	}
	if br > 0 && brClose < br && isTypeName(core[:br]) {
		return mkMasked(line, s, e, int32(p+br+1), suf)
	}
	if digit && !spanned && !slash && !at && !dotted && isNumberedName(core) {
		return mkConst(line, s, e) // SOCKS5, ssh2, eth0, sda1: names, not numbers
	}
	if spanned || digit || slash || at || (dotted && !upperSeg) || hexOnly {
		if n := closedInside(core, t[q:]); n > 0 { // cheap: the tail is a few bytes
			// "LOCAL(0),", "WorkSource{10113},": a closing bracket whose
			// opener is inside the value belongs to the value.
			suf -= int32(n)
			core = t[p : q+n]
		}
		if !spanned && !slash {
			// "10.0.0.1:50010:Served": a message glued to an address keeps
			// its word.
			if c := strings.LastIndexByte(core, ':'); c > 0 && len(core)-c > 3 && allLetters(core[c+1:]) {
				suf += int32(len(core) - c)
			}
		}
		return mkMasked(line, s, e, int32(p), suf)
	}
	return mkConst(line, s, e)
}

func validKey(k string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// isTypeName accepts puppet resource types and similar capitalised names:
// Service, File, Exec, Profile::Foo, DatanodeInfoWithStorage.
func isTypeName(k string) bool {
	if !isUpper(k[0]) {
		return false
	}
	for i := 1; i < len(k); i++ {
		c := k[i]
		if !isAlnum(c) && c != '_' && c != ':' {
			return false
		}
	}
	return true
}

// Mask returns line with its parameters replaced by <*> and blanks
// normalised, as the miner sees it. Useful for debugging and for feeding
// other parsers the same masking.
func Mask(line string) string {
	toks := tokenize(line, make([]tok, 0, 32))
	b := make([]byte, 0, len(line))
	for i, t := range toks {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, t.canon(line)...)
	}
	return string(b)
}

func allLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isLower(s[i]) && !isUpper(s[i]) {
			return false
		}
	}
	return true
}

func isBool(w string) bool {
	switch w {
	case "true", "false", "True", "False", "TRUE", "FALSE":
		return true
	}
	return false
}

// isNumberedName reports whether w is two or more letters followed by one
// digit: protocol, interface and device names (SOCKS5, ssh2, eth0, sda1,
// tty2) that tell events apart. More digits make a counter or an id
// (key12, worker17, db1034).
func isNumberedName(w string) bool {
	k := 0
	for k < len(w) && (isLower(w[k]) || isUpper(w[k])) {
		k++
	}
	d := len(w) - k
	if k < 2 || d != 1 {
		return false
	}
	for ; k < len(w); k++ {
		if !isDigit(w[k]) {
			return false
		}
	}
	return true
}

// closedInside returns how many bytes of the trailer tail belong to core:
// the tail up to the last closing bracket whose opener is in core.
func closedInside(core, tail string) int {
	if strings.IndexAny(tail, ")]}") < 0 {
		return 0
	}
	var open [3]int
	for i := 0; i < len(core); i++ {
		switch core[i] {
		case '(':
			open[0]++
		case ')':
			open[0]--
		case '[':
			open[1]++
		case ']':
			open[1]--
		case '{':
			open[2]++
		case '}':
			open[2]--
		}
	}
	n := 0
	for i := 0; i < len(tail); i++ {
		k := -1
		switch tail[i] {
		case ')':
			k = 0
		case ']':
			k = 1
		case '}':
			k = 2
		}
		if k < 0 {
			continue
		}
		if open[k] <= 0 {
			break
		}
		open[k]--
		n = i + 1
	}
	return n
}

// leaderDots returns where a run of three or more dots starts inside w when
// a word precedes it and something other than dots and punctuation follows,
// or 0.
func leaderDots(w string) int {
	k := strings.IndexByte(w, '.')
	if k < 0 {
		return 0
	}
	if d := strings.Index(w[k:], "..."); d >= 0 {
		k += d
	} else {
		return 0
	}
	if k <= 0 || !isAlnum(w[k-1]) {
		return 0
	}
	e := k
	for e < len(w) && w[e] == '.' {
		e++
	}
	for ; e < len(w); e++ {
		if isAlnum(w[e]) {
			return k
		}
	}
	return 0
}
