package bot

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"line1\r\nline2\nline3\rline4", "line1 line2 line3 line4"},
		{"PRIVMSG #x :hi\r\nQUIT :pwned", "PRIVMSG #x :hi QUIT :pwned"},
		{"nul\x00byte", "nul byte"},
		{"\x02bold\x02 \x1ditalic\x1d \x1funder\x1f \x16rev\x16 \x11mono\x11 \x1estrike\x1e \x0freset", "bold italic under rev mono strike reset"},
		{"\x0304red\x03 \x0304,12red on blue\x03 \x03plain", "red red on blue plain"},
		{"\x031,2,3", ",3"},      // colour takes at most fg,bg
		{"\x0399text", "text"},   // two digits
		{"\x03123text", "3text"}, // at most two digits
		{"\x04ff0000hex\x04", "hex"},
		{"\x04FF0000,00ff00both", "both"},
		{"tab\tand\vvt\ffeed", "tab and vt feed"},
		{"del\x7fchar", "del char"},
		{"c1\u0085next\u009bcsi", "c1 next csi"},
		{"ls\u2028ps\u2029end", "ls ps end"},
		{"bidi \u202eevil\u202c \u2066iso\u2069 \u200fmark", "bidi evil iso mark"},
		{"bad \xff\xfe utf8 \xc3", "bad utf8"},
		{"  many    spaces  ", "many spaces"},
		{"émoji 👩‍💻 and ZWJ stay", "émoji 👩‍💻 and ZWJ stay"},
		{"\u00a0nbsp\u3000ideographic", "nbsp ideographic"},
		{"", ""},
	}
	for _, tc := range tests {
		got := Clean(tc.in)
		if got != tc.want {
			t.Errorf("Clean(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if Clean(got) != got {
			t.Errorf("Clean not idempotent on %q", tc.in)
		}
	}
}

// Nothing that Clean returns contains a byte a server could interpret as
// a line break or a formatting code, whatever the input.
func FuzzClean(f *testing.F) {
	for _, s := range []string{"a\r\nb", "\x03\x04\x02", "\xff", "x\u202ey"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := Clean(s)
		if !utf8.ValidString(c) {
			t.Fatalf("invalid UTF-8 from %q", s)
		}
		for _, r := range c {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || isBidiControl(r) {
				t.Fatalf("Clean(%q) kept %U", s, r)
			}
		}
	})
}

func TestSplit(t *testing.T) {
	long := strings.Repeat("word ", 200)
	tests := []struct {
		name string
		in   string
		max  int
		want []string
	}{
		{"empty", "", 10, nil},
		{"fits", "hello world", 20, []string{"hello world"}},
		{"at spaces", "aaa bbb ccc ddd", 8, []string{"aaa bbb", "ccc ddd"}},
		{"long word hard split", "abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"no mid-rune cut", "ééééé", 5, []string{"éé", "éé", "é"}},
		{"four-byte runes", "😀😀😀", 5, []string{"😀", "😀", "😀"}},
		{"CJK", "日本語のテキスト", 7, []string{"日本", "語の", "テキ", "スト"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Split(tc.in, tc.max)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Errorf("Split(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
		})
	}
	for _, max := range []int{4, 5, 7, 50, 397} {
		for _, in := range []string{long, strings.Repeat("ü", 1000), strings.Repeat("a😀", 300), strings.Repeat("x", 10000)} {
			lines := Split(in, max)
			for _, l := range lines {
				if len(l) > max || !utf8.ValidString(l) || l == "" {
					t.Fatalf("Split(len %d, %d): bad line %q (len %d)", len(in), max, l, len(l))
				}
			}
			if strings.ReplaceAll(strings.Join(lines, ""), " ", "") != strings.ReplaceAll(in, " ", "") {
				t.Fatalf("Split(len %d, %d) lost text", len(in), max)
			}
		}
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"hello wonderful world", 16, "hello wonderf…"},
		{"hello wonderful world", 19, "hello wonderful…"},
		{"ééééé", 6, "é…"},
		{"abcdef", 2, ""},
		{"😀😀😀", 7, "😀…"},
	}
	for _, tc := range tests {
		got := Truncate(tc.in, tc.max)
		if got != tc.want || len(got) > tc.max || !utf8.ValidString(got) {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

// A line of the computed budget, relayed by the server with our longest
// possible prefix, fits in 512 bytes with CRLF.
func TestTextBudget(t *testing.T) {
	for _, tc := range []struct{ nick, cmd, target string }{
		{"sheriff", "NOTICE", "#wikimedia-releng"},
		{"sheriff", "PRIVMSG", "#c"},
		{strings.Repeat("n", 30), "PRIVMSG", "#" + strings.Repeat("c", 49)},
	} {
		n := textBudget(tc.nick, tc.cmd, tc.target)
		prefix := ":" + tc.nick + "!" + strings.Repeat("u", userBudget) + "@" + strings.Repeat("h", hostBudget) + " "
		line := prefix + tc.cmd + " " + tc.target + " :" + strings.Repeat("x", n) + "\r\n"
		if len(line) > 512 {
			t.Errorf("%+v: budget %d gives a %d-byte line", tc, n, len(line))
		}
		if n < 300 {
			t.Errorf("%+v: budget %d is needlessly small", tc, n)
		}
	}
}
