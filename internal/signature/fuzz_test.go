package signature

import (
	"testing"
	"unicode/utf8"

	"github.com/wikimedia/sheriff/internal/event"
)

func FuzzMask(f *testing.F) {
	for _, s := range []string{
		"", "PHP Warning: Undefined array key \"foo\" in /srv/mediawiki/php-1.47.0-wmf.16/includes/api/ApiMain.php on line 1234",
		"Failed to connect to 10.64.1.2:6379 from 2001:db8::1%eth0 [::ffff:1.2.3.4]:80 fe80::",
		"mail a.b+c@d.example.org 'x' \"y\\\"z\" can't {reqId} 0x1F 123e4567-e89b-12d3-a456-426614174000",
		"https://user:pw@en.wikipedia.org/w/index.php?title=Foo&action=edit&oldid=1#x",
		"Größe \xff\xfe 1.47.0-wmf.16 db1171 Q42 2026-11-21T06:00:32.970Z",
		"a@b.c.d@e.f 'x 'y 'z \"",
		"Invalid username: Jdoe (WMF) (a@b.org); for user Zoë Ünï (x) got page Talk:Foo_(bar) in namespace 1",
		"Undefined index: a b c in /x on line 2 Undefined property: stdClass::$ user: ~1 key k:v wiki en_rtlwiki.",
		"user user: username:  page (page ((WMF) title: {val} property: A::${x} index: ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := Mask(nil, in)
		if !utf8.Valid(out) {
			t.Fatalf("invalid UTF-8 output %q for %q", out, in)
		}
		// Idempotence is checked on the table tests only: on arbitrary input a
		// placeholder can complete a form around it ("x@a.b{num}").
		StripPrefix(in)
		ev := event.Event{Normalized: in, ExcTrace: in, ExcClass: in}
		s := NewFingerprinter().Compute(&ev)
		if len(s.Title) > MaxTitleBytes || len(s.ID) != 16 {
			t.Fatalf("bad signature %+v", s)
		}
		if utf8.ValidString(in) && !utf8.ValidString(s.Title) {
			t.Fatalf("invalid UTF-8 title %q", s.Title)
		}
	})
}
