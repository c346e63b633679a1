package miner

import (
	"bufio"
	"fmt"
	"io"
	"slices"
)

// maxLineBytes bounds one input line of FingerprintLines; longer lines are an
// error naming the line, not a silent truncation.
const maxLineBytes = 1 << 20

// FingerprintLines groups the lines of r with a fresh Miner and writes the
// result to w, for "sheriff fingerprint".
//
// With stream set it writes, as each line arrives, "<id>\t<line>": the id the
// line got at that moment, which is what a filer would have used.
//
// Otherwise it reads everything first and writes the final grouping, ids
// resolved through aliases, one group per line, largest first:
// "<id>\t<count>\t<template>".
func FingerprintLines(r io.Reader, w io.Writer, stream bool) error {
	m := New(Options{})
	bw := bufio.NewWriter(w)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLineBytes)
	type group struct {
		first int
		count int64
	}
	var ids []string
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		match := m.Add(line)
		if stream {
			if _, err := fmt.Fprintf(bw, "%s\t%s\n", match.ID, line); err != nil {
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
		groups := map[string]*group{}
		var order []string
		for i, id := range ids {
			id = m.Resolve(id)
			g, ok := groups[id]
			if !ok {
				g = &group{first: i}
				groups[id] = g
				order = append(order, id)
			}
			g.count++
		}
		slices.SortStableFunc(order, func(a, b string) int {
			ga, gb := groups[a], groups[b]
			if ga.count != gb.count {
				if ga.count > gb.count {
					return -1
				}
				return 1
			}
			return ga.first - gb.first
		})
		tmpl := map[string]string{}
		for _, t := range m.Templates() {
			tmpl[t.ID] = t.Template
		}
		for _, id := range order {
			if _, err := fmt.Fprintf(bw, "%s\t%d\t%s\n", id, groups[id].count, tmpl[id]); err != nil {
				return fmt.Errorf("fingerprint: write: %w", err)
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("fingerprint: write: %w", err)
	}
	return nil
}
