// Package signature turns MediaWiki log events into error signatures: a stable
// id and a readable title for "the same bug", however many times, on whichever
// wiki, host or train version it happens.
//
// A signature is computed from the channel, the exception class, the message
// parameterised by Mask (prefix and class stripped) and the top in-app frames
// of the trace with install root and line numbers removed. Wiki, host, request
// id and version are never part of it: they are facets of a signature.
//
// The hot path uses a hand-written scanner (no regexp) and two bounded caches
// per Fingerprinter, so that fingerprinting does not allocate once the caches
// are warm; bench_test.go has the benchmarks and the regexp baseline.
package signature

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/maphash"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/wikimedia/sheriff/internal/event"
)

// Signature identifies one error. Its fields must not be modified: a
// Fingerprinter hands out the same Frames slice for every event of a
// signature.
type Signature struct {
	ID       string   // 16 lowercase hex digits; stable across processes, versions and releases of sheriff (see idVersion)
	Channel  string   // MediaWiki channel
	Class    string   // exception class, "" for plain PHP errors
	Template string   // the parameterised message
	Frames   []string // normalised in-app frames (the caller), innermost first, e.g. "ApiMain->executeAction"
	Title    string   // short human title, <= MaxTitleBytes
}

// MaxFrames is how many in-app frames a signature keeps: the caller, the
// first in-app position of the trace. Deeper frames are the paths that led
// there (index.php, api.php, a job): one bug reached from several entry
// points is one bug, and the full trace is kept with the sample anyway.
const MaxFrames = 1

// MaxTitleBytes bounds Signature.Title (Phabricator task titles should stay short).
const MaxTitleBytes = 200

// MaxTemplateBytes bounds Signature.Template. Messages that differ only
// beyond it (long dumps) share a signature; it also bounds the memory a
// Fingerprinter's caches can hold (about 5 KB per cached signature at worst,
// a few hundred bytes typically).
const MaxTemplateBytes = 2048

// idVersion is hashed in front of every id. Bump it only when a change of Mask
// or of the frame normalisation is meant to change ids (every open task would
// be refiled under a new id).
const (
	idVersion       = "sheriff-signature-v2"
	idVersionManual = "sheriff-signature-v2-explicit"
)

// Cache bounds. When a cache is full it is emptied and refilled: simple, and
// with the working set of a real error stream (a few thousand signatures)
// misses stay rare.
const (
	maxCachedTemplates  = 8192
	maxCachedMsgBytes   = 1024
	maxCachedSigs       = 4096
	maxCachedTraces     = 2048
	maxCachedTraceBytes = 8192
	doorkeeperSlots     = 16384
)

// Fingerprinter computes signatures. It keeps scratch buffers and caches, so
// reuse one per goroutine; it is not safe for concurrent use.
type Fingerprinter struct {
	buf     []byte
	key     []byte
	head    []byte
	detail  []byte
	frames  []byte
	tmpl    map[string]string     // message -> template
	sigs    map[string]*Signature // canonical key -> signature
	traces  map[string]tracedFrames
	maxTmpl int // cache bounds; 0 disables a cache (benchmarks of the bare scanner)
	maxSigs int
	seen    []uint64 // doorkeeper of the template cache
	seed    maphash.Seed
}

// NewFingerprinter returns a Fingerprinter with empty caches.
func NewFingerprinter() *Fingerprinter {
	return &Fingerprinter{
		tmpl:    make(map[string]string),
		sigs:    make(map[string]*Signature),
		maxTmpl: maxCachedTemplates,
		maxSigs: maxCachedSigs,
	}
}

// Compute returns the signature of ev.
func (f *Fingerprinter) Compute(ev *event.Event) Signature {
	return f.compute(ev, idVersion, "", false)
}

// ComputeExplicit returns a signature whose ID is derived from the channel and
// an explicit fingerprint (a rule that regroups events), not from the event's
// message or trace; Template, Frames and Title still describe ev.
func (f *Fingerprinter) ComputeExplicit(ev *event.Event, fingerprint string) Signature {
	return f.compute(ev, idVersionManual, fingerprint, true)
}

func (f *Fingerprinter) compute(ev *event.Event, version, fingerprint string, explicit bool) Signature {
	if f.tmpl == nil { // the zero Fingerprinter works, without caches
		f.tmpl = make(map[string]string)
		f.sigs = make(map[string]*Signature)
	}
	class := strings.TrimPrefix(ev.ExcClass, `\`)
	job := ev.JobType != "" && ev.JobError != ""
	msg := Message(ev)
	if job {
		// runJobs logs Job::toString() (type, title, params, ids) and then
		// "t={job_duration} error={job_error}": the job type and the error
		// are the failure, the rest are its parameters
		msg = ev.JobError
	}
	timeLimit := isTimeLimit(msg)
	if timeLimit && ev.ExcMessage != "" {
		msg = ev.ExcMessage // without "from line N of F", which is anywhere
	}
	tmpl, ok := f.template(msg)
	if !ok {
		tmpl = unsafeString(f.buf) // valid until f.buf changes; copied below if kept
	}
	var nframes int
	where := ""
	switch {
	case timeLimit:
		f.frames = f.frames[:0]
		where = entryPoint(ev.URL, ev.CLIArgv)
	case calledIn(class, ev.ExcMessage):
		// the callee's frame is #0: judge it as PHP's own
		nframes = f.callers(ev.ExcTrace, "[internal function]")
	default:
		nframes = f.callers(ev.ExcTrace, ev.ExcFile)
	}

	// The canonical encoding of the signature inputs is both the cache key and
	// what the id hashes: length-prefixed parts, so no two inputs collide.
	// The id covers the identity parts only; the template follows them in
	// the key, so that the cache never changes a result.
	k := appendPart(f.key[:0], version)
	k = appendPart(k, ev.Channel)
	idLen := -1
	if explicit {
		k = appendPart(k, fingerprint)
		idLen = len(k)
	}
	k = appendPart(k, class)
	switch {
	case job:
		k = appendPart(k, "job "+ev.JobType)
		k = appendPart(k, firstLine(tmpl))
	case nframes > 0 && isDBClass(class):
		// the database's report: error number and text, and the function
		k = appendPart(k, firstLine(tmpl))
		k = appendPart(k, dbFunction(ev.ExcMessage))
	case nframes > 0 || where != "":
		f.head = appendHead(f.head[:0], tmpl)
		k = appendPartBytes(k, f.head)
		k = appendPart(k, where)
	default:
		k = appendPart(k, tmpl)
	}
	// An exception logged under the logger's own message ("Deferred update
	// {deferred_type} failed to run.", "Async refresh failed for {key}")
	// is refined by the exception's message: its head, or for a database
	// error its first line (errno and error).
	detail := exceptionDetail(ev, msg)
	if detail != "" {
		f.detail = Mask(f.detail[:0], detail)
		if isDBClass(class) {
			k = appendPartBytes(k, f.detail)
		} else {
			f.head = appendHead(f.head[:0], unsafeString(f.detail))
			k = appendPartBytes(k, f.head)
		}
	} else {
		k = appendPart(k, "")
	}
	k = appendPart(k, ev.Errno)
	k = appendPart(k, ev.Fname)
	if ev.DBError != "" {
		f.head = Mask(f.head[:0], firstLine(ev.DBError))
		k = appendPartBytes(k, f.head)
	} else {
		k = appendPart(k, "")
	}
	k = appendPartBytes(k, f.frames)
	if idLen < 0 {
		idLen = len(k)
	}
	k = appendPart(k, tmpl)
	f.key = k

	if s, hit := f.sigs[string(k)]; hit { // no allocation: the compiler recognises the lookup
		return *s
	}
	if !ok {
		tmpl = string(f.buf)
	}
	vals := TitleValues{Errno: ev.Errno, Fname: ev.Fname}
	if vals.Fname == "" {
		vals.Fname = dbFunction(ev.ExcMessage)
	}
	if detail != "" {
		vals.Detail = string(Mask(nil, detail))
	}
	if job {
		vals.Job = ev.JobType
	}
	vals.Where = where
	if ev.DBError != "" {
		vals.Error = string(Mask(nil, firstLine(ev.DBError)))
	}
	return f.add(k, idLen, ev.Channel, class, tmpl, nframes, vals)
}

// add builds the Signature for a key that is not in the cache.
func (f *Fingerprinter) add(key []byte, idLen int, channel, class, tmpl string, nframes int, vals TitleValues) Signature {
	sum := sha256.Sum256(key[:idLen])
	frames := make([]string, 0, nframes)
	for rest := string(f.frames); rest != ""; {
		k := strings.IndexByte(rest, '\n')
		frames = append(frames, rest[:k])
		rest = rest[k+1:]
	}
	s := &Signature{
		ID:       hex.EncodeToString(sum[:8]),
		Channel:  strings.Clone(channel),
		Class:    strings.Clone(class),
		Template: tmpl,
		Frames:   frames,
		Title:    TitleOf(class, tmpl, frames, vals),
	}
	if f.maxSigs > 0 {
		if len(f.sigs) >= f.maxSigs {
			clear(f.sigs)
		}
		f.sigs[string(key)] = s
	}
	return *s
}

// tracedFrames is a cached result of appendFrames.
type tracedFrames struct {
	excFile string
	frames  string
	n       int
}

// callers sets f.frames to the in-app frames of a trace and returns their
// number. The traces of one bug are mostly identical within a train, so the
// result is cached by trace (after a second sighting, like templates).
func (f *Fingerprinter) callers(trace, excFile string) int {
	if trace == "" {
		f.frames = f.frames[:0]
		return 0
	}
	if c, ok := f.traces[trace]; ok && c.excFile == excFile {
		f.frames = append(f.frames[:0], c.frames...)
		return c.n
	}
	var n int
	f.frames, n = appendFrames(f.frames[:0], trace, excFile, MaxFrames)
	if f.maxTmpl <= 0 || len(trace) > maxCachedTraceBytes || !f.secondSighting(trace) {
		return n
	}
	if f.traces == nil || len(f.traces) >= maxCachedTraces {
		f.traces = make(map[string]tracedFrames)
	}
	f.traces[strings.Clone(trace)] = tracedFrames{excFile: strings.Clone(excFile), frames: string(f.frames), n: n}
	return n
}

// secondSighting reports whether s was seen (by hash) the last time its
// slot of the doorkeeper table was looked at, and records it.
func (f *Fingerprinter) secondSighting(s string) bool {
	if f.seen == nil {
		f.seen = make([]uint64, doorkeeperSlots)
		f.seed = maphash.MakeSeed()
	}
	// The hash only decides what is cached, never an id, so a per-process
	// seed is fine here.
	h := maphash.String(f.seed, s) | 1
	slot := &f.seen[h%doorkeeperSlots]
	if *slot != h {
		*slot = h
		return false
	}
	return true
}

// template returns the cached template of msg and true, or masks msg into
// f.buf and returns false.
//
// Most messages with interpolated values (ids, numbers) occur once, so caching
// them would only cost allocations and evict useful entries: a message enters
// the cache on its second sighting, remembered by hash in a small
// direct-mapped table (the "doorkeeper" of TinyLFU).
func (f *Fingerprinter) template(msg string) (string, bool) {
	if t, ok := f.tmpl[msg]; ok {
		return t, true
	}
	f.buf = Mask(f.buf[:0], msg)
	if len(f.buf) > MaxTemplateBytes {
		n := MaxTemplateBytes - len("…")
		for n > 0 && !utf8.RuneStart(f.buf[n]) {
			n--
		}
		f.buf = append(f.buf[:n], "…"...)
	}
	if f.maxTmpl <= 0 || len(msg) > maxCachedMsgBytes {
		return "", false
	}
	if !f.secondSighting(msg) {
		return "", false
	}
	if len(f.tmpl) >= f.maxTmpl {
		clear(f.tmpl)
	}
	t := string(f.buf)
	f.tmpl[strings.Clone(msg)] = t // do not pin the whole event text
	return t, true
}

// Message returns the message text a signature is computed from, before
// masking: normalized_message when the producer sent one (it is the PSR-3
// template, the least variable form), else the exception message, else the
// message; with MediaWiki's request prefix and a leading exception class
// removed.
func Message(ev *event.Event) string {
	m := ev.Normalized
	if len(m) >= normalizedCut {
		// cut by the logging configuration: its end depends on the values
		// before byte 255; the exception message, or the message, is whole
		switch {
		case ev.ExcMessage != "":
			m = ev.ExcMessage
		case len(ev.Message) > len(m):
			m = ev.Message
		default:
			m = uncut(m)
		}
	}
	if m == "" {
		m = ev.ExcMessage
	}
	if m == "" {
		m = ev.Message
	}
	return stripClass(StripPrefix(m), strings.TrimPrefix(ev.ExcClass, `\`))
}

// exceptionDetail returns the first line of the event's exception message
// when the signature's message does not already contain it, else "".
func exceptionDetail(ev *event.Event, msg string) string {
	if ev.ExcMessage == "" {
		return ""
	}
	d := strings.TrimSpace(firstLine(ev.ExcMessage))
	if d == "" || strings.Contains(msg, d) {
		return ""
	}
	// "PHP Fatal Error: {message}" logged as "PHP Fatal Error from line N
	// of F: {message}": the same text behind another prefix
	if k := strings.Index(d, ": "); k >= 0 && strings.HasSuffix(msg, d[k:]) {
		return ""
	}
	return d
}

// unsafeString views b as a string without copying; the caller must not
// keep it once b changes.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func appendPart(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendPartBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// TitleValues are the identity values a title shows in place of their
// placeholders ({errno}, {fname}, {error}), and the job type of a failed job.
type TitleValues struct {
	Errno, Fname, Error, Job string
	Detail                   string // the masked first line of an exception logged under another message
	Where                    string // the entry point of a time limit (api.php), when there is no caller
}

// Title builds a short, stable, human title without identity values; see
// TitleOf.
func Title(class, tmpl string, frames []string) string {
	return TitleOf(class, tmpl, frames, TitleValues{})
}

// TitleOf builds a short, stable, human title, "Class: message in Caller",
// where the message is the first line of the template with placeholders
// written as <num>, <quoted>, ... (Phabricator's Remarkup gives {...} a
// meaning) and identity values written out, and Caller is the first in-app
// frame as Class::method (or, without a trace, the file named by the
// message). A database error names its function (fname) too; a failed job
// reads "Job <type> failed: <error>". Dangling words ("in", "from") and
// punctuation before the suffix are dropped. The title is at most
// MaxTitleBytes long, cut on a rune boundary.
func TitleOf(class, tmpl string, frames []string, v TitleValues) string {
	line := strings.TrimSpace(firstLine(tmpl))
	where := ""
	if k := strings.Index(line, " in "+PhPath+"/"); k >= 0 {
		file := line[k+len(" in "+PhPath+"/"):]
		if e := strings.IndexAny(file, " :("); e >= 0 {
			file = file[:e]
		}
		line, where = line[:k], file
	}
	if len(frames) > 0 {
		where = shortFunc(frames[0])
	} else if v.Where != "" {
		where = v.Where
	}
	if v.Fname != "" {
		if fn := shortFunc(v.Fname); fn != where && where != "" {
			where = fn + " via " + where
		} else {
			where = fn
		}
	}
	line = strings.NewReplacer("{errno}", orPh(v.Errno, "{errno}"), "{fname}", orPh(v.Fname, "{fname}"),
		"{error}", orPh(v.Error, "{error}")).Replace(line)
	var b strings.Builder
	switch {
	case v.Job != "":
		b.WriteString("Job " + v.Job + " failed")
		if line != "" {
			b.WriteString(": ")
		}
	case class != "" && !strings.HasPrefix(line, "PHP "):
		b.WriteString(class)
		if line != "" {
			b.WriteString(": ")
		}
	}
	head := trimTrailingPlaceholders(line)
	if head == "" {
		head = line
	}
	if v.Detail != "" {
		head = strings.TrimRight(head, " .:") + ": " + v.Detail
	}
	writeRendered(&b, head)
	title := trimDangling(b.String())
	suffix := ""
	if where != "" {
		suffix = " in " + cut(where, 100)
	}
	if len(title)+len(suffix) > MaxTitleBytes {
		title = cut(title, MaxTitleBytes-len(suffix)-len("…")) + "…"
	}
	return title + suffix
}

func orPh(v, ph string) string {
	if v == "" {
		return ph
	}
	return v
}

// trimDangling drops what cannot end a phrase that " in Caller" follows:
// trailing separators and prepositions left by a stripped path or value
// ("failed in", "called from", "Error:").
func trimDangling(s string) string {
	for {
		t := strings.TrimRight(s, " \t:;,-=")
		for _, w := range [...]string{" in", " from", " at", " on", " for", " of", " to", " by", " with"} {
			if strings.HasSuffix(t, w) {
				t = t[:len(t)-len(w)]
				break
			}
		}
		if t == s {
			return s
		}
		s = t
	}
}

// writeRendered writes s with placeholders as <name> and every run of
// whitespace or control characters as one space.
func writeRendered(b *strings.Builder, s string) {
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == 0x7f {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		if c == '{' {
			if j := placeholderEnd(s, i); j > 0 {
				b.WriteByte('<')
				b.WriteString(s[i+1 : j-1])
				b.WriteByte('>')
				i = j - 1
				continue
			}
		}
		b.WriteByte(c)
	}
}

// trimTrailingPlaceholders drops placeholders at the end of s when they
// add nothing to read: "Undefined array key {quoted}" reads better as
// "Undefined array key". A placeholder right after ": " is the reason of
// the sentence ("Cannot access the database: {val}") and stays.
func trimTrailingPlaceholders(s string) string {
	for {
		t := strings.TrimRight(s, " \t;,.")
		if strings.HasSuffix(t, "}") {
			if k := strings.LastIndexByte(t, '{'); k >= 0 && placeholderEnd(t, k) == len(t) && !strings.HasSuffix(t[:k], ": ") {
				t = strings.TrimRight(t[:k], " \t$")
			}
		}
		if t == s {
			return s
		}
		s = t
	}
}

// Caller returns the caller a signature's title names (Class::method of
// its first in-app frame), or "" without a trace.
func (s Signature) Caller() string {
	if len(s.Frames) == 0 {
		return ""
	}
	return shortFunc(s.Frames[0])
}

// shortFunc turns a frame into Class::method without namespace.
func shortFunc(fn string) string {
	if strings.HasPrefix(fn, "{") {
		return fn
	}
	sep := strings.Index(fn, "->")
	if sep < 0 {
		sep = strings.Index(fn, "::")
	}
	if sep < 0 {
		if k := strings.LastIndexByte(fn, '\\'); k >= 0 {
			return fn[k+1:]
		}
		return fn
	}
	cls := fn[:sep]
	if k := strings.LastIndexByte(cls, '\\'); k >= 0 {
		cls = cls[k+1:]
	}
	return cls + "::" + fn[sep+2:]
}

// cut returns at most n bytes of s, not splitting a rune.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n < 0 {
		n = 0
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
