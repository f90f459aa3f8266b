package alerts_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window/trigger"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/teststream"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/pulse-analytics/pulse/transforms/alerts"
	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/jsonl"
	"github.com/pulse-analytics/pulse/transforms/parse"
	"github.com/pulse-analytics/pulse/transforms/rollup"
)

func TestMain(m *testing.M) { ptest.Main(m) }

// t0 is 2026-01-01T00:00:00Z, the start of minute 0 of every scenario.
const t0 = 1767225600000

const minute = int64(time.Minute / time.Millisecond)

// spec is one category's activity in one minute: Actions[a] events of
// action a. An empty Category stands for the global total.
type spec struct {
	Minute   int64
	Category string
	Actions  []int64
}

func init() {
	beam.RegisterType(reflect.TypeOf(spec{}))
	register.Function2x0(expand)
	register.Emitter2[beam.EventTime, event.Event]()
	register.Function3x0(toMetrics)
	register.Emitter3[beam.EventTime, string, rollup.Metrics]()
}

// expand turns a spec into its events, spread over the minute.
func expand(sp spec, emit func(beam.EventTime, event.Event)) {
	var n int64
	for a := 1; a < event.NumActions; a++ {
		for range sp.Actions[a] {
			ms := t0 + sp.Minute*minute + n*997%minute
			emit(mtime.FromMilliseconds(ms), event.Event{
				EventID: fmt.Sprintf("%s-%d-%d", sp.Category, sp.Minute, n), UserID: fmt.Sprintf("u%d", n%50),
				ItemID: "i1", Action: event.Action(a), EventTime: ms, Category: sp.Category,
			})
			n++
		}
	}
}

// toMetrics turns a spec into the rollup it stands for, in the middle of
// its minute: categories to cats, the global total to global.
func toMetrics(sp spec, cats, global func(beam.EventTime, string, rollup.Metrics)) {
	var m rollup.Metrics
	for a := 1; a < event.NumActions; a++ {
		m.Actions[a] = sp.Actions[a]
		m.Actions[0] += sp.Actions[a]
	}
	ts := mtime.FromMilliseconds(t0 + sp.Minute*minute + minute/2)
	if sp.Category == "" {
		global(ts, rollup.GlobalKey, m)
		return
	}
	m.Category = sp.Category
	cats(ts, sp.Category, m)
}

// noise is a small deterministic wobble in [-k, k].
func noise(m, salt, k int64) int64 { return (m*37+salt*11)%(2*k+1) - k }

// mix returns per-action counts: views, clicks, likes and shares.
func mix(views, clicks, likes, shares int64) []int64 {
	a := make([]int64, event.NumActions)
	a[event.View], a[event.Click], a[event.Like], a[event.Share] = views, clicks, likes, shares
	return a
}

// scenario lists, for minutes 0 to n-1, each category's specs from f, and
// with totals also the global spec of each minute.
func scenario(n int64, cats []string, totals bool, f func(m int64, cat string) []int64) []spec {
	var out []spec
	for m := range n {
		sum := make([]int64, event.NumActions)
		for _, c := range cats {
			a := f(m, c)
			if a == nil {
				continue
			}
			out = append(out, spec{Minute: m, Category: c, Actions: a})
			for i := range a {
				sum[i] += a[i]
			}
		}
		if totals {
			out = append(out, spec{Minute: m, Actions: sum})
		}
	}
	return out
}

// fromEvents builds the monitor's own input: the specs' events, rolled up
// per category and globally in one-minute windows.
func fromEvents(w rollup.Windowing, events beam.PCollection) func(s beam.Scope) (cats, global beam.PCollection) {
	return func(s beam.Scope) (beam.PCollection, beam.PCollection) {
		cats, err := rollup.PerKey(s, rollup.ByCategory, w, events)
		if err != nil {
			panic(err)
		}
		global, err := rollup.PerKey(s, rollup.Global, w, events)
		if err != nil {
			panic(err)
		}
		return cats, global
	}
}

var oneMinute = rollup.Windowing{Fn: window.NewFixedWindows(time.Minute)}

// batch rolls up the events of specs, created in one go.
func batch(specs []spec) func(s beam.Scope) (beam.PCollection, beam.PCollection) {
	return func(s beam.Scope) (beam.PCollection, beam.PCollection) {
		events := beam.ParDo(s, expand, beam.CreateList(s, specs))
		return fromEvents(oneMinute, events)(s)
	}
}

// run builds the alerts of the input that build makes with the stateful
// (streaming) scorer, runs the pipeline on prism, and returns the alert
// rows and the pulse counters. Without Silence, which only streams have, it
// also runs the bounded-replay scorer and checks it finds the same rows.
func run(t *testing.T, cfg alerts.Config, build func(s beam.Scope) (cats, global beam.PCollection)) ([]alerts.Row, map[string]int64) {
	t.Helper()
	cfg.Streaming = true
	rows, counters := runOnce(t, cfg, build)
	if cfg.Silence == 0 {
		cfg.Streaming = false
		replayed, _ := runOnce(t, cfg, build)
		sortRows := func(rs []alerts.Row) string {
			var ss []string
			for _, r := range rs {
				ss = append(ss, fmt.Sprintf("%+v", r))
			}
			slices.Sort(ss)
			return strings.Join(ss, "\n")
		}
		if a, b := sortRows(rows), sortRows(replayed); a != b {
			t.Errorf("the replay scorer found\n%s\nthe streaming scorer\n%s", b, a)
		}
	}
	return rows, counters
}

func runOnce(t *testing.T, cfg alerts.Config, build func(s beam.Scope) (cats, global beam.PCollection)) ([]alerts.Row, map[string]int64) {
	t.Helper()
	p, s := beam.NewPipelineWithRoot()
	cats, global := build(s)
	rows, err := alerts.Build(s, cfg, cats, global)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	jsonl.Write(s, dir, alerts.Table, rows)
	res, err := beamx.RunWithMetrics(t.Context(), p)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	counters := map[string]int64{}
	for _, c := range res.Metrics().AllMetrics().Counters() {
		if c.Key.Namespace == parse.Namespace {
			counters[c.Key.Name] += c.Committed
		}
	}
	return readRows(t, filepath.Join(dir, alerts.Table)), counters
}

func readRows(t *testing.T, dir string) []alerts.Row {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	var rows []alerts.Row
	for _, f := range files {
		fd, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fd)
		for sc.Scan() {
			var r alerts.Row
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			rows = append(rows, r)
		}
		fd.Close()
	}
	return rows
}

// end names the end of the window of minute m, as the window_end column.
func end(m int64) string { return time.UnixMilli(t0 + (m+1)*minute).UTC().Format(time.RFC3339) }

// brief renders rows as "window_end scope key metric value severity sign",
// sorted, for exact comparison.
func brief(rows []alerts.Row) []string {
	var out []string
	for _, r := range rows {
		sign := "+"
		if r.Zscore < 0 {
			sign = "-"
		}
		out = append(out, fmt.Sprintf("%s %s %s %s %g %s %s", r.WindowEnd, r.Scope, r.Key, r.Metric, r.Value, r.Severity, sign))
	}
	slices.Sort(out)
	return out
}

func check(t *testing.T, rows []alerts.Row, want []string) {
	t.Helper()
	slices.Sort(want)
	if got := brief(rows); !slices.Equal(got, want) {
		t.Errorf("alerts:\n  got  %q\n  want %q", got, want)
	}
}

// surgeScenario: two categories for an hour, "small" at about 40 events a
// minute and "big" at about 800, with the same action mix; in minute 33
// small's traffic nearly triples, mix unchanged. That is about 11σ for
// small, but under 3σ of the global total, which big dominates.
func surgeScenario(totals bool) []spec {
	return scenario(60, []string{"big", "small"}, totals, func(m int64, cat string) []int64 {
		if cat == "big" {
			return mix(400+noise(m, 1, 10), 200, 120, 80)
		}
		if m == 33 {
			return mix(55, 27, 17, 11)
		}
		return mix(20+noise(m, 2, 3), 10, 6, 4)
	})
}

var surgeAlert = []string{end(33) + " category small events 110 critical +"}

func TestSurgeFiresOnce(t *testing.T) {
	rows, counters := run(t, alerts.Config{}, batch(surgeScenario(false)))
	check(t, rows, slices.Clone(surgeAlert))
	for _, r := range rows {
		if r.Baseline < 35 || r.Baseline > 45 || r.Zscore < 8 {
			t.Errorf("alert %+v: want a baseline near the steady 40 and z ≥ 2·4", r)
		}
	}
	if got := counters[alerts.CounterEmitted]; got != int64(len(rows)) {
		t.Errorf("%s = %d, want %d", alerts.CounterEmitted, got, len(rows))
	}
	if n := counters[alerts.CounterEarlyPanes] + counters[alerts.CounterLatePanes] + counters[alerts.CounterLateWindows]; n != 0 {
		t.Errorf("dropped %d panes or windows of a batch input, want none: %v", n, counters)
	}
}

// The same scenario read as a stream of rollups, added newest first
// before the watermark moves, gives the same alerts as the batch path.
// (Prism hands a stage its pending elements in timestamp order, so the
// scorer still sees them oldest first here; TestScoreFnOrderIndependent
// delivers them in any order.)
func TestStreamMatchesBatch(t *testing.T) {
	specs := surgeScenario(true)
	slices.Reverse(specs)
	cfg := teststream.NewConfig()
	for i, sp := range specs {
		// One element per batch, stamped in its minute.
		if err := cfg.AddElements(t0+sp.Minute*minute+int64(i%1000), sp); err != nil {
			t.Fatal(err)
		}
	}
	if err := cfg.AdvanceWatermarkToInfinity(); err != nil {
		t.Fatal(err)
	}
	rows, counters := run(t, alerts.Config{}, func(s beam.Scope) (beam.PCollection, beam.PCollection) {
		cats, global := beam.ParDo2(s, toMetrics, teststream.Create(s, cfg))
		fixed := window.NewFixedWindows(time.Minute)
		return beam.WindowInto(s, fixed, cats), beam.WindowInto(s, fixed, global)
	})
	check(t, rows, slices.Clone(surgeAlert))
	if n := counters[alerts.CounterLateWindows]; n != 0 {
		t.Errorf("dropped %d windows as late, want none", n)
	}
}

// One category at a constant 200 events a minute; shares jump from about
// 2% to 30% in minute 40, at the expense of views. Both shares fire, in
// the category and globally (it is the only category); the rate does not.
func TestShareSurge(t *testing.T) {
	specs := scenario(60, []string{"music"}, false, func(m int64, _ string) []int64 {
		shares := 4 + noise(m, 3, 1)
		if m == 40 {
			shares = 60
		}
		return mix(200-shares, 0, 0, shares)
	})
	rows, _ := run(t, alerts.Config{}, batch(specs))
	check(t, rows, []string{
		end(40) + " category music share:share 0.3 critical +",
		end(40) + " category music share:view 0.7 critical -",
		end(40) + " global global share:share 0.3 critical +",
		end(40) + " global global share:view 0.7 critical -",
	})
	for _, r := range rows {
		if r.Metric == "share:share" && (r.Baseline < 0.015 || r.Baseline > 0.025) {
			t.Errorf("alert %+v: want a baseline share near 2%%", r)
		}
	}
}

// A category at about 10 events a minute sextuples in minute 33: under the
// default MinVolume of 20 nothing fires; with MinVolume 5 the same input
// fires in the category and globally.
func TestMinVolume(t *testing.T) {
	specs := scenario(60, []string{"niche"}, false, func(m int64, _ string) []int64 {
		if m == 33 {
			return mix(60, 0, 0, 0)
		}
		return mix(10+noise(m, 4, 2), 0, 0, 0)
	})
	rows, _ := run(t, alerts.Config{}, batch(specs))
	check(t, rows, nil)
	rows, _ = run(t, alerts.Config{MinVolume: 5}, batch(specs))
	check(t, rows, []string{
		end(33) + " category niche events 60 critical +",
		end(33) + " global global events 60 critical +",
	})
}

// With early firings, an EARLY pane holds what of its window had arrived.
// Minutes 9 and 15 arrive in two parts, 10 events then 90, so scoring
// EARLY panes would report those windows as drops to 10 from 100; only
// the ON_TIME panes count, and they hold all 100.
func TestEarlyPanesIgnored(t *testing.T) {
	const minutes = 20
	cfg := teststream.NewConfig()
	for m := range int64(minutes) {
		parts := []int64{100}
		if m == 9 || m == 15 {
			parts = []int64{10, 90}
		}
		for i, n := range parts {
			ts := t0 + m*minute + int64(i)*minute/2
			if i > 0 { // the first part is not late: the second is
				if err := cfg.AdvanceWatermark(ts); err != nil {
					t.Fatal(err)
				}
			}
			if err := cfg.AddElements(ts, spec{Minute: m, Category: "music", Actions: mix(n, 0, 0, 0)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := cfg.AdvanceWatermark(t0 + (m+1)*minute); err != nil {
			t.Fatal(err)
		}
	}
	if err := cfg.AdvanceWatermarkToInfinity(); err != nil {
		t.Fatal(err)
	}
	early := rollup.Windowing{Fn: window.NewFixedWindows(time.Minute), Options: []beam.WindowIntoOption{
		beam.Trigger(trigger.AfterEndOfWindow().EarlyFiring(trigger.AfterCount(1))),
		beam.PanesAccumulate(),
	}}
	rows, counters := run(t, alerts.Config{Warmup: 5}, func(s beam.Scope) (beam.PCollection, beam.PCollection) {
		events := beam.ParDo(s, expand, teststream.Create(s, cfg))
		return fromEvents(early, events)(s)
	})
	check(t, rows, nil)
	if counters[alerts.CounterEarlyPanes] == 0 {
		t.Errorf("no EARLY pane reached the alerts: the test proves nothing (counters %v)", counters)
	}
}

// A category that stops altogether is reported at its first empty window
// when Silence is set, and not before the key returns when it is not.
func TestSilence(t *testing.T) {
	specs := scenario(40, []string{"big", "gone"}, true, func(m int64, cat string) []int64 {
		if cat == "big" {
			return mix(1000, 0, 0, 0)
		}
		if m >= 30 {
			return nil
		}
		return mix(100, 0, 0, 0)
	})
	stream := func(s beam.Scope) (beam.PCollection, beam.PCollection) {
		cfg := teststream.NewConfig()
		for _, sp := range specs {
			if err := cfg.AddElements(t0+sp.Minute*minute, sp); err != nil {
				panic(err)
			}
			if sp.Category == "" { // the last spec of its minute
				if err := cfg.AdvanceWatermark(t0 + (sp.Minute+1)*minute); err != nil {
					panic(err)
				}
			}
		}
		if err := cfg.AdvanceWatermarkToInfinity(); err != nil {
			panic(err)
		}
		cats, global := beam.ParDo2(s, toMetrics, teststream.Create(s, cfg))
		fixed := window.NewFixedWindows(time.Minute)
		return beam.WindowInto(s, fixed, cats), beam.WindowInto(s, fixed, global)
	}

	rows, _ := run(t, alerts.Config{}, stream)
	check(t, rows, nil)

	rows, _ = run(t, alerts.Config{Silence: 3}, stream)
	var gone []string
	for _, r := range rows {
		if r.Key != "gone" {
			// The end of the stream silences big and the total too.
			if r.WindowEnd < end(40) {
				t.Errorf("alert %+v before the end of the stream", r)
			}
			continue
		}
		if r.Metric != alerts.MetricEvents || r.Value != 0 || r.Zscore >= 0 || r.Baseline < 80 {
			t.Errorf("alert %+v: want a drop of events to 0 from about 100", r)
		}
		gone = append(gone, r.WindowEnd)
	}
	slices.Sort(gone)
	if len(gone) == 0 || gone[0] != end(30) || gone[len(gone)-1] > end(32) {
		t.Errorf("gone alerted at %v; want the first at %s and none after %s (Silence 3)", gone, end(30), end(32))
	}
	if !slices.ContainsFunc(rows, func(r alerts.Row) bool { return strings.HasPrefix(r.Metric, alerts.MetricEvents) && r.Key == "big" }) {
		t.Errorf("big's silence at the end of the stream was not reported: %q", brief(rows))
	}
}
