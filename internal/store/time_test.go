package store

import (
	"testing"
	"time"
)

func TestMillis(t *testing.T) {
	paris := time.FixedZone("CEST", 2*3600)
	tests := []struct {
		name string
		in   time.Time
		ms   int64
		back time.Time // what FromMillis gives for ms
	}{
		{"zero time is 0", time.Time{}, 0, time.Time{}},
		{"the epoch reads back as unset", time.Unix(0, 0), 0, time.Time{}},
		{"UTC", time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC), 1746100800000, time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)},
		{"other zone comes back in UTC", time.Date(2025, 5, 1, 14, 0, 0, 0, paris), 1746100800000, time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)},
		{"sub-millisecond dropped", time.Date(2025, 5, 1, 12, 0, 0, 1_999_999, time.UTC), 1746100800001, time.Date(2025, 5, 1, 12, 0, 0, 1_000_000, time.UTC)},
		{"before the epoch", time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC), -1000, time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := Millis(tt.in)
			if ms != tt.ms {
				t.Fatalf("Millis(%v) = %d, want %d", tt.in, ms, tt.ms)
			}
			back := FromMillis(ms)
			if !back.Equal(tt.back) || back.Location() != tt.back.Location() {
				t.Errorf("FromMillis(%d) = %v, want %v", ms, back, tt.back)
			}
		})
	}
}
