package mwconfig

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// evalSrc evaluates a PHP file body and returns the exported return value
// and the warnings.
func evalSrc(t *testing.T, src string) (any, []error) {
	t.Helper()
	sink := newWarnSink()
	f := evalPHPFile([]byte(src), "test.php", "", sink)
	if !f.returned {
		t.Fatalf("no return evaluated; warnings: %v", sink.errors())
	}
	return export(f.ret), sink.errors()
}

// phpArr evaluates a PHP expression that must be an array, for building
// internal values in tests.
func phpArr(t *testing.T, expr string) *array {
	t.Helper()
	sink := newWarnSink()
	f := evalPHPFile([]byte("<?php\nreturn "+expr+";\n"), "test.php", "", sink)
	a, ok := f.ret.(*array)
	if !ok {
		t.Fatalf("%s: not an array (%T); warnings %v", expr, f.ret, sink.errors())
	}
	if ws := sink.errors(); len(ws) > 0 {
		t.Fatalf("%s: unexpected warnings %v", expr, ws)
	}
	return a
}

func TestEvalExpressions(t *testing.T) {
	tests := []struct {
		name     string
		src      string // file body after the "<?php" line, so it starts on line 2
		want     any
		warnings []string // substrings expected among the warnings
	}{
		{
			name: "scalars",
			src:  `return [ true, FALSE, null, -5, 1.5, -2.5, 0x1F, 017, 0b101, 1_000, 'it\'s', "tab\there\x41\u{263A}\$" ];`,
			want: []any{true, false, nil, int64(-5), 1.5, -2.5, int64(31), int64(15), int64(5), int64(1000), "it's", "tab\thereA☺$"},
		},
		{
			name: "numeric string keys become integers, others stay strings",
			src:  `return [ '5' => 'a', 5 => 'b', '05' => 'c', '-1' => 'd', true => 'e' ];`,
			want: map[string]any{"5": "b", "05": "c", "-1": "d", "1": "e"},
		},
		{
			name: "implicit keys continue after the largest integer key",
			src:  `return [ 'x', 10 => 'y', 'z' ];`,
			want: map[string]any{"0": "x", "10": "y", "11": "z"},
		},
		{
			name: "namespace constants as keys and bit-or",
			src:  `return [ NS_USER => true, NS_PROJECT_TALK => APCOND_EDITCOUNT | 6, NS_MAIN => SCHEMA_COMPAT_WRITE_BOTH | SCHEMA_COMPAT_READ_NEW ];`,
			want: map[string]any{"2": true, "5": int64(7), "0": int64(0x301)},
		},
		{
			name: "arithmetic and concatenation",
			src:  `return [ 60 * 60 * 24, 2 ** 10, 7 / 2, 6 / 2, 7 % 3, -(3 - 5), 1 << 4, ~0, 'a' . 'b' . 3, 2 * 1.5, PHP_INT_MAX + 1 ];`,
			want: []any{int64(86400), int64(1024), 3.5, int64(3), int64(1), int64(2), int64(16), int64(-1), "ab3", 3.0, 9.223372036854775808e18},
		},
		{
			name: "class names resolve through use and namespaces",
			src: `use Foo\Bar\Baz;
use Other\Thing as Alias;
return [ Baz::class, Alias::class, \Top\Level::class, Plain::class, Baz\Inner::class ];`,
			want: []any{`Foo\Bar\Baz`, `Other\Thing`, `Top\Level`, "Plain", `Foo\Bar\Baz\Inner`},
		},
		{
			name: "variables and array union",
			src: `$common = [ 'a' => 1, 'b' => 2 ];
$more = $common + [ 'b' => 99, 'c' => 3 ];
$more['d'] = [ 'x' ];
$more['d'][] = 'y';
unset( $common );
return [ 'all' => $more, 'again' => $more ];`,
			want: map[string]any{
				"all":   map[string]any{"a": int64(1), "b": int64(2), "c": int64(3), "d": []any{"x", "y"}},
				"again": map[string]any{"a": int64(1), "b": int64(2), "c": int64(3), "d": []any{"x", "y"}},
			},
		},
		{
			name: "spread and nested arrays",
			src:  `$l = [ 'p', 'q' ]; return [ 'r', ...$l, 'k' => [ 'n' => [ [] ] ] ];`,
			want: map[string]any{"0": "r", "1": "p", "2": "q", "k": map[string]any{"n": []any{[]any{}}}},
		},
		{
			name:     "unknown constants become placeholders, reported once per file",
			src:      `return [ MY_CONST, MY_CONST | 4, Foo::BAR, 'x' . MY_CONST ];`,
			want:     []any{"const:MY_CONST", "(const:MY_CONST | 4)", "const:Foo::BAR", "xconst:MY_CONST"},
			warnings: []string{"test.php:2: unknown constant MY_CONST", "(3 occurrences in this file)"},
		},
		{
			name:     "closures and calls are placeholders with a warning",
			src:      "return [\n'f' => function () { return 1; },\n'g' => strtolower( 'X' ),\n'h' => fn() => 2,\n];",
			want:     map[string]any{"f": "closure@test.php:3", "g": "call:strtolower()@test.php:4", "h": "closure@test.php:5"},
			warnings: []string{"test.php:3: closure cannot be evaluated", "test.php:4: function call strtolower()"},
		},
		{
			name:     "undefined variable",
			src:      `return [ $nope ];`,
			want:     []any{"var:$nope"},
			warnings: []string{"test.php:2: undefined variable $nope"},
		},
		{
			name: "heredoc and nowdoc",
			src:  "return [ <<<EOT\n  a\\tb\n   c\n  EOT, <<<'RAW'\nx\\ty\nRAW ];",
			want: []any{"a\tb\n c", `x\ty`},
		},
		{
			name: "ternary and coalesce",
			src:  `return [ true ? 'y' : 'n', 0 ?: 'fallback', null ?? 'd' ];`,
			want: []any{"y", "fallback", "d"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ws := evalSrc(t, "<?php\n"+tt.src)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("value mismatch (-want +got):\n%s", diff)
			}
			if len(tt.warnings) == 0 && len(ws) > 0 {
				t.Errorf("unexpected warnings: %v", ws)
			}
			all := ""
			for _, w := range ws {
				all += w.Error() + "\n"
			}
			for _, sub := range tt.warnings {
				if !strings.Contains(all, sub) {
					t.Errorf("warnings %q do not contain %q", all, sub)
				}
			}
		})
	}
}

func TestEvalSyntaxErrorIsWarningWithLine(t *testing.T) {
	sink := newWarnSink()
	src := "<?php\nreturn [\n\t'ok' => 1,\n\t'bad' => [ 1 2 ],\n];\n"
	evalPHPFile([]byte(src), "wmf-config/broken.php", "", sink)
	ws := sink.errors()
	if len(ws) == 0 {
		t.Fatal("no warning for a syntax error")
	}
	var w *Warning
	if !errors.As(ws[0], &w) {
		t.Fatalf("warning %v is not a *Warning", ws[0])
	}
	if w.File != "wmf-config/broken.php" || w.Line != 4 || !strings.Contains(w.Msg, "syntax error") {
		t.Errorf("warning = %q, want wmf-config/broken.php:4 syntax error", w.Error())
	}
}

func TestEvalEntryFunction(t *testing.T) {
	sink := newWarnSink()
	src := `<?php
function helper() { return [ 'no' => 1 ]; }
function wmfGetOverrideSettings() {
	return [ 'wgX' => [ 'default' => NS_TALK ] ];
}
`
	f := evalPHPFile([]byte(src), "labs.php", "wmfGetOverrideSettings", sink)
	want := map[string]any{"wgX": map[string]any{"default": int64(1)}}
	if diff := cmp.Diff(want, export(f.ret)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	f = evalPHPFile([]byte(src), "labs.php", "missingFunction", sink)
	if f.ret != nil || !strings.Contains(sink.errors()[0].Error(), "missingFunction() not found") {
		t.Errorf("missing entry function: ret %v, warnings %v", f.ret, sink.errors())
	}
}
