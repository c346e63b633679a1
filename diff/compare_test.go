package diff

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestCompare(t *testing.T) {
	type d struct {
		path       string
		prod, beta any
		pp, bp     bool
	}
	tests := []struct {
		name       string
		prod, beta any
		want       []d
	}{
		{"equal scalars", "a", "a", nil},
		{"int and float equal", 3, 3.0, nil},
		{"int kinds equal", int32(3), uint8(3), nil},
		{"scalar changed", "a", "b", []d{{"", "a", "b", true, true}}},
		{"type changed", map[string]any{"a": 1}, "x",
			[]d{{"", map[string]any{"a": int64(1)}, "x", true, true}}},
		{"nested map", map[string]any{"a": map[string]any{"b": 1, "c": 2}}, map[string]any{"a": map[string]any{"b": 1, "c": 3}},
			[]d{{"a.c", int64(2), int64(3), true, true}}},
		{"missing and extra keys",
			map[string]any{"gone": true, "same": 1},
			map[string]any{"same": 1, "new": "x"},
			[]d{{"gone", true, nil, true, false}, {"new", nil, "x", false, true}}},
		{"scalar list reported whole",
			map[string]any{"hosts": []any{"a", "b", "c"}},
			map[string]any{"hosts": []any{"a", "x"}},
			[]d{{"hosts", []any{"a", "b", "c"}, []any{"a", "x"}, true, true}}},
		{"keyed list matched by name not position",
			[]any{map[string]any{"name": "a", "port": 1}, map[string]any{"name": "b", "port": 2}},
			[]any{map[string]any{"name": "new", "port": 9}, map[string]any{"name": "a", "port": 1}, map[string]any{"name": "b", "port": 3}},
			[]d{{"[name=b].port", int64(2), int64(3), true, true}, {"[name=new]", nil, map[string]any{"name": "new", "port": int64(9)}, false, true}}},
		{"keyed list against empty list",
			[]any{map[string]any{"host": "h1"}}, []any{},
			[]d{{"[host=h1]", map[string]any{"host": "h1"}, nil, true, false}}},
		{"quoted keys",
			map[string]any{"prometheus.io/port": 1}, map[string]any{"prometheus.io/port": 2},
			[]d{{`["prometheus.io/port"]`, int64(1), int64(2), true, true}}},
		{"map with non-string keys", map[int]string{1: "a"}, map[string]any{"1": "b"},
			[]d{{"1", "a", "b", true, true}}},
		{"nil against a value", "x", nil, []d{{"", "x", nil, true, true}}},
		{"nil inside a map", map[string]any{"a": nil}, map[string]any{"a": 1},
			[]d{{"a", nil, int64(1), true, true}}},
		{"nil and missing differ", map[string]any{"a": nil}, map[string]any{},
			[]d{{"a", nil, nil, true, false}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Compare(tc.prod, tc.beta)
			var gs []d
			for _, g := range got {
				gs = append(gs, d{g.Path.String(), g.Prod, g.Beta, g.ProdPresent, g.BetaPresent})
			}
			if !reflect.DeepEqual(gs, tc.want) {
				t.Errorf("Compare:\n got %#v\nwant %#v", gs, tc.want)
			}
			if eq := Equal(Normalize(tc.prod), Normalize(tc.beta)); eq != (len(tc.want) == 0) {
				t.Errorf("Equal = %v, but Compare found %d deltas", eq, len(got))
			}
		})
	}
}

func TestGetFollowsComparePaths(t *testing.T) {
	prod := map[string]any{"l": []any{map[string]any{"name": "a", "v": []any{1, map[string]any{"x": "p"}}}}}
	beta := map[string]any{"l": []any{map[string]any{"name": "a", "v": []any{1, map[string]any{"x": "b"}}}}}
	ds := Compare(prod, beta)
	if len(ds) != 1 {
		t.Fatalf("want 1 delta, got %+v", ds)
	}
	if s := ds[0].Path.String(); s != "l[name=a].v[1].x" {
		t.Errorf("path = %q", s)
	}
	for side, v := range map[string]any{"p": prod, "b": beta} {
		got, ok := Get(Normalize(v), ds[0].Path)
		if !ok || got != side {
			t.Errorf("Get(%s) = %v, %v", side, got, ok)
		}
	}
}

type odd struct {
	A int    `json:"a"`
	B string `json:"b"`
}

func TestNormalizeFallsBackToJSON(t *testing.T) {
	got := Normalize(odd{A: 1, B: "x"})
	want := map[string]any{"a": int64(1), "b": "x"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v", got)
	}
}

func TestHasInterpolation(t *testing.T) {
	for v, want := range map[string]bool{"%{::site}": true, "plain": false, "100%": false} {
		if got := HasInterpolation(map[string]any{"k": []any{v}}); got != want {
			t.Errorf("%q: got %v", v, got)
		}
	}
}

func TestFindingID(t *testing.T) {
	a := Finding{Source: "puppet", Key: "k", Path: "a.b", Prod: 1}
	b := a
	b.Prod = 2
	if a.ID() != b.ID() {
		t.Error("ID must not depend on values")
	}
	b.Host = "h"
	if a.ID() == b.ID() {
		t.Error("ID must depend on host")
	}
}

func BenchmarkCompare(b *testing.B) {
	mk := func(n int, v string) map[string]any {
		l := make([]any, n)
		for i := range l {
			l[i] = map[string]any{"name": fmt.Sprint("svc", i), "port": i, "host": strings.Repeat(v, 3)}
		}
		return map[string]any{"services": l}
	}
	x, y := mk(200, "a"), mk(200, "b")
	for b.Loop() {
		Compare(x, y)
	}
}
