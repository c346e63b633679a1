package filer

import (
	"fmt"
	"testing"
	"time"

	"github.com/wikimedia/sheriff/internal/finding"
)

func TestStormMembersUsesEventTime(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	mk := func(offsets ...time.Duration) []*item {
		var items []*item
		for i, o := range offsets {
			items = append(items, &item{f: finding.Finding{Key: fmt.Sprint(i), FirstSeen: now.Add(o)}})
		}
		return items
	}
	spread := func(n int, step, from time.Duration) []time.Duration {
		var out []time.Duration
		for i := range n {
			out = append(out, from+time.Duration(i)*step)
		}
		return out
	}
	tests := []struct {
		name       string
		offsets    []time.Duration
		recent     int
		wantStormy int
	}{
		{"backlog spread over a day is not a storm", spread(30, time.Hour, -30*time.Hour), 0, 0},
		{"burst within minutes is a storm", spread(12, time.Minute, -3*time.Hour), 0, 12},
		{"at the threshold is no storm", spread(10, time.Minute, -3*time.Hour), 0, 0},
		{"burst inside a backlog: only the burst", append(spread(5, 2*time.Hour, -20*time.Hour), spread(11, 30*time.Second, -time.Hour)...), 0, 11},
		{"live burst joins tasks filed moments ago", spread(4, time.Minute, -5*time.Minute), 8, 4},
		{"old burst ignores recent live filings", spread(4, time.Minute, -5*time.Hour), 8, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stormy, calm := stormMembers(mk(tt.offsets...), tt.recent, now, 10, 15*time.Minute)
			if len(stormy) != tt.wantStormy || len(stormy)+len(calm) != len(tt.offsets) {
				t.Fatalf("stormy %d calm %d, want stormy %d of %d", len(stormy), len(calm), tt.wantStormy, len(tt.offsets))
			}
		})
	}
}
