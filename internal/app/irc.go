package app

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wikimedia/sheriff/bot"
	"github.com/wikimedia/sheriff/internal/config"
	"github.com/wikimedia/sheriff/internal/filer"
	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/health"
	"github.com/wikimedia/sheriff/internal/rota"
	"github.com/wikimedia/sheriff/internal/silence"
	"github.com/wikimedia/sheriff/internal/tracker"
)

// silencer lets the pipeline ask the silence store (shared with the bot's
// silence commands) whether a finding is muted.
type silencer struct{ st *silence.Store }

func (s silencer) Silenced(ctx context.Context, f finding.Finding, taskID int) (bool, error) {
	task := ""
	if taskID > 0 {
		task = fmt.Sprintf("T%d", taskID)
	}
	_, ok, err := s.st.Match(ctx, f.Key, task, f.Title, time.Now())
	return ok, err
}

// botConfig maps the configuration file's irc section onto the bot's.
func botConfig(c *config.IRC, version string) (bot.Config, error) {
	password, err := config.Secret(c.SASLPasswordEnv, c.SASLPasswordFile)
	if err != nil {
		return bot.Config{}, fmt.Errorf("irc password: %w", err)
	}
	bc := bot.Config{
		Server: c.Server, Port: c.Port, TLS: c.TLS, Nick: c.Nick, AltNicks: c.AltNicks, User: c.User, Name: c.Name,
		SASLAccount: c.SASLAccount, SASLPassword: password, Channels: c.Channels, Admins: c.Admins, AllowOps: c.AllowOps,
		AnnounceRate: c.AnnounceRate, BurstWindow: c.BurstWindow.D(), EscalateAfter: c.EscalateAfter.D(),
		TopicSegment: c.TopicSegment, Link: c.Link, ReconnectMin: c.ReconnectMin.D(), ReconnectMax: c.ReconnectMax.D(),
		Version: version,
		Rota: rota.Config{Start: c.Rota.Start, Days: c.Rota.Days, HandoffDay: c.Rota.HandoffDay,
			HandoffTime: c.Rota.HandoffTime, TimeZone: c.Rota.TimeZone},
	}
	for _, p := range c.Rota.People {
		bc.Rota.People = append(bc.Rota.People, rota.Person{Nick: p.Nick, Account: p.Account, Phab: p.Phab})
	}
	for _, o := range c.Rota.Overrides {
		bc.Rota.Overrides = append(bc.Rota.Overrides, rota.Override{From: o.From, To: o.To, Nick: o.Nick, Note: o.Note})
	}
	return bc, bc.Validate()
}

// botSources answers the bot's read-only commands from the service.
type botSources struct{ s *Service }

func (b botSources) Status(ctx context.Context) []bot.Subsystem {
	var out []bot.Subsystem
	st, _ := b.s.Tracker.Stats(ctx)
	for _, h := range b.s.Health.Snapshot() {
		sub := bot.Subsystem{Name: h.Name, Healthy: h.State == health.StateOK || h.State == health.StateDisabled,
			LastPoll: h.LastOK, Detail: h.Detail}
		if h.Name == "filer" {
			sub.Backlog = int(st.Backlog)
		}
		out = append(out, sub)
	}
	return out
}

// webLink is u when it is a web link; dry-run tasks live in local files,
// whose paths are never shown on IRC.
func webLink(u string) string {
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return u
	}
	return ""
}

// outboxTaskRef names a dry-run task by its outbox id.
func outboxTaskRef(location string) string {
	id, err := filer.OutboxTaskID(location)
	if err != nil || id <= 0 {
		return ""
	}
	return fmt.Sprintf("T%d", id)
}

// LookupFinding finds a signature by id or unique id prefix.
func (b botSources) LookupFinding(ctx context.Context, key string) (string, string, bool, error) {
	sigs, err := b.s.Tracker.FindByPrefix(ctx, key)
	if err != nil {
		return "", "", false, err
	}
	for _, s := range sigs {
		if s.ID == key {
			return s.ID, s.Title, true, nil
		}
	}
	if len(sigs) == 1 {
		return sigs[0].ID, sigs[0].Title, true, nil
	}
	return "", "", false, nil
}

func (b botSources) Recent(ctx context.Context, n int) ([]bot.Signature, error) {
	sigs, err := b.s.Tracker.List(ctx, tracker.ListOptions{OrderBy: "first_seen", Limit: n})
	if err != nil {
		return nil, err
	}
	out := make([]bot.Signature, 0, len(sigs))
	for _, s := range sigs {
		task := s.Task
		if task == "" {
			task = webLink(s.TaskURL)
		}
		out = append(out, bot.Signature{Key: s.ID, Title: s.Title, Status: string(s.Status), Count: s.Count,
			FirstSeen: s.FirstSeen, LastSeen: s.LastSeen, Task: task})
	}
	return out, nil
}

func (b botSources) DriftSummary(ctx context.Context) (bot.DriftSummary, bool, error) {
	if b.s.Drift == nil {
		return bot.DriftSummary{}, false, nil
	}
	rec, err := b.s.Drift.Last(ctx)
	if err != nil || rec == nil {
		return bot.DriftSummary{}, false, err
	}
	known := 0
	for class, n := range rec.Counts {
		if class != "real" {
			known += n
		}
	}
	return bot.DriftSummary{When: rec.Finished, Real: rec.Real, Known: known, Link: rec.ReportURL, Text: rec.Summary}, true, nil
}

func (b botSources) TaskInfo(ctx context.Context, id string) (bot.TaskInfo, bool, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(id)), "T"))
	if err != nil || n <= 0 {
		return bot.TaskInfo{}, false, nil
	}
	sigs, err := b.s.Tracker.FindByTask(ctx, n)
	if err != nil {
		return bot.TaskInfo{}, false, err
	}
	if len(sigs) == 0 {
		return bot.TaskInfo{}, false, nil
	}
	ti := bot.TaskInfo{ID: fmt.Sprintf("T%d", n), Title: sigs[0].Title, Status: string(sigs[0].Status), URL: webLink(sigs[0].TaskURL)}
	for _, s := range sigs {
		ti.Keys = append(ti.Keys, s.ID)
		ti.Count += s.Count
		if s.LastSeen.After(ti.LastSeen) {
			ti.LastSeen = s.LastSeen
		}
	}
	return ti, true, nil
}
