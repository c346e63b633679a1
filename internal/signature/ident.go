package signature

import "strings"

// What of a message identifies a bug, once the stack has said where it is.
//
// Sentry groups an exception with a stack trace by its type and its in-app
// frames and ignores the message, because messages carry the values of the
// failing call. sheriff does the same, with two refinements, both taken
// from the message's own structure rather than from lists of words:
//
//   - identity values: the MySQL error number ("Error 1205: Lock wait
//     timeout"), the fname of a failed query and the database's error text
//     name the failure, not its parameters; for database exceptions the
//     first line of the message (error number and error text) is kept whole;
//   - the message head: the first words of the message up to the first
//     position that carries a value. A value is what follows a separator
//     (": ", " - ", " = "), a placeholder, a quoted, bracketed or numeric
//     token; at most headWords words are kept, so that a bare word
//     interpolated later ("Unknown parser option thumbsizex", "raised from
//     Foo::bar") does not split the site's signature: two throws of one
//     class in one function differ in their first words.

// headWords bounds the words of a message head (after the PHP level and
// code-name prefixes).
const headWords = 3

// normalizedCut is the length at which Wikimedia's logging configuration
// cuts normalized_message (substr($message, 0, 255) in the wmfconfig
// processor).
const normalizedCut = 255

// appendHead appends the head of the first line of a masked template. The
// level prefix of PHP errors ("PHP Warning: ", "PHP Fatal error: ") and
// code-name prefixes ("preg_match(): ", "MWTimestamp::setTimestamp: ") are
// kept whole and do not end the head.
func appendHead(dst []byte, tmpl string) []byte {
	line := firstLine(tmpl)
	phpPrefix := strings.HasPrefix(line, "PHP ")
	n := 0      // tokens seen
	words := 0  // head words kept
	prefix := 0 // 0: may still be in the PHP level prefix, 1: in code-name prefixes, 2: in the sentence
	for rest := line; ; {
		tok := ""
		tok, rest = nextToken(rest)
		if tok == "" {
			return dst
		}
		if strings.Contains(tok, "://") {
			return appendHeadToken(dst, tok)
		}
		n++
		colon := strings.HasSuffix(tok, ":")
		switch {
		case prefix == 0 && phpPrefix && n <= 4:
			dst = appendHeadToken(dst, tok) // "PHP", "Fatal", "error:"
			if colon {
				prefix = 1
			}
			continue
		case prefix <= 1 && colon && isCodeToken(tok):
			dst = appendHeadToken(dst, tok) // "preg_match():", "Foo::bar:"
			prefix = 1
			continue
		}
		prefix = 2
		if words == headWords || isValueToken(tok) {
			return appendURL(dst, rest)
		}
		dst = appendHeadToken(dst, tok)
		words++
		if colon || strings.HasSuffix(tok, ";") {
			return appendURL(dst, rest) // what follows a colon is the value it introduces
		}
	}
}

// appendURL appends the first absolute URL in the rest of the line: its
// masked form (scheme, host, port, first path segments) names the backend
// a message is about, and two backends are two problems.
func appendURL(dst []byte, rest string) []byte {
	k := strings.Index(rest, "://")
	if k < 0 {
		return dst
	}
	s := strings.LastIndexAny(rest[:k], " \t(\"'") + 1
	tok, _ := nextToken(rest[s:])
	return appendHeadToken(dst, tok)
}

// nextToken returns the next blank-separated token of s and the rest.
func nextToken(s string) (string, string) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	j := i
	for j < len(s) && s[j] != ' ' && s[j] != '\t' {
		j++
	}
	return s[i:j], s[j:]
}

func appendHeadToken(dst []byte, tok string) []byte {
	if len(dst) > 0 {
		dst = append(dst, ' ')
	}
	return append(dst, tok...)
}

// isCodeToken reports whether a token names code: a call (getId()), a
// method (Foo::bar, $this->foo), a variable ($wgFoo) or a namespaced name.
func isCodeToken(t string) bool {
	return strings.Contains(t, "()") || strings.Contains(t, "::") || strings.Contains(t, "->") ||
		strings.HasPrefix(t, "$") || strings.IndexByte(t, '\\') > 0
}

// isValueToken reports whether a token carries a value: a placeholder, a
// quoted, bracketed or numeric token, or a separator that introduces one.
func isValueToken(t string) bool {
	if strings.IndexByte(t, '{') >= 0 && !strings.HasPrefix(t, "{closure") {
		return true
	}
	switch t[0] {
	case '"', '\'', '(', '[', '<', '`', '-', '=', '#', '+':
		return true
	}
	if t[0] >= '0' && t[0] <= '9' {
		return true
	}
	switch t {
	case "—", "–", "→", "=>":
		return true
	}
	return false
}

// isDBClass reports whether class is one of MediaWiki's database errors
// (Wikimedia\Rdbms\DBQueryError, DBConnectionError, ...), whose message is
// the database's own report of the failure.
func isDBClass(class string) bool {
	if strings.HasPrefix(class, `Wikimedia\Rdbms\`) {
		return true
	}
	return len(class) > 3 && strings.HasPrefix(class, "DB") && class[2] >= 'A' && class[2] <= 'Z'
}

// dbFunction returns the function named by the "Function: " line of a
// DBQueryError message, or "".
func dbFunction(msg string) string {
	k := strings.Index(msg, "\nFunction: ")
	if k < 0 {
		return ""
	}
	f := msg[k+len("\nFunction: "):]
	if e := strings.IndexAny(f, "\n "); e >= 0 {
		f = f[:e]
	}
	return f
}

// firstLine returns s up to its first newline.
func firstLine(s string) string {
	if k := strings.IndexByte(s, '\n'); k >= 0 {
		return s[:k]
	}
	return s
}

// uncut undoes the effect of the 255-byte cut of normalized_message on a
// template that reached it: the partial last token is dropped, and so is an
// unclosed quoted value (whose closing quote was cut off), so that where the
// cut falls never decides a signature.
func uncut(m string) string {
	if k := strings.LastIndexAny(m, " \t\n"); k >= 0 {
		m = m[:k]
	} else {
		return ""
	}
	for _, q := range [...]byte{'"', '\''} {
		open := -1
		for i := 0; i < len(m); i++ {
			if m[i] != q || (open < 0 && i > 0 && isWordByte(m[i-1])) || (open >= 0 && i+1 < len(m) && isWordByte(m[i+1])) {
				continue
			}
			if open < 0 {
				open = i
			} else {
				open = -1
			}
		}
		if open >= 0 {
			m = strings.TrimRight(m[:open], " \t\n")
		}
	}
	return m
}

// isTimeLimit reports whether msg is PHP's time limit ("Maximum execution
// time of 30 seconds exceeded"). It fires wherever the request happens to
// be, so its trace and file say nothing: the slow entry point is the site.
func isTimeLimit(msg string) bool {
	return strings.Contains(msg, "aximum execution time of ")
}

// entryPoint names the script that served an event: the .php file of its
// URL path (index.php for short URLs such as /wiki/Foo), else the script of
// a maintenance command line, else "".
func entryPoint(url, argv string) string {
	if url != "" && url != "[no req]" {
		if k := strings.Index(url, "://"); k >= 0 {
			url = url[k+3:]
			if j := strings.IndexByte(url, '/'); j >= 0 {
				url = url[j:]
			} else {
				url = "/"
			}
		}
		if k := strings.IndexAny(url, "?#"); k >= 0 {
			url = url[:k]
		}
		for seg := range strings.SplitSeq(url, "/") {
			if strings.HasSuffix(seg, ".php") {
				return seg
			}
		}
		return "index.php"
	}
	if argv != "" {
		script, _ := nextToken(argv)
		if k := strings.LastIndexByte(script, '/'); k >= 0 {
			script = script[k+1:]
		}
		return script
	}
	return ""
}

// calledIn reports whether an argument error names its call site ("f():
// Argument #1 ($x) must be of type array, string given, called in F on line
// L"): PHP raises it in the callee, but the caller passed the value, so the
// callee's own frame does not name the bug.
func calledIn(class, msg string) bool {
	return (class == "TypeError" || class == "ArgumentCountError") && strings.Contains(msg, ", called in ")
}
