// Package event decodes logstash documents into one flat shape, whatever
// producer wrote them: classic MediaWiki (monolog LogstashFormatter), the newer
// ECS-shaped MediaWiki events, and syslog-shaped events (puppet agent, daemons).
package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxMessageBytes bounds the size of any single text field kept from an event.
// A 1 MB message is not an error in itself, but keeping it would let one bad
// producer blow up memory and every report it lands in.
const MaxMessageBytes = 64 << 10

// Event is one decoded log event. The zero value is a valid, empty event.
type Event struct {
	ID        string    // document _id (unique per index); used to deduplicate overlapping polls
	Index     string    // the index it was read from, when known
	Timestamp time.Time // @timestamp

	Type        string // "mediawiki", "syslog", ...
	Channel     string // MediaWiki channel: exception, error, fatal, ...
	Level       string // ERROR, WARNING, ... (normalised to upper case)
	Message     string // the interpolated message
	Normalized  string // the PSR-3 template before interpolation, if the producer sent one
	ExcClass    string // exception.class / error.type
	ExcMessage  string // exception.message / error.message
	ExcFile     string // exception.file
	ExcTrace    string // exception.trace / error.stack_trace
	ReqID       string
	Wiki        string
	Host        string
	URL         string
	Version     string // mwversion / service.version
	ServerGroup string
	Program     string // syslog program (puppet-agent, ...)

	// Context values that identify a failure rather than parameterise it
	// (see internal/signature): MediaWiki puts them at the top level of
	// classic events and under labels. in ECS-shaped ones.
	Errno    string // errno of a database error (DBQuery, DBConnection channels)
	Fname    string // fname: the function that ran the failing query
	DBError  string // error: the database's error text
	JobType  string // job_type of a runJobs line
	JobError string // job_error of a failed job
	CLIArgv  string // cli_argv: the command line of a maintenance script
}

// ErrMalformed is wrapped by every decoding error caused by the document itself
// (as opposed to, say, an I/O error reading it).
var ErrMalformed = errors.New("malformed event")

// Decode parses one JSON document (the _source of a logstash hit, or one NDJSON
// line) into an Event. Unknown fields are ignored. An event without a usable
// @timestamp or without any message is malformed.
func Decode(data []byte) (Event, error) {
	var raw map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if raw == nil {
		return Event{}, fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	return FromMap(raw)
}

// FromMap builds an Event from an already decoded document.
func FromMap(raw map[string]any) (Event, error) {
	var ev Event
	ev.ID = str(raw, "_id")
	ts := first(raw, "@timestamp", "timestamp")
	if ts == "" {
		return Event{}, fmt.Errorf("%w: missing field @timestamp", ErrMalformed)
	}
	t, err := parseTime(ts)
	if err != nil {
		return Event{}, fmt.Errorf("%w: field @timestamp: %v", ErrMalformed, err)
	}
	ev.Timestamp = t
	ev.Type = first(raw, "type", "event.dataset")
	ev.Channel = first(raw, "channel", "labels.channel", "log.logger")
	ev.Level = strings.ToUpper(first(raw, "level", "log.level", "severity", "syslog.severity"))
	ev.Message = clip(first(raw, "message"))
	ev.Normalized = clip(first(raw, "normalized_message", "labels.normalized_message"))
	ev.ExcClass = first(raw, "exception.class", "error.type")
	ev.ExcMessage = clip(first(raw, "exception.message", "error.message"))
	ev.ExcFile = first(raw, "exception.file", "error.file")
	ev.ExcTrace = clip(first(raw, "exception.trace", "error.stack_trace"))
	ev.ReqID = first(raw, "reqId", "trace.id", "http.request.id")
	ev.Wiki = first(raw, "wiki", "labels.wiki")
	ev.Host = first(raw, "host", "host.name", "logsource", "hostname")
	ev.URL = first(raw, "url", "url.full", "url.original")
	ev.Version = first(raw, "mwversion", "service.version")
	ev.ServerGroup = first(raw, "servergroup", "labels.servergroup")
	ev.Program = first(raw, "program", "process.name", "syslog.appname")
	ev.Errno = first(raw, "errno", "labels.errno")
	ev.Fname = first(raw, "fname", "labels.fname")
	ev.DBError = clip(first(raw, "error", "labels.error"))
	ev.JobType = first(raw, "job_type", "labels.job_type")
	ev.JobError = clip(first(raw, "job_error", "labels.job_error"))
	ev.CLIArgv = clip(first(raw, "cli_argv", "labels.cli_argv"))
	if ev.Message == "" && ev.ExcMessage == "" && ev.Normalized == "" {
		return Event{}, fmt.Errorf("%w: no message, normalized_message or exception message", ErrMalformed)
	}
	return ev, nil
}

// Field returns the value of a field by its logstash name, for rule matchers.
// Both the classic and the ECS names are accepted.
func (e *Event) Field(name string) (string, bool) {
	switch name {
	case "type", "event.dataset":
		return e.Type, true
	case "channel", "labels.channel":
		return e.Channel, true
	case "level", "log.level", "severity":
		return e.Level, true
	case "message":
		return e.Message, true
	case "normalized_message", "labels.normalized_message":
		return e.Normalized, true
	case "exception.class", "error.type":
		return e.ExcClass, true
	case "exception.message", "error.message":
		return e.ExcMessage, true
	case "exception.file":
		return e.ExcFile, true
	case "exception.trace", "error.stack_trace":
		return e.ExcTrace, true
	case "reqId":
		return e.ReqID, true
	case "wiki":
		return e.Wiki, true
	case "host", "host.name":
		return e.Host, true
	case "url", "url.full":
		return e.URL, true
	case "mwversion", "service.version":
		return e.Version, true
	case "servergroup":
		return e.ServerGroup, true
	case "program":
		return e.Program, true
	}
	return "", false
}

// FieldNames lists the names Field accepts, for validating rule files.
func FieldNames() []string {
	return []string{"type", "channel", "level", "message", "normalized_message",
		"exception.class", "exception.message", "exception.file", "exception.trace",
		"error.type", "error.message", "error.stack_trace", "labels.normalized_message",
		"reqId", "wiki", "host", "url", "url.full", "mwversion", "service.version",
		"servergroup", "program", "event.dataset", "log.level", "severity", "host.name"}
}

// first returns the first non-empty value among keys. A dotted key is looked
// up both as a literal key ("exception.class" flattened by some shippers) and
// as a path into nested objects.
func first(raw map[string]any, keys ...string) string {
	for _, k := range keys {
		if s := str(raw, k); s != "" {
			return s
		}
	}
	return ""
}

func str(raw map[string]any, key string) string {
	if v, ok := raw[key]; ok {
		return scalar(v)
	}
	if !strings.Contains(key, ".") {
		return ""
	}
	var cur any = raw
	for part := range strings.SplitSeq(key, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur, ok = m[part]
		if !ok {
			return ""
		}
	}
	return scalar(cur)
}

func scalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

func clip(s string) string {
	if len(s) <= MaxMessageBytes {
		return s
	}
	cut := MaxMessageBytes
	for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…[truncated]"
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil { // epoch_millis
		return time.UnixMilli(ms).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("unparseable time %q", s)
}
