package diff

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const sampleYAML = `# comment
defaults: &defaults
  port: 80
  tls: true
service:
  <<: *defaults
  port: 8080
  hosts:
    - mw1001.eqiad.wmnet
    - mw1002.eqiad.wmnet
  listeners:
    - name: mathoid
      port: 6003
    - name: citoid
      port: 6004
count: 3
when: 2024-01-01
empty:
dup: 1
dup: 2
`

func TestParseYAML(t *testing.T) {
	d, problems, err := ParseYAML("x.yaml", []byte(sampleYAML))
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || problems[0].Line != 20 || !strings.Contains(problems[0].Message, `duplicate key "dup"`) {
		t.Errorf("problems = %+v", problems)
	}
	e, ok := d.Get("service")
	if !ok || e.Line != 5 {
		t.Fatalf("service entry = %+v, %v", e, ok)
	}
	want := map[string]any{
		"port": int64(8080), "tls": true,
		"hosts":     []any{"mw1001.eqiad.wmnet", "mw1002.eqiad.wmnet"},
		"listeners": []any{map[string]any{"name": "mathoid", "port": int64(6003)}, map[string]any{"name": "citoid", "port": int64(6004)}},
	}
	if !reflect.DeepEqual(e.Value, want) {
		t.Errorf("service = %#v", e.Value)
	}
	for key, want := range map[string]any{"count": int64(3), "when": "2024-01-01", "empty": nil, "dup": int64(2)} {
		if e, _ := d.Get(key); !reflect.DeepEqual(e.Value, want) {
			t.Errorf("%s = %#v, want %#v", key, e.Value, want)
		}
	}
	lines := []struct {
		path Path
		line int
		ok   bool
	}{
		{Path{MapKey("service"), MapKey("port")}, 7, true},
		{Path{MapKey("service"), MapKey("tls")}, 4, true}, // from the merged anchor
		{Path{MapKey("service"), MapKey("hosts"), {Index: 1}}, 10, true},
		{Path{MapKey("service"), MapKey("listeners"), {Field: "name", Key: "citoid", Index: -1}, MapKey("port")}, 15, true},
		{Path{MapKey("service"), MapKey("nope")}, 5, false},
	}
	for _, l := range lines {
		got, ok := Line(d.Root, l.path)
		if got != l.line || ok != l.ok {
			t.Errorf("Line(%s) = %d, %v; want %d, %v", l.path, got, ok, l.line, l.ok)
		}
	}
}

func TestParseYAMLSyntaxError(t *testing.T) {
	_, _, err := ParseYAML("bad.yaml", []byte("a: 1\nb: [unclosed\nc: 2\n"))
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v", err)
	}
	if se.File != "bad.yaml" || se.Line == 0 || !strings.HasPrefix(se.Error(), "bad.yaml:") {
		t.Errorf("error = %q (line %d)", se.Error(), se.Line)
	}
}

func TestParseYAMLErrorLines(t *testing.T) {
	tests := []struct {
		src  string
		line int
	}{
		{"a: 1\nb: [1, 2\nc: 3\n", 2},          // parser error: yaml.v3 says line 1
		{"a: 1\nb: 2\n  c: 3\n", 3},            // mapping values not allowed
		{"a: 1\nb: \"unterminated\nc: 3\n", 2}, // scanner error
		{"a: 1\n\tb: 2\n", 2},                  // tab indentation
	}
	for _, tc := range tests {
		_, _, err := ParseYAML("f.yaml", []byte(tc.src))
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("%q: err = %v", tc.src, err)
		}
		if se.Line != tc.line {
			t.Errorf("%q: line %d (%s), want %d", tc.src, se.Line, se.Msg, tc.line)
		}
	}
}

func TestParseYAMLEmpty(t *testing.T) {
	d, _, err := ParseYAML("e.yaml", []byte("---\n# nothing\n"))
	if err != nil || d.Value != nil || len(d.Keys) != 0 {
		t.Errorf("d = %+v, err = %v", d, err)
	}
}
