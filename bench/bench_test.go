// Package bench compares sheriff's miner with github.com/faceair/drain (a Go
// port of Drain3) on the same input. It is a separate module so that drain
// never enters sheriff's own dependencies.
//
//	cd bench && go test -run TestCompareGA -v .
//	cd bench && go test -run '^$' -bench . -cpu 1 .
package bench

import (
	"bytes"
	"fmt"
	"sort"
	"testing"
	"text/tabwriter"

	"github.com/faceair/drain"
	"github.com/wikimedia/sheriff/internal/miner"
)

// The captures of real programs and the generated corpus, reported apart.
var corpusDirs = []string{"../" + miner.DefaultRealDir, "../" + miner.DefaultCorpusDir}

func corpora(tb testing.TB, dir string) (map[string][]miner.Record, []string) {
	tb.Helper()
	c, err := miner.ReadCorpusDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	names := make([]string, 0, len(c))
	for n := range c {
		names = append(names, n)
	}
	sort.Strings(names)
	return c, names
}

// lines is the benchmark input: every corpus of both directories, one after
// the other.
func lines(tb testing.TB) ([]string, int64) {
	var out []string
	var n int64
	for _, dir := range corpusDirs {
		c, names := corpora(tb, dir)
		for _, name := range names {
			for _, r := range c[name] {
				out = append(out, r.Line)
				n += int64(len(r.Line))
			}
		}
	}
	return out, n / int64(len(out))
}

// drainGA runs faceair/drain with its default settings over recs. Drain
// clusters never merge, so the cluster a line was trained into is its final
// group. With mask set, lines go through sheriff's masking first.
func drainGA(recs []miner.Record, mask bool) miner.Accuracy {
	d := drain.New(drain.DefaultConfig())
	ids := map[*drain.LogCluster]string{}
	truth := make([]string, len(recs))
	pred := make([]string, len(recs))
	for i, r := range recs {
		line := r.Line
		if mask {
			line = miner.Mask(line)
		}
		c := d.Train(line)
		id, ok := ids[c]
		if !ok {
			id = fmt.Sprint(len(ids))
			ids[c] = id
		}
		truth[i], pred[i] = r.Label, id
	}
	return miner.GroupingAccuracy(truth, pred)
}

// TestCompareGA prints GA, split and mixed per corpus for sheriff's miner,
// for drain with default settings on the raw lines, and for drain fed
// sheriff's masking, for the real captures and the generated corpus apart.
func TestCompareGA(t *testing.T) {
	for _, dir := range corpusDirs {
		c, names := corpora(t, dir)
		var b bytes.Buffer
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "corpus\tminer GA\tsplit\tmixed\tdrain GA\tsplit\tmixed\tdrain+mask GA\tsplit\tmixed\t")
		var sm, sd, sdm float64
		for _, n := range names {
			a := miner.Evaluate(c[n], miner.Options{})
			d := drainGA(c[n], false)
			dm := drainGA(c[n], true)
			sm, sd, sdm = sm+a.GA, sd+d.GA, sdm+dm.GA
			fmt.Fprintf(tw, "%s\t%.4f\t%d\t%d\t%.4f\t%d\t%d\t%.4f\t%d\t%d\t\n", n, a.GA, a.Split, a.Mixed, d.GA, d.Split, d.Mixed, dm.GA, dm.Split, dm.Mixed)
		}
		k := float64(len(names))
		fmt.Fprintf(tw, "average\t%.4f\t\t\t%.4f\t\t\t%.4f\t\t\t\n", sm/k, sd/k, sdm/k)
		tw.Flush()
		t.Logf("grouping accuracy, %s, no per-dataset settings:\n%s", dir, b.String())
		if sm/k < sd/k {
			t.Errorf("%s: miner average GA %.4f below drain's %.4f", dir, sm/k, sd/k)
		}
	}
}

// Both benchmarks stream the same lines (all corpora in turn, repeated) into
// one long-lived instance; b.N counts lines. Compare lines/s.
func BenchmarkMinerAdd(b *testing.B) {
	in, avg := lines(b)
	m := miner.New(miner.Options{})
	b.SetBytes(avg)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Add(in[i%len(in)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

func BenchmarkDrainTrain(b *testing.B) {
	in, avg := lines(b)
	d := drain.New(drain.DefaultConfig())
	b.SetBytes(avg)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.Train(in[i%len(in)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// The cold variants start from an empty instance for every pass over the
// input, so learning is measured too, not only matching.
func BenchmarkMinerAddCold(b *testing.B) {
	in, _ := lines(b)
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; {
		m := miner.New(miner.Options{})
		for _, l := range in {
			m.Add(l)
			if n++; n == b.N {
				break
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

func BenchmarkDrainTrainCold(b *testing.B) {
	in, _ := lines(b)
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; {
		d := drain.New(drain.DefaultConfig())
		for _, l := range in {
			d.Train(l)
			if n++; n == b.N {
				break
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
