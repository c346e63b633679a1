package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/wikimedia/sheriff/internal/backoff"
	"github.com/wikimedia/sheriff/internal/conduit"
	"github.com/wikimedia/sheriff/internal/config"
	"github.com/wikimedia/sheriff/internal/filer"
)

// newConduitBackend connects the filer to a real Phabricator. Project names
// are resolved when the filer starts, so a typo fails start-up clearly.
func newConduitBackend(_ context.Context, p config.Phabricator, token string, log *slog.Logger) (filer.Backend, error) {
	c, err := conduit.New(conduit.Options{URL: p.URL, Token: token, WriteInterval: p.WriteInterval.D(), Log: log,
		Backoff: backoff.Policy{Base: p.RetryMin.D(), Max: 30 * time.Second}})
	if err != nil {
		return nil, err
	}
	return filer.NewPhabricator(c, log), nil
}
