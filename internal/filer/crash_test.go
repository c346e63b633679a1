package filer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wikimedia/sheriff/internal/backoff"
	"github.com/wikimedia/sheriff/internal/conduit"
	"github.com/wikimedia/sheriff/internal/conduitfake"
	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/store"
)

// The crash test runs the filer in a child process (this test binary,
// re-executed with crashChildEnv set) against a fake Conduit server in the
// parent, and kills the child with SIGKILL at chosen points: from a server
// hook just before a call is applied (the request then is applied anyway, or
// dropped as if lost on the way), just after it was applied but before the
// answer is sent, and at random times. The child is restarted until it gets
// through; then the next epoch of findings (new signatures, more events of
// old ones) is filed. At the end every signature must have exactly one task
// and exactly one comment per epoch after the one that filed it.
const crashChildEnv = "SHERIFF_FILER_CRASH_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		os.Exit(crashChild())
	}
	os.Exit(m.Run())
}

const (
	crashNewPerEpoch = 6
	crashProject     = "#beta-cluster-infrastructure"
)

// crashFindings is the input of epoch e: every signature born so far, with
// counts that grow by epoch.
func crashFindings(epoch int) []finding.Finding {
	var out []finding.Finding
	for born := 0; born <= epoch; born++ {
		for i := 0; i < crashNewPerEpoch; i++ {
			key := fmt.Sprintf("c0ffee%02d%08d", born, i)
			kind := finding.KindError
			if i == crashNewPerEpoch-1 {
				kind, key = finding.KindPuppet, fmt.Sprintf("puppet failure %d/%d on deployment-mw%02d", born, i, born)
			}
			n := int64(1 + (epoch-born)*3)
			out = append(out, finding.Finding{Kind: kind, Key: key, Title: "Crash test signature " + key,
				Count: n, FirstSeen: time.Unix(1700000000, 0).UTC(), LastSeen: time.Unix(1700000000+int64(epoch), 0).UTC(),
				Facets: map[string]finding.Facet{"wiki": {fmt.Sprintf("wiki%d", epoch): n}}})
		}
	}
	return out
}

func crashChild() int {
	ctx := context.Background()
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 3
	}
	epoch, err := strconv.Atoi(os.Getenv("CRASH_EPOCH"))
	if err != nil {
		return fail(err)
	}
	db, err := store.Open(ctx, os.Getenv("CRASH_DB"))
	if err != nil {
		return fail(err)
	}
	defer db.Close()
	c, err := conduit.New(conduit.Options{URL: os.Getenv("CRASH_URL"), Token: botToken, WriteInterval: time.Microsecond,
		Backoff: backoff.Policy{Base: time.Millisecond, Max: 2 * time.Millisecond}})
	if err != nil {
		return fail(err)
	}
	f, err := New(ctx, db, NewPhabricator(c, nil), Options{Projects: []string{crashProject},
		CommentInterval: time.Nanosecond, ReopenOnRegression: true, StormThreshold: -1,
		// The parent restarts the child only once the server is idle, so
		// an intent whose task is not found was never applied.
		IntentGrace: time.Nanosecond}, nil)
	if err != nil {
		return fail(err)
	}
	fs := crashFindings(epoch)
	// Two halves, so that kills also land between Syncs.
	for _, part := range [][]finding.Finding{fs[:len(fs)/2], fs} {
		rs, err := f.Sync(ctx, part)
		if err != nil {
			return fail(err)
		}
		for _, r := range rs {
			if r.Action == ActionPending {
				return fail(fmt.Errorf("%s still pending", r.Key))
			}
		}
	}
	return 0
}

type killPoint struct {
	how    string
	method string
}

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test runs subprocesses")
	}
	const wantKills = 60
	srv := conduitfake.New(conduitfake.Options{})
	defer srv.Close()
	srv.AddUser("sheriff-bot", botToken)
	srv.AddProject("Beta-Cluster-Infrastructure", "beta-cluster-infrastructure")
	dbPath := filepath.Join(t.TempDir(), "sheriff.db")
	rng := rand.New(rand.NewPCG(20250301, 1))

	covered := map[killPoint]int{}
	kills, runs, epoch := 0, 0, 0
	for kills < wantKills || epoch < 3 {
		if runs > 400 {
			t.Fatalf("no progress after %d runs", runs)
		}
		runs++
		// Every other epoch with the search daemons down (for all its runs,
		// so that the restarted child cannot lean on the index), the others
		// with the index keeping up: both ways of finding a task are used.
		srv.SetDaemonsDown(epoch%2 == 0)

		how := []string{"before-applied", "before-lost", "after-applied", "timer"}[rng.IntN(4)]
		// The n-th call of this run, or (half the time) the n-th write.
		target := 1 + rng.IntN(14)
		writesOnly := rng.IntN(2) == 0
		if writesOnly {
			target = 1 + rng.IntN(8)
		}
		delay := time.Duration(rng.IntN(60)) * time.Millisecond
		if kills >= wantKills {
			how = "none"
		}

		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"=1", "CRASH_URL="+srv.URL, "CRASH_DB="+dbPath,
			"CRASH_EPOCH="+strconv.Itoa(epoch))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		exited := make(chan struct{})
		var killedAt atomic.Value
		var once sync.Once
		// The hooks run on server goroutines; they get the process through
		// a channel, which orders them after Start.
		started := make(chan *os.Process, 1)
		proc := sync.OnceValue(func() *os.Process { return <-started })
		kill := func(kp killPoint) {
			once.Do(func() {
				killedAt.Store(kp)
				proc().Signal(syscall.SIGKILL)
			})
			<-exited // the child is gone before the server goes on
		}
		var n atomic.Int32
		before := func(c conduitfake.Call) bool {
			if writesOnly && !c.Write {
				return true
			}
			if int(n.Add(1)) != target {
				return true
			}
			switch how {
			case "before-applied":
				kill(killPoint{how, c.Method})
			case "before-lost":
				kill(killPoint{how, c.Method})
				return false
			}
			return true
		}
		after := func(c conduitfake.Call) {
			if writesOnly && !c.Write {
				return
			}
			if int(n.Load()) == target && how == "after-applied" {
				kill(killPoint{how, c.Method})
			}
		}
		srv.SetHooks(before, after)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		started <- cmd.Process
		waitErr := make(chan error, 1)
		go func() { err := cmd.Wait(); close(exited); waitErr <- err }()
		var timer *time.Timer
		if how == "timer" {
			timer = time.AfterFunc(delay, func() { kill(killPoint{"timer", fmt.Sprintf("%dms", delay.Milliseconds())}) })
		}
		err := <-waitErr
		if timer != nil {
			timer.Stop()
		}
		srv.SetHooks(nil, nil)
		srv.WaitIdle()

		if kp, ok := killedAt.Load().(killPoint); ok {
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL {
				kills++
				covered[kp]++
				continue
			}
		}
		if err != nil {
			t.Fatalf("run %d (epoch %d, %s at call %d): child failed: %v\n%s", runs, epoch, how, target, err, stderr.String())
		}
		// The child got through this epoch: check it, then move on.
		checkCrashState(t, srv, epoch)
		epoch++
	}
	// Two clean runs on the last epoch: nothing new may be written.
	edits := srv.Calls("maniphest.edit")
	for i := 0; i < 2; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"=1", "CRASH_URL="+srv.URL, "CRASH_DB="+dbPath,
			"CRASH_EPOCH="+strconv.Itoa(epoch-1))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("final run: %v\n%s", err, out)
		}
	}
	if srv.Calls("maniphest.edit") != edits {
		t.Fatalf("a rerun wrote %d times", srv.Calls("maniphest.edit")-edits)
	}
	var keys []string
	for kp, n := range covered {
		keys = append(keys, fmt.Sprintf("%s/%s=%d", kp.how, kp.method, n))
	}
	sort.Strings(keys)
	t.Logf("crash test: %d kill points over %d runs and %d epochs, %d tasks; kinds: %v", kills, runs, epoch, len(srv.Tasks()), keys)
}

// checkCrashState asserts the invariants after epoch was filed completely.
func checkCrashState(t *testing.T, srv *conduitfake.Server, epoch int) {
	t.Helper()
	byMarker := map[string][]conduitfake.Task{}
	for _, tk := range srv.Tasks() {
		own, _ := parseMarkers(tk.Description)
		if own == "" {
			t.Fatalf("task %d has no marker", tk.ID)
		}
		byMarker[own] = append(byMarker[own], tk)
	}
	fs := crashFindings(epoch)
	if len(byMarker) != len(fs) {
		t.Fatalf("epoch %d: %d signatures have tasks, want %d", epoch, len(byMarker), len(fs))
	}
	for i, fd := range fs {
		ts := byMarker[Marker(fd.Kind, fd.Key)]
		if len(ts) != 1 {
			t.Fatalf("epoch %d: %s %s has %d tasks, want exactly 1", epoch, fd.Kind, fd.Key, len(ts))
		}
		born := i / crashNewPerEpoch
		if got, want := len(ts[0].Comments), epoch-born; got != want {
			var texts []string
			for _, c := range ts[0].Comments {
				texts = append(texts, c.Text)
			}
			t.Fatalf("epoch %d: task %d (%s) has %d comments, want %d: %q", epoch, ts[0].ID, fd.Key, got, want, texts)
		}
	}
}
