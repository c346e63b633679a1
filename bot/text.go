package bot

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// IRC protocol limits. A message is at most 512 bytes including the
// trailing CRLF and the prefix ":nick!user@host " that the server adds when
// relaying it, so the text we may put in one line depends on our own prefix
// and on the command and target.
const (
	maxLine = 510 // without CRLF
	// hostBudget is what we assume for the host part of our prefix when
	// computing line budgets: servers may show a cloak or an IP we cannot
	// see beforehand, and 63 is the longest hostname label rule servers use.
	hostBudget = 63
	userBudget = 12 // "~" + USERLEN 10 + slack
)

// textBudget is the number of bytes of text that fit in one
// "COMMAND target :text" line sent by nick, once the server prepends
// ":nick!user@host ".
func textBudget(nick, command, target string) int {
	prefix := 1 + len(nick) + 1 + userBudget + 1 + hostBudget + 1
	n := maxLine - prefix - len(command) - 1 - len(target) - 2
	if n < 64 {
		n = 64 // absurd nick/target lengths: still say something
	}
	return n
}

// Clean makes text safe to send and pleasant to read: it removes IRC
// formatting codes (bold, colour, ...), turns every other control
// character (CR, LF, tab, NUL, DEL, C1 controls) and Unicode line/paragraph
// separators into a space, drops bidirectional overrides and invalid UTF-8,
// and collapses runs of spaces.
func Clean(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := true // the last rune written was a space, or nothing was written yet
	emit := func(r rune) {
		if r == ' ' {
			if space {
				return
			}
			space = true
		} else {
			space = false
		}
		b.WriteRune(r)
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			i++ // invalid byte: drop it
			continue
		}
		i += size
		switch {
		case r == 0x03: // colour: ^C[fg[,bg]] with 1-2 digit numbers
			i = skipDigits(s, i, 2)
			if i+1 < len(s) && s[i] == ',' && isDigit(s[i+1]) {
				i = skipDigits(s, i+1, 2)
			}
		case r == 0x04: // hex colour: ^DRRGGBB[,RRGGBB]
			i = skipHex(s, i, 6)
			if i+1 < len(s) && s[i] == ',' && isHex(s[i+1]) {
				i = skipHex(s, i+1, 6)
			}
		case r == 0x02, r == 0x0f, r == 0x11, r == 0x16, r == 0x1d, r == 0x1e, r == 0x1f:
			// bold, reset, monospace, reverse, italic, strikethrough, underline
		case isBidiControl(r):
			// Could reorder what follows on screen (and hide text).
		case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0, r == 0x2028, r == 0x2029:
			emit(' ')
		case unicode.IsSpace(r):
			emit(' ')
		default:
			emit(r)
		}
	}
	return strings.TrimRight(b.String(), " ")
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func skipDigits(s string, i, max int) int {
	for n := 0; n < max && i < len(s) && isDigit(s[i]); n++ {
		i++
	}
	return i
}

func skipHex(s string, i, max int) int {
	for n := 0; n < max && i < len(s) && isHex(s[i]); n++ {
		i++
	}
	return i
}

func isBidiControl(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c
}

// Truncate shortens s to at most max bytes, cutting at a rune boundary
// (preferably a space) and marking the cut with "…".
func Truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const ell = "…"
	if max < len(ell) {
		return ""
	}
	cut := runeCut(s, max-len(ell))
	if sp := strings.LastIndexByte(s[:cut], ' '); sp > cut*2/3 {
		cut = sp
	}
	return strings.TrimRight(s[:cut], " ") + ell
}

// runeCut returns the largest index <= max that is a rune boundary of s.
func runeCut(s string, max int) int {
	if max >= len(s) {
		return len(s)
	}
	if max < 0 {
		return 0
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return max
}

// Split breaks text into lines of at most max bytes, at spaces where
// possible and never inside a UTF-8 sequence. Text is expected to be
// Clean; empty text gives no lines.
func Split(text string, max int) []string {
	if max < utf8.UTFMax {
		max = utf8.UTFMax
	}
	text = strings.TrimSpace(text)
	var out []string
	for len(text) > max {
		cut := runeCut(text, max)
		// Prefer the last space in the second half of the window, so that
		// long words are not needlessly broken but lines are not tiny.
		if sp := strings.LastIndexByte(text[:cut+1], ' '); sp > max/2 {
			cut = sp
		}
		out = append(out, strings.TrimRight(text[:cut], " "))
		text = strings.TrimLeft(text[cut:], " ")
	}
	if text != "" {
		out = append(out, text)
	}
	return out
}

// partSeps are the separators between the items of a list reply, tried
// in order: a reply that must wrap breaks between items, so no line starts
// with the tail end of an item ("ago) T23").
var partSeps = []string{" | ", "; "}

// splitParts is Split that keeps the items of a list whole: lines break at
// the first separator of partSeps found in text, and an item is split only
// when it alone does not fit in a line.
func splitParts(text string, max int) []string {
	text = strings.TrimSpace(text)
	if len(text) <= max {
		return Split(text, max)
	}
	sep := ""
	for _, s := range partSeps {
		if strings.Contains(text, s) {
			sep = s
			break
		}
	}
	if sep == "" {
		return Split(text, max)
	}
	var out []string
	cur := ""
	for _, p := range strings.Split(text, sep) {
		switch {
		case cur == "":
			cur = p
		case len(cur)+len(sep)+len(p) <= max:
			cur += sep + p
		default:
			out = append(out, Split(cur, max)...)
			cur = p
		}
	}
	if cur != "" {
		out = append(out, Split(cur, max)...)
	}
	return out
}
