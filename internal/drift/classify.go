package drift

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/wikimedia/sheriff/diff"
	"github.com/wikimedia/sheriff/rules"
)

// differs reports whether a built-in class is an actual difference that a
// rule may explain. Stale overrides and dead keys are not differences, so
// only ignore rules apply to them.
func differs(c diff.Class) bool {
	return c == diff.ClassReal || c == diff.ClassBetaOnly || c == diff.ClassMissingInBeta
}

// classify applies the rules to f in order and reports whether f is to be
// dropped (an ignore rule matched). The first applicable rule wins, except
// that substitution rules accumulate: a value needing both the host and the
// domain substitutions is explained by the two together.
func classify(f *diff.Finding, rs *rules.DriftRules) (ignore bool) {
	if rs == nil {
		return false
	}
	var subs []*rules.DriftRule
	for _, r := range rs.Rules {
		if !r.Matches(f) {
			continue
		}
		if r.Class == rules.DriftIgnore {
			return true
		}
		if !differs(f.Class) {
			continue
		}
		if len(r.Substitute) == 0 {
			f.Class = diff.Class(r.Class)
			f.Rule, f.Reason = r.Name, r.Reason
			return false
		}
		if !f.ProdPresent || !f.BetaPresent {
			continue
		}
		subs = append(subs, r)
		if used, ok := substitutedEqual(f.Prod, f.Beta, subs); ok {
			f.Class = diff.ClassExpected
			var names, reasons []string
			for _, s := range used {
				names, reasons = append(names, s.Name), append(reasons, s.Reason)
			}
			f.Rule, f.Reason = strings.Join(names, "+"), strings.Join(reasons, " ")
			return false
		}
	}
	return false
}

// substitutedEqual compares the values once every substitution has been
// applied, and returns the rules that changed something. Lists of scalars
// compare as sets afterwards, since twenty production hosts and two Beta
// hosts all become the same placeholder.
func substitutedEqual(prod, beta any, subs []*rules.DriftRule) ([]*rules.DriftRule, bool) {
	p, b := diff.Normalize(prod), diff.Normalize(beta)
	var used []*rules.DriftRule
	for _, s := range subs {
		np, nb := s.Rewrite(p, rules.Prod), s.Rewrite(b, rules.Beta)
		if !diff.Equal(np, p) || !diff.Equal(nb, b) {
			used = append(used, s)
		}
		p, b = np, nb
	}
	return used, diff.Equal(asSets(p), asSets(b))
}

func asSets(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = asSets(e)
		}
		return out
	case []any:
		if !allScalar(t) {
			out := make([]any, len(t))
			for i, e := range t {
				out[i] = asSets(e)
			}
			return out
		}
		seen := map[string]any{}
		for _, e := range t {
			seen[fingerprint(e)] = e
		}
		keys := make([]string, 0, len(seen))
		for k := range seen {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = seen[k]
		}
		return out
	}
	return v
}

func allScalar(l []any) bool {
	for _, e := range l {
		if !diff.IsScalar(e) {
			return false
		}
	}
	return true
}

func fingerprint(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}
