package filer

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/wikimedia/sheriff/internal/finding"
)

// maxFacetValues bounds how many values per dimension a task lists and how
// many the mapping remembers for "now also on".
const maxFacetValues = 10

const maxRemembered = 200

// facetOrder puts the dimensions a sheriff reads first in front.
var facetOrder = map[string]int{"wiki": 0, "version": 1, "host": 2}

func sortedDims(fs map[string]finding.Facet) []string {
	dims := make([]string, 0, len(fs))
	for d := range fs {
		dims = append(dims, d)
	}
	sort.Slice(dims, func(i, j int) bool {
		oi, iok := facetOrder[dims[i]]
		oj, jok := facetOrder[dims[j]]
		switch {
		case iok && jok:
			return oi < oj
		case iok != jok:
			return iok
		}
		return dims[i] < dims[j]
	})
	return dims
}

type valueCount struct {
	v string
	n int64
}

func sortedValues(f finding.Facet) []valueCount {
	out := make([]valueCount, 0, len(f))
	for v, n := range f {
		out = append(out, valueCount{v, n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].n != out[j].n {
			return out[i].n > out[j].n
		}
		return out[i].v < out[j].v
	})
	return out
}

// facetValues returns, per dimension, the values of a finding (bounded).
func facetValues(fs map[string]finding.Facet) map[string][]string {
	out := map[string][]string{}
	for d, f := range fs {
		vs := sortedValues(f)
		if len(vs) > maxRemembered {
			vs = vs[:maxRemembered]
		}
		for _, vc := range vs {
			out[d] = append(out[d], vc.v)
		}
		sort.Strings(out[d])
	}
	return out
}

// newFacetValues returns the values of fs not in known, per dimension.
func newFacetValues(fs map[string]finding.Facet, known map[string][]string) map[string][]string {
	out := map[string][]string{}
	for d, f := range fs {
		seen := map[string]bool{}
		for _, v := range known[d] {
			seen[v] = true
		}
		for _, vc := range sortedValues(f) {
			if !seen[vc.v] {
				out[d] = append(out[d], vc.v)
			}
		}
	}
	return out
}

func mergeFacets(known, add map[string][]string) map[string][]string {
	out := map[string][]string{}
	for d, vs := range known {
		out[d] = append(out[d], vs...)
	}
	for d, vs := range add {
		out[d] = append(out[d], vs...)
		sort.Strings(out[d])
		if len(out[d]) > maxRemembered {
			out[d] = out[d][:maxRemembered]
		}
	}
	return out
}

// fmtDur prints 24h, 90m, 15m30s rather than Go's 24h0m0s.
func fmtDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func fmtTS(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// fence makes s safe inside a ``` code block.
func fence(s string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "```", "` ` `")
}

// inline makes s safe on one Remarkup line.
func inline(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return s
}

// title returns the task title: the finding's title, trimmed to what
// Phabricator shows comfortably.
func taskTitle(f *finding.Finding) string {
	t := inline(f.Title)
	if t == "" {
		t = inline(f.Template)
	}
	if t == "" {
		t = fmt.Sprintf("%s %s", f.Kind, f.Key)
	}
	const max = 200
	if r := []rune(t); len(r) > max {
		t = string(r[:max-1]) + "…"
	}
	return t
}

func (fl *Filer) dashboardLink(f *finding.Finding) string {
	if f.Link != "" {
		return f.Link
	}
	if fl.opts.DashboardURL == "" {
		return ""
	}
	q := literal(f.Template)
	if q == "" {
		q = f.Title
	}
	from, to := f.FirstSeen.Add(-time.Hour), f.LastSeen.Add(time.Hour)
	if f.FirstSeen.IsZero() || f.LastSeen.IsZero() {
		from, to = fl.now().Add(-7*24*time.Hour), fl.now()
	}
	a := fmt.Sprintf("(query:(language:kuery,query:'%s'))", rison(`"`+strings.ReplaceAll(q, `"`, `\"`)+`"`))
	g := fmt.Sprintf("(time:(from:'%s',to:'%s'))", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	return strings.TrimRight(fl.opts.DashboardURL, "/") + "/app/discover#/?_g=" + url.QueryEscape(g) + "&_a=" + url.QueryEscape(a)
}

// literal returns the longest run of a template between placeholders
// ({name} or <name>), which is what a phrase query on the message can match.
func literal(tmpl string) string {
	best, cur := "", strings.Builder{}
	depth := 0
	flush := func() {
		s := strings.TrimSpace(cur.String())
		if len(s) > len(best) {
			best = s
		}
		cur.Reset()
	}
	for _, r := range tmpl {
		switch {
		case r == '{' || r == '<':
			depth++
			flush()
		case (r == '}' || r == '>') && depth > 0:
			depth--
		case depth == 0:
			cur.WriteRune(r)
		}
	}
	flush()
	return best
}

func rison(s string) string {
	s = strings.ReplaceAll(s, "!", "!!")
	return strings.ReplaceAll(s, "'", "!'")
}

// description renders a task description (without the marker line, which is
// appended after redaction).
func (fl *Filer) description(f *finding.Finding) string {
	var b strings.Builder
	fmt.Fprintf(&b, "sheriff saw **%d** events of this %s signature", f.Count, f.Kind)
	if !f.FirstSeen.IsZero() {
		fmt.Fprintf(&b, " between %s and %s", fmtTS(f.FirstSeen), fmtTS(f.LastSeen))
	}
	b.WriteString(".\n\n")
	fmt.Fprintf(&b, "**First seen:** %s\n**Last seen:** %s\n**Occurrences:** %d\n", fmtTS(f.FirstSeen), fmtTS(f.LastSeen), f.Count)
	fmt.Fprintf(&b, "**Signature:** `%s %s`\n", f.Kind, inline(f.Key))
	if len(f.Facets) > 0 {
		b.WriteString("\n== Where ==\n")
		for _, d := range sortedDims(f.Facets) {
			vs := sortedValues(f.Facets[d])
			if len(vs) == 0 {
				continue
			}
			parts := []string{}
			for i, vc := range vs {
				if i == maxFacetValues {
					parts = append(parts, fmt.Sprintf("and %d more", len(vs)-i))
					break
				}
				parts = append(parts, fmt.Sprintf("%s (%d)", inline(vc.v), vc.n))
			}
			fmt.Fprintf(&b, "- %s: %s\n", d, strings.Join(parts, ", "))
		}
	}
	if f.Template != "" {
		b.WriteString("\n== Message template ==\n```\n" + fence(f.Template) + "\n```\n")
	}
	if f.Sample != "" {
		b.WriteString("\n== Sample ==\n```\n" + fence(f.Sample) + "\n```\n")
	}
	if f.Trace != "" {
		b.WriteString("\n== Trace ==\n```\n" + fence(f.Trace) + "\n```\n")
	}
	if f.Details != "" {
		b.WriteString("\n== Details ==\n" + strings.TrimRight(f.Details, "\n") + "\n")
	}
	if link := fl.dashboardLink(f); link != "" {
		fmt.Fprintf(&b, "\n[[ %s | Events in logstash ]]\n", link)
	}
	regression := "reopens it"
	if !fl.opts.ReopenOnRegression {
		regression = "comments"
	}
	if f.KeepDescription {
		b.WriteString("\n----\n//Filed by sheriff. It keeps this description current, edits it at every change, and comments when " +
			"the problem looks resolved and at once when it comes back; it stops reporting it when the task is declined or invalid. " +
			"Keep the line below: it is how sheriff finds this task.//\n")
		return b.String()
	}
	b.WriteString("\n----\n//Filed by sheriff. It comments at most once per " + fmtDur(fl.opts.CommentInterval) +
		" while this task is open, " + regression + " if the problem comes back after the task was resolved, and " +
		"stops reporting it when the task is declined or invalid. Keep the line below: it is how sheriff finds this task.//\n")
	return b.String()
}

// facetPhrase renders "wiki: a, b; host: c" for new facet values.
func facetPhrase(nv map[string][]string) string {
	dims := make([]string, 0, len(nv))
	for d, vs := range nv {
		if len(vs) > 0 {
			dims = append(dims, d)
		}
	}
	fs := map[string]finding.Facet{}
	for _, d := range dims {
		fs[d] = nil
	}
	var parts []string
	for _, d := range sortedDims(fs) {
		vs := nv[d]
		if len(vs) > maxFacetValues {
			vs = append(append([]string{}, vs[:maxFacetValues]...), fmt.Sprintf("and %d more", len(nv[d])-maxFacetValues))
		}
		parts = append(parts, d+" "+strings.Join(vs, ", "))
	}
	return strings.Join(parts, "; ")
}

func updateComment(f *finding.Finding, m *Mapping, regression bool) string {
	n := f.Count - m.ReportedCount
	since := m.ReportedAt
	var b strings.Builder
	if regression {
		fmt.Fprintf(&b, "This came back after the task was closed as %s: ", m.Status)
	}
	fmt.Fprintf(&b, "%d more event", n)
	if n != 1 {
		b.WriteString("s")
	}
	fmt.Fprintf(&b, " since %s (%d in total, last seen %s)", fmtTS(since), f.Count, fmtTS(f.LastSeen))
	if p := facetPhrase(newFacetValues(f.Facets, m.ReportedFacets)); p != "" {
		b.WriteString(", now also on " + p)
	}
	b.WriteString(".")
	if regression {
		b.WriteString(" Reopening.")
	}
	return b.String()
}

func umbrellaTitle(n int, window time.Duration) string {
	return fmt.Sprintf("Storm: %d new signatures within %s", n, window)
}

func umbrellaList(ms []memberRef) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "- %s (%d events; `%s %s`)\n", inline(m.Title), m.Count, m.Kind, inline(m.Key))
	}
	return b.String()
}

func umbrellaMemberLines(ms []memberRef) string {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString(memberWord + " " + m.Marker + "\n")
	}
	return b.String()
}

func (fl *Filer) umbrellaDescription(ms []memberRef) string {
	var b strings.Builder
	fmt.Fprintf(&b, "More than %d new signatures appeared within %s, which usually means one broken deploy "+
		"or an outage rather than %d separate bugs. sheriff lists them here instead of filing a task for each.\n\n",
		fl.opts.StormThreshold, fmtDur(fl.opts.StormWindow), len(ms))
	b.WriteString(umbrellaList(ms))
	b.WriteString("\nWhen this task is resolved, a listed signature that occurs again gets its own task. " +
		"Declining it silences all of them.\n")
	return b.String()
}
