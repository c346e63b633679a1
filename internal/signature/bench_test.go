package signature

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wikimedia/sheriff/internal/event"
)

// Benchmarks. The figure that matters is events/s of BenchmarkCompute on one
// core:
//
//	go test -run XXX -bench . -cpu 1 ./internal/signature/
//
// BenchmarkComputeRegexpBaseline runs the same events through a
// straightforward regexp implementation of the same steps, for comparison in
// the same run; BenchmarkComputeNoCache shows the scanner without the
// Fingerprinter's caches; BenchmarkDecodeJSON measures event.Decode, which is
// not part of fingerprinting.

const benchSize = 32768 // four times the caches: messages with varying values keep missing

// The corpus is built once per test binary: the benchmark functions run
// several times while b.N is calibrated.
var (
	benchOnce sync.Once
	benchDocs [][]byte
	benchEvts []event.Event
)

func benchCorpus(b *testing.B) []event.Event {
	b.Helper()
	benchOnce.Do(func() {
		benchDocs = genCorpus(b, benchSize, 42)
		benchEvts = decodeAll(b, benchDocs)
	})
	return benchEvts
}

// reportRate reports events per second of wall time and per second of CPU
// time used by the process: on a shared machine the second is the stable
// figure (it is what one core achieves when it is not taken away).
func reportRate(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkCompute(b *testing.B) {
	evs := benchCorpus(b)
	f := NewFingerprinter()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		f.Compute(&evs[i%len(evs)])
	}
	reportRate(b, cpu0)
}

func BenchmarkComputeNoCache(b *testing.B) {
	evs := benchCorpus(b)
	f := &Fingerprinter{}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		f.Compute(&evs[i%len(evs)])
	}
	reportRate(b, cpu0)
}

func BenchmarkComputeRegexpBaseline(b *testing.B) {
	evs := benchCorpus(b)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		regexpCompute(&evs[i%len(evs)])
	}
	reportRate(b, cpu0)
}

func benchMessages(b *testing.B) ([]string, int64) {
	evs := benchCorpus(b)
	msgs := make([]string, len(evs))
	var total int64
	for i := range evs {
		msgs[i] = Message(&evs[i])
		total += int64(len(msgs[i]))
	}
	return msgs, total / int64(len(msgs))
}

func BenchmarkMask(b *testing.B) {
	msgs, avg := benchMessages(b)
	var buf []byte
	b.SetBytes(avg)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf = Mask(buf[:0], msgs[i%len(msgs)])
	}
}

func BenchmarkMaskRegexp(b *testing.B) {
	msgs, avg := benchMessages(b)
	b.SetBytes(avg)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		regexpMask(msgs[i%len(msgs)])
	}
}

func BenchmarkDecodeJSON(b *testing.B) {
	benchCorpus(b)
	docs := benchDocs
	var total int64
	for _, d := range docs {
		total += int64(len(d))
	}
	b.SetBytes(total / int64(len(docs)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := event.Decode(docs[i%len(docs)]); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, cpu0)
}

// The regexp baseline: what one would write first. Same placeholders, same
// inputs, no caches.
var (
	reBaselinePrefix = regexp.MustCompile(`^\[[^\] \n]+\] (?:\[no req\]|[/{h]\S*) {2,}`)
	reBaselineMask   = []struct {
		re   *regexp.Regexp
		repl string
	}{
		// unquoted values after an introducer (a rough equivalent of intro.go)
		{regexp.MustCompile(`(^|[\s(\[,;])((?:[Uu]ser(?:name)?|[Pp]age|[Tt]itle)(?: |: ))([\p{Lu}~\d][^\s(]*(?: \p{Lu}[^\s(]*)*(?: \([A-Za-z-]+\))?)`), "${1}${2}{val}"},
		{regexp.MustCompile(`\b((?:index|property): (?:\w+::\$)?)([\w-]+)`), "${1}{val}"},
		{regexp.MustCompile(`/srv/mediawiki(?:-staging)?/(?:php-[^/\s]+/)?`), "{path}/"},
		{regexp.MustCompile(`(?i)(https?://)[^/?#\s"'<>\\),\]]+`), "${1}{host}"},
		{regexp.MustCompile(`([?&][\w.%\[\]-]+=)[^&#\s"'<>]+`), "${1}{val}"},
		{regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`), "{uuid}"},
		{regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`), "{email}"},
		{regexp.MustCompile(`(?i)(?:^|[^\w:.])((?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}|(?:[0-9a-f]{1,4}:){1,7}:|(?:[0-9a-f]{1,4}:){1,6}:[0-9a-f]{1,4}|::(?:[0-9a-f]{1,4}:){0,5}(?:[0-9a-f]{1,4}|\d+\.\d+\.\d+\.\d+))(?:%\w+)?`), "{ip}"},
		{regexp.MustCompile(`\b(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}\b`), "{ip}"},
		{regexp.MustCompile(`(?:^|\W)('[^'\n]{1,512}'|"(?:[^"\\\n]|\\.){1,512}")`), "{quoted}"},
		{regexp.MustCompile(`\b\d+(?:\.\d+)+-wmf\.\d+\b`), "{version}"},
		{regexp.MustCompile(`\b0[xX][0-9a-fA-F]+\b`), "{hex}"},
		{regexp.MustCompile(`\b[0-9a-fA-F]*\d[0-9a-fA-F]*\b`), "{num}"},
		{regexp.MustCompile(`\d+(?:\.\d+)*`), "{num}"},
	}
	reBaselineFrame = regexp.MustCompile(`(?m)^#\d+ ([^\[\n][^\n]*?)\(\d+\): ([^(\n]+)`)
)

func regexpMask(msg string) string {
	for _, r := range reBaselineMask {
		msg = r.re.ReplaceAllString(msg, r.repl)
	}
	return msg
}

func regexpCompute(ev *event.Event) Signature {
	msg := ev.Normalized
	if msg == "" {
		msg = ev.ExcMessage
	}
	if msg == "" {
		msg = ev.Message
	}
	msg = reBaselinePrefix.ReplaceAllString(msg, "")
	msg = strings.TrimPrefix(msg, ev.ExcClass+": ")
	tmpl := regexpMask(msg)
	var frames []string
	for _, m := range reBaselineFrame.FindAllStringSubmatch(ev.ExcTrace, -1) {
		if strings.Contains(m[1], "/vendor/") || strings.Contains(m[2], "MWExceptionHandler::") {
			continue
		}
		frames = append(frames, m[2])
		if len(frames) == MaxFrames {
			break
		}
	}
	sum := sha256.Sum256([]byte(ev.Channel + "\x00" + ev.ExcClass + "\x00" + tmpl + "\x00" + strings.Join(frames, "\n")))
	return Signature{ID: hex.EncodeToString(sum[:8]), Channel: ev.Channel, Class: ev.ExcClass,
		Template: tmpl, Frames: frames, Title: Title(ev.ExcClass, tmpl, frames)}
}
