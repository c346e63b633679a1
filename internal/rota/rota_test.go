package rota

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var abc = []Person{
	{Nick: "alice", Account: "Alice"},
	{Nick: "bob", Account: "bob", Phab: "BobPhab"},
	{Nick: "carol", Account: "carol"},
}

func mustRota(t *testing.T, cfg Config) *Rota {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

// at parses a wall-clock time in zone.
func at(t *testing.T, zone, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOnDuty(t *testing.T) {
	const ams, la = "Europe/Amsterdam", "America/Los_Angeles"
	weeklyAms := Config{People: abc, Start: "2025-01-06", HandoffDay: "monday", HandoffTime: "10:00", TimeZone: ams}
	// 2025-01-02 is a Thursday: the first handoff is Monday 2025-01-06.
	weeklyThu := Config{People: abc, Start: "2025-01-02", HandoffDay: "Monday", HandoffTime: "10:00", TimeZone: ams}
	weeklyLA := Config{People: abc[:2], Start: "2025-03-03", HandoffDay: "monday", HandoffTime: "09:00", TimeZone: la}
	dailyAms := Config{People: abc[:2], Start: "2025-03-29", Days: 1, HandoffTime: "09:00", TimeZone: ams}
	holiday := weeklyAms
	holiday.Overrides = []Override{
		{From: "2025-01-15", To: "2025-01-16", Nick: "carol", Note: "bob on holiday"},
		// carol covers across her own turn's start: no handoff at 2025-01-20 10:00.
		{From: "2025-01-19", To: "2025-01-21", Nick: "carol"},
		// Time-precise swap, and a later override layered over it.
		{From: "2025-02-03 10:00", To: "2025-02-10 10:00", Nick: "bob"},
		{From: "2025-02-05", To: "2025-02-05", Nick: "carol"},
	}
	single := Config{People: abc[:1], Start: "2025-01-06", HandoffDay: "monday", TimeZone: "UTC"}

	tests := []struct {
		name      string
		cfg       Config
		now       time.Time
		cur, next string
		handoff   time.Time
	}{
		{"before first handoff: first person", weeklyAms, at(t, ams, "2025-01-06 09:59"), "alice", "bob", at(t, ams, "2025-01-13 10:00")},
		{"at first handoff", weeklyAms, at(t, ams, "2025-01-06 10:00"), "alice", "bob", at(t, ams, "2025-01-13 10:00")},
		{"one minute before handoff", weeklyAms, at(t, ams, "2025-01-13 09:59"), "alice", "bob", at(t, ams, "2025-01-13 10:00")},
		{"second turn", weeklyAms, at(t, ams, "2025-01-13 10:00"), "bob", "carol", at(t, ams, "2025-01-20 10:00")},
		{"wraps around", weeklyAms, at(t, ams, "2025-01-29 23:00"), "alice", "bob", at(t, ams, "2025-02-03 10:00")},
		{"long before start", weeklyAms, at(t, ams, "2024-06-01 12:00"), "alice", "bob", at(t, ams, "2025-01-13 10:00")},
		{"start mid-week rounds to the handoff day", weeklyThu, at(t, ams, "2025-01-03 12:00"), "alice", "bob", at(t, ams, "2025-01-13 10:00")},
		// Spring forward in Amsterdam on Sunday 2025-03-30: the turn from
		// 2025-03-24 10:00 CET (turn 11 -> carol) ends 2025-03-31 10:00 CEST,
		// i.e. 08:00 UTC, not 09:00 UTC as 7*24h would give.
		{"ams spring forward: before local handoff", weeklyAms, time.Date(2025, 3, 31, 7, 59, 0, 0, time.UTC), "carol", "alice", time.Date(2025, 3, 31, 8, 0, 0, 0, time.UTC)},
		{"ams spring forward: after local handoff", weeklyAms, time.Date(2025, 3, 31, 8, 30, 0, 0, time.UTC), "alice", "bob", at(t, ams, "2025-04-07 10:00")},
		// Fall back on Sunday 2025-10-26: handoff 2025-10-27 10:00 CET = 09:00 UTC.
		{"ams fall back: before local handoff", weeklyAms, time.Date(2025, 10, 27, 8, 30, 0, 0, time.UTC), "carol", "alice", time.Date(2025, 10, 27, 9, 0, 0, 0, time.UTC)},
		{"ams fall back: after local handoff", weeklyAms, time.Date(2025, 10, 27, 9, 0, 0, 0, time.UTC), "alice", "bob", at(t, ams, "2025-11-03 10:00")},
		// Los Angeles springs forward on 2025-03-09: Monday 09:00 PDT = 16:00 UTC.
		{"la spring forward: before", weeklyLA, time.Date(2025, 3, 10, 15, 59, 0, 0, time.UTC), "alice", "bob", time.Date(2025, 3, 10, 16, 0, 0, 0, time.UTC)},
		{"la spring forward: after", weeklyLA, time.Date(2025, 3, 10, 16, 0, 0, 0, time.UTC), "bob", "alice", at(t, la, "2025-03-17 09:00")},
		// ... and falls back on 2025-11-02: Monday 09:00 PST = 17:00 UTC.
		{"la fall back: before", weeklyLA, time.Date(2025, 11, 3, 16, 30, 0, 0, time.UTC), "alice", "bob", time.Date(2025, 11, 3, 17, 0, 0, 0, time.UTC)},
		{"la fall back: after", weeklyLA, time.Date(2025, 11, 3, 17, 0, 0, 0, time.UTC), "bob", "alice", at(t, la, "2025-11-10 09:00")},
		{"daily across DST day", dailyAms, at(t, ams, "2025-03-30 08:59"), "alice", "bob", at(t, ams, "2025-03-30 09:00")},
		{"daily after DST day", dailyAms, at(t, ams, "2025-03-30 09:00"), "bob", "alice", at(t, ams, "2025-03-31 09:00")},
		{"holiday: before the override", holiday, at(t, ams, "2025-01-14 12:00"), "bob", "carol", at(t, ams, "2025-01-15 00:00")},
		{"holiday: during the override", holiday, at(t, ams, "2025-01-15 12:00"), "carol", "bob", at(t, ams, "2025-01-17 00:00")},
		{"holiday: back to regular", holiday, at(t, ams, "2025-01-17 00:00"), "bob", "carol", at(t, ams, "2025-01-19 00:00")},
		{"override spanning own turn skips the no-op handoff", holiday, at(t, ams, "2025-01-19 12:00"), "carol", "alice", at(t, ams, "2025-01-27 10:00")},
		{"swap by the hour", holiday, at(t, ams, "2025-02-03 10:00"), "bob", "carol", at(t, ams, "2025-02-05 00:00")},
		{"later override wins", holiday, at(t, ams, "2025-02-05 12:00"), "carol", "bob", at(t, ams, "2025-02-06 00:00")},
		{"after swap", holiday, at(t, ams, "2025-02-10 10:00"), "carol", "alice", at(t, ams, "2025-02-17 10:00")},
		{"single person", single, time.Date(2025, 1, 8, 0, 0, 0, 0, time.UTC), "alice", "alice", time.Date(2025, 1, 13, 0, 0, 0, 0, time.UTC)},
		{"nobody", Config{}, time.Date(2025, 1, 8, 0, 0, 0, 0, time.UTC), "", "", time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRota(t, tc.cfg)
			cur, next, h := r.OnDuty(tc.now)
			if cur.Nick != tc.cur || next.Nick != tc.next || !h.Equal(tc.handoff) {
				t.Errorf("OnDuty(%s) = %q, %q, %s; want %q, %q, %s", tc.now.UTC(),
					cur.Nick, next.Nick, h.UTC(), tc.cur, tc.next, tc.handoff.UTC())
			}
		})
	}
}

// A full year of hourly samples: the person on duty only changes at
// reported handoffs, and each reported handoff really is a change.
func TestOnDutyConsistentOverYear(t *testing.T) {
	for _, zone := range []string{"Europe/Amsterdam", "America/Los_Angeles", "Australia/Lord_Howe", "UTC"} {
		r := mustRota(t, Config{People: abc, Start: "2025-01-01", HandoffDay: "tuesday", HandoffTime: "02:30", TimeZone: zone,
			Overrides: []Override{{From: "2025-07-01", To: "2025-07-20", Nick: "alice"}}})
		now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		cur, next, h := r.OnDuty(now)
		for i := 0; i < 365*24; i++ {
			now = now.Add(time.Hour)
			c, n, nh := r.OnDuty(now)
			if now.Before(h) {
				if c != cur || n != next || !nh.Equal(h) {
					t.Fatalf("%s %s: changed before announced handoff %s: %v -> %v", zone, now, h, cur.Nick, c.Nick)
				}
				continue
			}
			if c != next {
				t.Fatalf("%s %s: after handoff %s got %q, announced %q", zone, now, h, c.Nick, next.Nick)
			}
			if !nh.After(now) {
				t.Fatalf("%s %s: next handoff %s not in the future", zone, now, nh)
			}
			cur, next, h = c, n, nh
		}
	}
}

func TestValidation(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		fields []string
	}{
		{"empty nick and account", Config{People: []Person{{}}, Start: "2025-01-01"}, []string{"rota.people[0].nick", "rota.people[0].account"}},
		{"bad nick", Config{People: []Person{{Nick: "a b", Account: "x"}}, Start: "2025-01-01"}, []string{"rota.people[0].nick"}},
		{"duplicate nick", Config{People: []Person{{Nick: "A", Account: "x"}, {Nick: "a", Account: "y"}}, Start: "2025-01-01"}, []string{"rota.people[1].nick"}},
		{"bad start", Config{People: abc, Start: "next monday"}, []string{"rota.start"}},
		{"bad zone", Config{People: abc, Start: "2025-01-01", TimeZone: "Mars/Olympus"}, []string{"rota.timezone"}},
		{"bad time", Config{People: abc, Start: "2025-01-01", HandoffTime: "25:00"}, []string{"rota.handoff_time"}},
		{"bad day", Config{People: abc, Start: "2025-01-01", HandoffDay: "caturday"}, []string{"rota.handoff_day"}},
		{"days not weekly", Config{People: abc, Start: "2025-01-01", HandoffDay: "monday", Days: 10}, []string{"rota.days"}},
		{"negative days", Config{People: abc, Start: "2025-01-01", Days: -1}, []string{"rota.days"}},
		{"override unknown nick", Config{People: abc, Start: "2025-01-01", Overrides: []Override{{From: "2025-01-01", To: "2025-01-02", Nick: "mallory"}}}, []string{"rota.overrides[0].nick"}},
		{"override bad dates", Config{People: abc, Start: "2025-01-01", Overrides: []Override{{From: "x", To: "2025-01-02", Nick: "bob"}, {From: "2025-01-03", To: "2025-01-02", Nick: "bob"}}},
			[]string{"rota.overrides[0].from", "rota.overrides[1].to"}},
		{"overrides without people", Config{Overrides: []Override{{Nick: "x"}}}, []string{"rota.people"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil {
				t.Fatal("no error")
			}
			for _, f := range tc.fields {
				if !strings.Contains(err.Error(), f+": ") {
					t.Errorf("error %q does not name %s", err, f)
				}
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("error %v is not a *FieldError", err)
			}
		})
	}
}

func TestPersonByAccount(t *testing.T) {
	r := mustRota(t, Config{People: abc, Start: "2025-01-06"})
	if p, ok := r.PersonByAccount("alice"); !ok || p.Nick != "alice" {
		t.Errorf("PersonByAccount(alice) = %v, %v", p, ok)
	}
	if _, ok := r.PersonByAccount("mallory"); ok {
		t.Error("PersonByAccount(mallory) found someone")
	}
}
