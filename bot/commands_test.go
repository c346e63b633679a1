package bot

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wikimedia/sheriff/internal/rota"
)

func TestParseCommand(t *testing.T) {
	nicks := []string{"sheriff_", "sheriff"}
	huge := strings.Repeat("A", 10*1024)
	tests := []struct {
		name    string
		text    string
		private bool
		ok      bool
		cmd     string
		args    []string
		prefix  string
	}{
		{name: "bang", text: "!ack 12", ok: true, cmd: "ack", args: []string{"12"}, prefix: "!"},
		{name: "bang upper", text: "!ACK 12", ok: true, cmd: "ack", args: []string{"12"}, prefix: "!"},
		{name: "bang space", text: "! help", ok: true, cmd: "help", prefix: "!"},
		{name: "addressed colon", text: "sheriff: recent 3", ok: true, cmd: "recent", args: []string{"3"}, prefix: "sheriff: "},
		{name: "addressed comma", text: "Sheriff, oncall", ok: true, cmd: "oncall", prefix: "sheriff: "},
		{name: "addressed rfc1459 case", text: "SHERIFF[: help", ok: false}, // "[" is not part of the nick here
		{name: "addressed alt nick", text: "sheriff_: status", ok: true, cmd: "status", prefix: "sheriff_: "},
		{name: "other nick", text: "sheriffbot: help", ok: false},
		{name: "plain text in channel", text: "help me please", ok: false},
		{name: "plain text in private", text: "help ack", private: true, ok: true, cmd: "help", args: []string{"ack"}},
		{name: "empty", text: "", ok: false},
		{name: "only bang", text: "!", ok: false},
		{name: "only nick", text: "sheriff:", ok: false},
		{name: "CRLF injection", text: "!silence T1 1d reason\r\nQUIT :bye", ok: true, cmd: "silence",
			args: []string{"T1", "1d", "reason", "QUIT", ":bye"}, prefix: "!"},
		// Bold around "!" is removed and the NUL becomes a separator.
		{name: "NUL and formatting", text: "\x02!\x02ack\x00 \x0304#12\x03", ok: true, cmd: "ack", args: []string{"#12"}, prefix: "!"},
		{name: "colour codes stripped", text: "!\x0304ack\x03 12", ok: true, cmd: "ack", args: []string{"12"}, prefix: "!"},
		{name: "bidi override", text: "!ack \u202e21", ok: true, cmd: "ack", args: []string{"21"}, prefix: "!"},
		{name: "fullwidth bang is not a prefix", text: "！ack 1", ok: false},
		{name: "unicode command name", text: "!äck 1", ok: true, cmd: "äck", args: []string{"1"}, prefix: "!"},
		{name: "nbsp separates", text: "!ack\u00a012", ok: true, cmd: "ack", args: []string{"12"}, prefix: "!"},
		{name: "10KB argument", text: "!ack " + huge, ok: true, cmd: "ack", args: []string{huge}, prefix: "!"},
		{name: "10KB of args is capped", text: "!silence" + strings.Repeat(" x", 5000), ok: true, cmd: "silence",
			args: strings.Fields(strings.Repeat(" x", maxArgs)), prefix: "!"},
		{name: "invalid utf8 dropped", text: "!ack \xff\xfe12", ok: true, cmd: "ack", args: []string{"12"}, prefix: "!"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd, args, prefix, ok := parseCommand(tc.text, nicks, tc.private)
			if ok != tc.ok || cmd != tc.cmd || prefix != tc.prefix || strings.Join(args, "\x00") != strings.Join(tc.args, "\x00") {
				t.Errorf("parseCommand(%.60q) = %q, %.80q, %q, %v; want %q, %.80q, %q, %v",
					tc.text, cmd, args, prefix, ok, tc.cmd, tc.args, tc.prefix, tc.ok)
			}
			for _, a := range args {
				if Clean(a) != a || strings.ContainsAny(a, " \r\n\x00") {
					t.Errorf("argument %q is not clean", a)
				}
			}
		})
	}
}

func FuzzParseCommand(f *testing.F) {
	f.Add("!silence *x* 1d because\r\nQUIT", false)
	f.Add("sheriff: ack \x0304#1", true)
	f.Fuzz(func(t *testing.T, text string, private bool) {
		cmd, args, _, ok := parseCommand(text, []string{"sheriff"}, private)
		if !ok {
			return
		}
		for _, s := range append(args, cmd) {
			if s == "" || Clean(s) != s || strings.ContainsAny(s, " ") {
				t.Fatalf("unclean token %q from %q", s, text)
			}
		}
		if len(args) > maxArgs {
			t.Fatalf("%d args", len(args))
		}
	})
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{in: "30m", want: 30 * time.Minute},
		{in: "4h", want: 4 * time.Hour},
		{in: "2d", want: 48 * time.Hour},
		{in: "1w", want: 7 * 24 * time.Hour},
		{in: "1d12h", want: 36 * time.Hour},
		{in: "1H30M", want: 90 * time.Minute},
		{in: "", bad: true},
		{in: "forever", bad: true},
		{in: "10", bad: true},
		{in: "-1d", bad: true},
		{in: "1y", bad: true},
		{in: "99999999999d", bad: true},
		{in: "999w", want: 999 * 7 * 24 * time.Hour}, // parsed; the caller states its limit
		{in: "999999w", bad: true},
		{in: "30 min", want: 30 * time.Minute},
		{in: "2 h", want: 2 * time.Hour},
		{in: "40s", want: 40 * time.Second},
		{in: "1h 30min", want: 90 * time.Minute},
		{in: "3 days", want: 72 * time.Hour},
		{in: "2 fortnights", bad: true},
		{in: "1.5h", bad: true},
	}
	for _, tc := range tests {
		got, err := parseDuration(tc.in)
		if tc.bad != (err != nil) || (!tc.bad && got != tc.want) {
			t.Errorf("parseDuration(%q) = %v, %v; want %v (bad %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func TestHumanDurations(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{40 * time.Second, "40s"}, {time.Minute, "1 min"}, {30 * time.Minute, "30 min"}, {time.Hour, "1 h"},
		{2 * time.Hour, "2 h"}, {90 * time.Minute, "1 h 30 min"}, {20 * time.Minute, "20 min"},
		{72 * time.Hour, "3d"}, {52 * time.Hour, "2d 4 h"},
	} {
		if got := human(tc.d); got != tc.want {
			t.Errorf("human(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
	for _, tc := range []struct {
		typed string
		d     time.Duration
		want  string
	}{
		{"3650d", 3650 * 24 * time.Hour, "3650d is longer than the 90-day limit"},
		{"30s", 30 * time.Second, "30s is shorter than the 1-minute minimum"},
		{"2 h", 2 * time.Hour, ""},
	} {
		err := checkLimits(tc.typed, tc.d, minSilence, maxSilence)
		if got := fmt.Sprint(err); (tc.want == "" && err != nil) || (tc.want != "" && got != tc.want) {
			t.Errorf("checkLimits(%q) = %v, want %q", tc.typed, err, tc.want)
		}
	}
}

func TestSplitPartsKeepsItemsWhole(t *testing.T) {
	items := []string{
		"abcdef012345 Wikimedia\\Rdbms\\DBQueryError: Error 1205 (new, 42×, first 1h ago) — T23",
		"0011223344 PHP Warning: Undefined index: foo in /srv/mediawiki/php-1.44/includes/x.php (regressed, 7×, first 3h ago) — T24",
		"99aa PHP Notice: something else entirely (new, 1×, first 2m ago)",
	}
	lines := splitParts("bob: "+strings.Join(items, " | "), 160)
	if len(lines) != 3 {
		t.Fatalf("got %d lines: %q", len(lines), lines)
	}
	for i, l := range lines {
		if len(l) > 160 {
			t.Errorf("line %d too long: %d", i, len(l))
		}
		if strings.HasPrefix(l, "ago)") || strings.HasPrefix(l, "T2") || strings.HasPrefix(l, "—") {
			t.Errorf("line %d starts with a fragment: %q", i, l)
		}
	}
	if lines[1] != items[1] {
		t.Errorf("second line %q, want the whole second item", lines[1])
	}
}

func TestTopicWith(t *testing.T) {
	tests := []struct{ topic, nick, want string }{
		{"", "alice", "sheriff: alice"},
		{"Release engineering | train blockers: T1", "alice", "Release engineering | train blockers: T1 | sheriff: alice"},
		{"RelEng | sheriff: bob | logs: https://x", "alice", "RelEng | sheriff: alice | logs: https://x"},
		{"RelEng | Sheriff:bob", "alice", "RelEng | sheriff: alice"},
		{"sheriff: alice", "alice", "sheriff: alice"},
	}
	for _, tc := range tests {
		if got := topicWith(tc.topic, tc.nick); got != tc.want {
			t.Errorf("topicWith(%q, %q) = %q, want %q", tc.topic, tc.nick, got, tc.want)
		}
	}
}

func TestTaskIDFromURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://phabricator.wikimedia.org/T12345":   "T12345",
		"https://phabricator.wikimedia.org/T12345#7": "T12345",
		"https://phabricator.wikimedia.org/T12345/":  "T12345",
		"T99":                      "T99",
		"file:///outbox/x.md":      "",
		"https://example.org/T12x": "",
		"":                         "",
	} {
		if got := taskIDFromURL(in); got != want {
			t.Errorf("taskIDFromURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func validConfig() Config {
	return Config{Server: "irc.libera.chat", TLS: true, Nick: "sheriff", Channels: []string{"#wikimedia-releng"}}
}

func TestConfigValidate(t *testing.T) {
	c := validConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	if c.Port != 6697 || c.User != "sheriff" || c.BurstWindow != 30*time.Second || c.EscalateAfter != 30*time.Minute || c.AnnounceRate != 10 {
		t.Errorf("defaults not applied: %+v", c)
	}
	tests := []struct {
		name   string
		mutate func(*Config)
		fields []string
	}{
		{"no server", func(c *Config) { c.Server = "" }, []string{"irc.server"}},
		{"bad port", func(c *Config) { c.Port = 70000 }, []string{"irc.port"}},
		{"bad nick", func(c *Config) { c.Nick = "9lives" }, []string{"irc.nick"}},
		{"bad alt nick", func(c *Config) { c.AltNicks = []string{"ok", "no way"} }, []string{"irc.alt_nicks[1]"}},
		{"sasl without password", func(c *Config) { c.SASLAccount = "sheriff" }, []string{"irc.sasl_account"}},
		{"no channels", func(c *Config) { c.Channels = nil }, []string{"irc.channels"}},
		{"bad channel", func(c *Config) { c.Channels = []string{"#ok", "nochan"} }, []string{"irc.channels[1]"}},
		{"bad admin", func(c *Config) { c.Admins = []string{"a b"} }, []string{"irc.admins[0]"}},
		{"bad rate", func(c *Config) { c.AnnounceRate = -1 }, []string{"irc.announce_rate"}},
		{"bad window", func(c *Config) { c.BurstWindow = -time.Second }, []string{"irc.burst_window"}},
		{"bad reconnect", func(c *Config) { c.ReconnectMin = time.Hour; c.ReconnectMax = time.Minute }, []string{"irc.reconnect_max"}},
		{"bad rota", func(c *Config) { c.Rota = rota.Config{People: []rota.Person{{Nick: "a"}}, Start: "x"} },
			[]string{"rota.people[0].account", "rota.start"}},
		{"several at once", func(c *Config) { c.Server = ""; c.Nick = "" }, []string{"irc.server", "irc.nick"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mutate(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			for _, f := range tc.fields {
				if !strings.Contains(err.Error(), f+": ") {
					t.Errorf("%q does not name %s", err, f)
				}
			}
			var fe *FieldError
			var rfe *rota.FieldError
			if !errors.As(err, &fe) && !errors.As(err, &rfe) {
				t.Errorf("%v is not a field error", err)
			}
		})
	}
}
