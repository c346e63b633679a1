package miner

import (
	"fmt"
	"testing"
)

// groups feeds lines to a fresh miner and returns how many final groups the
// lines of each label ended in, and how many labels each group holds.
func groups(t *testing.T, recs []Record) (split, mixed map[string]int) {
	t.Helper()
	m := New(Options{})
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = m.Add(r.Line).ID
	}
	byLabel := map[string]map[string]bool{}
	byID := map[string]map[string]bool{}
	for i, r := range recs {
		id := m.Resolve(ids[i])
		if byLabel[r.Label] == nil {
			byLabel[r.Label] = map[string]bool{}
		}
		byLabel[r.Label][id] = true
		if byID[id] == nil {
			byID[id] = map[string]bool{}
		}
		byID[id][r.Label] = true
	}
	split, mixed = map[string]int{}, map[string]int{}
	for l, ids := range byLabel {
		split[l] = len(ids)
	}
	for id, ls := range byID {
		mixed[id] = len(ls)
	}
	return split, mixed
}

// wantExact fails unless every label ended in exactly one group of its own.
func wantExact(t *testing.T, recs []Record) {
	t.Helper()
	split, mixed := groups(t, recs)
	for l, n := range split {
		if n != 1 {
			t.Errorf("label %q split over %d groups", l, n)
		}
	}
	for id, n := range mixed {
		if n != 1 {
			t.Errorf("group %s mixes %d labels", id, n)
		}
	}
}

func recs(label string, format string, args ...[]any) []Record {
	out := make([]Record, 0, len(args))
	for _, a := range args {
		out = append(out, Record{Label: label, Line: fmt.Sprintf(format, a...)})
	}
	return out
}

// Mechanism 1: a template with no word of its own does not swallow lines of
// its length.
func TestNoAllWildcardTemplates(t *testing.T) {
	var in []Record
	for i := range 6 {
		in = append(in, Record{"numbers", fmt.Sprintf("%d %d %d %d", i, i*7, i*13, i*17)})
	}
	for _, w := range []string{"restart.", "shutdown", "zapping", "halt", "resync", "poweroff"} {
		in = append(in, Record{"word-" + w, w})
	}
	for _, l := range []string{"alpha beta gamma delta", "cache flush took place", "one two three four"} {
		in = append(in, Record{"sentence-" + l, l})
	}
	wantExact(t, in)
}

// Mechanism 2: dates and times in their common forms are one value.
func TestDatesAreOneValue(t *testing.T) {
	masks := []struct{ in, want string }{
		{"User unknown timed out after 5 seconds at Fri Jul  1 07:57:30 2005", "User unknown timed out after <*> seconds at <*>"},
		{"connection from 1.2.3.4 () at Sun Jul 10 03:55:15 2005", "connection from <*> () at <*>"},
		{"Jul  1 07:57:30 combo sshd(pam_unix)[19939]: check pass", "<*> combo <*>: check pass"},
		{"[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok", "[<*>] [notice] <*> ok"},
		{"audit from 2015-07-29 17:41:44,747 to 2015-07-29T18:00:00.5+02:00 done", "audit from <*> to <*> done"},
		{"2024/12/04 21:00:00 [error] 123#123: open() failed", "<*> [error] <*>: open() failed"},
		{"10.0.0.1 - - [04/Dec/2024:21:00:00 +0000] \"GET / HTTP/1.1\" 200", "<*> - - [<*>] \"<*>\" <*>"},
		{"Date: Fri, 01 Jul 2005 07:57:30 GMT sent", "Date: <*> sent"},
		{"expires on Jul 1, 2005 at noon", "expires on <*> at noon"},
		{"May I help", "May I help"}, // a month name without a day is a word
		{"Sun is shining", "Sun is shining"},
	}
	for _, tt := range masks {
		if got := Mask(tt.in); got != tt.want {
			t.Errorf("Mask(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
	days := []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
	months := []string{"Jan", "Feb", "Mar"}
	var in []Record
	for i := range 12 {
		in = append(in, Record{"timeout", fmt.Sprintf("User unknown timed out after %d seconds at %s %s %2d 0%d:1%d:30 2005", i, days[i%7], months[i%3], i+1, i%10, i%6)})
	}
	wantExact(t, in)
}

// Mechanism 3: booleans are values, bare or as key:value.
func TestBooleansAreValues(t *testing.T) {
	for in, want := range map[string]string{
		"isScreenOn true":             "isScreenOn <*>",
		"onResult data=false ok:TRUE": "onResult data=<*> ok:<*>",
		"truedat falsey":              "truedat falsey",
	} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
	in := append(recs("flag", "setGoalNotifiShownRecord %d %s", []any{1, "true"}, []any{2, "false"}, []any{3, "true"}),
		recs("status", "getStepCounterStatus= %s", []any{"false"}, []any{"true"})...)
	wantExact(t, in)
}

// Mechanism 4: a closing bracket whose opener is inside the masked token
// belongs to the token.
func TestBracketsStayWithTheirValue(t *testing.T) {
	for in, want := range map[string]string{
		"CPU LOCAL(0), done":                     "CPU <*>, done",
		"acquire WorkSource{10113}, tag":         "acquire <*>, tag",
		"EXT4-fs (dm-0): mounted":                "<*> (<*>): mounted",
		"Could not start Service[nginx]: failed": "Could not start Service[<*>]: failed",
		"f(a[1]).":                               "<*> .",
	} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

// Mechanism 5: letters followed by a digit or two are names, not numbers.
func TestNumberedNamesAreWords(t *testing.T) {
	var in []Record
	for i := range 20 {
		proto := []string{"SOCKS5", "HTTPS"}[i%2]
		in = append(in, Record{proto, fmt.Sprintf("www.example%d.com:443 open through proxy proxy.cse.cuhk.edu.hk:5070 %s", i, proto)})
	}
	wantExact(t, in)
	for in, want := range map[string]string{
		"link eth0 up on sda1 via ssh2": "link eth0 up on sda1 via ssh2",
		"node mw1234 host db296":        "node <*> host <*>",
		"slot J18 v1":                   "slot <*> <*>",
	} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

// Mechanism 6: an optional amount in another unit and a number with its unit
// fold into one parameter, so lines of one event align.
func TestNumberWithUnitIsOneValue(t *testing.T) {
	in := recs("close", "proxy.cse.cuhk.edu.hk:5070 close, %s sent, %s received, lifetime %s",
		[]any{"1190 bytes (1.16 KB)", "1671 bytes (1.63 KB)", "00:02"},
		[]any{"0 bytes", "0 bytes", "<1 sec"},
		[]any{"403 bytes", "426 bytes", "<1 sec"},
		[]any{"1245 bytes (1.21 KB)", "2012 bytes (1.96 KB)", "00:01"},
		[]any{"5 bytes", "3211 bytes (3.13 KB)", "01:12"},
	)
	wantExact(t, in)
}

// Mechanism 7: a masked position meeting a word generalises at once only
// when the word could be a value and the words around it agree.
func TestWeakMergeNeedsAgreement(t *testing.T) {
	in := append(
		recs("fan-numbers", "Fan speeds ( %d %d %d %d %d %d )", []any{3552, 3534, 3375, 4354, 3515, 3479}, []any{3552, 3534, 3375, 4299, 3515, 3479}),
		recs("fan-stars", "Fan speeds ( %s %s %s %s %s %s )", []any{"****", "****", "****", "****", "****", "****"})...)
	in = append(in, recs("console", "authentication failure; logname= uid=0 euid=0 tty=%s ruser= rhost=", []any{":0"}, []any{":1"})...)
	in = append(in, recs("remote", "authentication failure; logname= uid=0 euid=0 tty=%s ruser= rhost=%s", []any{"NODEVssh", "220-135-151-1.hinet-ip.hinet.net"}, []any{"NODEVssh", "61.53.154.93"})...)
	wantExact(t, in)
	// A word that stands for a value still generalises a masked position.
	wantExact(t, recs("closed", "Connection closed by %s port %d", []any{"10.0.0.1", 22}, []any{"unknown", 23}, []any{"10.0.0.2", 24}))
	// "-" is the usual stand-in for no value.
	wantExact(t, recs("transfer", "Transfer of /srv/%s finished, size %s", []any{"a", "5120"}, []any{"b", "-"}, []any{"c", "77"}))
}

// Mechanism 8, conventions: a word position takes four distinct words
// before it is a parameter (closed sets of up to three words stay separate
// signatures), and the HTTP method is part of a quoted request line.
func TestConventions(t *testing.T) {
	var three []Record
	for i := range 12 {
		state := []string{"Started", "Stopped", "Paused"}[i%3]
		three = append(three, Record{state, fmt.Sprintf("[instance: %08x-aaaa-bbbb-cccc-%012d] VM %s (Lifecycle Event)", i, i, state)})
	}
	wantExact(t, three)
	var four []Record
	for i := range 12 {
		state := []string{"Started", "Stopped", "Paused", "Resumed"}[i%4]
		four = append(four, Record{"lifecycle", fmt.Sprintf("[instance: %08x-aaaa-bbbb-cccc-%012d] VM %s (Lifecycle Event)", i, i, state)})
	}
	wantExact(t, four)
	var reqs []Record
	for i := range 8 {
		method := []string{"GET", "POST", "DELETE"}[i%3]
		reqs = append(reqs, Record{"request", fmt.Sprintf("10.11.10.1 \"%s /v2/servers/%d HTTP/1.1\" status: 200 len: %d time: 0.%d", method, i, 100+i, 7*i)})
	}
	wantExact(t, reqs)
}
