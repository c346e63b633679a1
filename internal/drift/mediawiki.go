package drift

import (
	"errors"
	"sort"
	"strconv"
	"strings"

	"github.com/wikimedia/sheriff/diff"
	"github.com/wikimedia/sheriff/internal/mwconfig"
)

// AllWikis is the Wiki of a mediawiki-config finding that holds for every
// Beta wiki compared.
const AllWikis = "*"

// mediawikiFindings turns the resolved mediawiki-config pairs into findings
// with built-in classes. Settings are compared per wiki; aggregateWikis
// later folds the identical findings of several wikis into one.
func mediawikiFindings(res *mwconfig.Result) *sourceResult {
	out := &sourceResult{wikis: res.Wikis, stats: map[string]int{
		"mediawiki_wikis": len(res.Wikis),
		"mediawiki_pairs": len(res.Pairs) + len(res.Services) + len(res.WikiLists),
	}}
	if out.wikis == nil {
		out.wikis = []string{}
	}
	for _, p := range res.Pairs {
		out.findings = append(out.findings, pairFindings(p, p.Setting, p.Wiki)...)
	}
	for _, p := range res.Services {
		out.findings = append(out.findings, pairFindings(p, "service:"+p.Setting, "")...)
	}
	for _, p := range res.WikiLists {
		// A Beta list is Beta's own, not an override: equal is the goal.
		p.Overridden = false
		out.findings = append(out.findings, pairFindings(p, p.Setting, "")...)
	}
	for _, w := range res.Warnings {
		pr := diff.Problem{Source: SourceMediaWikiConfig, Message: w.Error()}
		var mw *mwconfig.Warning
		if errors.As(w, &mw) {
			pr.File, pr.Line, pr.Message = mw.File, mw.Line, mw.Msg
		}
		out.problems = append(out.problems, pr)
	}
	return out
}

// present treats an explicit null like an absent value: MediaWiki sets
// neither.
func present(v mwconfig.Value) bool { return v.Present && v.V != nil }

func pairFindings(p mwconfig.Pair, key, wiki string) []diff.Finding {
	base := diff.Finding{Source: SourceMediaWikiConfig, Key: key, Wiki: wiki,
		ProdFile: p.Prod.File, ProdLine: p.Prod.Line, BetaFile: p.Beta.File, BetaLine: p.Beta.Line}
	pp, bp := present(p.Prod), present(p.Beta)
	whole := func(class diff.Class, reason string) []diff.Finding {
		f := base
		f.Class, f.Reason = class, reason
		if pp {
			f.Prod, f.ProdPresent = diff.Normalize(p.Prod.V), true
		}
		if bp {
			f.Beta, f.BetaPresent = diff.Normalize(p.Beta.V), true
		}
		return []diff.Finding{f}
	}
	if p.Overridden && !p.ProdHasSetting {
		return whole(diff.ClassStaleOverride, "Beta overrides a setting production no longer has")
	}
	switch {
	case !pp && !bp:
		if p.Overridden {
			return whole(diff.ClassStaleOverride, "the Beta override changes nothing for this wiki: neither side sets a value")
		}
		return nil
	case !pp:
		return whole(diff.ClassBetaOnly, "only Beta sets a value for this wiki")
	case !bp:
		return whole(diff.ClassMissingInBeta, "production sets a value for this wiki; Beta does not")
	}
	deltas := diff.Compare(p.Prod.V, p.Beta.V)
	if len(deltas) == 0 {
		if p.Overridden {
			return whole(diff.ClassStaleOverride, "the Beta override equals the production value; the copy will go stale when production changes")
		}
		return nil
	}
	out := make([]diff.Finding, 0, len(deltas))
	for _, d := range deltas {
		f := base
		f.Path = d.Path.String()
		f.Prod, f.ProdPresent, f.Beta, f.BetaPresent = d.Prod, d.ProdPresent, d.Beta, d.BetaPresent
		switch {
		case !d.ProdPresent:
			f.Class = diff.ClassBetaOnly
		case !d.BetaPresent:
			f.Class = diff.ClassMissingInBeta
		default:
			f.Class = diff.ClassReal
		}
		out = append(out, f)
	}
	return out
}

// aggregateWikis folds findings that are identical but for the wiki into
// one, whose Wikis lists them and whose Wiki is AllWikis when it covers
// every Beta wiki, else the comma-separated names. Expected and sizing
// findings fold by setting, path and rule alone; their values are then those
// of the first wiki. Findings without a wiki pass through.
func aggregateWikis(fs []diff.Finding, all []string) []diff.Finding {
	type group struct {
		idx   int
		wikis []string
	}
	groups := map[string]*group{}
	var out []diff.Finding
	for _, f := range fs {
		if f.Wiki == "" {
			out = append(out, f)
			continue
		}
		parts := []string{f.Source, f.Key, f.Path, string(f.Class), f.Rule, f.Reason}
		if f.Class != diff.ClassExpected && f.Class != diff.ClassSizing {
			// Explained differences fold whatever their values (wgServer
			// differs on every wiki, for the same reason); the others only
			// when they are the same difference.
			parts = append(parts, fingerprint(f.Prod), fingerprint(f.Beta), boolString(f.ProdPresent), boolString(f.BetaPresent),
				f.ProdFile, strconv.Itoa(f.ProdLine), f.BetaFile, strconv.Itoa(f.BetaLine))
		}
		k := strings.Join(parts, "\x00")
		if g, ok := groups[k]; ok {
			g.wikis = append(g.wikis, f.Wiki)
			continue
		}
		groups[k] = &group{idx: len(out), wikis: []string{f.Wiki}}
		out = append(out, f)
	}
	for _, g := range groups {
		if len(g.wikis) < 2 {
			continue
		}
		sort.Strings(g.wikis)
		f := &out[g.idx]
		f.Wikis = g.wikis
		if len(g.wikis) == len(all) && len(all) > 0 {
			f.Wiki = AllWikis
		} else {
			f.Wiki = strings.Join(g.wikis, ",")
		}
	}
	return out
}

func boolString(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
