package textscan

import "testing"

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"abc", "abc", true},
		{"abc", "abcd", false},
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"a*", `a/b\c`, true},
		{"*SERVER HAS FAILED*", "x SERVER HAS FAILED y", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a?c", "aéc", true}, // ? is one character, not one byte
		{"Zo?", "Zoë", true},
		{"*ë", "Zoë", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"*.wikipedia.org", "en.wikipedia.org", true},
		{"deployment-*.deployment-prep.eqiad1.wikimedia.cloud", "deployment-db11.deployment-prep.eqiad1.wikimedia.cloud", true},
		{"ABC", "abc", false},
	}
	for _, tt := range tests {
		if got := Glob(tt.pattern, tt.s); got != tt.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}
