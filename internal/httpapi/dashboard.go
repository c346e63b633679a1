package httpapi

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wikimedia/sheriff/bot"
	"github.com/wikimedia/sheriff/internal/driftrun"
	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/health"
	"github.com/wikimedia/sheriff/internal/rota"
	"github.com/wikimedia/sheriff/internal/silence"
	"github.com/wikimedia/sheriff/internal/tracker"
)

// The dashboard's JSON API. Every view of the page is one of these
// endpoints, with the same query parameters as the page's address.

// Dashboard states, derived from the tracker's status, acks, silences and
// spikes, in the order of attention they need.
const (
	StateSpiking   = "spiking"
	StateRegressed = "regressed"
	StateNew       = "new"
	StateKnown     = "known"
	StateAcked     = "acked"
	StateSilenced  = "silenced"
	StateResolved  = "resolved"
)

var stateWeight = map[string]int{
	StateSpiking: 500, StateRegressed: 400, StateNew: 300, StateKnown: 100,
	StateAcked: 50, StateSilenced: 10, StateResolved: 0,
}

// facetFilters are the facets the list can be filtered by.
var facetFilters = []string{"wiki", "host", "version", "channel"}

const (
	sparkDays   = 7
	chartHours  = 7 * 24
	defaultList = 200
)

// SpikeSource lists signatures in an active spike episode.
type SpikeSource interface {
	Active(ctx context.Context) ([]tracker.Ref, error)
}

// IRC is what the dashboard shows of the bot.
type IRC interface {
	Trail(ctx context.Context, key string) ([]bot.Sent, error)
	State() bot.State
}

// listItem is one row of /api/signatures.
type listItem struct {
	apiSignature
	State     string                          `json:"state"`
	Attention int                             `json:"attention"`
	Spark     []int64                         `json:"spark"`
	Top       map[string][]tracker.FacetCount `json:"top,omitempty"`
	AckedBy   string                          `json:"acked_by,omitempty"`
	Silence   int64                           `json:"silence,omitempty"` // id of the active silence
}

// webLink is u when it is a web link: dry-run tasks live in local files,
// whose paths the dashboard never shows or links.
func webLink(u string) string {
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return u
	}
	return ""
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// dataEnd is where the time axis of sparklines and charts ends: now, or
// the last event seen when that is older than the sparkline's span (a
// replayed or stalled source), so that its data is still on the axis.
func (s *Server) dataEnd(ctx context.Context) (time.Time, error) {
	now := s.now()
	latest, err := s.Tracker.LatestSeen(ctx)
	if err != nil {
		return now, err
	}
	if !latest.IsZero() && latest.Before(now.Add(-sparkDays*24*time.Hour)) {
		return latest.Truncate(time.Hour).Add(time.Hour), nil
	}
	return now.Truncate(time.Hour).Add(time.Hour), nil
}

// listQuery is the parsed filter of /api/signatures.
type listQuery struct {
	filter tracker.Filter
	states map[string]bool // empty: any
	// open keeps only what nobody has dealt with: new, regressed or
	// spiking, or any other unacked, unsilenced, unresolved signature seen
	// within the last day.
	open  bool
	order string
	limit int
}

func parseListQuery(q url.Values) (listQuery, error) {
	lq := listQuery{limit: defaultList, order: q.Get("order")}
	lq.filter.Kind = finding.Kind(q.Get("kind"))
	lq.filter.Text = q.Get("q")
	for _, name := range facetFilters {
		if v := q.Get(name); v != "" {
			if lq.filter.Facets == nil {
				lq.filter.Facets = map[string]string{}
			}
			lq.filter.Facets[name] = v
		}
	}
	if st := q.Get("status"); st != "" {
		lq.states = map[string]bool{st: true}
	}
	switch lq.order {
	case "", "attention", "last_seen", "first_seen", "count":
	default:
		return lq, fmt.Errorf("order: want attention, last_seen, first_seen or count, got %q", lq.order)
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 10000 {
			return lq, errors.New("limit: want 1 to 10000")
		}
		lq.limit = n
	}
	return lq, nil
}

// context for deriving states: acks, active silences, spikes.
type stateContext struct {
	acks    map[string]silence.Ack
	active  []silence.Silence
	spiking map[tracker.Ref]bool
}

func (s *Server) loadStateContext(ctx context.Context) (stateContext, error) {
	sc := stateContext{spiking: map[tracker.Ref]bool{}}
	var err error
	if s.Silences != nil {
		if sc.acks, err = s.Silences.Acks(ctx); err != nil {
			return sc, err
		}
		if sc.active, err = s.Silences.Active(ctx, s.now()); err != nil {
			return sc, err
		}
	}
	if s.Spikes != nil {
		refs, err := s.Spikes.Active(ctx)
		if err != nil {
			return sc, err
		}
		for _, r := range refs {
			sc.spiking[r] = true
		}
	}
	return sc, nil
}

// state derives a signature's dashboard state.
func (sc stateContext) state(sig *tracker.Signature) (state, ackedBy string, silenceID int64) {
	for _, sl := range sc.active {
		if sl.Matches(sig.ID, sig.Task, sig.Title) {
			return StateSilenced, "", sl.ID
		}
	}
	switch sig.Status {
	case finding.StatusSilenced:
		return StateSilenced, "", 0
	case finding.StatusResolved:
		return StateResolved, "", 0
	}
	if a, ok := sc.acks[sig.ID]; ok {
		return StateAcked, a.Who, 0
	}
	if sig.Task != "" {
		if a, ok := sc.acks[sig.Task]; ok {
			return StateAcked, a.Who, 0
		}
	}
	if sc.spiking[tracker.Ref{Kind: sig.Kind, ID: sig.ID}] {
		return StateSpiking, "", 0
	}
	switch sig.Status {
	case finding.StatusRegressed:
		return StateRegressed, "", 0
	case finding.StatusNew:
		return StateNew, "", 0
	}
	return StateKnown, "", 0
}

func isOpen(state string, sig *tracker.Signature, end time.Time) bool {
	switch state {
	case StateSpiking, StateRegressed, StateNew:
		return true
	case StateKnown:
		return end.Sub(sig.LastSeen) <= 24*time.Hour
	}
	return false
}

// attention ranks what a sheriff should look at first: the state, then
// how recently and how often it happened.
func attention(state string, sig *tracker.Signature, end time.Time) int {
	score := stateWeight[state]
	switch age := end.Sub(sig.LastSeen); {
	case age <= time.Hour:
		score += 60
	case age <= 24*time.Hour:
		score += 30
	case age <= 7*24*time.Hour:
		score += 10
	}
	if sig.Count > 0 {
		score += int(10 * math.Log10(float64(sig.Count)))
	}
	return score
}

// list returns the ranked signatures matching q, the total number of
// matches, and the end of the sparklines' axis.
func (s *Server) list(ctx context.Context, q listQuery) ([]listItem, int, time.Time, error) {
	end, err := s.dataEnd(ctx)
	if err != nil {
		return nil, 0, end, err
	}
	sigs, err := s.Tracker.Search(ctx, q.filter)
	if err != nil {
		return nil, 0, end, err
	}
	sc, err := s.loadStateContext(ctx)
	if err != nil {
		return nil, 0, end, err
	}
	items := make([]listItem, 0, len(sigs))
	for i := range sigs {
		sig := &sigs[i]
		st, by, sid := sc.state(sig)
		if len(q.states) > 0 && !q.states[st] {
			continue
		}
		if q.open && !isOpen(st, sig, end) {
			continue
		}
		it := listItem{apiSignature: toAPI(*sig), State: st, AckedBy: by, Silence: sid, Attention: attention(st, sig, end)}
		it.Sample, it.Template = "", ""
		items = append(items, it)
	}
	less := func(a, b *listItem) bool {
		switch q.order {
		case "last_seen":
			if !a.LastSeen.Equal(b.LastSeen) {
				return a.LastSeen.After(b.LastSeen)
			}
		case "first_seen":
			if !a.FirstSeen.Equal(b.FirstSeen) {
				return a.FirstSeen.After(b.FirstSeen)
			}
		case "count":
			if a.Count != b.Count {
				return a.Count > b.Count
			}
		default:
			if a.Attention != b.Attention {
				return a.Attention > b.Attention
			}
			if !a.LastSeen.Equal(b.LastSeen) {
				return a.LastSeen.After(b.LastSeen)
			}
		}
		return a.ID < b.ID
	}
	sort.Slice(items, func(i, j int) bool { return less(&items[i], &items[j]) })
	total := len(items)
	items = items[:min(q.limit, len(items))]
	refs := make([]tracker.Ref, len(items))
	for i, it := range items {
		refs[i] = tracker.Ref{Kind: it.Kind, ID: it.ID}
	}
	from := end.Add(-sparkDays * 24 * time.Hour)
	counts, err := s.Tracker.Counts(ctx, refs, from, 24*time.Hour, sparkDays)
	if err != nil {
		return nil, 0, end, err
	}
	top, err := s.Tracker.TopFacets(ctx, refs, []string{"wiki", "host", "version"}, 3)
	if err != nil {
		return nil, 0, end, err
	}
	for i := range items {
		items[i].Spark = counts[refs[i]]
		items[i].Top = top[refs[i]]
	}
	return items, total, end, nil
}

func (s *Server) signatures(w http.ResponseWriter, r *http.Request) {
	q, err := parseListQuery(r.URL.Query())
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	items, total, end, err := s.list(r.Context(), q)
	if err != nil {
		s.fail(w, err)
		return
	}
	// The list stays a plain array (what API clients read); the page
	// reads the total and the sparklines' axis from headers.
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	w.Header().Set("X-Spark-End", end.Format(time.RFC3339))
	w.Header().Set("X-Spark-Days", strconv.Itoa(sparkDays))
	writeJSON(w, http.StatusOK, items)
}

// apiSilence is a silence as the dashboard shows it.
type apiSilence struct {
	ID      int64     `json:"id"`
	Kind    string    `json:"kind"`
	Matcher string    `json:"matcher"`
	Author  string    `json:"author"`
	Reason  string    `json:"reason"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	EndedBy string    `json:"ended_by,omitempty"`
	Ended   time.Time `json:"ended,omitzero"`
	Active  bool      `json:"active"`
}

type apiAck struct {
	Who string    `json:"who"`
	At  time.Time `json:"at"`
	Key string    `json:"key"`
}

type apiAudit struct {
	At     time.Time `json:"at"`
	Who    string    `json:"who"`
	Action string    `json:"action"`
	Args   string    `json:"args"`
	Result string    `json:"result"`
}

type apiChart struct {
	From  time.Time `json:"from"`
	Step  string    `json:"step"` // "1h"
	Count []int64   `json:"counts"`
}

// signatureDetail is /api/signatures/{kind}/{id}.
type signatureDetail struct {
	apiSignature
	Trace     string       `json:"trace,omitempty"`
	State     string       `json:"state"`
	Hourly    apiChart     `json:"hourly"`
	Silences  []apiSilence `json:"silences"`
	Ack       *apiAck      `json:"ack,omitempty"`
	Audit     []apiAudit   `json:"audit"`
	Announced []bot.Sent   `json:"announced"`
}

func (s *Server) signature(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sig, err := s.Tracker.Get(ctx, finding.Kind(r.PathValue("kind")), r.PathValue("id"))
	if errors.Is(err, sql.ErrNoRows) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such signature"})
		return
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	d, err := s.detail(ctx, sig)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) detail(ctx context.Context, sig tracker.Signature) (signatureDetail, error) {
	d := signatureDetail{apiSignature: toAPI(sig), Trace: sig.Trace, Silences: []apiSilence{}, Audit: []apiAudit{}, Announced: []bot.Sent{}}
	sc, err := s.loadStateContext(ctx)
	if err != nil {
		return d, err
	}
	d.State, _, _ = sc.state(&sig)
	end, err := s.dataEnd(ctx)
	if err != nil {
		return d, err
	}
	from := end.Add(-chartHours * time.Hour)
	ref := tracker.Ref{Kind: sig.Kind, ID: sig.ID}
	counts, err := s.Tracker.Counts(ctx, []tracker.Ref{ref}, from, time.Hour, chartHours)
	if err != nil {
		return d, err
	}
	d.Hourly = apiChart{From: from, Step: "1h", Count: counts[ref]}
	terms := []string{sig.ID}
	if sig.Task != "" {
		terms = append(terms, sig.Task)
	}
	if s.IRC != nil {
		if d.Announced, err = s.IRC.Trail(ctx, sig.ID); err != nil {
			return d, err
		}
		for _, a := range d.Announced {
			terms = append(terms, fmt.Sprintf("#%d ", a.ID))
			if a.Burst > 0 {
				terms = append(terms, fmt.Sprintf("b%d ", a.Burst))
			}
		}
	}
	if s.Silences != nil {
		all, err := s.Silences.All(ctx, 1000)
		if err != nil {
			return d, err
		}
		now := s.now()
		for _, sl := range all {
			if sl.Matches(sig.ID, sig.Task, sig.Title) {
				d.Silences = append(d.Silences, apiSilence{ID: sl.ID, Kind: string(sl.Kind), Matcher: sl.Matcher, Author: sl.Author,
					Reason: sl.Reason, Created: sl.Created, Expires: sl.Expires, EndedBy: sl.EndedBy, Ended: sl.Ended,
					Active: sl.Ended.IsZero() && sl.Expires.After(now) && !sl.Created.After(now)})
			}
		}
		if a, ok, err := s.Silences.Acked(ctx, sig.ID, sig.Task); err != nil {
			return d, err
		} else if ok {
			d.Ack = &apiAck{Who: a.Who, At: a.At, Key: a.Key}
		}
		audit, err := s.Silences.AuditMentioning(ctx, terms, 100)
		if err != nil {
			return d, err
		}
		for _, e := range audit {
			d.Audit = append(d.Audit, apiAudit{At: e.At, Who: e.Who, Action: e.Action, Args: e.Args, Result: e.Result})
		}
	}
	return d, nil
}

// facets is /api/facets: the most frequent values of each filterable facet,
// for the filter inputs' suggestions.
func (s *Server) facets(w http.ResponseWriter, r *http.Request) {
	vals, err := s.Tracker.FacetValues(r.Context(), facetFilters, 50)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, vals)
}

type apiPerson struct {
	Nick    string `json:"nick"`
	Account string `json:"account,omitempty"`
}

// dutyResponse is /api/duty.
type dutyResponse struct {
	Now     time.Time        `json:"now"`
	Rota    bool             `json:"rota"` // a rota is configured
	Current *apiPerson       `json:"current,omitempty"`
	Next    *apiPerson       `json:"next,omitempty"`
	Handoff time.Time        `json:"handoff,omitzero"`
	Unacked []listItem       `json:"unacked"`
	Total   int              `json:"unacked_total"`
	IRC     *health.Status   `json:"irc,omitempty"`
	IRCConn *bot.State       `json:"irc_connection,omitempty"`
	Filer   *health.Status   `json:"filer,omitempty"`
	Health  []health.Status  `json:"subsystems"`
	Stats   map[string]int64 `json:"signatures_by_status"`
}

func (s *Server) duty(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := s.now()
	resp := dutyResponse{Now: now, Unacked: []listItem{}, Health: s.Health.Snapshot(), Stats: map[string]int64{}}
	if s.Rota != nil {
		cur, next, at := s.Rota.OnDuty(now)
		if !cur.IsZero() {
			resp.Rota = true
			resp.Current = &apiPerson{Nick: cur.Nick, Account: cur.Account}
			resp.Next = &apiPerson{Nick: next.Nick, Account: next.Account}
			resp.Handoff = at
		}
	}
	// Open and unacked (acked, silenced and resolved ones are someone's
	// already). Only these tracker statuses can be open.
	q := listQuery{limit: 50, open: true,
		filter: tracker.Filter{Statuses: []finding.Status{finding.StatusNew, finding.StatusRegressed, finding.StatusKnown}}}
	items, total, _, err := s.list(ctx, q)
	if err != nil {
		s.fail(w, err)
		return
	}
	resp.Unacked, resp.Total = items, total
	for i := range resp.Health {
		h := resp.Health[i]
		switch h.Name {
		case "irc":
			resp.IRC = &h
		case "filer":
			resp.Filer = &h
		}
	}
	if s.IRC != nil {
		st := s.IRC.State()
		resp.IRCConn = &st
	}
	stats, err := s.Tracker.Stats(ctx)
	if err != nil {
		s.fail(w, err)
		return
	}
	for k, v := range stats.ByStatus {
		resp.Stats[string(k)] = v
	}
	writeJSON(w, http.StatusOK, resp)
}

// DriftSource is the drift runner's history.
type DriftSource interface {
	Runs(ctx context.Context, n int) ([]driftrun.RunRecord, error)
}

type apiRun struct {
	ID           int64          `json:"id"`
	Started      time.Time      `json:"started"`
	Finished     time.Time      `json:"finished"`
	Err          string         `json:"error,omitempty"`
	Summary      string         `json:"summary"`
	Real         int            `json:"real"`
	RealBySource map[string]int `json:"real_by_source,omitempty"`
	Counts       map[string]int `json:"counts"`
	New          int            `json:"new"`
	Resolved     int            `json:"resolved"`
	Accepted     int            `json:"accepted"`
	Problems     int            `json:"problems"`
	Warnings     []string       `json:"warnings,omitempty"`
	ReportURL    string         `json:"report_url,omitempty"`
}

type driftResponse struct {
	Configured bool     `json:"configured"`
	Latest     *apiRun  `json:"latest,omitempty"`
	Runs       []apiRun `json:"runs"`
}

func (s *Server) drift(w http.ResponseWriter, r *http.Request) {
	resp := driftResponse{Runs: []apiRun{}}
	if s.Drift != nil {
		resp.Configured = true
		n := 60
		if l := r.URL.Query().Get("limit"); l != "" {
			v, err := strconv.Atoi(l)
			if err != nil || v < 1 || v > 1000 {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "limit: want 1 to 1000"})
				return
			}
			n = v
		}
		runs, err := s.Drift.Runs(r.Context(), n)
		if err != nil {
			s.fail(w, err)
			return
		}
		for _, rec := range runs {
			a := apiRun{ID: rec.ID, Started: rec.Started, Finished: rec.Finished, Err: rec.Err, Summary: rec.Summary,
				Real: rec.Real, RealBySource: rec.RealBySource, Counts: map[string]int{}, New: rec.New, Resolved: rec.Resolved,
				Accepted: rec.Accepted, Problems: rec.Problems, Warnings: rec.Warnings, ReportURL: rec.ReportURL}
			for c, n := range rec.Counts {
				a.Counts[string(c)] = n
			}
			resp.Runs = append(resp.Runs, a)
		}
		if len(resp.Runs) > 0 {
			resp.Latest = &resp.Runs[0]
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

// Duty is the rota, for the On duty view.
type Duty interface {
	OnDuty(now time.Time) (current, next rota.Person, handoff time.Time)
}
