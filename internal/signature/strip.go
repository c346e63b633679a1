package signature

import "strings"

// StripPrefix removes the request prefix MediaWiki puts in front of logged
// exceptions and errors, both as a template ("[{reqId}] {exception_url}   ")
// and interpolated ("[aB3xYz...] /w/index.php?title=Foo   "), including the
// CLI form ("[{reqId}] [no req]   "). Anything else is returned unchanged.
func StripPrefix(msg string) string {
	if len(msg) < 4 || msg[0] != '[' {
		return msg
	}
	end := -1
	for i := 1; i < len(msg) && i <= 128; i++ {
		c := msg[i]
		if c == ']' {
			end = i
			break
		}
		if c == ' ' || c == '\n' || c == '[' {
			return msg
		}
	}
	if end < 2 || end+1 >= len(msg) || msg[end+1] != ' ' {
		return msg
	}
	rest := msg[end+2:]
	// the URL: one word, or "[no req]"; then at least two spaces
	var url int
	if strings.HasPrefix(rest, "[no req]") {
		url = len("[no req]")
	} else {
		// a path (/w/index.php?...), an absolute URL or the template placeholder
		if rest == "" || rest[0] != '/' && rest[0] != '{' && !strings.HasPrefix(rest, "http") {
			return msg
		}
		for url < len(rest) && rest[url] != ' ' && rest[url] != '\n' {
			url++
		}
	}
	if !strings.HasPrefix(rest[url:], "  ") {
		return msg
	}
	return strings.TrimLeft(rest[url:], " ")
}

// stripClass removes a leading "Class: " (MWExceptionHandler writes the
// exception class in front of the message; ECS events carry it only in
// error.type) so that both shapes give the same template.
func stripClass(msg, class string) string {
	if class == "" {
		return msg
	}
	m := strings.TrimPrefix(msg, `\`)
	if len(m) > len(class)+1 && m[len(class)] == ':' && m[len(class)+1] == ' ' && m[:len(class)] == class {
		return m[len(class)+2:]
	}
	return msg
}
