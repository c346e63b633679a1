package conduitfake

import (
	"strings"
	"testing"
)

func TestFullTextMatching(t *testing.T) {
	corpus := words("PHP Warning: Undefined array key in ApiMain::execute\nsheriffmarker sheriffsigerror0123abcd\nfoo-bar baz")
	tests := []struct {
		q       string
		want    bool
		wantErr string
	}{
		{"sheriffsigerror0123abcd", true, ""},
		{`"sheriffsigerror0123abcd"`, true, ""},
		{"sheriffsigerror0123", false, ""}, // whole words only
		{"SHERIFFSIGERROR0123ABCD", true, ""},
		{`"undefined array key"`, true, ""},
		{`"array undefined"`, false, ""},
		{"undefined execute", true, ""},
		{"undefined -execute", false, ""},
		{"foo-bar", true, ""},
		{`"ApiMain::execute"`, true, ""},
		{"ApiMain::execute", false, "function"},
		{"sig:0123", false, "function"},
		{`"unclosed`, false, "quote"},
	}
	for _, tt := range tests {
		terms, err := parseQuery(tt.q)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err %v, want %q", tt.q, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.q, err)
			continue
		}
		if got := matches(corpus, terms); got != tt.want {
			t.Errorf("%s: match %v, want %v", tt.q, got, tt.want)
		}
	}
}
