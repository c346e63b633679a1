package helm

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/wikimedia/sheriff/diff"
)

func at(file string, line int) string { return file + ":" + strconv.Itoa(line) }

func TestCompareFixture(t *testing.T) {
	res, err := Compare(context.Background(), "testdata/charts", Options{})
	if err != nil {
		t.Fatal(err)
	}
	const (
		cv = "helmfile.d/services/citoid/values.yaml"
		cs = "helmfile.d/services/citoid/values-staging.yaml"
		ev = "helmfile.d/services/eventgate/values.yaml"
		ee = "helmfile.d/services/eventgate/values-eqiad.yaml"
		es = "helmfile.d/services/eventgate/values-staging.yaml"
	)
	type want struct {
		class          diff.Class
		prod, beta     any
		prodAt, betaAt string
		reason         string
	}
	wants := map[string]want{
		"citoid main_app.version":                      {class: diff.ClassReal, prod: "2026-05-12-175031-production", beta: "2026-07-16-140518-production", prodAt: at(cv, 5), betaAt: at(cs, 2)},
		"citoid main_app.proxy":                        {class: diff.ClassStaleOverride, betaAt: at(cs, 3), reason: "redundant: values.yaml"},
		"citoid main_app.log_level":                    {class: diff.ClassReal, prod: "error", beta: "debug"},
		"citoid resources.replicas":                    {class: diff.ClassReal, prod: int64(8), beta: int64(1), prodAt: at(cv, 12), betaAt: at(cs, 6)},
		"citoid discovery.listeners[name=zotero].port": {class: diff.ClassReal, prod: int64(6004), beta: int64(6104), prodAt: at(cv, 27), betaAt: at(cs, 10)},
		"citoid discovery.listeners[name=proton]":      {class: diff.ClassBetaOnly, beta: map[string]any{"name": "proton", "port": int64(6005)}, betaAt: at(cs, 13)},
		"citoid monitoring":                            {class: diff.ClassMissingInBeta, prod: map[string]any{"enabled": true}, prodAt: at(cv, 31)},
		"citoid mesh.telemetry.enabled":                {class: diff.ClassStaleOverride, reason: "redundant"},
		"eventgate main_app.conf.topic_prefix":         {class: diff.ClassReal, prod: "eqiad.", beta: "staging.", prodAt: at(ee, 3), betaAt: at(es, 3)},
		"eventgate resources.replicas":                 {class: diff.ClassReal, prod: int64(30), beta: int64(4), prodAt: at(ee, 5), betaAt: at(ev, 8)},
		"eventgate external_services.kafka":            {class: diff.ClassStaleOverride, prodAt: at(ee, 7), betaAt: at(es, 5), reason: "repeats the production value"},
		"noprod resources":                             {class: diff.ClassBetaOnly},
	}
	got := map[string]diff.Finding{}
	for _, f := range res.Findings {
		if f.Source != "helm" {
			t.Errorf("source = %q", f.Source)
		}
		k := f.Key + " " + f.Path
		if _, dup := got[k]; dup {
			t.Errorf("two findings for %s", k)
		}
		got[k] = f
	}
	for k, w := range wants {
		f, ok := got[k]
		if !ok {
			t.Errorf("no finding for %s", k)
			continue
		}
		if f.Class != w.class {
			t.Errorf("%s: class %s, want %s", k, f.Class, w.class)
		}
		if w.prod != nil && !reflect.DeepEqual(f.Prod, w.prod) {
			t.Errorf("%s: prod %#v, want %#v", k, f.Prod, w.prod)
		}
		if w.beta != nil && !reflect.DeepEqual(f.Beta, w.beta) {
			t.Errorf("%s: beta %#v, want %#v", k, f.Beta, w.beta)
		}
		if w.prodAt != "" && at(f.ProdFile, f.ProdLine) != w.prodAt {
			t.Errorf("%s: prod at %s:%d, want %s", k, f.ProdFile, f.ProdLine, w.prodAt)
		}
		if w.betaAt != "" && at(f.BetaFile, f.BetaLine) != w.betaAt {
			t.Errorf("%s: beta at %s:%d, want %s", k, f.BetaFile, f.BetaLine, w.betaAt)
		}
		if !strings.Contains(f.Reason, w.reason) {
			t.Errorf("%s: reason %q, want %q in it", k, f.Reason, w.reason)
		}
	}
	for k := range got {
		if _, ok := wants[k]; !ok {
			t.Errorf("unexpected finding %s: %+v", k, got[k])
		}
	}
	if res.Services != 3 {
		t.Errorf("compared %d services, want citoid, eventgate and noprod", res.Services)
	}
	var broken bool
	for _, p := range res.Problems {
		broken = broken || (p.File == "helmfile.d/services/broken/values-staging.yaml" && p.Line == 3 && p.Source == "helm")
	}
	if !broken {
		t.Errorf("problems = %v; want broken/values-staging.yaml:3", res.Problems)
	}
	notes := strings.Join(res.Notes, "\n")
	if !strings.Contains(notes, "broken skipped") || !strings.Contains(notes, "1 services have no values-staging.yaml") {
		t.Errorf("notes = %q", notes)
	}
}

func TestMerge(t *testing.T) {
	base := map[string]any{"a": map[string]any{"x": 1, "y": 2}, "l": []any{1, 2}, "gone": map[string]any{"k": 1}}
	over := map[string]any{"a": map[string]any{"y": 3, "z": 4}, "l": []any{9}, "gone": nil, "new": "n"}
	want := map[string]any{"a": map[string]any{"x": 1, "y": 3, "z": 4}, "l": []any{9}, "new": "n"}
	if got := merge(base, over); !reflect.DeepEqual(got, want) {
		t.Errorf("merge = %#v, want %#v", got, want)
	}
	if !reflect.DeepEqual(base["a"], map[string]any{"x": 1, "y": 2}) {
		t.Error("merge modified its input")
	}
}

func TestCompareMissingDir(t *testing.T) {
	if _, err := Compare(context.Background(), t.TempDir(), Options{}); err == nil {
		t.Error("no error for a checkout without helmfile.d/services")
	}
}
