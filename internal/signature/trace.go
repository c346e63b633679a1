package signature

import (
	"strings"
	"unicode/utf8"
)

// maxFrameBytes bounds one normalised frame (PHP 8.4 closure names embed
// paths; a corrupt trace could hold anything).
const maxFrameBytes = 256

// appendFrames appends to dst the functions of the first max in-app
// positions of a PHP trace, innermost first, each normalised (see
// appendFunc) and terminated by '\n'.
//
// A line of PHP's trace, "#3 {loc}: {callee}()", says that {callee} was
// called at {loc}; the code at {loc} belongs to the callee of the next line.
// So the positions of a trace are (excFile, callee #0), (loc #0, callee #1),
// (loc #1, callee #2), ...: the file where the exception was created and each
// call site, with the function that contains it. A position is in-app when its
// file is MediaWiki's or an extension's own code (not vendor/, not
// includes/libs/, not [internal function]) and its function is not a throw
// helper (see isHelper). The first in-app position is the caller that names
// the bug: WikiPage::doSecondaryDataUpdates for a query error raised deep in
// Rdbms, Foo::bar for a warning raised by preg_match() in Foo::bar.
//
// When the event carries no exception file (some ECS producers), the first
// position is judged by the file of the first call site. Reading stops as
// soon as max positions are found, so long traces cost no more than short
// ones.
func appendFrames(dst []byte, trace, excFile string, max int) ([]byte, int) {
	count := 0
	prev := excFile
	known := excFile != ""
	if known && internalThrow(trace, excFile) {
		// created by a PHP function (new DateTime(), json_decode()...):
		// PHP reports the call site as the exception's file, which
		// belongs to the caller of frame #0, not to the function called
		prev = "[internal function]"
	}
	for len(trace) > 0 && count < max {
		line := trace
		if k := strings.IndexByte(trace, '\n'); k >= 0 {
			line, trace = trace[:k], trace[k+1:]
		} else {
			trace = ""
		}
		loc, fn, ok := parseFrame(line)
		if !ok {
			continue
		}
		if !known { // judge the creation site by the first call site
			prev, known = loc, true
		}
		inApp := !isLibrary(prev)
		prev = loc
		if fn == "" || fn == "{main}" || !inApp || isHelper(fn) {
			continue
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
		dst = append(dst, '\n')
		count++
	}
	return dst, count
}

// internalThrow reports whether the first frame of trace was called at
// excFile ("path:line" as "path(line)"): the exception was then created
// inside the called function, a PHP internal one.
func internalThrow(trace, excFile string) bool {
	k := strings.LastIndexByte(excFile, ':')
	if k < 0 {
		return false
	}
	path, line := excFile[:k], excFile[k+1:]
	if !strings.HasPrefix(trace, "#0 ") {
		if j := strings.Index(trace, "\n#0 "); j >= 0 && j < 512 {
			trace = trace[j+1:]
		} else {
			return false
		}
	}
	rest := trace[3:]
	return len(rest) > len(path)+len(line)+2 && rest[:len(path)] == path && rest[len(path)] == '(' &&
		rest[len(path)+1:len(path)+1+len(line)] == line && rest[len(path)+1+len(line)] == ')'
}

// parseFrame splits one trace line such as
//
//	#0 /srv/mediawiki/php-1.47.0-wmf.16/includes/api/ApiMain.php(2006): ApiMain->executeAction()
//
// into its location without the line number and the called function
// without arguments. "#5 {main}" gives fn "{main}"; "[internal function]"
// gives loc "[internal function]". ok is false for lines that are not frames.
func parseFrame(line string) (loc, fn string, ok bool) {
	for len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
		line = line[1:]
	}
	if len(line) < 3 || line[0] != '#' {
		return "", "", false
	}
	i := 1
	for i < len(line) && line[i] >= '0' && line[i] <= '9' {
		i++
	}
	if i == 1 || i >= len(line) || line[i] != ' ' {
		return "", "", false
	}
	rest := line[i+1:]
	if rest == "{main}" {
		return "", "{main}", true
	}
	k := strings.Index(rest, ": ")
	if k < 0 {
		return "", "", false
	}
	if rest[0] != '[' {
		k = strings.Index(rest, "): ")
		if k < 0 {
			return "", "", false
		}
		k++
	}
	loc = rest[:k]
	if p := strings.LastIndexByte(loc, '('); p >= 0 && rest[0] != '[' {
		loc = loc[:p]
	}
	return loc, funcName(rest[k+2:]), true
}

// isLibrary reports whether code at loc is not the application's own:
// Composer dependencies (vendor/, also those of extensions), MediaWiki's
// bundled libraries (includes/libs/: Rdbms, objectcache, ...), PHP's own
// functions ([internal function]) and unknown locations.
//
// MediaWiki's own reporting and wrapper files count as library code too:
// GlobalFunctions.php (wf* wrappers: wfTimestamp, wfDeprecated, wfWarn...),
// MWTimestamp.php (a wrapper of wikimedia/timestamp), includes/debug/
// (MWDebug, DeprecationHelper) and MWExceptionHandler.php: a bad timestamp
// or a deprecated call is the bug of whoever passed or made it.
func isLibrary(loc string) bool {
	if loc == "" || loc[0] == '[' {
		return true
	}
	k := strings.LastIndex(loc, "includes/")
	if k < 0 {
		return isVendor(loc)
	}
	rest := loc[k+len("includes/"):]
	switch {
	case strings.HasPrefix(rest, "libs/"), strings.HasPrefix(rest, "debug/"),
		rest == "GlobalFunctions.php", rest == "MWTimestamp.php", rest == "exception/MWExceptionHandler.php":
		return true
	}
	return isVendor(loc)
}

// isHelper reports whether fn only reports an error on behalf of its caller:
// PHP's and MediaWiki's error and deprecation functions, the exception
// handler, MWDebug, assertions, the API's die*() methods and exception
// factories (a method whose name mentions Exception). Such a frame never
// names the bug; the function that called it does.
func isHelper(fn string) bool {
	name := fn
	cls := ""
	if k := strings.LastIndex(fn, "->"); k >= 0 {
		cls, name = fn[:k], fn[k+2:]
	} else if k := strings.LastIndex(fn, "::"); k >= 0 {
		cls, name = fn[:k], fn[k+2:]
	}
	if k := strings.LastIndexByte(cls, '\\'); k >= 0 {
		cls = cls[k+1:]
	}
	switch cls {
	case "MWExceptionHandler", "MWDebug", "Assert":
		return true
	case "":
		switch name {
		case "trigger_error", "user_error", "wfDeprecated", "wfDeprecatedMsg", "wfWarn", "wfLogWarning", "wfDebugLog":
			return true
		}
		return false
	}
	if len(name) > 3 && strings.HasPrefix(name, "die") && name[3] >= 'A' && name[3] <= 'Z' {
		return true // ApiBase::dieWithError, dieStatus, dieBlocked...
	}
	return strings.Contains(name, "Exception")
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
