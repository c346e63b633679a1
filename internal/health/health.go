// Package health tracks the state of each subsystem (sources, filer, IRC,
// drift) for /healthz, the status page and the IRC `status` command.
package health

import (
	"sort"
	"sync"
	"time"
)

// State is a subsystem's condition.
type State string

const (
	StateStarting State = "starting"
	StateOK       State = "ok"
	StateFailing  State = "failing"
	// StateDegraded: working, but behind (the filer's backlog of unfiled
	// signatures is old). Not OK: a required subsystem in this state makes
	// the service unhealthy.
	StateDegraded State = "degraded"
	StateDisabled State = "disabled"
)

// Status is one subsystem's latest state.
type Status struct {
	Name     string    `json:"name"`
	State    State     `json:"state"`
	Detail   string    `json:"detail,omitempty"`
	Since    time.Time `json:"since"`            // when State last changed
	LastOK   time.Time `json:"last_ok,omitzero"` // last time it reported OK
	Failures int       `json:"consecutive_failures,omitempty"`
	// Optional subsystems (IRC, drift) degrade the service but do not make it unhealthy.
	Optional bool `json:"optional,omitempty"`
	// Backlog is the number of items waiting (the filer: signatures without
	// a task yet), BacklogSince when the oldest started waiting and
	// BacklogAgeSeconds its age when the state was recorded.
	Backlog           int       `json:"backlog"`
	BacklogSince      time.Time `json:"backlog_since,omitzero"`
	BacklogAgeSeconds float64   `json:"backlog_age_seconds"`
}

// Registry holds subsystem states. It is safe for concurrent use.
type Registry struct {
	mu   sync.Mutex
	now  func() time.Time
	subs map[string]*Status
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{now: time.Now, subs: map[string]*Status{}}
}

// Register declares a subsystem in the starting state.
func (r *Registry) Register(name string, optional bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.subs[name]; !ok {
		r.subs[name] = &Status{Name: name, State: StateStarting, Since: r.now(), Optional: optional}
	}
}

// OK records a success.
func (r *Registry) OK(name, detail string) { r.set(name, StateOK, detail) }

// Fail records a failure; detail must not contain secrets.
func (r *Registry) Fail(name, detail string) { r.set(name, StateFailing, detail) }

// Degrade records that a subsystem works but is behind; detail must not
// contain secrets.
func (r *Registry) Degrade(name, detail string) { r.set(name, StateDegraded, detail) }

// Disable marks a subsystem as not configured.
func (r *Registry) Disable(name, detail string) { r.set(name, StateDisabled, detail) }

func (r *Registry) set(name string, st State, detail string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.subs[name]
	if !ok {
		s = &Status{Name: name}
		r.subs[name] = s
	}
	now := r.now()
	if s.State != st {
		s.State, s.Since = st, now
	}
	s.Detail = detail
	switch st {
	case StateOK:
		s.LastOK, s.Failures = now, 0
	case StateFailing:
		s.Failures++
	}
}

// SetBacklog records a subsystem's backlog: n items waiting, the oldest
// since oldest (zero when n is 0).
func (r *Registry) SetBacklog(name string, n int, oldest time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.subs[name]
	if !ok {
		s = &Status{Name: name, State: StateStarting, Since: r.now()}
		r.subs[name] = s
	}
	s.Backlog, s.BacklogSince, s.BacklogAgeSeconds = n, time.Time{}, 0
	if n > 0 && !oldest.IsZero() {
		s.BacklogSince = oldest
		s.BacklogAgeSeconds = r.now().Sub(oldest).Round(time.Second).Seconds()
	}
}

// Snapshot returns all statuses sorted by name.
func (r *Registry) Snapshot() []Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Status, 0, len(r.subs))
	for _, s := range r.subs {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Healthy reports whether every required subsystem is OK (or disabled).
func (r *Registry) Healthy() bool {
	for _, s := range r.Snapshot() {
		if s.Optional {
			continue
		}
		if s.State != StateOK && s.State != StateDisabled {
			return false
		}
	}
	return true
}
