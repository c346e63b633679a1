package main

import (
	"errors"
	"fmt"

	"github.com/wikimedia/sheriff/internal/config"
	"github.com/wikimedia/sheriff/internal/driftrun"
	"github.com/wikimedia/sheriff/rules"
)

// checkExtra validates the parts of a config that other packages own
// (drift schedule and rules, rota), so check-config catches them before a
// deploy.
func checkExtra(cfg *config.Config) error {
	var errs []error
	if d := cfg.Drift; d != nil {
		if _, err := driftrun.ParseSchedule(d.Schedule); err != nil {
			errs = append(errs, fmt.Errorf("drift.schedule: %w", err))
		}
		if d.Rules != "" {
			if _, err := rules.LoadDrift(d.Rules); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
