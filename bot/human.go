package bot

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// human writes a duration the way people do: "40s", "30 min", "2 h",
// "1 h 30 min", "3d", "2d 4 h" (never Go's "1h0m0s").
func human(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Round(time.Second)/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Round(time.Minute)/time.Minute))
	case d < 48*time.Hour:
		d = d.Round(time.Minute)
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%d h", h)
		}
		return fmt.Sprintf("%d h %d min", h, m)
	}
	d = d.Round(time.Hour)
	days, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	if h == 0 {
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd %d h", days, h)
}

// durationUnits are the unit words people type, as they type them.
var durationUnits = map[string]time.Duration{
	"s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hrs": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
	"w": 7 * 24 * time.Hour, "week": 7 * 24 * time.Hour, "weeks": 7 * 24 * time.Hour,
}

// isDurationUnit reports whether s is a unit word on its own ("min" in
// "30 min").
func isDurationUnit(s string) bool {
	_, ok := durationUnits[strings.ToLower(s)]
	return ok
}

// maxParsed keeps parseDuration far from overflowing.
const maxParsed = 100 * 365 * 24 * time.Hour

// parseDuration reads durations as people write them: "90m", "30min",
// "30 min", "4h", "2 h", "2d", "1w", "1d12h", "1h 30min".
func parseDuration(s string) (time.Duration, error) {
	var total time.Duration
	rest := strings.ToLower(strings.ReplaceAll(s, " ", ""))
	if rest == "" {
		return 0, fmt.Errorf("empty duration")
	}
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i > 6 {
			return 0, fmt.Errorf("bad duration %q (e.g. 30min, 4h, 2d, 1w)", Truncate(s, 20))
		}
		n, _ := strconv.Atoi(rest[:i])
		rest = rest[i:]
		j := 0
		for j < len(rest) && (rest[j] < '0' || rest[j] > '9') {
			j++
		}
		u, ok := durationUnits[rest[:j]]
		if !ok {
			return 0, fmt.Errorf("bad duration %q (e.g. 30min, 4h, 2d, 1w)", Truncate(s, 20))
		}
		rest = rest[j:]
		if time.Duration(n) > (maxParsed-total)/u {
			return 0, fmt.Errorf("%s is longer than any limit", Truncate(s, 20))
		}
		total += time.Duration(n) * u
	}
	return total, nil
}

// checkLimits says, in words, why d is outside [lo, hi].
func checkLimits(typed string, d, lo, hi time.Duration) error {
	switch {
	case d > hi:
		return fmt.Errorf("%s is longer than the %s limit", Truncate(typed, 20), limitWord(hi))
	case d < lo:
		return fmt.Errorf("%s is shorter than the %s minimum", Truncate(typed, 20), limitWord(lo))
	}
	return nil
}

// limitWord is "90-day", "1-minute".
func limitWord(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d-day", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%d-hour", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%d-minute", d/time.Minute)
	}
	return fmt.Sprintf("%d-second", d/time.Second)
}
