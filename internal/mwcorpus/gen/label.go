package main

import (
	"fmt"
	"regexp"
	"strings"
)

// mwRoot is where Debian's mediawiki package installs MediaWiki; every path
// the corpus wiki prints starts with it.
const mwRoot = "/usr/share/mediawiki/"

// frame is one line of a MediaWiki trace ("#3 /path/File.php(120): Class->fn()").
type frame struct {
	file string // relative to mwRoot; "" for [internal function] / {main}
	line string
	fn   string
}

var frameRE = regexp.MustCompile(`^#\d+ (.+)\((\d+)\): (.*)$`)

func parseTrace(trace string) []frame {
	var out []frame
	for _, l := range strings.Split(trace, "\n") {
		m := frameRE.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil {
			continue
		}
		out = append(out, frame{file: rel(m[1]), line: m[2], fn: m[3]})
	}
	return out
}

func rel(p string) string { return strings.TrimPrefix(p, mwRoot) }

// helperFiles raise errors on behalf of their caller: the caller names the bug.
var helperFiles = map[string]bool{
	"includes/GlobalFunctions.php":              true, // wfDeprecated, wfWarn, wfLogWarning, wfTimestamp
	"includes/debug/MWDebug.php":                true, // deprecation and warning helpers
	"includes/debug/DeprecationHelper.php":      true,
	"includes/exception/MWExceptionHandler.php": true,
	"includes/utils/MWTimestamp.php":            true, // thin wrapper over wikimedia/timestamp
}

// isLibrary reports whether a (relative) file is library or throw-helper code,
// i.e. not the place a developer would fix the bug.
func isLibrary(file string) bool {
	if file == "" {
		return true
	}
	if strings.HasPrefix(file, "/") { // outside MediaWiki (e.g. php -r code)
		return false
	}
	return strings.HasPrefix(file, "vendor/") || strings.HasPrefix(file, "includes/libs/") ||
		strings.Contains(file, "/vendor/") || helperFiles[file]
}

// splitFileLine splits "path/File.php:123" (exception.file) into path and line.
func splitFileLine(s string) (string, string) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return rel(s), ""
	}
	return rel(s[:i]), s[i+1:]
}

var (
	dbErrRE    = regexp.MustCompile(`(?s)^Error (\d+): .*?\nFunction: ([^\n]*)`)
	dbConnRE   = regexp.MustCompile(`^Cannot access the database: (.*)$`)
	sqlStateRE = regexp.MustCompile(`\(\w+/(\d+)\)`)
	stripAddr  = regexp.MustCompile(`\s*\([^()]*\)\s*$`)
)

// Label computes the real error site of one logstash document as MediaWiki
// printed it: "<class or channel>@<file>:<line>", "<-<caller file>:<line>"
// when the throwing file is library/helper code, and a " [...]" qualifier for
// values that identify the failure (MySQL errno and query fname).
// Documents without an exception are mapped by noTraceSites; any other is an
// error, so that nothing lands in the corpus unlabelled.
func Label(doc map[string]any) (string, error) {
	channel, _ := doc["channel"].(string)
	exc, _ := doc["exception"].(map[string]any)
	if exc == nil {
		norm, _ := doc["normalized_message"].(string)
		if l, ok := noTraceLabel(channel, norm); ok {
			return l, nil
		}
		return "", fmt.Errorf("no exception field and no known log call for %q", norm)
	}
	class, _ := exc["class"].(string)
	file, _ := exc["file"].(string)
	trace, _ := exc["trace"].(string)
	msg, _ := exc["message"].(string)
	if file == "" {
		return "", fmt.Errorf("exception without file")
	}
	prefix := channel
	if channel == "exception" || channel == "fatal" {
		prefix = class
	}
	f, l := splitFileLine(file)
	label := prefix + "@" + f + ":" + l
	if isLibrary(f) {
		for _, fr := range parseTrace(trace) {
			if !isLibrary(fr.file) {
				label += "<-" + fr.file + ":" + fr.line
				break
			}
		}
	}
	if q := qualifier(doc, msg); q != "" {
		label += " [" + q + "]"
	}
	return label, nil
}

// qualifier returns the identity values of database failures: the MySQL error
// number and the query's fname (both from what MediaWiki printed).
func qualifier(doc map[string]any, excMsg string) string {
	if errno, ok := doc["errno"]; ok {
		fname, _ := doc["fname"].(string)
		return strings.TrimSpace(fmt.Sprint(errno) + " " + fname)
	}
	if e, ok := doc["error"].(string); ok {
		// DBConnection: ":real_connect(): (HY000/2002): Connection refused"
		if m := sqlStateRE.FindStringSubmatch(e); m != nil {
			return m[1]
		}
	}
	if m := dbErrRE.FindStringSubmatch(excMsg); m != nil {
		return m[1] + " " + m[2]
	}
	if m := dbConnRE.FindStringSubmatch(excMsg); m != nil {
		// "Unknown database 'x' (127.0.0.1:19701)" -> kind of failure without
		// the value: the words before the first quote.
		reason := stripAddr.ReplaceAllString(m[1], "")
		if i := strings.IndexAny(reason, "'\""); i > 0 {
			reason = strings.TrimSpace(reason[:i])
		}
		return reason
	}
	return ""
}
