// Command sheriff keeps the Wikimedia Beta Cluster honest: it turns new
// error signatures from logstash into deduplicated Phabricator tasks, pings
// the on-duty sheriff on IRC and reports configuration drift nightly.
//
// Usage:
//
//	sheriff run [--config FILE] [--data-dir DIR] [--listen ADDR]
//	sheriff check-config FILE
//	sheriff replay [--config FILE] [--rules FILE] FILE.ndjson
//	sheriff fingerprint [--json] [--stream] < lines
//	sheriff tasks list|resync [--config FILE]
//	sheriff drift --puppet DIR --mediawiki-config DIR --charts DIR ...
//	sheriff eval-miner [DIR]
//	sheriff version
//
// With no config file, `sheriff run` reads a bundled sample of Beta Cluster
// logstash events and files would-be tasks to ./sheriff-data/outbox: nothing
// leaves the machine until a Phabricator token is configured.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

func commands() map[string]command {
	return map[string]command{
		"run":             {"run the service (demo sample when no config is given)", cmdRun},
		"check-config":    {"validate a config file and its rule files", cmdCheckConfig},
		"replay":          {"run the pipeline over recorded NDJSON events, dry-run, throwaway state", cmdReplay},
		"fingerprint":     {"print <signature-id>\\t<template> for each input line", cmdFingerprint},
		"tasks":           {"list the signature -> task mapping, or resync it from Phabricator", cmdTasks},
		"drift":           {"compare Beta configuration against production", cmdDrift},
		"eval-miner":      {"measure the template miner's grouping accuracy on a labelled corpus", cmdEvalMiner},
		"eval-signatures": {"measure MediaWiki signatures on the real labelled MediaWiki corpus", cmdEvalSignatures},
		"version":         {"print the version", cmdVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := dispatch(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func dispatch(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "sheriff: unknown command %q\n\n", args[0])
		usage(stderr, cmds)
		return 2
	}
	return c.run(ctx, args[1:], stdin, stdout, stderr)
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: sheriff <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-13s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'sheriff <command> -h' for the flags of a command.")
}
