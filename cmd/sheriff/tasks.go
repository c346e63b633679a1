package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
)

func cmdTasks(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	usage := func() { fmt.Fprintln(stderr, "usage: sheriff tasks list|resync [--config FILE] [--data-dir DIR]") }
	if len(args) == 0 {
		usage()
		return 2
	}
	sub := args[0]
	fs := flag.NewFlagSet("tasks "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", "", "config file")
	dataDir := fs.String("data-dir", "", "state directory")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	svc, _, err := openService(ctx, *configFile, *dataDir, stderr, nil)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer svc.Close()
	switch sub {
	case "list":
		ms, err := svc.Filer.Tasks(ctx)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KIND\tSIGNATURE\tTASK\tSTATUS\tTITLE")
		for _, m := range ms {
			task := m.URL
			if m.TaskID > 0 {
				task = fmt.Sprintf("T%d", m.TaskID)
			}
			status := m.Status
			if m.Silenced {
				status += " (silenced)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.Kind, m.Key, task, status, m.Title)
		}
		tw.Flush()
	case "resync":
		n, err := svc.Filer.Resync(ctx)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "resynced %d task mappings from Phabricator; nothing was filed\n", n)
	default:
		usage()
		return 2
	}
	return 0
}
