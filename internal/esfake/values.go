package esfake

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The fake has no mappings. It infers a field's type from the values it meets,
// the way dynamic mapping would have on first sight: JSON numbers are numeric,
// JSON booleans are boolean, strings that parse as an ISO 8601 date (or date
// and time) are dates, every other string is a keyword that match queries
// analyse into lower-cased tokens on the fly.

// fieldValues returns every non-null leaf value of field in src. A dotted
// name is resolved both as a path into nested objects and as a literal key
// ("exception.class" as flattened by some shippers), in any mix, and arrays are
// flattened, as Elasticsearch indexes them. A "field.keyword" sub-field falls
// back to "field" when no such key exists.
func fieldValues(src map[string]any, field string) []any {
	var out []any
	collect(src, strings.Split(field, "."), &out)
	if len(out) == 0 && strings.HasSuffix(field, ".keyword") {
		collect(src, strings.Split(strings.TrimSuffix(field, ".keyword"), "."), &out)
	}
	return out
}

func collect(v any, parts []string, out *[]any) {
	if len(parts) == 0 {
		appendLeaves(v, out)
		return
	}
	switch v := v.(type) {
	case map[string]any:
		for i := 1; i <= len(parts); i++ {
			if child, ok := v[strings.Join(parts[:i], ".")]; ok {
				collect(child, parts[i:], out)
			}
		}
	case []any:
		for _, e := range v {
			collect(e, parts, out)
		}
	}
}

func appendLeaves(v any, out *[]any) {
	switch v := v.(type) {
	case nil:
	case []any:
		for _, e := range v {
			appendLeaves(e, out)
		}
	default:
		*out = append(*out, v)
	}
}

// allLeaves returns every leaf value of the document, for query_string
// searches without a field.
func allLeaves(v any, out *[]any) {
	switch v := v.(type) {
	case map[string]any:
		for _, c := range v {
			allLeaves(c, out)
		}
	case []any:
		for _, c := range v {
			allLeaves(c, out)
		}
	case nil:
	default:
		*out = append(*out, v)
	}
}

// number returns v as a float64 when it is a JSON number.
func number(v any) (float64, bool) {
	switch v := v.(type) {
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case float64:
		return v, true
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	}
	return 0, false
}

// integer returns v as an int64 when it is an integral JSON number, so that
// epoch milliseconds and longs compare exactly.
func integer(v any) (int64, bool) {
	switch v := v.(type) {
	case json.Number:
		i, err := strconv.ParseInt(string(v), 10, 64)
		return i, err == nil
	case int64:
		return v, true
	case int:
		return int64(v), true
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int64(v), true
		}
	}
	return 0, false
}

// text renders a scalar the way Elasticsearch would index it in a keyword.
func text(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case int:
		return strconv.Itoa(v), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

// tokens is the fake's analyser: lower-cased runs of letters and digits, close
// enough to the standard analyser for log messages.
func tokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

const defaultDateFormat = "strict_date_optional_time||epoch_millis"

// looksLikeDate reports whether s would have been mapped as a date by dynamic
// mapping: it starts like yyyy-MM-dd and parses as ISO 8601.
func looksLikeDate(s string) (int64, bool) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	return parseISODate(s, time.UTC)
}

var isoLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02",
	"2006-01",
	"2006",
}

func parseISODate(s string, loc *time.Location) (int64, bool) {
	for _, layout := range isoLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t.UnixMilli(), true
		}
	}
	return 0, false
}

// dateMillis converts a query or document value to epoch milliseconds using an
// Elasticsearch date format ("a||b" alternatives of the named formats the fake
// knows), with date math ("now-5m/m", "2024-01-01||+1d") on strings.
func dateMillis(v any, format string, loc *time.Location, now time.Time) (int64, error) {
	if format == "" {
		format = defaultDateFormat
	}
	if s, ok := v.(string); ok {
		if base, expr, ok := strings.Cut(s, "||"); ok || strings.HasPrefix(s, "now") {
			var t time.Time
			if strings.HasPrefix(s, "now") {
				t, expr = now, strings.TrimPrefix(s, "now")
			} else {
				ms, err := dateMillis(base, format, loc, now)
				if err != nil {
					return 0, err
				}
				t = time.UnixMilli(ms).In(loc)
			}
			t, err := dateMath(t, expr)
			if err != nil {
				return 0, fmt.Errorf("date math %q: %w", s, err)
			}
			return t.UnixMilli(), nil
		}
	}
	for f := range strings.SplitSeq(format, "||") {
		switch strings.TrimSpace(f) {
		case "epoch_millis":
			if i, ok := integer(v); ok {
				return i, nil
			}
			if f, ok := number(v); ok {
				return int64(f), nil
			}
			if s, ok := v.(string); ok {
				if i, err := strconv.ParseInt(s, 10, 64); err == nil {
					return i, nil
				}
			}
		case "epoch_second":
			if f, ok := number(v); ok {
				return int64(f * 1000), nil
			}
			if s, ok := v.(string); ok {
				if f, err := strconv.ParseFloat(s, 64); err == nil {
					return int64(f * 1000), nil
				}
			}
		case "strict_date_optional_time", "date_optional_time", "strict_date_time", "date_time",
			"strict_date_time_no_millis", "date_time_no_millis", "strict_date", "date", "iso8601",
			"strict_date_optional_time_nanos":
			if s, ok := v.(string); ok {
				if ms, ok := parseISODate(s, loc); ok {
					return ms, nil
				}
			}
		default:
			return 0, fmt.Errorf("date format [%s] is not supported by esfake", f)
		}
	}
	return 0, fmt.Errorf("failed to parse date field [%v] with format [%s]", v, format)
}

// dateMath applies "+1d", "-5m", "/h" operations in order.
func dateMath(t time.Time, expr string) (time.Time, error) {
	for expr != "" {
		op := expr[0]
		expr = expr[1:]
		switch op {
		case '+', '-':
			i := 0
			for i < len(expr) && expr[i] >= '0' && expr[i] <= '9' {
				i++
			}
			n := 1
			if i > 0 {
				n, _ = strconv.Atoi(expr[:i])
			}
			if i >= len(expr) {
				return t, fmt.Errorf("missing unit")
			}
			unit := expr[i]
			expr = expr[i+1:]
			if op == '-' {
				n = -n
			}
			switch unit {
			case 'y':
				t = t.AddDate(n, 0, 0)
			case 'M':
				t = t.AddDate(0, n, 0)
			case 'w':
				t = t.AddDate(0, 0, 7*n)
			case 'd':
				t = t.AddDate(0, 0, n)
			case 'h', 'H':
				t = t.Add(time.Duration(n) * time.Hour)
			case 'm':
				t = t.Add(time.Duration(n) * time.Minute)
			case 's':
				t = t.Add(time.Duration(n) * time.Second)
			default:
				return t, fmt.Errorf("unknown unit %q", unit)
			}
		case '/':
			if expr == "" {
				return t, fmt.Errorf("missing rounding unit")
			}
			unit := expr[0]
			expr = expr[1:]
			y, mo, d := t.Date()
			switch unit {
			case 'y':
				t = time.Date(y, 1, 1, 0, 0, 0, 0, t.Location())
			case 'M':
				t = time.Date(y, mo, 1, 0, 0, 0, 0, t.Location())
			case 'w':
				wd := (int(t.Weekday()) + 6) % 7 // weeks start on Monday
				t = time.Date(y, mo, d-wd, 0, 0, 0, 0, t.Location())
			case 'd':
				t = time.Date(y, mo, d, 0, 0, 0, 0, t.Location())
			case 'h', 'H':
				t = t.Truncate(time.Hour)
			case 'm':
				t = t.Truncate(time.Minute)
			case 's':
				t = t.Truncate(time.Second)
			default:
				return t, fmt.Errorf("unknown rounding unit %q", unit)
			}
		default:
			return t, fmt.Errorf("unexpected %q", op)
		}
	}
	return t, nil
}

// zone resolves a range query's time_zone parameter.
func zone(name string) (*time.Location, error) {
	if name == "" || name == "Z" || name == "UTC" {
		return time.UTC, nil
	}
	if len(name) == 6 && (name[0] == '+' || name[0] == '-') && name[3] == ':' {
		h, err1 := strconv.Atoi(name[1:3])
		m, err2 := strconv.Atoi(name[4:])
		if err1 == nil && err2 == nil {
			off := h*3600 + m*60
			if name[0] == '-' {
				off = -off
			}
			return time.FixedZone(name, off), nil
		}
	}
	return time.LoadLocation(name)
}
