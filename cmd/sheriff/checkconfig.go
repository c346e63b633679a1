package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/wikimedia/sheriff/internal/app"
	"github.com/wikimedia/sheriff/internal/config"
	"github.com/wikimedia/sheriff/rules"
)

func cmdCheckConfig(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, "usage: sheriff check-config FILE") }
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	cfg, err := config.Load(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	set, err := rules.Load(cfg.Rules.Files, cfg.Rules.NoDefaults)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := checkExtra(cfg); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	for _, w := range app.ConfigWarnings(cfg) {
		fmt.Fprintln(stderr, "warning:", w)
	}
	fmt.Fprintf(stdout, "%s: OK (%d event rules)\n", fs.Arg(0), len(set.Rules))
	return 0
}
