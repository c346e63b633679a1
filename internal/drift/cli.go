package drift

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/wikimedia/sheriff/rules"
)

// Exit statuses of Main.
const (
	ExitOK    = 0 // no real drift
	ExitError = 1 // bad usage or unreadable input
	ExitDrift = 2 // real drift found
)

const usage = `usage: sheriff drift [--puppet DIR] [--mediawiki-config DIR] [--charts DIR]
                    [--rules FILE]... [--no-default-rules]
                    [--baseline FILE [--update-baseline]] [--previous FILE]
                    [--format text|json|markdown|html] [--output FILE]

Compares the Beta Cluster configuration with production and reports the
differences no rule explains. Each DIR is the root of a checkout of
operations/puppet, operations/mediawiki-config or operations/deployment-charts;
give at least one.

Exit status: 0 no real drift, 2 real drift found, 1 error.

--baseline FILE reads accepted findings from FILE: they stay in the report,
marked accepted, but no longer count as drift. When FILE does not exist it is
created with every current finding that needs attention, each with a reason
placeholder to edit (like driftctl gen-driftignore); --update-baseline
rewrites it from the current findings, keeping the reasons already written.
--previous FILE is an earlier JSON report: the summary then counts new and
resolved findings.

Flags:
`

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// Main implements `sheriff drift`; args are the arguments after "drift".
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sheriff drift", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		src            Sources
		ruleFiles      stringList
		noDefaults     = fs.Bool("no-default-rules", false, "do not use the shipped rules (rules/defaults/drift.yaml)")
		baselineFile   = fs.String("baseline", "", "accepted findings `FILE` (created when missing)")
		updateBaseline = fs.Bool("update-baseline", false, "rewrite the --baseline file from the current findings")
		previousFile   = fs.String("previous", "", "previous JSON report `FILE`, for new/resolved counts")
		format         = fs.String("format", "text", "report format: text, json, markdown or html")
		output         = fs.String("output", "", "write the report to `FILE` instead of standard output")
		checker        Checker
	)
	fs.StringVar(&src.Puppet, "puppet", "", "operations/puppet checkout `DIR`")
	fs.StringVar(&src.MediaWikiConfig, "mediawiki-config", "", "operations/mediawiki-config checkout `DIR`")
	fs.StringVar(&src.Charts, "charts", "", "operations/deployment-charts checkout `DIR`")
	fs.Var(&ruleFiles, "rules", "drift rules `FILE`, applied before the defaults (repeatable)")
	fs.StringVar(&checker.Hiera.Site, "site", "eqiad", "production site whose hiera layers apply")
	fs.StringVar(&checker.Hiera.Project, "project", "deployment-prep", "Cloud VPS project of the Beta Cluster")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitError
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "sheriff drift: %v\n", err)
		return ExitError
	}
	switch {
	case fs.NArg() > 0:
		return fail(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	case src.Empty():
		fmt.Fprint(stderr, "sheriff drift: give at least one of --puppet, --mediawiki-config, --charts\n")
		return ExitError
	case !slices.Contains(formats, *format) && *format != "md":
		return fail(fmt.Errorf("unknown --format %q (want %s)", *format, strings.Join(formats, ", ")))
	case *updateBaseline && *baselineFile == "":
		return fail(errors.New("--update-baseline needs --baseline FILE"))
	}
	for _, d := range []string{src.Puppet, src.MediaWikiConfig, src.Charts} {
		if d == "" {
			continue
		}
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			return fail(fmt.Errorf("%s is not a directory", d))
		}
	}

	var sets []*rules.DriftRules
	for _, f := range ruleFiles {
		rs, err := rules.LoadDrift(f)
		if err != nil {
			return fail(err)
		}
		sets = append(sets, rs)
	}
	if !*noDefaults {
		rs, err := rules.DefaultDrift()
		if err != nil {
			return fail(err)
		}
		sets = append(sets, rs)
	}
	checker.Rules = rules.Concat(sets...)

	var baseline *Baseline
	writeBaseline := *updateBaseline
	if *baselineFile != "" {
		bl, err := LoadBaseline(*baselineFile)
		switch {
		case errors.Is(err, os.ErrNotExist):
			writeBaseline = true
		case err != nil:
			return fail(err)
		default:
			baseline = bl
		}
	}
	if !writeBaseline {
		checker.Baseline = baseline
	}
	if *previousFile != "" {
		f, err := os.Open(*previousFile)
		switch {
		case errors.Is(err, os.ErrNotExist):
			fmt.Fprintf(stderr, "sheriff drift: no previous report %s yet; new/resolved not counted\n", *previousFile)
		case err != nil:
			return fail(err)
		default:
			prev, err := ReadJSON(f)
			f.Close()
			if err != nil {
				return fail(fmt.Errorf("%s: %w", *previousFile, err))
			}
			checker.Previous = prev
		}
	}

	rep, err := checker.Check(ctx, src)
	if err != nil {
		return fail(err)
	}
	if writeBaseline {
		bl := NewBaseline(*baselineFile, rep.Findings, baseline)
		if err := bl.Write(time.Now()); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stderr, "sheriff drift: wrote %d accepted findings to %s; replace the %q reasons\n",
			len(bl.Entries), *baselineFile, ReasonPlaceholder)
		baseline = bl
		baseline.Apply(rep.Findings)
		sortFindings(rep.Findings)
		rep.summarize()
	} else if baseline != nil {
		// Check applied it; list what it accepts that no longer exists.
		for _, e := range baseline.Apply(rep.Findings) {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s:%d: baseline entry %s %s %s matches no finding any more; delete it",
				baseline.File, e.Line, e.Source, e.Key, e.Path))
		}
	}

	var buf bytes.Buffer
	if err := rep.Write(*format, &buf); err != nil {
		return fail(err)
	}
	if *output != "" {
		if err := writeFileAtomic(*output, buf.Bytes()); err != nil {
			return fail(err)
		}
	} else if _, err := stdout.Write(buf.Bytes()); err != nil {
		return fail(err)
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(stderr, "sheriff drift: warning: %s: %s\n", p.Source, p)
	}
	if rep.Summary.Real > 0 {
		return ExitDrift
	}
	return ExitOK
}
