// Package helm compares the production and staging values of the services
// deployed from operations/deployment-charts.
//
// For each service under helmfile.d/services/<service>/ that has a
// values-staging.yaml, production is values.yaml deep-merged with
// values-eqiad.yaml (when present) and Beta is values.yaml deep-merged with
// values-staging.yaml, the way helm merges value files. Release-specific
// files (values-<release>.yaml) and the private and general-<env> defaults
// outside git are not read.
package helm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/wikimedia/sheriff/diff"
)

// ServicesDir is where the service helmfiles live, relative to the checkout.
const ServicesDir = "helmfile.d/services"

// Options name the environments compared.
type Options struct {
	Prod string // default "eqiad"
	Beta string // default "staging"
}

// Result is the outcome of a comparison.
type Result struct {
	Findings []diff.Finding // built-in classes only; rules are applied by the caller
	Problems []diff.Problem
	Notes    []string
	Services int // services compared
	Files    int // value files read
}

// Compare compares every service of the deployment-charts checkout at root.
func Compare(ctx context.Context, root string, opt Options) (*Result, error) {
	if opt.Prod == "" {
		opt.Prod = "eqiad"
	}
	if opt.Beta == "" {
		opt.Beta = "staging"
	}
	dir := filepath.Join(root, filepath.FromSlash(ServicesDir))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("helm: %w", err)
	}
	res := &Result{}
	var noBeta []string
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !e.IsDir() || e.Name()[0] == '_' || e.Name()[0] == '.' {
			continue
		}
		ok, err := compareService(root, e.Name(), opt, res)
		if err != nil {
			return nil, err
		}
		if !ok {
			noBeta = append(noBeta, e.Name())
		}
	}
	if len(noBeta) > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("helm: %d services have no values-%s.yaml and were not compared", len(noBeta), opt.Beta))
	}
	return res, nil
}

// file is a loaded value file.
type file struct {
	name string
	doc  *diff.Doc
}

// load reads a value file; a missing file is (nil, nil), a malformed one is
// recorded as a problem and returned as an error.
func load(root, name string, res *Result) (*file, error) {
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("helm: %w", err)
	}
	res.Files++
	doc, probs, err := diff.ParseYAML(name, b)
	for _, p := range probs {
		p.Source = "helm"
		res.Problems = append(res.Problems, p)
	}
	if err != nil {
		p := diff.Problem{Source: "helm", File: name, Message: err.Error()}
		var se *diff.SyntaxError
		if errors.As(err, &se) {
			p.Line, p.Message = se.Line, se.Msg
		}
		res.Problems = append(res.Problems, p)
		return nil, errMalformed
	}
	if doc.Value != nil {
		if _, ok := doc.Value.(map[string]any); !ok {
			res.Problems = append(res.Problems, diff.Problem{Source: "helm", File: name, Line: 1, Message: "values file is not a mapping"})
			return nil, errMalformed
		}
	}
	return &file{name: name, doc: doc}, nil
}

var errMalformed = errors.New("malformed values file")

func compareService(root, svc string, opt Options, res *Result) (bool, error) {
	base := path.Join(ServicesDir, svc)
	betaF, err := load(root, base+"/values-"+opt.Beta+".yaml", res)
	if betaF == nil && err == nil {
		return false, nil
	}
	valuesF, err2 := load(root, base+"/values.yaml", res)
	prodF, err3 := load(root, base+"/values-"+opt.Prod+".yaml", res)
	for _, e := range []error{err, err2, err3} {
		if e != nil && !errors.Is(e, errMalformed) {
			return true, e
		}
		if e != nil {
			res.Notes = append(res.Notes, "helm: "+svc+" skipped: a values file is malformed")
			return true, nil
		}
	}
	res.Services++
	prodDocs := nonNil(prodF, valuesF)
	betaDocs := nonNil(betaF, valuesF)
	prod := merged(prodDocs)
	beta := merged(betaDocs)

	for _, d := range diff.Compare(prod, beta) {
		f := diff.Finding{Source: "helm", Key: svc, Path: d.Path.String(),
			Prod: d.Prod, ProdPresent: d.ProdPresent, Beta: d.Beta, BetaPresent: d.BetaPresent}
		switch {
		case !d.ProdPresent:
			f.Class, f.Reason = diff.ClassBetaOnly, "only staging sets this value"
		case !d.BetaPresent:
			f.Class, f.Reason = diff.ClassMissingInBeta, "production sets this value; staging does not"
		default:
			f.Class = diff.ClassReal
		}
		f.Interpolated = diff.HasInterpolation(d.Prod) || diff.HasInterpolation(d.Beta)
		f.ProdFile, f.ProdLine = locate(prodDocs, d.Path, d.ProdPresent)
		f.BetaFile, f.BetaLine = locate(betaDocs, d.Path, d.BetaPresent)
		res.Findings = append(res.Findings, f)
	}
	// Staging overrides that change nothing.
	if bm, ok := betaF.doc.Value.(map[string]any); ok {
		stale(svc, nil, bm, prod, valuesF, prodF, betaF, res)
	}
	return true, nil
}

func nonNil(fs ...*file) []*file {
	var out []*file
	for _, f := range fs {
		if f != nil {
			out = append(out, f)
		}
	}
	return out
}

// merged deep-merges the files, the first one winning.
func merged(fs []*file) any {
	var out any = map[string]any{}
	for i := len(fs) - 1; i >= 0; i-- {
		if fs[i].doc.Value != nil {
			out = merge(out, fs[i].doc.Value)
		}
	}
	return out
}

// merge overlays over onto base as helm does: maps merge recursively, a null
// deletes the key, anything else (lists included) replaces.
func merge(base, over any) any {
	om, ok := over.(map[string]any)
	if !ok {
		return over
	}
	bm, ok := base.(map[string]any)
	if !ok {
		bm = nil
	}
	out := make(map[string]any, len(bm)+len(om))
	for k, v := range bm {
		out[k] = v
	}
	for k, v := range om {
		switch {
		case v == nil:
			delete(out, k)
		default:
			if bv, ok := out[k]; ok {
				out[k] = merge(bv, v)
			} else {
				out[k] = merge(nil, v)
			}
		}
	}
	return out
}

// locate returns the first file (in precedence order) that has p.
func locate(fs []*file, p diff.Path, present bool) (string, int) {
	if !present {
		// Point at the nearest existing parent in the highest-precedence file.
		for len(p) > 0 {
			p = p[:len(p)-1]
			for _, f := range fs {
				if line, ok := diff.Line(f.doc.Root, p); ok && len(p) > 0 {
					return f.name, line
				}
			}
		}
		if len(fs) > 0 {
			return fs[0].name, 0
		}
		return "", 0
	}
	for _, f := range fs {
		if line, ok := diff.Line(f.doc.Root, p); ok {
			return f.name, line
		}
	}
	return "", 0
}

// stale walks the leaves the staging file sets and reports those equal to
// the production value.
func stale(svc string, p diff.Path, bm map[string]any, prod any, valuesF, prodF, betaF *file, res *Result) {
	keys := make([]string, 0, len(bm))
	for k := range bm {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		sp := append(p[:len(p):len(p)], diff.MapKey(k))
		bv := bm[k]
		if sub, ok := bv.(map[string]any); ok && len(sub) > 0 {
			stale(svc, sp, sub, prod, valuesF, prodF, betaF, res)
			continue
		}
		pv, ok := diff.Get(prod, sp)
		if !ok || bv == nil || !diff.Equal(pv, bv) {
			continue
		}
		f := diff.Finding{Source: "helm", Key: svc, Path: sp.String(), Class: diff.ClassStaleOverride,
			Prod: pv, ProdPresent: true, Beta: bv, BetaPresent: true}
		f.BetaFile = betaF.name
		f.BetaLine, _ = diff.Line(betaF.doc.Root, sp)
		var inValues any
		var inValuesOK bool
		if valuesF != nil {
			inValues, inValuesOK = diff.Get(valuesF.doc.Value, sp)
		}
		switch {
		case inValuesOK && diff.Equal(inValues, bv):
			f.Reason = "redundant: values.yaml already sets the same value"
		default:
			f.Reason = "staging repeats the production value; the copy will go stale when production changes"
		}
		f.ProdFile, f.ProdLine = locate(nonNil(prodF, valuesF), sp, true)
		f.Interpolated = diff.HasInterpolation(bv)
		res.Findings = append(res.Findings, f)
	}
}
