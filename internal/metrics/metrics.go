// Package metrics defines sheriff's Prometheus metrics. They live on a
// registry owned by the caller (no global state), so tests can create as many
// as they like.
package metrics

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the pipeline's instruments.
type Metrics struct {
	Registry         *prometheus.Registry
	Events           *prometheus.CounterVec   // source
	Malformed        *prometheus.CounterVec   // source
	Ignored          *prometheus.CounterVec   // rule
	PollErrors       *prometheus.CounterVec   // source
	PollDuration     *prometheus.HistogramVec // source
	LastPoll         *prometheus.GaugeVec     // source, unix seconds of the last successful poll
	NewSignatures    *prometheus.CounterVec   // kind
	FilerActions     *prometheus.CounterVec   // action
	FilerErrors      prometheus.Counter
	Backlog          prometheus.Gauge
	FilerUnfiled     prometheus.Gauge     // signatures handed to the filer whose task does not exist yet
	Signatures       *prometheus.GaugeVec // status
	MinerTemplates   prometheus.Gauge
	MinerEvictions   prometheus.Counter
	DriftFindings    *prometheus.GaugeVec // class
	IRCAnnouncements prometheus.Counter
}

// New creates and registers the metrics on a fresh registry, together with
// the Go and process collectors.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sheriff_events_total",
			Help: "Events consumed from a source."}, []string{"source"}),
		Malformed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sheriff_events_malformed_total",
			Help: "Events skipped because they could not be decoded."}, []string{"source"}),
		Ignored: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sheriff_events_ignored_total",
			Help: "Events dropped by an ignore rule."}, []string{"rule"}),
		PollErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sheriff_poll_errors_total",
			Help: "Failed polls of a source."}, []string{"source"}),
		PollDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sheriff_poll_duration_seconds",
			Help: "Time to poll and process one batch.", Buckets: prometheus.DefBuckets}, []string{"source"}),
		LastPoll: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sheriff_last_successful_poll_timestamp_seconds",
			Help: "Unix time of the last successful poll."}, []string{"source"}),
		NewSignatures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sheriff_new_signatures_total",
			Help: "Signatures seen for the first time."}, []string{"kind"}),
		FilerActions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sheriff_filer_actions_total",
			Help: "Filer outcomes (created, commented, reopened, ...)."}, []string{"action"}),
		FilerErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "sheriff_filer_errors_total",
			Help: "Failed filer synchronisations (retried later)."}),
		Backlog: prometheus.NewGauge(prometheus.GaugeOpts{Name: "sheriff_backlog_signatures",
			Help: "Signatures with occurrences not yet reported to the filer."}),
		FilerUnfiled: prometheus.NewGauge(prometheus.GaugeOpts{Name: "sheriff_filer_unfiled_signatures",
			Help: "Signatures whose task is not filed yet (a write pending or failed; retried with backoff)."}),
		Signatures: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sheriff_signatures",
			Help: "Known signatures by status."}, []string{"status"}),
		MinerTemplates: prometheus.NewGauge(prometheus.GaugeOpts{Name: "sheriff_miner_templates",
			Help: "Templates held by the generic log template miner."}),
		MinerEvictions: prometheus.NewCounter(prometheus.CounterOpts{Name: "sheriff_miner_evictions_total",
			Help: "Templates evicted from the miner because of its size cap."}),
		DriftFindings: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sheriff_drift_findings",
			Help: "Findings of the last drift run by class."}, []string{"class"}),
		IRCAnnouncements: prometheus.NewCounter(prometheus.CounterOpts{Name: "sheriff_irc_announcements_total",
			Help: "Announcements sent to IRC."}),
	}
	r.MustRegister(m.Events, m.Malformed, m.Ignored, m.PollErrors, m.PollDuration, m.LastPoll, m.NewSignatures,
		m.FilerActions, m.FilerErrors, m.Backlog, m.FilerUnfiled, m.Signatures, m.MinerTemplates, m.MinerEvictions, m.DriftFindings,
		m.IRCAnnouncements, prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}
