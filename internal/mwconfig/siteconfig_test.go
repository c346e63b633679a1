package mwconfig

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestResolve(t *testing.T) {
	tests := []struct {
		name    string
		setting string
		wiki    string
		tags    []string
		want    any
		found   bool
		line    int // line of the most specific matching entry (expression starts on line 2)
	}{
		{
			name:    "wiki name beats tags and default",
			setting: "[\n'default' => 1,\n'wikipedia' => 2,\n'enwiki' => 3,\n]",
			wiki:    "enwiki", tags: []string{"wikipedia"},
			want: int64(3), found: true, line: 5,
		},
		{
			name:    "first tag in the wiki's tag order wins, not the array order",
			setting: "[\n'small' => 'small',\n'wikipedia' => 'wp',\n'default' => 'd',\n]",
			wiki:    "xwiki", tags: []string{"wikipedia", "closed", "small"},
			want: "wp", found: true, line: 4,
		},
		{
			name:    "default when no tag matches",
			setting: "[ 'default' => false, 'wiktionary' => true ]",
			wiki:    "enwiki", tags: []string{"wikipedia"},
			want: false, found: true, line: 2,
		},
		{
			name:    "no match at all",
			setting: "[ 'wiktionary' => true ]",
			wiki:    "enwiki", tags: []string{"wikipedia"},
			want: nil, found: false,
		},
		{
			name:    "explicit null is found",
			setting: "[ 'default' => null ]",
			wiki:    "enwiki",
			want:    nil, found: true, line: 2,
		},
		{
			name:    "+wiki merges with the first plain tag, wiki's keys win",
			setting: "[\n'+enwiki' => [ 'a' => 'wiki', 'c' => 'wiki' ],\n'wikipedia' => [ 'a' => 'tag', 'b' => 'tag' ],\n'default' => [ 'z' => 'default' ],\n]",
			wiki:    "enwiki", tags: []string{"wikipedia"},
			want: map[string]any{"a": "wiki", "b": "tag", "c": "wiki"}, found: true, line: 3,
		},
		{
			name:    "+tags accumulate in tag order, then merge with default",
			setting: "[\n'default' => [ 'x' => 0, 'd' => 1 ],\n'+wikipedia' => [ 'x' => 1 ],\n'+small' => [ 'x' => 2, 's' => 2 ],\n]",
			wiki:    "enwiki", tags: []string{"wikipedia", "small"},
			want: map[string]any{"x": int64(1), "s": int64(2), "d": int64(1)}, found: true, line: 4,
		},
		{
			name:    "+tag lists append to the default list",
			setting: "[ 'default' => [ 'a', 'b' ], '+closed' => [ 'c' ] ]",
			wiki:    "aawiki", tags: []string{"closed"},
			want: []any{"c", "a", "b"}, found: true, line: 2,
		},
		{
			name:    "merge overrides a false permission, keeps a true one, recurses",
			setting: "[ 'default' => [ 'user' => [ 'edit' => true, 'move' => true ], 'sysop' => [ 'block' => true ] ], '+private' => [ 'user' => [ 'edit' => false, 'move' => false ] ] ]",
			wiki:    "xwiki", tags: []string{"private"},
			want: map[string]any{
				"user":  map[string]any{"edit": true, "move": true},
				"sysop": map[string]any{"block": true},
			}, found: true, line: 2,
		},
		{
			name:    "numeric keys collide by appending",
			setting: "[ 'default' => [ 0 => 'default0', 100 => 'portal' ], '+enwiki' => [ 0 => 'wiki0' ] ]",
			wiki:    "enwiki",
			want:    map[string]any{"0": "wiki0", "1": "default0", "100": "portal"}, found: true, line: 2,
		},
		{
			name:    "non-array tag value replaces a +wiki array",
			setting: "[ '+enwiki' => [ 1 ], 'wikipedia' => 'scalar' ]",
			wiki:    "enwiki", tags: []string{"wikipedia"},
			want: "scalar", found: true, line: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := phpArr(t, tt.setting)
			r := resolve(st, tt.wiki, tt.tags, "labs.php")
			if r.found != tt.found {
				t.Fatalf("found = %v, want %v", r.found, tt.found)
			}
			if diff := cmp.Diff(tt.want, export(r.v)); diff != "" {
				t.Errorf("value (-want +got):\n%s", diff)
			}
			if tt.found && r.pos.line != tt.line {
				t.Errorf("line = %d, want %d", r.pos.line, tt.line)
			}
		})
	}
}

func TestApplyOverrides(t *testing.T) {
	sink := newWarnSink()
	prod := newSettings()
	addSettingsFile(prod, "prod.php", evalPHPFile([]byte(`<?php return [
'wgReplaced' => [ 'default' => 1, 'enwiki' => 2 ],
'wgMerged' => [ 'default' => 'prod', 'enwiki' => 'prod-en', '+dewiki' => [ 'p' ] ],
'wgUntouched' => [ 'default' => 'same' ],
];`), "prod.php", "", sink), sink)
	labsSrc := `<?php
function wmfGetOverrideSettings() {
	return [
		'-wgReplaced' => [ 'default' => 10 ],
		'wgMerged' => [ 'default' => 'beta', '+dewiki' => [ 'b' ], 'wikipedia' => 'beta-wp' ],
		'wgBetaOnly' => [ 'default' => true ],
	];
}`
	labs := evalPHPFile([]byte(labsSrc), "labs.php", labsEntry, sink).ret.(*array)
	beta, replaced := applyOverrides(prod, labs, "labs.php", sink)
	if ws := sink.errors(); len(ws) > 0 {
		t.Fatalf("warnings: %v", ws)
	}
	if !replaced["wgReplaced"] || replaced["wgMerged"] {
		t.Errorf("replaced = %v", replaced)
	}
	got := map[string]any{}
	for _, n := range beta.names {
		got[n] = export(beta.m[n].vals)
	}
	want := map[string]any{
		"wgReplaced":  map[string]any{"default": int64(10)},
		"wgMerged":    map[string]any{"default": "beta", "enwiki": "prod-en", "+dewiki": []any{"b"}, "wikipedia": "beta-wp"},
		"wgUntouched": map[string]any{"default": "same"},
		"wgBetaOnly":  map[string]any{"default": true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if beta.m["wgUntouched"] != prod.m["wgUntouched"] {
		t.Error("an untouched setting should be shared with production, not copied")
	}
	// Resolution after the merge: enwiki keeps production's own value,
	// dewiki gets Beta's +dewiki over Beta's wikipedia tag.
	r := resolve(beta.m["wgMerged"].vals, "enwiki", []string{"wikipedia"}, "labs.php")
	if r.v != "prod-en" || r.labs {
		t.Errorf("enwiki = %v (labs %v), want prod-en from production", r.v, r.labs)
	}
	r = resolve(beta.m["wgMerged"].vals, "frwiki", []string{"wikipedia"}, "labs.php")
	if r.v != "beta-wp" || !r.labs || r.pos.line != 5 {
		t.Errorf("frwiki = %v (labs %v line %d), want beta-wp from labs.php:5", r.v, r.labs, r.pos.line)
	}
}

func TestReplacements(t *testing.T) {
	site, lang, suffix := siteFromDB("enwiktionary")
	if site != "wiktionary" || lang != "en" || suffix != "wiktionary" {
		t.Errorf("siteFromDB(enwiktionary) = %q %q %q", site, lang, suffix)
	}
	site, lang, suffix = siteFromDB("commonswiki")
	if site != "wikipedia" || lang != "commons" || suffix != "wiki" {
		t.Errorf("siteFromDB(commonswiki) = %q %q %q", site, lang, suffix)
	}
	r := strings.NewReplacer("$lang", "en", "$site", "wikipedia", "$wiki", "enwiki")
	got := export(doReplacements(phpArr(t, `[ '$lang', 'x' => '//$lang.$site.org/$wiki', 'n' => [ '$lang' ] ]`), r))
	want := map[string]any{"0": "en", "x": "//en.wikipedia.org/enwiki", "n": []any{"$lang"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
