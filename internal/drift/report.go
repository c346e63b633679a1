package drift

import (
	"bufio"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wikimedia/sheriff/diff"
)

var formats = []string{"text", "json", "markdown", "html"}

// Formats returns the report formats Write accepts.
func Formats() []string { return slices.Clone(formats) }

// Write renders the report in format ("text", "json", "markdown" or "md",
// "html").
func (r *Report) Write(format string, w io.Writer) error {
	bw := bufio.NewWriter(w)
	var err error
	switch format {
	case "text", "":
		err = r.writeText(bw)
	case "json":
		enc := json.NewEncoder(bw)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		err = enc.Encode(r)
	case "markdown", "md":
		err = r.writeMarkdown(bw)
	case "html":
		err = htmlTemplate.Execute(bw, r.view())
	default:
		return fmt.Errorf("drift: unknown report format %q (want %s)", format, strings.Join(formats, ", "))
	}
	if err != nil {
		return fmt.Errorf("drift: write %s report: %w", format, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("drift: write %s report: %w", format, err)
	}
	return nil
}

// ReadJSON reads a report written with format "json" (a previous run).
func ReadJSON(rd io.Reader) (*Report, error) {
	var r Report
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return nil, fmt.Errorf("drift: read JSON report: %w", err)
	}
	return &r, nil
}

// short renders a value as compact JSON cut to at most n bytes.
func short(v any, n int) string {
	b, err := json.Marshal(v)
	s := string(b)
	if err != nil {
		s = fmt.Sprint(v)
	}
	if len(s) > n {
		cut := n
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

const valueWidth = 160

func where(file string, line int) string {
	switch {
	case file == "":
		return ""
	case line > 0:
		return file + ":" + strconv.Itoa(line)
	}
	return file
}

// wikiLabel shortens long wiki lists.
func wikiLabel(f *diff.Finding) string {
	switch {
	case f.Wiki == AllWikis:
		return "all Beta wikis"
	case len(f.Wikis) > 4:
		return fmt.Sprintf("%d wikis: %s, …", len(f.Wikis), strings.Join(f.Wikis[:3], ", "))
	case len(f.Wikis) > 1:
		return "wikis " + strings.Join(f.Wikis, ", ")
	}
	return "wiki " + f.Wiki
}

// location is "key", "key path", with wiki and host when set.
func location(f *diff.Finding) string {
	s := f.Key
	if f.Path != "" {
		s += " " + f.Path
	}
	var ctx []string
	if f.Wiki != "" {
		ctx = append(ctx, wikiLabel(f))
	}
	if f.Host != "" {
		ctx = append(ctx, "host "+f.Host)
	}
	if len(ctx) > 0 {
		s += " (" + strings.Join(ctx, ", ") + ")"
	}
	return s
}

func sideText(present bool, v any, file string, line int, scope string) string {
	s := "(not set)"
	if present {
		s = short(v, valueWidth)
	}
	var at []string
	if w := where(file, line); w != "" {
		at = append(at, w)
	}
	if scope != "" {
		at = append(at, scope)
	}
	if len(at) > 0 {
		s += "  [" + strings.Join(at, ", ") + "]"
	}
	return s
}

// compact classes are listed one line per finding: the rule explains them,
// and the rules' reasons are listed once.
func compact(c diff.Class) bool { return c == diff.ClassExpected || c == diff.ClassSizing }

// sections groups the non-accepted findings by class in report order.
func (r *Report) sections() []section {
	byClass := map[diff.Class][]*diff.Finding{}
	for i := range r.Findings {
		f := &r.Findings[i]
		if !f.Accepted {
			byClass[f.Class] = append(byClass[f.Class], f)
		}
	}
	var out []section
	for _, c := range classes {
		if fs := byClass[c]; len(fs) > 0 {
			out = append(out, section{Class: c, Title: classTitle[c], Findings: fs})
		}
	}
	return out
}

// ruleReasons lists, once, the rule (or rule combination) and reason of
// every finding listed compactly.
func (r *Report) ruleReasons() []ruleReason {
	seen := map[string]bool{}
	var out []ruleReason
	for i := range r.Findings {
		f := &r.Findings[i]
		if f.Accepted || !compact(f.Class) || f.Rule == "" || seen[f.Rule] {
			continue
		}
		seen[f.Rule] = true
		out = append(out, ruleReason{f.Rule, f.Reason})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Rule < out[j].Rule })
	return out
}

type ruleReason struct{ Rule, Reason string }

type section struct {
	Class    diff.Class
	Title    string
	Findings []*diff.Finding
}

var classTitle = map[diff.Class]string{
	diff.ClassReal:          "Real drift",
	diff.ClassStaleOverride: "Stale overrides",
	diff.ClassMissingInBeta: "Missing in Beta",
	diff.ClassBetaOnly:      "Only in Beta",
	diff.ClassDeadKey:       "Dead keys",
	diff.ClassSizing:        "Sizing differences",
	diff.ClassExpected:      "Expected differences",
}

func (r *Report) sources() []string {
	var out []string
	for s := range r.Summary.BySource {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func (r *Report) header() string {
	s := "Drift report, " + r.Run.Started.UTC().Format(time.RFC3339)
	var revs []string
	for _, src := range []string{SourcePuppet, SourceMediaWikiConfig, SourceHelm} {
		if rev := r.Run.Revisions[src]; rev != "" {
			revs = append(revs, src+" "+shortRev(rev))
		}
	}
	if len(revs) > 0 {
		s += " (" + strings.Join(revs, ", ") + ")"
	}
	return s
}

func shortRev(rev string) string {
	if len(rev) > 10 {
		return rev[:10]
	}
	return rev
}

func (r *Report) summaryLines() []string {
	s := &r.Summary
	var counts []string
	for _, c := range classes {
		if n := s.ByClass[c]; n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, c))
		}
	}
	if len(counts) == 0 {
		counts = append(counts, "no differences")
	}
	lines := []string{fmt.Sprintf("%d real drift; %s.", s.Real, strings.Join(counts, ", "))}
	var extra []string
	if s.Accepted > 0 {
		extra = append(extra, fmt.Sprintf("%d accepted by the baseline", s.Accepted))
	}
	if s.Ignored > 0 {
		extra = append(extra, fmt.Sprintf("%d ignored by rules", s.Ignored))
	}
	if s.Problems > 0 {
		extra = append(extra, fmt.Sprintf("%d input problems", s.Problems))
	}
	if len(extra) > 0 {
		lines = append(lines, strings.Join(extra, "; ")+".")
	}
	if s.Previous != nil {
		lines = append(lines, fmt.Sprintf("Since the previous run (%s): %d new, %d resolved.",
			s.Previous.UTC().Format(time.RFC3339), s.New, s.Resolved))
	}
	return lines
}

func (r *Report) writeText(w io.Writer) error {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("%s\n\n", r.header())
	for _, l := range r.summaryLines() {
		p("%s\n", l)
	}
	if srcs := r.sources(); len(srcs) > 0 {
		p("\n%-18s", "source")
		for _, c := range classes {
			p(" %*s", len(c), c)
		}
		p("\n")
		for _, src := range srcs {
			p("%-18s", src)
			for _, c := range classes {
				p(" %*d", len(c), r.Summary.BySource[src][c])
			}
			p("\n")
		}
	}
	for _, sec := range r.sections() {
		p("\n== %s (%d) ==\n", sec.Title, len(sec.Findings))
		for _, f := range sec.Findings {
			if compact(f.Class) {
				p("%s: %s — %s\n", f.Source, location(f), f.Rule)
				continue
			}
			mark := ""
			if f.New {
				mark = " [new]"
			}
			if f.Interpolated {
				mark += " [interpolated, compared as text]"
			}
			p("\n%s: %s%s\n", f.Source, location(f), mark)
			p("  prod: %s\n", sideText(f.ProdPresent, f.Prod, f.ProdFile, f.ProdLine, f.ProdScope))
			p("  beta: %s\n", sideText(f.BetaPresent, f.Beta, f.BetaFile, f.BetaLine, ""))
			if f.Rule != "" {
				p("  rule %s: %s\n", f.Rule, f.Reason)
			} else if f.Reason != "" {
				p("  %s\n", f.Reason)
			}
		}
	}
	if rr := r.ruleReasons(); len(rr) > 0 {
		p("\n== Rules ==\n")
		for _, x := range rr {
			p("%s: %s\n", x.Rule, x.Reason)
		}
	}
	if len(r.Resolved) > 0 {
		p("\n== Resolved since the previous run (%d) ==\n", len(r.Resolved))
		for i := range r.Resolved {
			f := &r.Resolved[i]
			p("%s: %s (was %s)\n", f.Source, location(f), f.Class)
		}
	}
	if len(r.Problems) > 0 {
		p("\n== Input problems (%d) ==\n", len(r.Problems))
		for _, pr := range r.Problems {
			p("%s: %s\n", pr.Source, pr)
		}
	}
	if len(r.Notes) > 0 {
		p("\n== Notes ==\n")
		for _, n := range r.Notes {
			p("%s\n", n)
		}
	}
	return nil
}

// md escapes text for a Markdown table cell or inline text.
func md(s string) string {
	r := strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;")
	return r.Replace(s)
}

// code wraps s in a code span that survives backticks inside it.
func code(s string) string {
	if s == "" {
		return ""
	}
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	return fence + pad + strings.ReplaceAll(s, "\n", " ") + pad + fence
}

func (r *Report) writeMarkdown(w io.Writer) error {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("# %s\n\n", md(r.header()))
	for _, l := range r.summaryLines() {
		p("%s\n", md(l))
	}
	if srcs := r.sources(); len(srcs) > 0 {
		p("\n| source |")
		for _, c := range classes {
			p(" %s |", c)
		}
		p("\n|---|")
		for range classes {
			p("---:|")
		}
		p("\n")
		for _, src := range srcs {
			p("| %s |", src)
			for _, c := range classes {
				p(" %d |", r.Summary.BySource[src][c])
			}
			p("\n")
		}
	}
	for _, sec := range r.sections() {
		p("\n## %s (%d)\n\n", sec.Title, len(sec.Findings))
		for _, f := range sec.Findings {
			if compact(f.Class) {
				p("- **%s** %s — `%s`\n", f.Source, md(location(f)), md(f.Rule))
				continue
			}
			var tags []string
			if f.New {
				tags = append(tags, "**new**")
			}
			if f.Interpolated {
				tags = append(tags, "interpolated")
			}
			t := ""
			if len(tags) > 0 {
				t = " (" + strings.Join(tags, ", ") + ")"
			}
			p("- **%s** %s%s\n", f.Source, md(location(f)), t)
			p("  - prod: %s\n", mdSide(f.ProdPresent, f.Prod, f.ProdFile, f.ProdLine, f.ProdScope))
			p("  - beta: %s\n", mdSide(f.BetaPresent, f.Beta, f.BetaFile, f.BetaLine, ""))
			if f.Rule != "" {
				p("  - rule `%s`: %s\n", md(f.Rule), md(f.Reason))
			} else if f.Reason != "" {
				p("  - %s\n", md(f.Reason))
			}
		}
	}
	if rr := r.ruleReasons(); len(rr) > 0 {
		p("\n## Rules\n\n")
		for _, x := range rr {
			p("- `%s`: %s\n", md(x.Rule), md(x.Reason))
		}
	}
	if len(r.Resolved) > 0 {
		p("\n## Resolved since the previous run (%d)\n\n", len(r.Resolved))
		for i := range r.Resolved {
			f := &r.Resolved[i]
			p("- **%s** %s (was %s)\n", f.Source, md(location(f)), f.Class)
		}
	}
	if len(r.Problems) > 0 {
		p("\n## Input problems (%d)\n\n", len(r.Problems))
		for _, pr := range r.Problems {
			p("- %s: %s\n", pr.Source, md(pr.String()))
		}
	}
	if len(r.Notes) > 0 {
		p("\n## Notes\n\n")
		for _, n := range r.Notes {
			p("- %s\n", md(n))
		}
	}
	return nil
}

func mdSide(present bool, v any, file string, line int, scope string) string {
	s := "*not set*"
	if present {
		s = code(short(v, valueWidth))
	}
	var at []string
	if w := where(file, line); w != "" {
		at = append(at, code(w))
	}
	if scope != "" {
		at = append(at, md(scope))
	}
	if len(at) > 0 {
		s += " (" + strings.Join(at, ", ") + ")"
	}
	return s
}

// htmlView is what the HTML template renders.
type htmlView struct {
	Header   string
	Summary  []string
	Classes  []diff.Class
	Sources  []htmlSourceRow
	Sections []section
	Rules    []ruleReason
	Resolved []*diff.Finding
	Problems []diff.Problem
	Notes    []string
}

type htmlSourceRow struct {
	Source string
	Counts []int
}

func (r *Report) view() htmlView {
	v := htmlView{Header: r.header(), Summary: r.summaryLines(), Classes: classes,
		Sections: r.sections(), Rules: r.ruleReasons(), Problems: r.Problems, Notes: r.Notes}
	for _, src := range r.sources() {
		row := htmlSourceRow{Source: src}
		for _, c := range classes {
			row.Counts = append(row.Counts, r.Summary.BySource[src][c])
		}
		v.Sources = append(v.Sources, row)
	}
	for i := range r.Resolved {
		v.Resolved = append(v.Resolved, &r.Resolved[i])
	}
	return v
}

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"location": location,
	"value": func(present bool, v any) string {
		if !present {
			return "(not set)"
		}
		return short(v, 400)
	},
	"where":   where,
	"compact": compact,
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Header}}</title>
<style>
body{font-family:sans-serif;margin:2em;max-width:80em}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}td.n{text-align:right}
.f{margin:.6em 0;padding:.4em .6em;border-left:4px solid #ccc}
.real .f{border-color:#c00}.stale-override .f{border-color:#e80}
.c{margin:.1em 0}code{background:#f4f4f4;word-break:break-all}.why{color:#555}.new{color:#c00;font-weight:bold}
</style></head><body>
<h1>{{.Header}}</h1>
{{range .Summary}}<p>{{.}}</p>{{end}}
{{if .Sources}}<table><tr><th>source</th>{{range .Classes}}<th>{{.}}</th>{{end}}</tr>
{{range .Sources}}<tr><td>{{.Source}}</td>{{range .Counts}}<td class="n">{{.}}</td>{{end}}</tr>
{{end}}</table>{{end}}
{{range .Sections}}<section class="{{.Class}}">
<details{{if eq .Class "real"}} open{{end}}><summary><h2 style="display:inline">{{.Title}} ({{len .Findings}})</h2></summary>
{{range .Findings}}{{if compact .Class}}<div class="c"><b>{{.Source}}</b> {{location .}} — <code>{{.Rule}}</code></div>
{{else}}<div class="f"><b>{{.Source}}</b> {{location .}}{{if .New}} <span class="new">new</span>{{end}}{{if .Interpolated}} <i>interpolated, compared as text</i>{{end}}<br>
prod: <code>{{value .ProdPresent .Prod}}</code> {{with where .ProdFile .ProdLine}}<small>{{.}}</small>{{end}} {{with .ProdScope}}<small>({{.}})</small>{{end}}<br>
beta: <code>{{value .BetaPresent .Beta}}</code> {{with where .BetaFile .BetaLine}}<small>{{.}}</small>{{end}}<br>
{{if .Rule}}<span class="why">rule <code>{{.Rule}}</code>: {{.Reason}}</span>{{else if .Reason}}<span class="why">{{.Reason}}</span>{{end}}
</div>
{{end}}{{end}}</details></section>
{{end}}
{{if .Rules}}<h2>Rules</h2><dl>{{range .Rules}}<dt><code>{{.Rule}}</code></dt><dd>{{.Reason}}</dd>{{end}}</dl>{{end}}
{{if .Resolved}}<h2>Resolved since the previous run ({{len .Resolved}})</h2><ul>
{{range .Resolved}}<li><b>{{.Source}}</b> {{location .}} (was {{.Class}})</li>
{{end}}</ul>{{end}}
{{if .Problems}}<h2>Input problems ({{len .Problems}})</h2><ul>
{{range .Problems}}<li>{{.Source}}: {{.String}}</li>
{{end}}</ul>{{end}}
{{if .Notes}}<h2>Notes</h2><ul>{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
</body></html>
`))
