package hiera

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/wikimedia/sheriff/diff"
)

// Options select the production site and the Beta project to compare.
type Options struct {
	Site       string // production site whose layers apply; default "eqiad"
	Deployment string // Cloud VPS deployment; default "eqiad1"
	Project    string // Cloud VPS project; default "deployment-prep"
	// MissingInBeta reports production keys Beta does not set, limited to
	// classes Beta configures at all (otherwise every production-only
	// service would be listed). Default on; set NoMissingInBeta to disable.
	NoMissingInBeta bool
}

func (o *Options) defaults() {
	if o.Site == "" {
		o.Site = "eqiad"
	}
	if o.Deployment == "" {
		o.Deployment = "eqiad1"
	}
	if o.Project == "" {
		o.Project = "deployment-prep"
	}
}

// Result is the outcome of a comparison.
type Result struct {
	Findings []diff.Finding // built-in classes only; rules are applied by the caller
	Problems []diff.Problem // files that could not be read, misplaced keys
	Notes    []string       // hierarchy levels skipped and why, fallbacks used
	Keys     int            // hiera keys compared
	Files    int            // YAML files read
}

// Compare compares the effective hiera values of the Beta project with
// production in the operations/puppet checkout at root.
//
// Beta values are looked up through the Cloud VPS hierarchy for the project
// (and for each host that has a hosts/<host>.yaml). Production has no single
// equivalent host, so each Beta key is compared with every value production
// can give it: the site and common layers, and each role that sets the key;
// when none is equal, the closest one (fewest differences) is reported, and
// ProdScope says which it was.
func Compare(ctx context.Context, root string, opt Options) (*Result, error) {
	opt.defaults()
	datadir := filepath.Join(root, "hieradata")
	if fi, err := os.Stat(datadir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("hiera: %s has no hieradata directory", root)
	}
	res := &Result{}
	prodH, err := hierarchy(root, "production.yaml", defaultProduction, res)
	if err != nil {
		return nil, err
	}
	cloudH, err := hierarchy(root, "wmcs-"+opt.Deployment+".yaml", defaultCloud, res)
	if err != nil {
		return nil, err
	}
	st, err := loadStore(ctx, datadir, "hieradata/")
	if err != nil {
		return nil, err
	}
	res.Files = len(st.docs)
	res.Problems = append(res.Problems, st.problems...)

	prod, err := newSide(prodH, st, datadir, sideConfig{name: "production",
		facts: map[string]string{"site": opt.Site}, enumerate: "_role"})
	if err != nil {
		return nil, err
	}
	beta, err := newSide(cloudH, st, datadir, sideConfig{name: "beta",
		facts:     map[string]string{"wmcs_deployment": opt.Deployment, "wmcs_project": opt.Project, "project": opt.Project},
		enumerate: "hostname", project: []string{"wmcs_project", "project"}})
	if err != nil {
		return nil, err
	}
	for _, s := range []*side{prod, beta} {
		for _, sk := range s.skipped {
			res.Notes = append(res.Notes, s.name+": skipped "+sk)
		}
	}
	c := &comparer{ctx: ctx, res: res, prod: prod, beta: beta, shared: sharedFiles(prod, beta)}
	c.reads, err = readKeys(root, st)
	if err != nil {
		return nil, err
	}
	if c.reads == nil {
		res.Notes = append(res.Notes, "puppet: no manifests in the checkout; dead-key detection skipped")
	}
	if err := c.run(opt); err != nil {
		return nil, err
	}
	sort.SliceStable(res.Findings, func(i, j int) bool {
		a, b := &res.Findings[i], &res.Findings[j]
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		if a.Host != b.Host {
			return a.Host < b.Host
		}
		return a.Path < b.Path
	})
	return res, nil
}

func hierarchy(root, name, fallback string, res *Result) (*Hierarchy, error) {
	rel := HierarchyDir + "/" + name
	h, err := LoadHierarchy(filepath.Join(root, filepath.FromSlash(rel)), rel)
	if err == nil {
		return h, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	res.Notes = append(res.Notes, fmt.Sprintf("puppet: %s not found; using the built-in copy of its hierarchy", rel))
	return ParseHierarchy("built-in "+name, []byte(fallback))
}

// sharedFiles are the data files both hierarchies read (hieradata/common.yaml):
// a Beta value from there is not a Beta override.
func sharedFiles(prod, beta *side) map[string]bool {
	files := map[string]bool{}
	for _, l := range prod.layers {
		if !l.tmpl.variant {
			f := l.tmpl.file("")
			if l.expand {
				files[f+".yaml"] = true
			} else {
				files[f] = true
			}
		}
	}
	out := map[string]bool{}
	for _, l := range beta.layers {
		if f := l.tmpl.file(""); !l.tmpl.variant && !l.expand && files[f] {
			out[f] = true
		}
	}
	return out
}

type comparer struct {
	ctx        context.Context
	res        *Result
	prod, beta *side
	shared     map[string]bool
	reads      *reads // nil when the checkout has no manifests
	roleIndex  map[string][]string
}

func (c *comparer) run(opt Options) error {
	misplaced := func(file string, e diff.Entry, want string) {
		c.res.Problems = append(c.res.Problems, diff.Problem{Source: "puppet", File: c.prod.store.prefix + file, Line: e.Line,
			Message: fmt.Sprintf("key %q is never looked up here in production: wmflib::expand_path reads it from %s%s", e.Key, c.prod.store.prefix, want)})
	}
	// Which roles set which keys.
	c.roleIndex = map[string][]string{}
	for _, role := range c.prod.variants {
		seen := map[string]bool{}
		for _, l := range c.prod.layers {
			if !l.tmpl.variant {
				continue
			}
			for k := range c.prod.layerKeys(l, role, nil) {
				if !seen[k] {
					seen[k] = true
					c.roleIndex[k] = append(c.roleIndex[k], role)
				}
			}
		}
	}
	// Keys Beta sets at project level, and the classes they belong to.
	betaKeys := map[string]bool{}
	betaClasses := map[string]bool{}
	for _, l := range c.beta.layers {
		if l.tmpl.variant {
			continue
		}
		for k := range c.beta.layerKeys(l, "", nil) {
			betaKeys[k] = true
			if l.project {
				betaClasses[class(k)] = true
			}
		}
	}
	delete(betaKeys, "lookup_options")
	for _, k := range sortedKeys(betaKeys) {
		if err := c.ctx.Err(); err != nil {
			return err
		}
		c.res.Keys++
		c.compareKey(k, "")
	}
	// Host files.
	for _, host := range c.beta.variants {
		for _, l := range c.beta.layers {
			if !l.tmpl.variant {
				continue
			}
			keys := c.beta.layerKeys(l, host, nil)
			for _, k := range sortedKeys(keys) {
				if k == "lookup_options" {
					continue
				}
				c.res.Keys++
				c.compareKey(k, host)
			}
		}
	}
	// Production keys Beta does not set, in classes Beta configures.
	prodKeys := map[string]bool{}
	for _, l := range c.prod.layers {
		if l.tmpl.variant {
			continue
		}
		for k := range c.prod.layerKeys(l, "", misplaced) {
			prodKeys[k] = true
		}
	}
	if opt.NoMissingInBeta {
		return nil
	}
	for _, k := range sortedKeys(prodKeys) {
		if betaKeys[k] || k == "lookup_options" || !strings.Contains(k, "::") || !betaClasses[class(k)] {
			continue
		}
		pv, _ := c.prod.effective(k, "")
		f := diff.Finding{Source: "puppet", Key: k, Prod: pv.v, ProdPresent: true, Class: diff.ClassMissingInBeta,
			ProdScope: "common",
			Reason:    "production sets it; Beta sets other " + class(k) + " parameters but not this one, so it gets the class default",
		}
		f.ProdFile, f.ProdLine = c.prod.locate(pv, nil)
		f.Interpolated = diff.HasInterpolation(pv.v)
		c.res.Findings = append(c.res.Findings, f)
	}
	return nil
}

// class is the class a namespaced key parametrises: profile::foo::bar ->
// profile::foo.
func class(k string) string {
	if i := strings.LastIndex(k, "::"); i >= 0 {
		return k[:i]
	}
	return ""
}

// candidate is one value production can give a key.
type candidate struct {
	scope string
	roles int // roles that give this same value
	val   value
}

func (c *comparer) candidates(key string) []candidate {
	var out []candidate
	fp := map[string]int{}
	add := func(scope string, v value) {
		f := fingerprint(v.v)
		if i, ok := fp[f]; ok {
			out[i].roles++
			return
		}
		fp[f] = len(out)
		out = append(out, candidate{scope: scope, roles: 1, val: v})
	}
	if v, ok := c.prod.effective(key, ""); ok {
		add("common", v)
	}
	for _, role := range c.roleIndex[key] {
		if v, ok := c.prod.effective(key, role); ok {
			add("role "+role, v)
		}
	}
	for i := range out {
		switch n := out[i].roles - 1; {
		case n == 1:
			out[i].scope += " and 1 other role"
		case n > 1:
			out[i].scope += fmt.Sprintf(" and %d other roles", n)
		}
	}
	return out
}

func fingerprint(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func (c *comparer) compareKey(key, host string) {
	bv, ok := c.beta.effective(key, host)
	if !ok {
		return
	}
	top := bv.hits[0]
	topShared := c.shared[top.file]
	base := diff.Finding{Source: "puppet", Key: key, Host: host}
	if c.reads != nil && !topShared && !c.reads.has(key) {
		f := base
		f.Beta, f.BetaPresent, f.Class = bv.v, true, diff.ClassDeadKey
		f.Reason = "no class parameter, lookup() or hiera interpolation in the puppet tree reads this key"
		f.BetaFile, f.BetaLine = c.beta.locate(bv, nil)
		c.res.Findings = append(c.res.Findings, f)
		return
	}
	cands := c.candidates(key)
	if len(cands) == 0 {
		if topShared {
			// A namespaced key in hieradata/common.yaml that expand_path
			// never reads in production: Beta sees it, production does not.
			base.Reason = "Beta reads it from " + c.beta.store.prefix + top.file + ", where production's expand_path lookup never looks"
		} else {
			base.Reason = "only Beta sets this key"
		}
		f := base
		f.Beta, f.BetaPresent, f.Class = bv.v, true, diff.ClassBetaOnly
		f.BetaFile, f.BetaLine = c.beta.locate(bv, nil)
		f.Interpolated = diff.HasInterpolation(bv.v)
		c.res.Findings = append(c.res.Findings, f)
		return
	}
	// The closest production value.
	best, bestDeltas := -1, []diff.Delta(nil)
	for i, cd := range cands {
		if diff.Equal(diff.Normalize(cd.val.v), diff.Normalize(bv.v)) {
			best, bestDeltas = i, nil
			break
		}
		ds := diff.Compare(cd.val.v, bv.v)
		if best < 0 || len(ds) < len(bestDeltas) {
			best, bestDeltas = i, ds
		}
	}
	cd := cands[best]
	base.ProdScope = cd.scope
	if len(bestDeltas) == 0 {
		c.staleCheck(base, key, host, bv, cd)
		return
	}
	for _, d := range bestDeltas {
		f := base
		f.Path = d.Path.String()
		f.Prod, f.ProdPresent = d.Prod, d.ProdPresent
		f.Beta, f.BetaPresent = d.Beta, d.BetaPresent
		switch {
		case !d.ProdPresent:
			f.Class = diff.ClassBetaOnly
		case !d.BetaPresent:
			f.Class = diff.ClassMissingInBeta
		default:
			f.Class = diff.ClassReal
		}
		f.Interpolated = diff.HasInterpolation(d.Prod) || diff.HasInterpolation(d.Beta)
		if d.ProdPresent {
			f.ProdFile, f.ProdLine = c.prod.locate(cd.val, d.Path)
		} else {
			f.ProdFile, f.ProdLine = c.prod.locate(cd.val, nil)
		}
		if d.BetaPresent {
			f.BetaFile, f.BetaLine = c.beta.locate(bv, d.Path)
		} else {
			f.BetaFile, f.BetaLine = c.beta.locate(bv, nil)
		}
		c.res.Findings = append(c.res.Findings, f)
	}
}

// staleCheck reports a Beta override that changes nothing: either the layer
// below it already gives Beta the same value, or it is a project-level copy
// of the production value that will silently go stale when production
// changes.
func (c *comparer) staleCheck(base diff.Finding, key, host string, bv value, cd candidate) {
	top := bv.hits[0]
	if !c.beta.layers[top.layer].project {
		// Cloud-wide layers are shared platform defaults, not Beta overrides.
		return
	}
	f := base
	f.Prod, f.ProdPresent = cd.val.v, true
	f.Beta, f.BetaPresent = bv.v, true
	f.Class = diff.ClassStaleOverride
	f.BetaFile, f.BetaLine = c.beta.store.prefix+top.file, top.entry.Line
	f.ProdFile, f.ProdLine = c.prod.locate(cd.val, nil)
	f.Interpolated = diff.HasInterpolation(bv.v)
	if len(bv.hits) > 1 {
		rest := c.beta.options.merge(key, bv.hits[1:])
		if diff.Equal(diff.Normalize(rest), diff.Normalize(bv.v)) {
			f.Reason = fmt.Sprintf("redundant: %s%s already gives Beta the same value", c.beta.store.prefix, bv.hits[1].file)
			c.res.Findings = append(c.res.Findings, f)
			return
		}
	}
	f.Reason = "Beta repeats the production value; the copy will go stale when production changes"
	c.res.Findings = append(c.res.Findings, f)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
