package mwconfig

import (
	"fmt"
	"sort"
	"sync"
)

// Warning is a non-fatal problem found while reading the configuration:
// an unknown constant, an expression that cannot be evaluated statically,
// a syntax error. File is relative to the checkout root.
type Warning struct {
	File string
	Line int
	Msg  string
}

func (w *Warning) Error() string {
	if w.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.Msg)
	}
	return fmt.Sprintf("%s: %s", w.File, w.Msg)
}

// warnSink collects warnings. Repeated uses of the same unknown name in one
// file are folded into a single warning with a count, because one unknown
// constant used 50 times is one problem, not 50.
type warnSink struct {
	mu    sync.Mutex
	list  []*Warning
	dedup map[string]*dedupWarn
}

type dedupWarn struct {
	w     *Warning
	base  string
	count int
}

func newWarnSink() *warnSink { return &warnSink{dedup: map[string]*dedupWarn{}} }

func (s *warnSink) add(p pos, format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = append(s.list, &Warning{File: p.file, Line: p.line, Msg: fmt.Sprintf(format, args...)})
}

// addOnce records a warning identified by id once per file and counts the
// further occurrences.
func (s *warnSink) addOnce(p pos, id, format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := p.file + "\x00" + id
	if d, ok := s.dedup[k]; ok {
		d.count++
		return
	}
	msg := fmt.Sprintf(format, args...)
	w := &Warning{File: p.file, Line: p.line, Msg: msg}
	s.dedup[k] = &dedupWarn{w: w, base: msg, count: 1}
	s.list = append(s.list, w)
}

// errors returns the warnings sorted by file and line.
func (s *warnSink) errors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.dedup {
		if d.count > 1 {
			d.w.Msg = fmt.Sprintf("%s (%d occurrences in this file)", d.base, d.count)
		}
	}
	ws := append([]*Warning(nil), s.list...)
	sort.SliceStable(ws, func(i, j int) bool {
		if ws[i].File != ws[j].File {
			return ws[i].File < ws[j].File
		}
		return ws[i].Line < ws[j].Line
	})
	out := make([]error, len(ws))
	for i, w := range ws {
		out[i] = w
	}
	return out
}
