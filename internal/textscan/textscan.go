// Package textscan recognises IP addresses inside free text (log messages,
// stack traces, task descriptions) at a given byte offset, without regular
// expressions and without allocating. It is shared by internal/redact, which
// hides addresses, and internal/signature, which masks them to group events:
// both must agree on what an address is.
//
// The scanners look only at bytes. They do not decide where an address may
// start (after a blank, not inside Class::method or a dotted version): that
// depends on how the caller tokenises its text, so the caller checks it
// before calling.
package textscan

import "strings"

const (
	cWord  uint8 = 1 << iota // [A-Za-z0-9_]
	cDigit                   // [0-9]
	cHex                     // [0-9A-Fa-f]
	cUpper                   // [A-F]: the only upper-case letters an address has
	cLower                   // [a-f]
)

// ctab is written once at package initialisation and only read afterwards.
var ctab = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		switch {
		case b >= '0' && b <= '9':
			t[c] = cWord | cDigit | cHex
		case b >= 'a' && b <= 'z':
			t[c] = cWord
			if b <= 'f' {
				t[c] |= cHex | cLower
			}
		case b >= 'A' && b <= 'Z':
			t[c] = cWord
			if b <= 'F' {
				t[c] |= cHex | cUpper
			}
		case b == '_':
			t[c] = cWord
		}
	}
	return t
}()

// Rules adapts the scanners to the caller. The zero value suits redaction,
// where missing an address leaks it: only ASCII word characters end it, and
// any mix of letter case is accepted.
type Rules struct {
	// NonASCIIWord counts bytes >= 0x80 as word characters, so that an
	// address run into a non-ASCII letter ("10.0.0.1é") is part of a word
	// and not an address. For callers whose words include non-ASCII runes.
	NonASCIIWord bool
	// SingleCase rejects IPv6 candidates that mix upper- and lower-case hex
	// letters ("Db::Ab12", "Face::Add1"): software prints addresses in one
	// case, PHP class and method names mix them.
	SingleCase bool
}

func (r Rules) isWord(c byte) bool {
	return ctab[c]&cWord != 0 || r.NonASCIIWord && c >= 0x80
}

// IPv4End is Rules{}.IPv4End.
func IPv4End(s string, i int) int { return Rules{}.IPv4End(s, i) }

// IPv6End is Rules{}.IPv6End.
func IPv6End(s string, i int) int { return Rules{}.IPv6End(s, i) }

// IPv4End returns the end offset of the dotted-quad IPv4 address that starts
// at byte offset i of s, or -1 if none starts there. Each of the four parts
// has one to three digits and is at most 255 (leading zeros are accepted).
// The address must not run on into a word character, nor into a fifth
// numeric part: 1.2.3.4.5 is a version, not an address followed by ".5".
// A single trailing dot (end of a sentence) is not part of the address.
func (r Rules) IPv4End(s string, i int) int {
	j := i
	for part := 0; part < 4; part++ {
		if part > 0 {
			if j >= len(s) || s[j] != '.' {
				return -1
			}
			j++
		}
		k := j
		v := 0
		for k < len(s) && k-j < 4 && ctab[s[k]]&cDigit != 0 {
			v = v*10 + int(s[k]-'0')
			k++
		}
		if k == j || k-j > 3 || v > 255 {
			return -1
		}
		j = k
	}
	if j < len(s) && (r.isWord(s[j]) || j+1 < len(s) && s[j] == '.' && ctab[s[j+1]]&cDigit != 0) {
		return -1
	}
	return j
}

// IPv6End returns the end offset of the IPv6 address that starts at byte
// offset i of s, or -1 if none starts there. It accepts the full form (eight
// groups of one to four hex digits), the compressed form with one "::"
// (::1, 2001:db8::1, fe80::), a trailing embedded IPv4 address
// (::ffff:192.0.2.1) and a zone (fe80::1%eth0, included in the result).
//
// So that PHP's Class::method, clock times (12:34:56) and hex words (dead::beef)
// are not taken for addresses, it requires at least one decimal digit and
// either exactly eight groups or a "::". The address must not run on into a
// word character or a '.'; a following ':' is left alone, so in
// "[2620:0:861::1]:443" the address ends before ']'.
func (r Rules) IPv6End(s string, i int) int {
	n := len(s)
	j := i
	groups := 0
	double := false
	var seen uint8 // classes of the hex digits read
	if strings.HasPrefix(s[j:], "::") {
		double = true
		j += 2
	}
	for j < n {
		k := j
		for k < n && k-j <= 4 && ctab[s[k]]&cHex != 0 {
			seen |= ctab[s[k]]
			k++
		}
		if k == j {
			break
		}
		if k-j > 4 {
			return -1
		}
		if k < n && s[k] == '.' { // embedded IPv4: it takes two groups and ends the address
			e := r.IPv4End(s, j)
			if e < 0 || groups > 6 {
				return -1
			}
			groups += 2
			seen |= cDigit
			j = e
			break
		}
		groups++
		if groups > 8 {
			return -1
		}
		j = k
		if j+1 < n && s[j] == ':' && s[j+1] == ':' {
			if double {
				return -1
			}
			double = true
			j += 2
			continue
		}
		if j+1 < n && s[j] == ':' && ctab[s[j+1]]&cHex != 0 {
			j++
			continue
		}
		break
	}
	if groups == 0 || (double && groups > 7) || (!double && groups != 8) {
		return -1
	}
	if seen&cDigit == 0 || r.SingleCase && seen&(cUpper|cLower) == cUpper|cLower {
		return -1
	}
	if j < n && (r.isWord(s[j]) || s[j] == '.') {
		return -1
	}
	if j+1 < n && s[j] == '%' && ctab[s[j+1]]&cWord != 0 { // zone: fe80::1%eth0
		k := j + 1
		for k < n && (ctab[s[k]]&cWord != 0 || s[k] == '.' || s[k] == '-') {
			k++
		}
		j = k
	}
	return j
}
