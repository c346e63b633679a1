package textscan

import "unicode/utf8"

// Glob reports whether s matches pattern, where '*' matches any run of
// characters (none, and '/', '.', ':' and '\' included: class names, hosts
// and messages are not paths) and '?' exactly one character. Matching is
// case-sensitive; callers wanting otherwise fold both sides first.
//
// It backtracks only to the last star, so it runs in
// O(len(pattern)*len(s)) at worst and needs no recursion.
func Glob(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '?':
			_, n := utf8.DecodeRuneInString(s[i:])
			p++
			i += n
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p = star + 1
			_, n := utf8.DecodeRuneInString(s[mark:])
			mark += n
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
