package filer

import (
	"context"
	"errors"
	"time"
)

// Task is what the filer needs to know about a task in the tracker.
type Task struct {
	ID          int
	PHID        string
	URL         string
	Title       string
	Description string
	Status      string // open, resolved, declined, invalid, stalled, progress, duplicate, ...
	Created     time.Time
	Closed      time.Time // zero while open or when the tracker does not say
}

// NewTask is a task to create. Kind, Key and Marker let a backend name things
// (the outbox names its files by key); a tracker only sees the text fields.
type NewTask struct {
	Kind        string
	Key         string
	Marker      string
	Title       string
	Description string
	Priority    string
	Projects    []string // project names or hashtags, configured plus per-finding
	Subscribers []string // PHIDs
}

// Backend is where tasks live: Phabricator through Conduit, or the dry-run
// outbox. It is defined here, where it is used, so that tests can supply
// their own.
type Backend interface {
	// ID names the backend instance; mappings are kept per backend so that a
	// database used in dry-run does not stop real filing later.
	ID() string
	// Init is called once by New with the configured projects; an unknown
	// project must be an error.
	Init(ctx context.Context, projects []string) error
	// SearchText runs a full-text search for one word (restricted to projects
	// when given). It may lag behind writes: a tracker indexes asynchronously.
	SearchText(ctx context.Context, word string, projects []string) ([]Task, error)
	// CreatedSince lists the tasks this bot created since t, read from primary
	// storage rather than a search index, so it sees its own recent writes.
	CreatedSince(ctx context.Context, t time.Time) ([]Task, error)
	// Get returns the tasks with the given ids (missing ids are omitted).
	Get(ctx context.Context, ids []int) ([]Task, error)
	// Create files a new task.
	Create(ctx context.Context, t NewTask) (Task, error)
	// Comment adds a comment and, when status is not empty, sets the status
	// in the same edit.
	Comment(ctx context.Context, id int, text, status string) error
	// CommentsSince returns the raw text of the comments this bot added to the
	// task since t; used to find out whether a comment sent before a crash
	// arrived.
	CommentsSince(ctx context.Context, id int, t time.Time) ([]string, error)
}

// ErrRejected marks a backend error for which the backend knows that the write
// was not applied (the server answered with an error code, or refused with
// 429), as opposed to a timeout or a 5xx whose outcome is unknown.
var ErrRejected = errors.New("write rejected")

// isOpen reports whether a task status counts as open. Phabricator installs
// define their own statuses; everything that is not a known closed status is
// treated as open.
func isOpen(status string) bool {
	switch status {
	case "resolved", "declined", "invalid", "duplicate", "wontfix", "spite":
		return false
	}
	return true
}

// isSilencing reports whether a closed status means "stop reporting this".
func isSilencing(status string) bool {
	switch status {
	case "declined", "invalid", "wontfix", "duplicate":
		return true
	}
	return false
}
