package miner

import (
	"testing"
)

func corpusLines(tb testing.TB) []string {
	tb.Helper()
	corpora, err := ReadCorpusDir("testdata/corpus")
	if err != nil {
		tb.Fatal(err)
	}
	var lines []string
	for _, name := range sortedKeys(corpora) {
		for _, r := range corpora[name] {
			lines = append(lines, r.Line)
		}
	}
	return lines
}

// BenchmarkMinerAdd streams the whole corpus through one miner, over and
// over; b.N counts lines. The bench module runs the same input side by side
// with faceair/drain.
func BenchmarkMinerAdd(b *testing.B) {
	lines := corpusLines(b)
	m := New(Options{})
	var bytes int64
	for _, l := range lines {
		bytes += int64(len(l))
	}
	b.SetBytes(bytes / int64(len(lines)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Add(lines[i%len(lines)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

func BenchmarkMinerAddCold(b *testing.B) {
	lines := corpusLines(b)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for n < b.N {
		m := New(Options{})
		for _, l := range lines {
			m.Add(l)
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
}
