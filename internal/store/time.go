package store

import "time"

// Tables keep instants as INTEGER unix milliseconds: they sort and compare
// in SQL (expires > ?), and 0 stands for "never" or "not yet", which a
// NULL-free column needs.

// Millis returns t as unix milliseconds for a table column, and 0 for the
// zero time.
func Millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// FromMillis is the inverse of Millis: 0 gives the zero time, anything else
// the instant in UTC.
func FromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
