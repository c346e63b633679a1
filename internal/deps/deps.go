// Package deps pins the project's direct dependencies while packages are being
// written in parallel; remove once every dependency is imported for real.
package deps

import (
	_ "github.com/VKCOM/php-parser/pkg/parser"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/lrstanley/girc"
	_ "github.com/olivere/elastic/v7"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/robfig/cron/v3"
	_ "github.com/spf13/cobra"
	_ "github.com/uber/gonduit"
	_ "go.uber.org/ratelimit"
	_ "gopkg.in/yaml.v3"
	_ "modernc.org/sqlite"
)
