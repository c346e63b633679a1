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
	puppetPhaseResource puppetPhase = iota
	// The run did not get (or could not apply) a catalog at all: compile
	// errors, an unreachable server, TLS problems, dependency cycles. A run
	// fails on at most one of these, so a newer one replaces older ones.
	puppetPhaseCatalog
	// After the run: sending the report. Seen after "Applied catalog".
	puppetPhasePost
	// Anywhere in the run, before the apply phase too (facter, unknown
	// errors): gone when a run that applied a catalog did not log it.
	puppetPhaseRun
	// The run could not talk to the server at all (outage, TLS): it shows
	// nothing of what comes later, but proves nothing else either.
	puppetPhaseConnect
)

// puppetStage orders the phases by how far a run gets: a run failing at a
// stage shows nothing of the later stages (their causes are hidden, not
// recovered) and proves the earlier ones are gone.
func (p puppetPhase) stage() int {
	switch p {
	case puppetPhaseConnect:
		return 0
	case puppetPhaseCatalog:
		return 1
	case puppetPhaseResource:
		return 3
	case puppetPhasePost:
		return 4
	}
	return 2 // run: anywhere
}

func (p puppetPhase) String() string {
	switch p {
	case puppetPhaseCatalog:
		return "catalog"
	case puppetPhasePost:
		return "post"
	case puppetPhaseRun:
		return "run"
	case puppetPhaseConnect:
		return "connect"
	}
	return "resource"
}

func parsePuppetPhase(s string) puppetPhase {
	switch s {
	case "catalog":
		return puppetPhaseCatalog
	case "post":
		return puppetPhasePost
	case "run":
		return puppetPhaseRun
	case "connect":
		return puppetPhaseConnect
	}
	return puppetPhaseResource
}

type puppetAction uint8

const (
	puppetActIgnore      puppetAction = iota // informational, or not about failures
	puppetActCause                           // a failure with its cause
	puppetActUnknown                         // an unrecognised error line: a cause unless it continues a message
	puppetActContinued                       // only repeats or continues another line; opens a continuation window
	puppetActConsequence                     // follows from a failure logged just before; Cause is the fallback
	puppetActRunEnd                          // "Applied catalog in N seconds"
	puppetActDisabled                        // puppet agent --disable
	puppetActLocked                          // another run holds the lock
	puppetActHead                            // the first line of a message whose reason follows (template errors); Note is what failed
	puppetActDetail                          // the reason line of such a message; Note is the reason
	puppetActIssuer                          // the agent cannot find its certificate's issuer; Note names the CA
)

// puppetLine is the meaning of one line.
type puppetLine struct {
	Action   puppetAction
	Cause    PuppetCause
	Duration time.Duration // of the run, for puppetActRunEnd
	Note     string        // disable reason, template name, reason or issuer
	Error    bool          // logged at error level or worse
}

// puppetContWindow bounds how long after a multi-line message its continuation
// lines can arrive: syslog writes them in one go, with the same timestamp.
const puppetContWindow = 2 * time.Second

var (
	puppetRxRunEnd     = regexp.MustCompile(`^(?:Applied catalog|Finished catalog run) in ([0-9.]+) seconds`)
	puppetRxDisabled   = regexp.MustCompile(`^Skipping run of Puppet configuration client; administratively disabled \(Reason: '(.*)'\);?`)
	puppetRxLocked     = regexp.MustCompile(`^Run of Puppet configuration client already in progress`)
	puppetRxCycleHead  = regexp.MustCompile(`^Found \d+ dependency cycles?:?`)
	puppetRxCycleLine  = regexp.MustCompile(`^\(([A-Z][\w:]*\[.*\] => )+[A-Z][\w:]*\[.*\]\)`)
	puppetRxRouteTo    = regexp.MustCompile(`^Connection to (https?://[^/\s]+)\S* failed, trying next route(?:: .*failed after [0-9.]+ seconds: (.*))?`)
	puppetRxIssuer     = regexp.MustCompile(`^The issuer '([^']*)' of certificate '[^']*' cannot be found locally`)
	puppetRxTemplate   = regexp.MustCompile(`Failed to parse template (\S+?):?$`)
	puppetRxDetail     = regexp.MustCompile(`^\s*Detail: (.+)`)
	puppetRxUnknownFn  = regexp.MustCompile(`Unknown function: '([\w:]+)'`)
	puppetRxUnknownTy  = regexp.MustCompile(`(?:Unknown resource type: '([\w:]+)'|Resource type not found: ([\w:]+))`)
	puppetRxSyntax     = regexp.MustCompile(`Syntax error at (.+?)(?: \(file: ([^,)]+)(?:, line: (\d+))?(?:, column: \d+)?\))`)
	puppetRxMismatch   = regexp.MustCompile(`([A-Z][\w:]*\[[^\]]*\]): parameter '(\w+)' (expects .+?, got \w+)`)
	puppetRxTCP        = regexp.MustCompile(`Failed to open TCP connection to (\S+) \(`)
	puppetRxNoRoutes   = regexp.MustCompile(`^No more routes to (\w+)`)
	puppetRxHTTPErr    = regexp.MustCompile(`^Error (\d{3}) on SERVER: `)
	puppetRxEvalPrefix = regexp.MustCompile(`^(?:Evaluation Error: )?(?:Error while evaluating a [\w ]+?, )?`)
	puppetRxClass      = regexp.MustCompile(`Could not find class (?:::)?([\w:]+)`)
	puppetRxLookup     = regexp.MustCompile(`(?:Function lookup\(\) did not find a value for the name|Could not find data item|Lookup of key) '([^']+)'`)
	puppetRxParam      = regexp.MustCompile(`([A-Z][\w:]*\[[^\]]*\]): expects a value for parameter '(\w+)'`)
	puppetRxDuplicate  = regexp.MustCompile(`Duplicate declaration: ([A-Z][\w:]*\[.*?\]) is already declared`)
	puppetRxNoResource = regexp.MustCompile(`Could not find resource '([^']+)' (?:in parameter|for relationship)`)
	puppetRxDependency = regexp.MustCompile(`Could not find dependency ([A-Z][\w:]*\[.*?\]) for ([A-Z][\w:]*\[.*?\])`)
	puppetRxChange     = regexp.MustCompile(`^change from (.*) to (.*) failed: `)
	puppetRxLocation   = regexp.MustCompile(` ?\((?:file: ([^,)]+))?(?:, )?(?:line: \d+)?(?:, )?(?:column: \d+)?\)`)
	puppetRxAtFile     = regexp.MustCompile(` at (/\S+?)(?::\d+)+`)
	puppetRxOnNode     = regexp.MustCompile(` (on node|for node|for) ([a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+)`)
	// Host names end in a domain, not a file extension (elasticsearch.yml.erb).
	puppetRxFQDN       = regexp.MustCompile(`\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:cloud|wmnet|wikimedia|org|net|com|local|localdomain|internal|lan|io|edu|eu|de|uk|fr|nl)\b`)
	puppetRxIPv4       = regexp.MustCompile(`\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b`)
	puppetRxUUID       = regexp.MustCompile(`\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b`)
	puppetRxHex        = regexp.MustCompile(`\b[0-9a-f]*[0-9][0-9a-f]*[a-f][0-9a-f]*\b|\b[0-9a-f]*[a-f][0-9a-f]*[0-9][0-9a-f]*\b`)
	puppetRxTmp        = regexp.MustCompile(`(/(?:var/)?tmp)/[^\s'"\]\),;:]+`)
	puppetRxNumber     = regexp.MustCompile(`\b\d+(?:\.\d+)*\b`)
	puppetRxLongNumber = regexp.MustCompile(`\b\d{5,}\b`)
	puppetRxSpaces     = regexp.MustCompile(`\s+`)
	puppetRxPeer       = regexp.MustCompile(` ?peeraddr=\S+`)
	// How a resource's failure message starts; its other lines (command
	// output, journal excerpts) are not failures of their own even when they
	// say "failed".
	puppetRxResourceFailure = regexp.MustCompile(`^(?:change from .* failed: |Failed to |Could not |Unable to |Cannot |Provider \S+ is not functional|'.*' returned \d+ instead of one of|Error: )`)
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
	// The Exec's own line ("(/Stage[main]/.../Exec[x]/returns) change from
	// ... failed: Command exceeded timeout") follows and names it.
	regexp.MustCompile(`^Command exceeded timeout`),
	regexp.MustCompile(`^Connection reset by peer`),
}

// classifyPuppet interprets one line (one syslog event) of host's agent.
// level is the syslog severity as shipped ("err", "ERROR", "3", ...), "" if
// unknown.
func classifyPuppet(host, level, msg string) puppetLine {
	msg = strings.TrimRight(msg, "\r\n ")
	first, rest, multi := strings.Cut(msg, "\n")
	lvl, source, body := splitPuppetLine(level, first)
	isErr := puppetErrorLevel(lvl)
	out := func(l puppetLine) puppetLine { l.Error = isErr; return l }

	if source != "" {
		if puppetIsResourcePath(source) {
			return out(puppetClassifyResource(host, source, body, isErr))
		}
		// Facter and other named sources: the source is part of the cause.
		if !isErr {
			return puppetLine{}
		}
		c := puppetGenericCause(host, "error", source+": "+body, puppetPhaseRun)
		return out(puppetLine{Action: puppetActUnknown, Cause: c})
	}

	if m := puppetRxRunEnd.FindStringSubmatch(body); m != nil {
		secs, _ := strconv.ParseFloat(m[1], 64)
		return out(puppetLine{Action: puppetActRunEnd, Duration: time.Duration(secs * float64(time.Second))})
	}
	if m := puppetRxDisabled.FindStringSubmatch(body); m != nil {
		return out(puppetLine{Action: puppetActDisabled, Note: m[1]})
	}
	if puppetRxLocked.MatchString(body) {
		return out(puppetLine{Action: puppetActLocked})
	}
	if m := puppetRxIssuer.FindStringSubmatch(body); m != nil {
		ca := strings.TrimPrefix(strings.TrimPrefix(m[1], "CN="), "Puppet CA: ")
		return out(puppetLine{Action: puppetActIssuer, Note: ca})
	}
	if m := puppetRxTemplate.FindStringSubmatch(body); m != nil {
		return out(puppetLine{Action: puppetActHead, Note: m[1]})
	}
	if m := puppetRxDetail.FindStringSubmatch(body); m != nil {
		return out(puppetLine{Action: puppetActDetail, Note: m[1]})
	}
	if strings.HasPrefix(body, "Could not retrieve catalog; skipping run") {
		return out(puppetLine{Action: puppetActConsequence, Cause: newPuppetCause("catalog", "could not retrieve catalog", "Puppet: could not retrieve catalog", puppetPhaseCatalog)})
	}
	if puppetRxCycleHead.MatchString(body) || strings.HasPrefix(body, "Failed to apply catalog: Found ") {
		if multi {
			if c, ok := puppetCycleCause(host, puppetFirstCycleLine(rest)); ok {
				return out(puppetLine{Action: puppetActCause, Cause: c})
			}
		}
		return out(puppetLine{Action: puppetActContinued})
	}
	if puppetRxCycleLine.MatchString(body) {
		if c, ok := puppetCycleCause(host, body); ok {
			return out(puppetLine{Action: puppetActCause, Cause: c})
		}
	}
	if r, ok := strings.CutPrefix(body, "Could not retrieve catalog from remote server: "); ok {
		if m := puppetRxNoRoutes.FindStringSubmatch(r); m != nil {
			// The route failures were logged just before, with the server.
			return out(puppetLine{Action: puppetActConsequence, Cause: puppetNoRouteCause(m[1])})
		}
		return out(puppetLine{Action: puppetActCause, Cause: puppetCatalogCause(host, r)})
	}
	if r, ok := strings.CutPrefix(body, "Failed to apply catalog: "); ok {
		if strings.Contains(r, "dependency cycles detected") {
			return out(puppetLine{Action: puppetActConsequence, Cause: newPuppetCause("cycle", "unknown resources", "Puppet: dependency cycle", puppetPhaseCatalog)})
		}
		return out(puppetLine{Action: puppetActCause, Cause: puppetCatalogCause(host, r)})
	}
	if m := puppetRxRouteTo.FindStringSubmatch(body); m != nil {
		server := strings.TrimPrefix(strings.TrimPrefix(m[1], "https://"), "http://")
		l := puppetLine{Action: puppetActCause, Cause: puppetUnreachableCause(server, m[2])}
		if strings.Contains(m[2], "Connection reset by peer") && strings.Contains(m[2], "SSL") {
			// The server dropped the TLS handshake: with the issuer warning
			// just before, it is rejecting the agent's certificate.
			l.Note = puppetNoteTLSReset
		}
		return out(l)
	}
	if m := puppetRxNoRoutes.FindStringSubmatch(body); m != nil {
		return out(puppetLine{Action: puppetActConsequence, Cause: puppetNoRouteCause(m[1])})
	}
	if r, ok := strings.CutPrefix(body, "Could not send report: "); ok {
		c := puppetGenericCause(host, "report", puppetStripServerError(r), puppetPhasePost)
		c.Title = "Puppet: could not send report: " + puppetShorten(puppetReportReason(c.Identity), 100)
		if puppetIsSSL(r) || puppetRxTCP.MatchString(r) || puppetRxNoRoutes.MatchString(r) {
			// The run itself failed on the same connection problem.
			return out(puppetLine{Action: puppetActConsequence, Cause: c})
		}
		return out(puppetLine{Action: puppetActCause, Cause: c})
	}
	if strings.HasPrefix(body, "Connection reset by peer") {
		return out(puppetLine{Action: puppetActContinued}) // the "Wrapped exception" of a route failure
	}
	if puppetIsSSL(body) {
		return out(puppetLine{Action: puppetActCause, Cause: puppetSSLCause(host, body)})
	}
	if strings.HasPrefix(body, "Evaluation Error: ") || strings.HasPrefix(body, "Could not parse for environment") ||
		puppetRxLookup.MatchString(body) || puppetRxClass.MatchString(body) || puppetRxDependency.MatchString(body) {
		// puppet apply compiles locally: the compile error appears bare.
		return out(puppetLine{Action: puppetActCause, Cause: puppetCatalogCause(host, body)})
	}
	if m := puppetRxTCP.FindStringSubmatch(body); m != nil {
		return out(puppetLine{Action: puppetActContinued}) // the "Wrapped exception" of a route failure
	}
	for _, rx := range puppetDuplicates {
		if rx.MatchString(body) {
			return out(puppetLine{Action: puppetActContinued})
		}
	}
	if !isErr {
		return puppetLine{}
	}
	return out(puppetLine{Action: puppetActUnknown, Cause: puppetGenericCause(host, "error", body, puppetPhaseRun)})
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
	if strings.HasPrefix(line, "(") && !puppetRxCycleLine.MatchString(line) {
		if end := puppetClosing(line, 0, '(', ')'); end > 0 && end+1 < len(line) && line[end+1] == ' ' {
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

// puppetClosing returns the index of the bracket puppetClosing the one at start,
// ignoring brackets inside resource titles ([...]), or -1.
func puppetClosing(s string, start int, open, close byte) int {
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

func puppetErrorLevel(l string) bool {
	switch strings.ToUpper(strings.TrimSpace(l)) {
	case "ERR", "ERROR", "CRIT", "CRITICAL", "ALERT", "EMERG", "EMERGENCY", "FATAL", "0", "1", "2", "3":
		return true
	}
	return false
}

func puppetIsResourcePath(src string) bool {
	return strings.HasPrefix(src, "/") || puppetResourceOf(src) != ""
}

// puppetSplitResourcePath splits "/Stage[main]/Profile::Foo/Service[nginx]/ensure"
// at the slashes outside brackets (titles may hold paths).
func puppetSplitResourcePath(src string) []string {
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

var puppetRxResource = regexp.MustCompile(`^([A-Z][\w]*(?:::[A-Z]?\w+)*)\[(.*)\]$`)

// puppetResourceOf returns the innermost "Type[title]" of a resource path.
func puppetResourceOf(src string) string {
	parts := puppetSplitResourcePath(src)
	for i := len(parts) - 1; i >= 0; i-- {
		if puppetRxResource.MatchString(parts[i]) && !strings.HasPrefix(parts[i], "Stage[") {
			return parts[i]
		}
	}
	return ""
}

func puppetClassifyResource(host, source, body string, isErr bool) puppetLine {
	switch {
	case strings.HasPrefix(body, "Dependency ") && strings.Contains(body, " has failures"),
		strings.HasPrefix(body, "Skipping because of failed dependencies"):
		// Consequences: the failing dependency is reported on its own line.
		return puppetLine{}
	case !isErr:
		return puppetLine{} // changes, refreshes: a run doing its job
	}
	if m := puppetRxDependency.FindStringSubmatch(body); m != nil {
		return puppetLine{Action: puppetActCause, Cause: puppetDependencyCause(host, m[1], m[2])}
	}
	res := puppetResourceOf(source)
	if res == "" {
		return puppetLine{Action: puppetActUnknown, Cause: puppetGenericCause(host, "error", source+": "+body, puppetPhaseRun)}
	}
	if !puppetRxResourceFailure.MatchString(body) {
		// An error-level line of a resource that says nothing of failing is
		// the continuation of its multi-line message (apt, journalctl output).
		return puppetLine{Action: puppetActContinued}
	}
	m := puppetRxResource.FindStringSubmatch(res)
	typ, title := m[1], puppetMaskTitle(host, m[2])
	id := typ + "[" + title + "]"
	to := ""
	if c := puppetRxChange.FindStringSubmatch(body); c != nil {
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
		if strings.Contains(body, "Command exceeded timeout") {
			verb = "timed out"
		}
	case "File":
		cat, verb = "file", "failed"
	default:
		cat, verb = "resource", "failed"
	}
	return puppetLine{Action: puppetActCause, Cause: newPuppetCause(cat, id, "Puppet: "+id+" "+verb, puppetPhaseResource)}
}

// puppetCatalogCause interprets why the run got no catalog (or could not apply it).
func puppetCatalogCause(host, r string) PuppetCause {
	r = strings.TrimSpace(r)
	if puppetIsSSL(r) {
		return puppetSSLCause(host, r)
	}
	if m := puppetRxTCP.FindStringSubmatch(r); m != nil && !puppetRxHTTPErr.MatchString(r) {
		return puppetUnreachableCause(m[1], r)
	}
	if m := puppetRxNoRoutes.FindStringSubmatch(r); m != nil {
		return puppetNoRouteCause(m[1])
	}
	status := ""
	if m := puppetRxHTTPErr.FindStringSubmatch(r); m != nil {
		status = m[1]
	}
	e := puppetStripServerError(r)
	e = strings.TrimPrefix(e, "Could not parse for environment ")
	if i := strings.Index(e, ": "); i > 0 && !strings.Contains(e[:i], " ") && strings.HasPrefix(r, "Could not parse") {
		e = e[i+2:] // the environment name
	}
	e = puppetRxEvalPrefix.ReplaceAllString(e, "")
	switch {
	case puppetRxClass.MatchString(e):
		cls := strings.ToLower(puppetRxClass.FindStringSubmatch(e)[1])
		return newPuppetCause("class", cls, "Puppet: could not find class "+cls, puppetPhaseCatalog)
	case puppetRxLookup.MatchString(e):
		key := puppetRxLookup.FindStringSubmatch(e)[1]
		return newPuppetCause("hiera", key, "Puppet: missing hiera key "+key, puppetPhaseCatalog)
	case puppetRxParam.MatchString(e):
		m := puppetRxParam.FindStringSubmatch(e)
		res := puppetMaskTitle(host, m[1])
		return newPuppetCause("class-param", res+" "+m[2], "Puppet: "+res+" expects a value for parameter '"+m[2]+"'", puppetPhaseCatalog)
	case puppetRxDuplicate.MatchString(e):
		res := puppetMaskTitle(host, puppetRxDuplicate.FindStringSubmatch(e)[1])
		return newPuppetCause("duplicate", res, "Puppet: duplicate declaration of "+res, puppetPhaseCatalog)
	case puppetRxNoResource.MatchString(e):
		res := puppetMaskTitle(host, puppetRxNoResource.FindStringSubmatch(e)[1])
		return newPuppetCause("missing-resource", res, "Puppet: could not find resource "+res, puppetPhaseCatalog)
	case puppetRxDependency.MatchString(e):
		m := puppetRxDependency.FindStringSubmatch(e)
		return puppetDependencyCause(host, m[1], m[2])
	case puppetRxUnknownFn.MatchString(e):
		fn := puppetRxUnknownFn.FindStringSubmatch(e)[1]
		return newPuppetCause("unknown-function", fn, "Puppet: unknown function "+fn+"()", puppetPhaseCatalog)
	case puppetRxUnknownTy.MatchString(e):
		m := puppetRxUnknownTy.FindStringSubmatch(e)
		ty := strings.ToLower(m[1] + m[2])
		return newPuppetCause("unknown-type", ty, "Puppet: unknown resource type "+ty, puppetPhaseCatalog)
	case puppetRxSyntax.MatchString(e):
		m := puppetRxSyntax.FindStringSubmatch(e)
		file := puppetManifestPath(m[2])
		at := file
		if m[3] != "" {
			at += ":" + m[3]
		}
		what := puppetMaskMessage(host, m[1])
		if what == "end of input" {
			at = "end of " + at
		}
		// The line moves as the file is edited: the file is the cause.
		return newPuppetCause("syntax", file, "Puppet: syntax error at "+at, puppetPhaseCatalog)
	case puppetRxMismatch.MatchString(e):
		m := puppetRxMismatch.FindStringSubmatch(e)
		res := puppetMaskTitle(host, m[1])
		return newPuppetCause("type-mismatch", res+" "+m[2], "Puppet: type mismatch for parameter "+m[2]+" of "+res+" ("+m[3]+")", puppetPhaseCatalog)
	}
	c := puppetGenericCause(host, "catalog", e, puppetPhaseCatalog)
	if status != "" {
		c = newPuppetCause("catalog", "HTTP "+status+": "+c.Identity, "", puppetPhaseCatalog)
	}
	c.Title = "Puppet: catalog failed: " + puppetShorten(puppetRxURL.ReplaceAllString(c.Identity, "<url>"), 100)
	return c
}

// puppetNoteTLSReset marks a route failure where the server reset the TLS
// handshake.
const puppetNoteTLSReset = "tls-reset"

var puppetRxURL = regexp.MustCompile(`https?://\S+`)

// puppetUnreachableCause is the puppet server being unreachable: the server,
// and the reason without URLs and timings ("Connection refused").
func puppetUnreachableCause(server, why string) PuppetCause {
	title := "Puppet: cannot connect to puppet server " + server
	if r := puppetConnReason(why); r != "" {
		title += ": " + r
	}
	return newPuppetCause("unreachable", server, title, puppetPhaseConnect)
}

func puppetConnReason(why string) string {
	for _, r := range []string{"Connection refused", "Connection reset by peer", "Net::ReadTimeout", "Net::OpenTimeout",
		"Name or service not known", "No route to host", "Connection timed out"} {
		if strings.Contains(why, r) {
			return r
		}
	}
	return ""
}

// puppetCertRejectedCause: the server resets the connection of an agent
// whose certificate it did not issue (the agent warned that it cannot find
// its certificate's issuer ca locally).
func puppetCertRejectedCause(ca string) PuppetCause {
	return newPuppetCause("ssl", "agent certificate rejected by "+ca, "Puppet: agent certificate rejected by "+ca, puppetPhaseConnect)
}

// puppetTemplateCause: a template failed to render; detail is the reason
// puppet gives on its "Detail:" line.
func puppetTemplateCause(host, tmpl, detail string) PuppetCause {
	reason := puppetMaskMessage(host, detail)
	return newPuppetCause("template", tmpl+": "+reason,
		"Puppet: template "+path.Base(tmpl)+" failed: "+puppetShorten(reason, 100), puppetPhaseCatalog)
}

// puppetReportReason keeps the reason of a report failure: "Could not write
// report for <fqdn>: No space left on device @ rb_sysopen - /var/..." is "No
// space left on device".
func puppetReportReason(s string) string {
	if i := strings.Index(s, " @ "); i > 0 {
		s = s[:i]
	}
	if i := strings.LastIndex(s, ": "); i > 0 {
		s = s[i+2:]
	}
	return puppetRxURL.ReplaceAllString(s, "<url>")
}

func puppetNoRouteCause(service string) PuppetCause {
	return newPuppetCause("unreachable", "no route to "+service, "Puppet: no route to the puppet "+service+" service", puppetPhaseConnect)
}

func puppetStripServerError(r string) string {
	r = puppetRxHTTPErr.ReplaceAllString(r, "")
	return strings.TrimPrefix(r, "Server Error: ")
}

func puppetDependencyCause(host, dep, of string) PuppetCause {
	dep, of = puppetMaskTitle(host, dep), puppetMaskTitle(host, of)
	return newPuppetCause("dependency", dep+" for "+of, "Puppet: could not find dependency "+dep+" for "+of, puppetPhaseCatalog)
}

func puppetIsSSL(s string) bool {
	for _, p := range []string{"certificate verify failed", "SSL_connect", "Could not request certificate",
		"does not match the agent's private key", "Certificate request does not match",
		"CA certificate is missing", "certificate revocation list", "CRL is missing", "SSL_read", "SSL_write"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

func puppetSSLCause(host, s string) PuppetCause {
	c := puppetGenericCause(host, "ssl", puppetStripServerError(s), puppetPhaseConnect)
	c.Title = "Puppet: TLS/certificate error: " + puppetShorten(puppetRxURL.ReplaceAllString(c.Identity, "<url>"), 100)
	return c
}

// puppetCycleCause builds the cause of "(A => B => C => A)": the set of resources
// in the cycle, starting at the smallest so that where puppet entered the
// cycle does not matter.
func puppetCycleCause(host, line string) (PuppetCause, bool) {
	line = strings.TrimSpace(line)
	end := puppetClosing(line, 0, '(', ')')
	if !strings.HasPrefix(line, "(") || end < 0 {
		return PuppetCause{}, false
	}
	parts := strings.Split(line[1:end], " => ")
	if len(parts) > 1 && parts[0] == parts[len(parts)-1] {
		parts = parts[:len(parts)-1]
	}
	for i := range parts {
		parts[i] = puppetMaskTitle(host, strings.TrimSpace(parts[i]))
	}
	low := 0
	for i := range parts {
		if parts[i] < parts[low] {
			low = i
		}
	}
	parts = append(parts[low:], parts[:low]...)
	id := strings.Join(parts, " => ")
	return newPuppetCause("cycle", id, "Puppet: dependency cycle "+puppetShorten(id, 150), puppetPhaseCatalog), true
}

func puppetFirstCycleLine(rest string) string {
	for l := range strings.SplitSeq(rest, "\n") {
		if l = strings.TrimSpace(l); puppetRxCycleLine.MatchString(l) {
			return l
		}
	}
	return ""
}

func puppetGenericCause(host, cat, text string, ph puppetPhase) PuppetCause {
	id := puppetMaskMessage(host, text)
	return newPuppetCause(cat, id, "Puppet: "+puppetShorten(id, 120), ph)
}

func newPuppetCause(cat, identity, title string, ph puppetPhase) PuppetCause {
	sum := sha256.Sum256([]byte("puppet\x00" + cat + "\x00" + identity))
	return PuppetCause{ID: hex.EncodeToString(sum[:8]), Category: cat, Identity: identity, Title: title, Phase: ph}
}

// puppetMaskMessage removes from free text what varies between hosts and runs
// without changing the cause: manifest locations (the file is kept, relative
// to its module, the line and column are not), host and node names,
// addresses, temporary paths, ids and numbers.
func puppetMaskMessage(host, s string) string {
	s = puppetRxLocation.ReplaceAllStringFunc(s, func(loc string) string {
		m := puppetRxLocation.FindStringSubmatch(loc)
		if m[1] == "" {
			if strings.Contains(loc, "line:") {
				return ""
			}
			return loc
		}
		return " (file: " + puppetManifestPath(m[1]) + ")"
	})
	s = puppetRxAtFile.ReplaceAllStringFunc(s, func(at string) string {
		return " at " + puppetManifestPath(puppetRxAtFile.FindStringSubmatch(at)[1])
	})
	s = puppetMaskHost(host, s)
	s = puppetRxOnNode.ReplaceAllString(s, " $1 <fqdn>")
	s = puppetRxPeer.ReplaceAllString(s, "")
	s = puppetRxUUID.ReplaceAllString(s, "<uuid>")
	s = puppetRxTmp.ReplaceAllString(s, "$1/<tmp>")
	s = puppetRxIPv4.ReplaceAllString(s, "<ip>")
	s = puppetRxHex.ReplaceAllStringFunc(s, func(h string) string {
		if len(h) < 8 {
			return h
		}
		return "<hex>"
	})
	s = puppetRxNumber.ReplaceAllString(s, "<N>")
	return strings.TrimSpace(puppetRxSpaces.ReplaceAllString(s, " "))
}

// puppetMaskTitle keeps a resource title as it is (Service[nginx] and
// Package[php7.4-fpm] are distinct causes) except for what is host- or
// run-specific: host names, addresses, long numbers, ids. (A managed file
// under /tmp is still that file: temporary paths are masked in messages only.)
func puppetMaskTitle(host, s string) string {
	s = puppetMaskHost(host, s)
	s = puppetRxUUID.ReplaceAllString(s, "<uuid>")
	s = puppetRxIPv4.ReplaceAllString(s, "<ip>")
	s = puppetRxHex.ReplaceAllStringFunc(s, func(h string) string {
		if len(h) < 12 {
			return h
		}
		return "<hex>"
	})
	return puppetRxLongNumber.ReplaceAllString(s, "<N>")
}

func puppetMaskHost(host, s string) string {
	host = strings.ToLower(strings.TrimSpace(host))
	if host != "" {
		s = strings.ReplaceAll(s, host, "<fqdn>")
		if short, _, ok := strings.Cut(host, "."); ok && len(short) >= 4 {
			s = puppetReplaceWord(s, short, "<fqdn>")
		}
	}
	return puppetRxFQDN.ReplaceAllString(s, "<fqdn>")
}

// puppetReplaceWord replaces w in s where it is not part of a longer word.
func puppetReplaceWord(s, w, with string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, w)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		before := i == 0 || !puppetWordByte(s[i-1])
		after := i+len(w) == len(s) || !puppetWordByte(s[i+len(w)])
		b.WriteString(s[:i])
		if before && after {
			b.WriteString(with)
		} else {
			b.WriteString(w)
		}
		s = s[i+len(w):]
	}
}

func puppetWordByte(c byte) bool {
	return c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// puppetManifestPath reduces a manifest path to what is the same on every
// puppetmaster: "modules/profile/manifests/foo.pp", "manifests/site.pp".
func puppetManifestPath(p string) string {
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

func puppetShorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// puppetSortedKeys returns the keys of m in order.
func puppetSortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
