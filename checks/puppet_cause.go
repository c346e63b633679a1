package checks

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file turns one puppet agent log line into what it means for the
// host's run: a failure with a cause, the end of a run, a consequence of an
// earlier failure, or nothing. It is pure: no state, no I/O.
//
// The agent writes every message line as its own syslog line, "(source) "
// prefixed when the source is a resource, so multi-line messages (apt
// output, journalctl excerpts, dependency cycles, wrapped exceptions) arrive
// as several events; lines that only continue a message are recognised and
// dropped rather than counted as causes of their own.

// PuppetCause is one distinct reason for puppet runs to fail: the same
// resource failing, the same class or hiera key missing, whatever the host,
// the manifest paths, line numbers, timings or catalog versions.
type PuppetCause struct {
	ID       string // 16 hex digits, stable across hosts, restarts and versions
	Category string // class, hiera, class-param, service, package, exec, cycle, ...
	Identity string // what makes the cause distinct, host-independent
	Title    string // "Puppet: Service[nginx] failed to start"
	Phase    puppetPhase
}

type puppetPhase uint8

const (
	// A resource failed while the catalog was applied; a later run that
	// applies a catalog without it proves the host recovered.
	phaseResource puppetPhase = iota
	// The run did not get (or could not apply) a catalog at all: compile
	// errors, an unreachable server, TLS problems, dependency cycles. A run
	// fails on at most one of these, so a newer one replaces older ones.
	phaseCatalog
	// After the run: sending the report. Seen after "Applied catalog".
	phasePost
)

func (p puppetPhase) String() string {
	switch p {
	case phaseCatalog:
		return "catalog"
	case phasePost:
		return "post"
	}
	return "resource"
}

func parsePhase(s string) puppetPhase {
	switch s {
	case "catalog":
		return phaseCatalog
	case "post":
		return phasePost
	}
	return phaseResource
}

type puppetAction uint8

const (
	actIgnore      puppetAction = iota // informational, or not about failures
	actCause                           // a failure with its cause
	actUnknown                         // an unrecognised error line: a cause unless it continues a message
	actContinued                       // only repeats or continues another line; opens a continuation window
	actConsequence                     // follows from a failure logged just before; Cause is the fallback
	actRunEnd                          // "Applied catalog in N seconds"
	actDisabled                        // puppet agent --disable
	actLocked                          // another run holds the lock
)

// puppetLine is the meaning of one line.
type puppetLine struct {
	Action   puppetAction
	Cause    PuppetCause
	Duration time.Duration // of the run, for actRunEnd
	Note     string        // disable reason, for actDisabled
	Error    bool          // logged at error level or worse
}

// contWindow bounds how long after a multi-line message its continuation
// lines can arrive: syslog writes them in one go, with the same timestamp.
const contWindow = 2 * time.Second

var (
	rxRunEnd     = regexp.MustCompile(`^(?:Applied catalog|Finished catalog run) in ([0-9.]+) seconds`)
	rxDisabled   = regexp.MustCompile(`^Skipping run of Puppet configuration client; administratively disabled \(Reason: '(.*)'\);?`)
	rxLocked     = regexp.MustCompile(`^Run of Puppet configuration client already in progress`)
	rxCycleHead  = regexp.MustCompile(`^Found \d+ dependency cycles?:?`)
	rxCycleLine  = regexp.MustCompile(`^\(([A-Z][\w:]*\[.*\] => )+[A-Z][\w:]*\[.*\]\)`)
	rxRouteTo    = regexp.MustCompile(`^Connection to (https?://[^/\s]+)\S* failed, trying next route`)
	rxTCP        = regexp.MustCompile(`Failed to open TCP connection to (\S+) \(`)
	rxNoRoutes   = regexp.MustCompile(`^No more routes to (\w+)`)
	rxHTTPErr    = regexp.MustCompile(`^Error (\d{3}) on SERVER: `)
	rxEvalPrefix = regexp.MustCompile(`^(?:Evaluation Error: )?(?:Error while evaluating a [\w ]+?, )?`)
	rxClass      = regexp.MustCompile(`Could not find class (?:::)?([\w:]+)`)
	rxLookup     = regexp.MustCompile(`(?:Function lookup\(\) did not find a value for the name|Could not find data item|Lookup of key) '([^']+)'`)
	rxParam      = regexp.MustCompile(`([A-Z][\w:]*\[[^\]]*\]): expects a value for parameter '(\w+)'`)
	rxDuplicate  = regexp.MustCompile(`Duplicate declaration: ([A-Z][\w:]*\[.*?\]) is already declared`)
	rxNoResource = regexp.MustCompile(`Could not find resource '([^']+)' (?:in parameter|for relationship)`)
	rxDependency = regexp.MustCompile(`Could not find dependency ([A-Z][\w:]*\[.*?\]) for ([A-Z][\w:]*\[.*?\])`)
	rxChange     = regexp.MustCompile(`^change from (.*) to (.*) failed: `)
	rxLocation   = regexp.MustCompile(` ?\((?:file: ([^,)]+))?(?:, )?(?:line: \d+)?(?:, )?(?:column: \d+)?\)`)
	rxAtFile     = regexp.MustCompile(` at (/\S+?)(?::\d+)+`)
	rxOnNode     = regexp.MustCompile(` (on node|for node|for) ([a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+)`)
	rxFQDN       = regexp.MustCompile(`\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+\.[a-z]{2,}\b`)
	rxIPv4       = regexp.MustCompile(`\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b`)
	rxUUID       = regexp.MustCompile(`\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b`)
	rxHex        = regexp.MustCompile(`\b[0-9a-f]*[0-9][0-9a-f]*[a-f][0-9a-f]*\b|\b[0-9a-f]*[a-f][0-9a-f]*[0-9][0-9a-f]*\b`)
	rxTmp        = regexp.MustCompile(`(/(?:var/)?tmp)/[^\s'"\]\),;:]+`)
	rxNumber     = regexp.MustCompile(`\b\d+(?:\.\d+)*\b`)
	rxLongNumber = regexp.MustCompile(`\b\d{5,}\b`)
	rxSpaces     = regexp.MustCompile(`\s+`)
	rxPeer       = regexp.MustCompile(` ?peeraddr=\S+`)
	// How a resource's failure message starts; its other lines (command
	// output, journal excerpts) are not failures of their own even when they
	// say "failed".
	rxResourceFailure = regexp.MustCompile(`^(?:change from .* failed: |Failed to |Could not |Unable to |Cannot |Provider \S+ is not functional|'.*' returned \d+ instead of one of|Error: )`)
)

// Bare lines (source "Puppet") that puppet logs just before the resource line
// saying the same thing: the provider's own error. The resource line carries
// the cause; these only open a continuation window for their output.
var puppetDuplicates = []*regexp.Regexp{
	regexp.MustCompile(`^'.*' returned \d+ instead of one of \[`),
	regexp.MustCompile(`^Execution of '.*' returned \d+`),
	regexp.MustCompile(`^Could not find init script`),
	regexp.MustCompile(`^Systemd \w+ for .* failed!?`),
	regexp.MustCompile(`^journalctl log for `),
	regexp.MustCompile(`^Could not (?:start|stop|restart|reload|enable|disable) Service\[`),
	regexp.MustCompile(`^Could not (?:update|evaluate): `),
	regexp.MustCompile(`^Could not set '.*' on \w+: `),
	regexp.MustCompile(`^Provider \S+ is not functional`),
	regexp.MustCompile(`^Wrapped exception:`),
	regexp.MustCompile(`^Unable to fetch my node definition`),
}

// classifyPuppet interprets one line (one syslog event) of host's agent.
// level is the syslog severity as shipped ("err", "ERROR", "3", ...), "" if
// unknown.
func classifyPuppet(host, level, msg string) puppetLine {
	msg = strings.TrimRight(msg, "\r\n ")
	first, rest, multi := strings.Cut(msg, "\n")
	lvl, source, body := splitPuppetLine(level, first)
	isErr := errorLevel(lvl)
	out := func(l puppetLine) puppetLine { l.Error = isErr; return l }

	if source != "" {
		if isResourcePath(source) {
			return out(classifyResource(host, source, body, isErr))
		}
		// Facter and other named sources: the source is part of the cause.
		if !isErr {
			return puppetLine{}
		}
		c := genericCause(host, "error", source+": "+body, phaseResource)
		return out(puppetLine{Action: actUnknown, Cause: c})
	}

	if m := rxRunEnd.FindStringSubmatch(body); m != nil {
		secs, _ := strconv.ParseFloat(m[1], 64)
		return out(puppetLine{Action: actRunEnd, Duration: time.Duration(secs * float64(time.Second))})
	}
	if m := rxDisabled.FindStringSubmatch(body); m != nil {
		return out(puppetLine{Action: actDisabled, Note: m[1]})
	}
	if rxLocked.MatchString(body) {
		return out(puppetLine{Action: actLocked})
	}
	if strings.HasPrefix(body, "Could not retrieve catalog; skipping run") {
		return out(puppetLine{Action: actConsequence, Cause: newCause("catalog", "could not retrieve catalog", "Puppet: could not retrieve catalog", phaseCatalog)})
	}
	if rxCycleHead.MatchString(body) || strings.HasPrefix(body, "Failed to apply catalog: Found ") {
		if multi {
			if c, ok := cycleCause(host, firstCycleLine(rest)); ok {
				return out(puppetLine{Action: actCause, Cause: c})
			}
		}
		return out(puppetLine{Action: actContinued})
	}
	if rxCycleLine.MatchString(body) {
		if c, ok := cycleCause(host, body); ok {
			return out(puppetLine{Action: actCause, Cause: c})
		}
	}
	if r, ok := strings.CutPrefix(body, "Could not retrieve catalog from remote server: "); ok {
		if m := rxNoRoutes.FindStringSubmatch(r); m != nil {
			// The route failures were logged just before, with the server.
			return out(puppetLine{Action: actConsequence, Cause: noRouteCause(m[1])})
		}
		return out(puppetLine{Action: actCause, Cause: catalogCause(host, r)})
	}
	if r, ok := strings.CutPrefix(body, "Failed to apply catalog: "); ok {
		if strings.Contains(r, "dependency cycles detected") {
			return out(puppetLine{Action: actConsequence, Cause: newCause("cycle", "unknown resources", "Puppet: dependency cycle", phaseCatalog)})
		}
		return out(puppetLine{Action: actCause, Cause: catalogCause(host, r)})
	}
	if m := rxRouteTo.FindStringSubmatch(body); m != nil {
		server := strings.TrimPrefix(strings.TrimPrefix(m[1], "https://"), "http://")
		return out(puppetLine{Action: actCause, Cause: newCause("unreachable", server,
			"Puppet: cannot connect to puppet server "+server, phaseCatalog)})
	}
	if m := rxNoRoutes.FindStringSubmatch(body); m != nil {
		return out(puppetLine{Action: actConsequence, Cause: noRouteCause(m[1])})
	}
	if r, ok := strings.CutPrefix(body, "Could not send report: "); ok {
		c := genericCause(host, "report", stripServerError(r), phasePost)
		c.Title = "Puppet: could not send report: " + shorten(c.Identity, 100)
		if isSSL(r) || rxTCP.MatchString(r) || rxNoRoutes.MatchString(r) {
			// The run itself failed on the same connection problem.
			return out(puppetLine{Action: actConsequence, Cause: c})
		}
		return out(puppetLine{Action: actCause, Cause: c})
	}
	if isSSL(body) {
		return out(puppetLine{Action: actCause, Cause: sslCause(host, body)})
	}
	if strings.HasPrefix(body, "Evaluation Error: ") || strings.HasPrefix(body, "Could not parse for environment") ||
		rxLookup.MatchString(body) || rxClass.MatchString(body) || rxDependency.MatchString(body) {
		// puppet apply compiles locally: the compile error appears bare.
		return out(puppetLine{Action: actCause, Cause: catalogCause(host, body)})
	}
	if m := rxTCP.FindStringSubmatch(body); m != nil {
		return out(puppetLine{Action: actContinued}) // the "Wrapped exception" of a route failure
	}
	for _, rx := range puppetDuplicates {
		if rx.MatchString(body) {
			return out(puppetLine{Action: actContinued})
		}
	}
	if !isErr {
		return puppetLine{}
	}
	return out(puppetLine{Action: actUnknown, Cause: genericCause(host, "error", body, phaseResource)})
}

// splitPuppetLine separates the level prefix of console output ("Error: ")
// and the source ("(/Stage[main]/...) " as syslog writes it, or
// "/Stage[main]/...: " as the console does) from the message.
func splitPuppetLine(level, line string) (lvl, source, body string) {
	lvl = level
	for _, p := range []string{"Error: ", "Warning: ", "Notice: ", "Info: ", "Debug: ", "Critical: ", "Alert: ", "Emergency: "} {
		if r, ok := strings.CutPrefix(line, p); ok {
			if lvl == "" {
				lvl = strings.TrimSuffix(p, ": ")
			}
			line = r
			break
		}
	}
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "(") && !rxCycleLine.MatchString(line) {
		if end := closing(line, 0, '(', ')'); end > 0 && end+1 < len(line) && line[end+1] == ' ' {
			return lvl, line[1:end], strings.TrimSpace(line[end+2:])
		}
	}
	if strings.HasPrefix(line, "/Stage[") || strings.HasPrefix(line, "Facter: ") {
		// Console format: the source ends at the first ": " outside brackets.
		depth := 0
		for i := 0; i+1 < len(line); i++ {
			switch line[i] {
			case '[':
				depth++
			case ']':
				depth--
			case ':':
				if depth == 0 && line[i+1] == ' ' {
					return lvl, line[:i], strings.TrimSpace(line[i+2:])
				}
			}
		}
	}
	return lvl, "", line
}

// closing returns the index of the bracket closing the one at start,
// ignoring brackets inside resource titles ([...]), or -1.
func closing(s string, start int, open, close byte) int {
	depth, sq := 0, 0
	for i := start; i < len(s); i++ {
		switch s[i] {
		case '[':
			sq++
		case ']':
			if sq > 0 {
				sq--
			}
		case open:
			if sq == 0 {
				depth++
			}
		case close:
			if sq == 0 {
				depth--
				if depth == 0 {
					return i
				}
			}
		}
	}
	return -1
}

func errorLevel(l string) bool {
	switch strings.ToUpper(strings.TrimSpace(l)) {
	case "ERR", "ERROR", "CRIT", "CRITICAL", "ALERT", "EMERG", "EMERGENCY", "FATAL", "0", "1", "2", "3":
		return true
	}
	return false
}

func isResourcePath(src string) bool {
	return strings.HasPrefix(src, "/") || resourceOf(src) != ""
}

// splitResourcePath splits "/Stage[main]/Profile::Foo/Service[nginx]/ensure"
// at the slashes outside brackets (titles may hold paths).
func splitResourcePath(src string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(src); i++ {
		switch src[i] {
		case '[':
			depth++
		case ']':
			depth--
		case '/':
			if depth == 0 {
				if i > start {
					parts = append(parts, src[start:i])
				}
				start = i + 1
			}
		}
	}
	if start < len(src) {
		parts = append(parts, src[start:])
	}
	return parts
}

var rxResource = regexp.MustCompile(`^([A-Z][\w]*(?:::[A-Z]?\w+)*)\[(.*)\]$`)

// resourceOf returns the innermost "Type[title]" of a resource path.
func resourceOf(src string) string {
	parts := splitResourcePath(src)
	for i := len(parts) - 1; i >= 0; i-- {
		if rxResource.MatchString(parts[i]) && !strings.HasPrefix(parts[i], "Stage[") {
			return parts[i]
		}
	}
	return ""
}

func classifyResource(host, source, body string, isErr bool) puppetLine {
	switch {
	case strings.HasPrefix(body, "Dependency ") && strings.Contains(body, " has failures"),
		strings.HasPrefix(body, "Skipping because of failed dependencies"):
		// Consequences: the failing dependency is reported on its own line.
		return puppetLine{}
	case !isErr:
		return puppetLine{} // changes, refreshes: a run doing its job
	}
	if m := rxDependency.FindStringSubmatch(body); m != nil {
		return puppetLine{Action: actCause, Cause: dependencyCause(host, m[1], m[2])}
	}
	res := resourceOf(source)
	if res == "" {
		return puppetLine{Action: actUnknown, Cause: genericCause(host, "error", source+": "+body, phaseResource)}
	}
	if !rxResourceFailure.MatchString(body) {
		// An error-level line of a resource that says nothing of failing is
		// the continuation of its multi-line message (apt, journalctl output).
		return puppetLine{Action: actContinued}
	}
	m := rxResource.FindStringSubmatch(res)
	typ, title := m[1], maskTitle(host, m[2])
	id := typ + "[" + title + "]"
	to := ""
	if c := rxChange.FindStringSubmatch(body); c != nil {
		to = strings.Trim(c[2], "'[]\" ")
	}
	var cat, verb string
	switch typ {
	case "Service":
		cat, verb = "service", "failed"
		switch to {
		case "running", "true":
			verb = "failed to start"
		case "stopped", "false":
			verb = "failed to stop"
		}
		if strings.HasPrefix(body, "Failed to call refresh") {
			verb = "failed to restart"
		}
	case "Package":
		cat, verb = "package", "failed"
		switch to {
		case "purged", "absent":
			verb = "failed to remove"
		case "":
		default:
			verb = "failed to install"
		}
	case "Exec":
		cat, verb = "exec", "failed"
	case "File":
		cat, verb = "file", "failed"
	default:
		cat, verb = "resource", "failed"
	}
	return puppetLine{Action: actCause, Cause: newCause(cat, id, "Puppet: "+id+" "+verb, phaseResource)}
}

// catalogCause interprets why the run got no catalog (or could not apply it).
func catalogCause(host, r string) PuppetCause {
	r = strings.TrimSpace(r)
	if isSSL(r) {
		return sslCause(host, r)
	}
	if m := rxTCP.FindStringSubmatch(r); m != nil && !rxHTTPErr.MatchString(r) {
		return newCause("unreachable", m[1], "Puppet: cannot connect to puppet server "+m[1], phaseCatalog)
	}
	if m := rxNoRoutes.FindStringSubmatch(r); m != nil {
		return noRouteCause(m[1])
	}
	status := ""
	if m := rxHTTPErr.FindStringSubmatch(r); m != nil {
		status = m[1]
	}
	e := stripServerError(r)
	e = strings.TrimPrefix(e, "Could not parse for environment ")
	if i := strings.Index(e, ": "); i > 0 && !strings.Contains(e[:i], " ") && strings.HasPrefix(r, "Could not parse") {
		e = e[i+2:] // the environment name
	}
	e = rxEvalPrefix.ReplaceAllString(e, "")
	switch {
	case rxClass.MatchString(e):
		cls := strings.ToLower(rxClass.FindStringSubmatch(e)[1])
		return newCause("class", cls, "Puppet: could not find class "+cls, phaseCatalog)
	case rxLookup.MatchString(e):
		key := rxLookup.FindStringSubmatch(e)[1]
		return newCause("hiera", key, "Puppet: missing hiera key "+key, phaseCatalog)
	case rxParam.MatchString(e):
		m := rxParam.FindStringSubmatch(e)
		res := maskTitle(host, m[1])
		return newCause("class-param", res+" "+m[2], "Puppet: "+res+" expects a value for parameter '"+m[2]+"'", phaseCatalog)
	case rxDuplicate.MatchString(e):
		res := maskTitle(host, rxDuplicate.FindStringSubmatch(e)[1])
		return newCause("duplicate", res, "Puppet: duplicate declaration of "+res, phaseCatalog)
	case rxNoResource.MatchString(e):
		res := maskTitle(host, rxNoResource.FindStringSubmatch(e)[1])
		return newCause("missing-resource", res, "Puppet: could not find resource "+res, phaseCatalog)
	case rxDependency.MatchString(e):
		m := rxDependency.FindStringSubmatch(e)
		return dependencyCause(host, m[1], m[2])
	}
	c := genericCause(host, "catalog", e, phaseCatalog)
	if status != "" {
		c = newCause("catalog", "HTTP "+status+": "+c.Identity, "", phaseCatalog)
	}
	c.Title = "Puppet: catalog failed: " + shorten(c.Identity, 100)
	return c
}

func noRouteCause(service string) PuppetCause {
	return newCause("unreachable", "no route to "+service, "Puppet: no route to the puppet "+service+" service", phaseCatalog)
}

func stripServerError(r string) string {
	r = rxHTTPErr.ReplaceAllString(r, "")
	return strings.TrimPrefix(r, "Server Error: ")
}

func dependencyCause(host, dep, of string) PuppetCause {
	dep, of = maskTitle(host, dep), maskTitle(host, of)
	return newCause("dependency", dep+" for "+of, "Puppet: could not find dependency "+dep+" for "+of, phaseCatalog)
}

func isSSL(s string) bool {
	for _, p := range []string{"certificate verify failed", "SSL_connect", "Could not request certificate",
		"does not match the agent's private key", "Certificate request does not match",
		"CA certificate is missing", "certificate revocation list", "CRL is missing", "SSL_read", "SSL_write"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

func sslCause(host, s string) PuppetCause {
	c := genericCause(host, "ssl", stripServerError(s), phaseCatalog)
	c.Title = "Puppet: TLS/certificate error: " + shorten(c.Identity, 100)
	return c
}

// cycleCause builds the cause of "(A => B => C => A)": the set of resources
// in the cycle, starting at the smallest so that where puppet entered the
// cycle does not matter.
func cycleCause(host, line string) (PuppetCause, bool) {
	line = strings.TrimSpace(line)
	end := closing(line, 0, '(', ')')
	if !strings.HasPrefix(line, "(") || end < 0 {
		return PuppetCause{}, false
	}
	parts := strings.Split(line[1:end], " => ")
	if len(parts) > 1 && parts[0] == parts[len(parts)-1] {
		parts = parts[:len(parts)-1]
	}
	for i := range parts {
		parts[i] = maskTitle(host, strings.TrimSpace(parts[i]))
	}
	low := 0
	for i := range parts {
		if parts[i] < parts[low] {
			low = i
		}
	}
	parts = append(parts[low:], parts[:low]...)
	id := strings.Join(parts, " => ")
	return newCause("cycle", id, "Puppet: dependency cycle "+shorten(id, 150), phaseCatalog), true
}

func firstCycleLine(rest string) string {
	for l := range strings.SplitSeq(rest, "\n") {
		if l = strings.TrimSpace(l); rxCycleLine.MatchString(l) {
			return l
		}
	}
	return ""
}

func genericCause(host, cat, text string, ph puppetPhase) PuppetCause {
	id := maskMessage(host, text)
	return newCause(cat, id, "Puppet: "+shorten(id, 120), ph)
}

func newCause(cat, identity, title string, ph puppetPhase) PuppetCause {
	sum := sha256.Sum256([]byte("puppet\x00" + cat + "\x00" + identity))
	return PuppetCause{ID: hex.EncodeToString(sum[:8]), Category: cat, Identity: identity, Title: title, Phase: ph}
}

// maskMessage removes from free text what varies between hosts and runs
// without changing the cause: manifest locations (the file is kept, relative
// to its module, the line and column are not), host and node names,
// addresses, temporary paths, ids and numbers.
func maskMessage(host, s string) string {
	s = rxLocation.ReplaceAllStringFunc(s, func(loc string) string {
		m := rxLocation.FindStringSubmatch(loc)
		if m[1] == "" {
			if strings.Contains(loc, "line:") {
				return ""
			}
			return loc
		}
		return " (file: " + manifestPath(m[1]) + ")"
	})
	s = rxAtFile.ReplaceAllStringFunc(s, func(at string) string {
		return " at " + manifestPath(rxAtFile.FindStringSubmatch(at)[1])
	})
	s = maskHost(host, s)
	s = rxOnNode.ReplaceAllString(s, " $1 <host>")
	s = rxPeer.ReplaceAllString(s, "")
	s = rxUUID.ReplaceAllString(s, "<uuid>")
	s = rxTmp.ReplaceAllString(s, "$1/<tmp>")
	s = rxIPv4.ReplaceAllString(s, "<ip>")
	s = rxHex.ReplaceAllStringFunc(s, func(h string) string {
		if len(h) < 8 {
			return h
		}
		return "<hex>"
	})
	s = rxNumber.ReplaceAllString(s, "<N>")
	return strings.TrimSpace(rxSpaces.ReplaceAllString(s, " "))
}

// maskTitle keeps a resource title as it is (Service[nginx] and
// Package[php7.4-fpm] are distinct causes) except for what is host- or
// run-specific: host names, addresses, long numbers, ids. (A managed file
// under /tmp is still that file: temporary paths are masked in messages only.)
func maskTitle(host, s string) string {
	s = maskHost(host, s)
	s = rxUUID.ReplaceAllString(s, "<uuid>")
	s = rxIPv4.ReplaceAllString(s, "<ip>")
	s = rxHex.ReplaceAllStringFunc(s, func(h string) string {
		if len(h) < 12 {
			return h
		}
		return "<hex>"
	})
	return rxLongNumber.ReplaceAllString(s, "<N>")
}

func maskHost(host, s string) string {
	host = strings.ToLower(strings.TrimSpace(host))
	if host != "" {
		s = strings.ReplaceAll(s, host, "<host>")
		if short, _, ok := strings.Cut(host, "."); ok && len(short) >= 4 {
			s = replaceWord(s, short, "<host>")
		}
	}
	return rxFQDN.ReplaceAllString(s, "<host>")
}

// replaceWord replaces w in s where it is not part of a longer word.
func replaceWord(s, w, with string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, w)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		before := i == 0 || !wordByte(s[i-1])
		after := i+len(w) == len(s) || !wordByte(s[i+len(w)])
		b.WriteString(s[:i])
		if before && after {
			b.WriteString(with)
		} else {
			b.WriteString(w)
		}
		s = s[i+len(w):]
	}
}

func wordByte(c byte) bool {
	return c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// manifestPath reduces a manifest path to what is the same on every
// puppetmaster: "modules/profile/manifests/foo.pp", "manifests/site.pp".
func manifestPath(p string) string {
	p = strings.TrimSpace(p)
	if i := strings.LastIndex(p, "/modules/"); i >= 0 {
		return p[i+1:]
	}
	if i := strings.LastIndex(p, "/manifests/"); i >= 0 {
		return p[i+1:]
	}
	if strings.HasPrefix(p, "/") {
		return path.Base(p)
	}
	return p
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
