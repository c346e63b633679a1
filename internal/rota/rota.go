// Package rota computes who is the on-duty sheriff at a given moment.
//
// The rota is a list of people who take turns of a fixed number of days.
// Turns change hands at a wall-clock time in a named time zone, so a handoff
// stays at "Monday 10:00 Europe/Amsterdam" across daylight-saving changes
// (the turn that contains a DST change is an hour shorter or longer).
// Dated overrides (holidays, swaps) replace the regular person for a range.
//
// Everything here is a pure function of the configuration and the clock.
package rota

import (
	"errors"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // the rota must not depend on the host having zoneinfo installed
)

// Person is one member of the rota.
type Person struct {
	Nick    string `yaml:"nick" json:"nick"`       // IRC nick used to address them
	Account string `yaml:"account" json:"account"` // NickServ account
	Phab    string `yaml:"phab,omitempty" json:"phab,omitempty"`
}

// IsZero reports whether p is the empty person (no rota configured).
func (p Person) IsZero() bool { return p.Nick == "" }

// Override puts Nick on duty from From to To instead of the regular person.
// From and To are local dates ("2025-03-04", To inclusive: the override
// ends at midnight after it) or local date-times ("2025-03-04 10:00", To
// exclusive) in the rota's time zone.
type Override struct {
	From string `yaml:"from" json:"from"`
	To   string `yaml:"to" json:"to"`
	Nick string `yaml:"nick" json:"nick"`
	Note string `yaml:"note,omitempty" json:"note,omitempty"`
}

// Config is the rota as written in the configuration file.
type Config struct {
	People []Person `yaml:"people" json:"people"`
	// Start is the local date ("2025-01-06") from which People[0] has the
	// first turn. With HandoffDay set, the first regular handoff is on the
	// first HandoffDay on or after Start; People[0] also covers the days
	// between Start and that handoff.
	Start string `yaml:"start" json:"start"`
	// Days is the length of one turn; default 7. With HandoffDay set it
	// must be a multiple of 7.
	Days int `yaml:"days,omitempty" json:"days,omitempty"`
	// HandoffDay is an English weekday name ("monday"), or empty to hand
	// off every Days days counted from Start.
	HandoffDay string `yaml:"handoff_day,omitempty" json:"handoff_day,omitempty"`
	// HandoffTime is the local wall-clock time of a handoff, "HH:MM";
	// default "00:00". On a day where that time does not exist or exists
	// twice because of a DST change, Go's time.Date rules pick one.
	HandoffTime string `yaml:"handoff_time,omitempty" json:"handoff_time,omitempty"`
	// TimeZone is an IANA zone name; default "UTC".
	TimeZone  string     `yaml:"timezone,omitempty" json:"timezone,omitempty"`
	Overrides []Override `yaml:"overrides,omitempty" json:"overrides,omitempty"`
}

// FieldError is a validation error naming the offending configuration field,
// e.g. "rota.people[1].nick".
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Rota is a validated rota. The zero value (and a Rota from a Config without
// people) has nobody on duty.
type Rota struct {
	people    []Person
	loc       *time.Location
	days      int
	first     civil // date of the first regular handoff
	hh, mm    int
	overrides []override
}

type override struct {
	from, to time.Time
	person   int
}

// civil is a calendar date without a zone; arithmetic is in whole days.
type civil struct{ y, m, d int }

func civilOf(t time.Time) civil { return civil{t.Year(), int(t.Month()), t.Day()} }

// dayNumber counts days since the epoch, independent of any zone's DST.
func (c civil) dayNumber() int64 {
	return time.Date(c.y, time.Month(c.m), c.d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

func (c civil) addDays(n int) civil {
	return civilOf(time.Date(c.y, time.Month(c.m), c.d+n, 0, 0, 0, 0, time.UTC))
}

var weekdays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday,
	"wednesday": time.Wednesday, "thursday": time.Thursday, "friday": time.Friday,
	"saturday": time.Saturday,
}

// New validates cfg. Every error names its field, prefixed with "rota.";
// all problems are reported at once (errors.Join of *FieldError).
func New(cfg Config) (*Rota, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: "rota." + field, Msg: fmt.Sprintf(format, args...)})
	}
	r := &Rota{days: cfg.Days, loc: time.UTC}
	if len(cfg.People) == 0 {
		if len(cfg.Overrides) > 0 {
			bad("people", "overrides given but no people")
		}
		return r, errors.Join(errs...)
	}
	byNick := map[string]int{}
	for i, p := range cfg.People {
		switch {
		case strings.TrimSpace(p.Nick) == "":
			bad(fmt.Sprintf("people[%d].nick", i), "empty")
		case strings.ContainsAny(p.Nick, " ,:!@*?\x00\r\n"):
			bad(fmt.Sprintf("people[%d].nick", i), "%q is not a valid IRC nick", p.Nick)
		default:
			k := strings.ToLower(p.Nick)
			if j, dup := byNick[k]; dup {
				bad(fmt.Sprintf("people[%d].nick", i), "%q already used by people[%d]", p.Nick, j)
			}
			byNick[k] = i
		}
		if strings.TrimSpace(p.Account) == "" {
			bad(fmt.Sprintf("people[%d].account", i), "empty (the NickServ account is required)")
		}
	}
	if cfg.TimeZone != "" {
		loc, err := time.LoadLocation(cfg.TimeZone)
		if err != nil {
			bad("timezone", "unknown time zone %q", cfg.TimeZone)
		} else {
			r.loc = loc
		}
	}
	if r.days == 0 {
		r.days = 7
	}
	if r.days < 0 {
		bad("days", "must be positive, got %d", cfg.Days)
		r.days = 7
	}
	if cfg.HandoffTime != "" {
		t, err := time.Parse("15:04", cfg.HandoffTime)
		if err != nil {
			bad("handoff_time", "want HH:MM, got %q", cfg.HandoffTime)
		} else {
			r.hh, r.mm = t.Hour(), t.Minute()
		}
	}
	start, err := time.Parse("2006-01-02", cfg.Start)
	if err != nil {
		bad("start", "want a date YYYY-MM-DD, got %q", cfg.Start)
	}
	r.first = civilOf(start)
	if cfg.HandoffDay != "" {
		wd, ok := weekdays[strings.ToLower(cfg.HandoffDay)]
		switch {
		case !ok:
			bad("handoff_day", "want a weekday name such as \"monday\", got %q", cfg.HandoffDay)
		case r.days%7 != 0:
			bad("days", "must be a multiple of 7 when handoff_day is set, got %d", r.days)
		default:
			r.first = r.first.addDays((int(wd) - int(start.Weekday()) + 7) % 7)
		}
	}
	r.people = cfg.People
	for i, o := range cfg.Overrides {
		field := fmt.Sprintf("overrides[%d]", i)
		p, ok := byNick[strings.ToLower(o.Nick)]
		if !ok {
			bad(field+".nick", "%q is not in rota.people", o.Nick)
		}
		from, err1 := parseLocal(o.From, r.loc, false)
		if err1 != nil {
			bad(field+".from", "%v", err1)
		}
		to, err2 := parseLocal(o.To, r.loc, true)
		if err2 != nil {
			bad(field+".to", "%v", err2)
		}
		if err1 == nil && err2 == nil && !to.After(from) {
			bad(field+".to", "%q is not after from %q", o.To, o.From)
		}
		r.overrides = append(r.overrides, override{from: from, to: to, person: p})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return r, nil
}

// parseLocal reads a local date or date-time. A bare date used as an end
// means the end of that day.
func parseLocal(s string, loc *time.Location, end bool) (time.Time, error) {
	if t, err := time.ParseInLocation("2006-01-02 15:04", s, loc); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation("2006-01-02", s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("want YYYY-MM-DD or \"YYYY-MM-DD HH:MM\", got %q", s)
	}
	if end {
		t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
	}
	return t, nil
}

// Location is the rota's time zone.
func (r *Rota) Location() *time.Location {
	if r == nil || r.loc == nil {
		return time.UTC
	}
	return r.loc
}

// People returns the configured people in rota order.
func (r *Rota) People() []Person {
	if r == nil {
		return nil
	}
	return append([]Person(nil), r.people...)
}

// handoff is the start of regular turn k (turn 0 starts at the first
// handoff), in local wall-clock terms.
func (r *Rota) handoff(k int64) time.Time {
	c := r.first
	return time.Date(c.y, time.Month(c.m), c.d+int(k)*r.days, r.hh, r.mm, 0, 0, r.loc)
}

// turn returns the index of the regular turn containing t (-1 before the
// first handoff).
func (r *Rota) turn(t time.Time) int64 {
	lt := t.In(r.loc)
	k := (civilOf(lt).dayNumber() - r.first.dayNumber())
	k = floorDiv(k, int64(r.days))
	// The estimate from calendar days can be one turn late or early on the
	// handoff day itself; fix it against the exact instants.
	for t.Before(r.handoff(k)) {
		k--
	}
	for !t.Before(r.handoff(k + 1)) {
		k++
	}
	return k
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// at returns the index of the person on duty at t.
func (r *Rota) at(t time.Time) int {
	// Later overrides win, so a swap can be layered over a holiday.
	for i := len(r.overrides) - 1; i >= 0; i-- {
		o := r.overrides[i]
		if !t.Before(o.from) && t.Before(o.to) {
			return o.person
		}
	}
	k := r.turn(t)
	if k < 0 {
		return 0
	}
	return int(k % int64(len(r.people)))
}

// nextChange returns the first instant after t at which the rule in force
// may change: a regular handoff or an override edge.
func (r *Rota) nextChange(t time.Time) time.Time {
	k := r.turn(t) + 1
	if k < 0 {
		k = 0 // before the first handoff the first person is on duty throughout
	}
	next := r.handoff(k)
	for _, o := range r.overrides {
		for _, e := range [2]time.Time{o.from, o.to} {
			if e.After(t) && e.Before(next) {
				next = e
			}
		}
	}
	return next
}

// OnDuty returns who is on duty at now, who takes over next, and when.
// With nobody configured all results are zero. With a single person, next
// is that person and nextHandoff the next regular handoff.
func (r *Rota) OnDuty(now time.Time) (current, next Person, nextHandoff time.Time) {
	if r == nil || len(r.people) == 0 {
		return Person{}, Person{}, time.Time{}
	}
	cur := r.at(now)
	t := now
	// Skip boundaries at which the same person stays on duty (e.g. an
	// override that covers a whole turn of its own person). Bounded: after
	// enough turns every person has come round.
	limit := 4*len(r.people) + 2*len(r.overrides) + 4
	for i := 0; i < limit; i++ {
		t = r.nextChange(t)
		if p := r.at(t); p != cur {
			return r.people[cur], r.people[p], t
		}
	}
	return r.people[cur], r.people[cur], r.handoff(max(r.turn(now)+1, 0))
}

// PersonByAccount finds a rota member by NickServ account (case-insensitive).
func (r *Rota) PersonByAccount(account string) (Person, bool) {
	if r == nil {
		return Person{}, false
	}
	for _, p := range r.people {
		if strings.EqualFold(p.Account, account) {
			return p, true
		}
	}
	return Person{}, false
}
