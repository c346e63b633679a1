package signature

import (
	"strings"
	"unicode/utf8"
)

// maxFrameBytes bounds one normalised frame (PHP 8.4 closure names embed
// paths; a corrupt trace could hold anything).
const maxFrameBytes = 256

// appendFrames appends the top max in-app frames of a PHP trace to dst, each
// normalised (see appendFrame) and terminated by '\n'. It stops reading the
// trace as soon as it has max frames, so long traces cost no more than short
// ones.
func appendFrames(dst []byte, trace string, max int) ([]byte, int) {
	count := 0
	for len(trace) > 0 && count < max {
		line := trace
		if k := strings.IndexByte(trace, '\n'); k >= 0 {
			line, trace = trace[:k], trace[k+1:]
		} else {
			trace = ""
		}
		var ok bool
		if dst, ok = appendFrame(dst, line); ok {
			count++
		}
	}
	return dst, count
}

// appendFrame normalises one trace line such as
//
//	#0 /srv/mediawiki/php-1.47.0-wmf.16/includes/api/ApiMain.php(2006): ApiMain->executeAction()
//
// to the called function ("ApiMain->executeAction"): the function survives
// refactorings that move lines and train deployments that move the install
// root, while the file and line do not. It reports false for lines that are
// not frames or not in-app: [internal function], vendor/ code, {main}, and
// MWExceptionHandler's own frames (the error handler is where every PHP
// warning is reported from, so it tells nothing about the bug).
func appendFrame(dst []byte, line string) ([]byte, bool) {
	for len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
		line = line[1:]
	}
	if len(line) < 3 || line[0] != '#' {
		return dst, false
	}
	i := 1
	for i < len(line) && line[i] >= '0' && line[i] <= '9' {
		i++
	}
	if i == 1 || i >= len(line) || line[i] != ' ' {
		return dst, false
	}
	rest := line[i+1:]
	k := strings.Index(rest, "): ")
	if k < 0 || rest[0] == '[' { // {main}, [internal function]: ...
		return dst, false
	}
	loc := rest[:k]
	if p := strings.LastIndexByte(loc, '('); p >= 0 {
		loc = loc[:p]
	}
	if isVendor(loc) {
		return dst, false
	}
	fn := funcName(rest[k+3:])
	if fn == "" || strings.Contains(fn, "MWExceptionHandler::") {
		return dst, false
	}
	if len(fn) > maxFrameBytes {
		n := maxFrameBytes
		for n > 0 && !utf8.RuneStart(fn[n]) {
			n--
		}
		fn = fn[:n]
	}
	dst = appendFunc(dst, fn)
	if fn == "{closure}" { // an anonymous function: say where it was called from
		dst = append(dst, '@')
		dst = append(dst, relPath(loc)...)
	}
	return append(dst, '\n'), true
}

// isVendor reports whether a path lies in a vendor/ directory (Composer
// dependencies, also those of extensions).
func isVendor(path string) bool {
	// "vendor/" rather than "/vendor/": paths are full of slashes, which makes
	// searching for the latter several times slower.
	for {
		k := strings.Index(path, "vendor/")
		if k < 0 {
			return false
		}
		if k == 0 || path[k-1] == '/' {
			return true
		}
		path = path[k+len("vendor/"):]
	}
}

// funcName cuts the argument list off a called function, keeping PHP 8.4
// closure names whole ({closure:Foo::bar():12} contains parentheses).
func funcName(s string) string {
	if k := strings.IndexByte(s, '('); k >= 0 && strings.IndexByte(s[:k], '{') < 0 {
		return strings.TrimSpace(s[:k])
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			if depth > 0 {
				depth--
			}
		case '(':
			if depth == 0 {
				return strings.TrimSpace(s[:i])
			}
		}
	}
	return strings.TrimSpace(s)
}

// appendFunc copies a function name, removing what changes between train
// versions inside PHP 8.4 closure names: the install root
// ({closure:/srv/mediawiki/php-1.47.0-wmf.16/includes/Foo.php:12}) and the line.
func appendFunc(dst []byte, fn string) []byte {
	if strings.IndexByte(fn, '{') < 0 {
		return append(dst, fn...)
	}
	for i := 0; i < len(fn); i++ {
		c := fn[i]
		switch c {
		case '/':
			if j := versionPathEnd(fn, i); j > 0 {
				i = j - 1
				continue
			}
		case ':':
			j := i + 1
			for j < len(fn) && fn[j] >= '0' && fn[j] <= '9' {
				j++
			}
			if j > i+1 && j < len(fn) && fn[j] == '}' {
				i = j - 1
				continue
			}
		}
		dst = append(dst, c)
	}
	return dst
}

// relPath returns a trace location relative to the MediaWiki install root.
func relPath(loc string) string {
	if k := strings.Index(loc, "/srv/mediawiki"); k >= 0 {
		if j := versionPathEnd(loc, k); j > 0 {
			return loc[j:]
		}
	}
	return loc
}
