package job_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/pulse-analytics/pulse/pipelines/job"
	"github.com/pulse-analytics/pulse/pipelines/learn"
	"github.com/pulse-analytics/pulse/pipelines/monitor"
	"github.com/pulse-analytics/pulse/transforms/deadletter"
	"github.com/pulse-analytics/pulse/transforms/gen"
	"github.com/pulse-analytics/pulse/transforms/jsonl"
	"github.com/pulse-analytics/pulse/transforms/parse"
	"github.com/pulse-analytics/pulse/transforms/spec"
)

func TestMain(m *testing.M) {
	job.UnsplitOnPrism("")
	ptest.Main(m)
}

// A small input with valid events in two windows, malformed JSON, an
// unknown action and a missing field.
const input = `{"event_id":"e1","user_id":"u1","item_id":"i1","action":"view","event_time":"2026-01-01T00:00:10Z","category":"music","watch_seconds":30}
{"event_id":"e2","user_id":"u2","item_id":"i1","action":"like","event_time":"2026-01-01T00:00:20Z","category":"music"}
{"event_id":"e3","user_id":"u1","item_id":"i2","action":"purchase","event_time":1767225690000,"amount":9.5}
{"event_id":"e4","user_id":"u1","item_id":"i2","action":"teleport","event_time":1767225690000}
not json
{"event_id":"e5","user_id":"u3","item_id":"i1","action":"view","event_time":"2026-01-01T00:01:10+00:00","category":"music"}
{"event_id":"e6","user_id":"u3","action":"view","event_time":"2026-01-01T00:01:10Z"}
{"event_id":"e7","user_id":"u1","item_id":"i1","action":"VIEW","event_time":"2026-01-01T00:00:59.999Z","category":"music","watch_seconds":12.5}
`

func TestMonitorFirstPipeline(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "events.jsonl")
	if err := os.WriteFile(in, []byte(input), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	counters := run(t, job.Config{Pipeline: job.Monitor, Input: in, Output: out})

	if got, want := counters[parse.CounterRead], int64(8); got != want {
		t.Errorf("read = %d, want %d", got, want)
	}
	if got, want := counters[parse.CounterParsed], int64(5); got != want {
		t.Errorf("parsed = %d, want %d", got, want)
	}
	if got, want := counters[parse.CounterDead], int64(3); got != want {
		t.Errorf("dead-lettered = %d, want %d", got, want)
	}
	if r, p, d := counters[parse.CounterRead], counters[parse.CounterParsed], counters[parse.CounterDead]; r != p+d {
		t.Errorf("read %d != parsed %d + dead-lettered %d", r, p, d)
	}

	type key struct{ start, item string }
	items := map[key]monitor.ItemMetrics{}
	for _, r := range readRows[monitor.ItemMetrics](t, filepath.Join(out, monitor.TableItemMetrics)) {
		k := key{r.WindowStart, r.ItemID}
		if _, dup := items[k]; dup {
			t.Errorf("two rows for %v", k)
		}
		items[k] = r
	}
	want := map[key]struct {
		events, views, likes, purchases, users, watched int64
		watch, amount                                   float64
		category                                        string
	}{
		{"2026-01-01T00:00:00Z", "i1"}: {events: 3, views: 2, likes: 1, users: 2, watched: 2, watch: 42.5, category: "music"},
		{"2026-01-01T00:01:00Z", "i1"}: {events: 1, views: 1, users: 1, category: "music"},
		{"2026-01-01T00:01:00Z", "i2"}: {events: 1, purchases: 1, users: 1, amount: 9.5, category: "unknown"},
	}
	if len(items) != len(want) {
		t.Errorf("got %d item rows, want %d: %+v", len(items), len(want), items)
	}
	for k, w := range want {
		g, ok := items[k]
		if !ok {
			t.Errorf("no row for %v", k)
			continue
		}
		if g.Events != w.events || g.Views != w.views || g.Likes != w.likes || g.Purchases != w.purchases ||
			g.UniqueUsers != w.users || g.WatchedViews != w.watched || g.WatchSecondsSum != w.watch ||
			g.AmountSum != w.amount || g.Category != w.category {
			t.Errorf("row %v = %+v, want %+v", k, g, w)
		}
		if g.PaneTiming != "ON_TIME" || !g.IsFinal || g.PaneIndex != 0 {
			t.Errorf("row %v pane = %s/%d/final=%v, want the final ON_TIME pane", k, g.PaneTiming, g.PaneIndex, g.IsFinal)
		}
		if end := strings.Replace(g.WindowStart, ":00:00Z", ":01:00Z", 1); k.start == "2026-01-01T00:00:00Z" && g.WindowEnd != end {
			t.Errorf("row %v window end %s, want %s", k, g.WindowEnd, end)
		}
	}

	dead := readRows[deadletter.Row](t, filepath.Join(out, deadletter.Table))
	var reasons []string
	for _, d := range dead {
		if d.Source != in || d.SeenAt == "" || d.Raw == "" {
			t.Errorf("dead letter %+v lacks source, raw or seen_at", d)
		}
		reasons = append(reasons, d.Error)
	}
	sort.Strings(reasons)
	wantReasons := []string{
		"invalid JSON: expected a JSON object, at offset 0",
		"missing required field item_id",
		`unknown action "teleport"`,
	}
	if strings.Join(reasons, "|") != strings.Join(wantReasons, "|") {
		t.Errorf("dead-letter reasons = %q, want %q", reasons, wantReasons)
	}
}

func TestConfigErrorsNameTheFlag(t *testing.T) {
	for _, tc := range []struct {
		cfg  job.Config
		want string
	}{
		{job.Config{Pipeline: "nope", Input: "x", Output: "y"}, "--pipeline"},
		{job.Config{Pipeline: job.Monitor, Output: "y"}, "--input"},
		{job.Config{Pipeline: job.Monitor, Input: "x"}, "--output"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want an error naming %s", tc.cfg, err, tc.want)
		}
	}
}

// run builds and runs the job on prism and returns the pulse counters.
func run(t *testing.T, cfg job.Config) map[string]int64 {
	t.Helper()
	p, s := beam.NewPipelineWithRoot()
	if err := job.Build(s, cfg); err != nil {
		t.Fatal(err)
	}
	res, err := beamx.RunWithMetrics(t.Context(), p)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	m := map[string]int64{}
	for _, c := range res.Metrics().AllMetrics().Counters() {
		if c.Key.Namespace == parse.Namespace {
			m[c.Key.Name] += c.Committed
		}
	}
	return m
}

func readRows[T any](t *testing.T, dir string) []T {
	t.Helper()
	rows, err := jsonl.Read[T](dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatalf("no rows in %s", dir)
	}
	return rows
}

// TestAllRunsBothPipelines runs monitor and learn from one read of a
// generated stream: the monitor's tables and the snapshots of every default
// model the stream can feed (generated events carry no "label" field) must
// come out, and every prediction must name a default model.
func TestAllRunsBothPipelines(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "events.jsonl")
	buf, err := gen.Lines(gen.Config{Seed: 3, Users: 3000, Items: 200, Rate: 20}, 5000)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	run(t, job.Config{Pipeline: job.All, Input: in, Output: out})

	if n := len(readRows[monitor.ItemMetrics](t, filepath.Join(out, monitor.TableItemMetrics))); n == 0 {
		t.Error("no item_metrics rows")
	}
	names := map[string]bool{}
	var fed []string
	for _, m := range learn.DefaultModels() {
		names[m.Name] = true
		if m.Label != spec.LabelLabel {
			fed = append(fed, m.Name)
		}
	}
	snapshotted := map[string]bool{}
	for _, r := range readRows[learn.ModelSnapshot](t, filepath.Join(out, learn.TableModelSnapshots)) {
		snapshotted[r.Model] = true
	}
	for _, name := range fed {
		if !snapshotted[name] {
			t.Errorf("default model %s has no snapshot", name)
		}
	}
	preds := readRows[learn.Prediction](t, filepath.Join(out, learn.TablePredictions))
	if len(preds) == 0 {
		t.Fatal("no predictions")
	}
	for _, p := range preds {
		if !names[p.Model] {
			t.Fatalf("prediction for unknown model %q", p.Model)
		}
	}
}
