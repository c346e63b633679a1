package textscan

// SpacedLocalStart extends the local part of an email address starting at
// s[a] back over the words MediaWiki made of it: user names and titles are
// written with spaces for underscores, so an address used as a user name
// reads "User:Hiro t845@example.org" or user_name="hiro t845@example.org".
// Up to three words of local-part characters ([A-Za-z0-9._%+-]) are taken
// when they follow what starts a value (':', ': ', '=', a quote, a bracket,
// '/'); after plain text ("mail jane@example.org") nothing is taken.
func SpacedLocalStart(s string, a int) int {
	b := a
	for words := 0; words < 3 && b >= 2 && s[b-1] == ' '; words++ {
		w := b - 1
		for w > 0 && b-1-w < 64 && isLocal(s[w-1]) {
			w--
		}
		if w == b-1 || w == 0 {
			return a
		}
		b = w
		switch s[w-1] {
		case ':', '=', '"', '\'', '(', '[', '/':
			return w
		case ' ':
			if w >= 2 && s[w-2] == ':' {
				return w
			}
		default:
			return a
		}
	}
	return a
}

func isLocal(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}
