package miner

import (
	"bufio"
	"fmt"
	"io"
)

// maxLineBytes bounds one input line of FingerprintLines; longer lines are an
// error naming the line, not a silent truncation.
const maxLineBytes = 1 << 20

// FingerprintLines groups the lines of r with a fresh Miner and writes one
// "<id>\t<template>" line per input line to w, for "sheriff fingerprint".
//
// With stream set each output line is written as its input line arrives,
// with the id and template the line got at that moment: what a filer would
// have used. Otherwise everything is read first and each line is printed
// with its final grouping: the id resolved through aliases and the template
// as it ended up, so lines of one group print the same id.
func FingerprintLines(r io.Reader, w io.Writer, stream bool) error {
	m := New(Options{})
	bw := bufio.NewWriter(w)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLineBytes)
	var ids []string
	n := 0
	for sc.Scan() {
		n++
		match := m.Add(sc.Text())
		if stream {
			if _, err := fmt.Fprintf(bw, "%s\t%s\n", match.ID, match.Template); err != nil {
				return fmt.Errorf("fingerprint: write: %w", err)
			}
			if err := bw.Flush(); err != nil { // a follower (tail -f |) sees each line at once
				return fmt.Errorf("fingerprint: write: %w", err)
			}
			continue
		}
		ids = append(ids, match.ID)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("fingerprint: input line %d: %w", n+1, err)
	}
	if !stream {
		tmpl := map[string]string{}
		for _, t := range m.Templates() {
			tmpl[t.ID] = t.Template
		}
		for _, id := range ids {
			id = m.Resolve(id)
			if _, err := fmt.Fprintf(bw, "%s\t%s\n", id, tmpl[id]); err != nil {
				return fmt.Errorf("fingerprint: write: %w", err)
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("fingerprint: write: %w", err)
	}
	return nil
}
