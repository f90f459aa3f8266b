package loop_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/pulse-analytics/pulse/pipelines/job"
	"github.com/pulse-analytics/pulse/pipelines/monitor"
	"github.com/pulse-analytics/pulse/pipelines/monitor/loop"
	"github.com/pulse-analytics/pulse/transforms/gen"
	"github.com/pulse-analytics/pulse/transforms/sessions"
	"github.com/pulse-analytics/pulse/transforms/trending"
)

func TestMain(m *testing.M) { ptest.Main(m) }

// generate writes n generated lines, with duplicates, late and malformed
// events, to a file in t's temporary directory.
func generate(t *testing.T, n int) (string, []byte) {
	t.Helper()
	g, err := gen.New(gen.Config{Seed: 3, Users: 2000, Items: 300, Rate: 5, Duplicates: 0.05, Late: 0.05, Malformed: 0.02})
	if err != nil {
		t.Fatal(err)
	}
	var data []byte
	for range n {
		data, _ = g.Next(data)
		data = append(data, '\n')
	}
	path := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, data
}

// The loop and the pipeline, two independent implementations, agree row
// for row on every table they share, over a generated file with
// duplicates, late and malformed events.
func TestLoopMatchesPipeline(t *testing.T) {
	in, data := generate(t, 4000)
	out := filepath.Join(t.TempDir(), "out")
	p, s := beam.NewPipelineWithRoot()
	if err := job.Build(s, job.Config{Pipeline: job.Monitor, Input: in, Output: out}); err != nil {
		t.Fatal(err)
	}
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
	got, err := loop.Run(bytes.NewReader(data), loop.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if st := got.Stats; st.Lines != 4000 || st.Dead == 0 || st.Duplicates == 0 || st.Parsed != st.Lines-st.Dead {
		t.Errorf("stats %+v: want 4000 lines, some dead and some duplicates", st)
	}

	items := index(got.ItemMetrics, func(r monitor.ItemMetrics) string { return r.WindowStart + "/" + r.ItemID })
	compare(t, "item_metrics", items, index(readRows[monitor.ItemMetrics](t, filepath.Join(out, monitor.TableItemMetrics)),
		func(r monitor.ItemMetrics) string { return r.WindowStart + "/" + r.ItemID }), sameItem)
	compare(t, "category_metrics", index(got.CategoryMetrics, func(r monitor.CategoryMetrics) string { return r.WindowStart + "/" + r.Category }),
		index(readRows[monitor.CategoryMetrics](t, filepath.Join(out, monitor.TableCategoryMetrics)), func(r monitor.CategoryMetrics) string { return r.WindowStart + "/" + r.Category }),
		func(a, b monitor.CategoryMetrics) bool {
			return sameActivity(a.ActivityColumns, b.ActivityColumns) && a.PaneColumns == b.PaneColumns
		})
	trendKey := func(r trending.Row) string { return fmt.Sprint(r.WindowStart, "/", r.Scope, "/", r.Rank) }
	compare(t, "trending", index(got.Trending, trendKey), index(readRows[trending.Row](t, filepath.Join(out, trending.Table)), trendKey),
		func(a, b trending.Row) bool { return a == b })
	sessKey := func(r sessions.Row) string { return r.UserID + "/" + r.SessionStart }
	compare(t, "user_sessions", index(got.UserSessions, sessKey), index(readRows[sessions.Row](t, filepath.Join(out, sessions.Table)), sessKey),
		func(a, b sessions.Row) bool { return a == b })

	// The events counted equal the distinct valid events: nothing lost or
	// counted twice by either side.
	var sum int64
	for _, r := range got.ItemMetrics {
		sum += r.Events
	}
	if want := got.Stats.Parsed - got.Stats.Duplicates; sum != want {
		t.Errorf("item_metrics count %d events, want %d distinct valid events", sum, want)
	}
}

func sameItem(a, b monitor.ItemMetrics) bool {
	return a.PaneColumns == b.PaneColumns && a.Category == b.Category && sameActivity(a.ActivityColumns, b.ActivityColumns)
}

// sameActivity compares counts exactly and sums to rounding, as the
// pipeline adds in another order.
func sameActivity(a, b monitor.ActivityColumns) bool {
	near := func(x, y float64) bool { return math.Abs(x-y) <= 1e-9*math.Max(1, math.Abs(x)) }
	if !near(a.WatchSecondsSum, b.WatchSecondsSum) || !near(a.AmountSum, b.AmountSum) {
		return false
	}
	a.WatchSecondsSum, a.AmountSum = b.WatchSecondsSum, b.AmountSum
	return a == b
}

func index[T any](rows []T, key func(T) string) map[string]T {
	m := make(map[string]T, len(rows))
	for _, r := range rows {
		m[key(r)] = r
	}
	return m
}

func compare[T any](t *testing.T, table string, loop, pipe map[string]T, same func(a, b T) bool) {
	t.Helper()
	if len(loop) == 0 {
		t.Errorf("%s: the loop wrote no rows", table)
	}
	if len(loop) != len(pipe) {
		t.Errorf("%s: loop has %d rows, pipeline %d", table, len(loop), len(pipe))
	}
	bad := 0
	for k, l := range loop {
		p, ok := pipe[k]
		switch {
		case !ok:
			t.Errorf("%s %s: only the loop has %+v", table, k, l)
		case !same(l, p):
			t.Errorf("%s %s:\nloop     %+v\npipeline %+v", table, k, l, p)
		default:
			continue
		}
		if bad++; bad == 5 {
			t.Errorf("%s: more differences left out", table)
			return
		}
	}
}

func readRows[T any](t *testing.T, dir string) []T {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no output in %s (%v)", dir, err)
	}
	var rows []T
	for _, f := range files {
		fd, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fd)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var r T
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			rows = append(rows, r)
		}
		fd.Close()
	}
	return rows
}
