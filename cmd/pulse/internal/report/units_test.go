package report

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/pulse-analytics/pulse/pipelines/monitor"
	"github.com/pulse-analytics/pulse/transforms/sessions"
	"github.com/pulse-analytics/pulse/transforms/trending"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

func TestChampions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		points []ModelPoint
		want   map[string]string
	}{
		{"the latest loss decides, not an early one", []ModelPoint{
			{Model: "m", Variant: "fast", Key: "global", WindowEnd: at(1), Loss: 0.2, Examples: 10},
			{Model: "m", Variant: "fast", Key: "global", WindowEnd: at(2), Loss: 0.5, Examples: 20},
			{Model: "m", Variant: "slow", Key: "global", WindowEnd: at(1), Loss: 0.6, Examples: 10},
			{Model: "m", Variant: "slow", Key: "global", WindowEnd: at(2), Loss: 0.4, Examples: 20},
		}, map[string]string{"m": "slow"}},
		{"keys weigh by examples", []ModelPoint{
			// a: 0.1 on 10 examples, 0.9 on 1000 → 0.89; b: 0.5 and 0.5.
			{Model: "w", Variant: "a", Key: "music", WindowEnd: at(1), Loss: 0.1, Examples: 10},
			{Model: "w", Variant: "a", Key: "sports", WindowEnd: at(1), Loss: 0.9, Examples: 1000},
			{Model: "w", Variant: "b", Key: "music", WindowEnd: at(1), Loss: 0.5, Examples: 10},
			{Model: "w", Variant: "b", Key: "sports", WindowEnd: at(1), Loss: 0.5, Examples: 1000},
		}, map[string]string{"w": "b"}},
		{"one variant is its model's champion; models apart", []ModelPoint{
			{Model: "x", Key: "global", WindowEnd: at(1), Loss: 3},
			{Model: "y", Variant: "v1", Key: "global", WindowEnd: at(1), Loss: 1},
			{Model: "y", Variant: "v2", Key: "global", WindowEnd: at(1), Loss: 1}, // tie: first name
		}, map[string]string{"x": "", "y": "v1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Champions(tc.points); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Champions = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestModelChartMarksDrift draws a model with and without drift windows
// and looks for the drift markers' red in the picture.
func TestModelChartMarksDrift(t *testing.T) {
	var points []ModelPoint
	for i := 1; i <= 30; i++ {
		for _, v := range []string{"fast", "slow"} {
			points = append(points, ModelPoint{Model: "engagement", Variant: v, Key: "global", WindowEnd: at(i),
				Metric: "log_loss", Loss: 0.7 - 0.01*float64(i) + map[string]float64{"fast": 0.05}[v], Examples: int64(100 * i),
				Drift: v == "slow" && (i == 10 || i == 20)})
		}
	}
	red := func(points []ModelPoint) int {
		charts, err := modelCharts(points)
		if err != nil {
			t.Fatal(err)
		}
		if len(charts) != 1 || charts[0].ID != "model-engagement" || charts[0].PNG == nil {
			t.Fatalf("charts = %+v, want one drawn model-engagement chart", charts)
		}
		img, err := png.Decode(bytes.NewReader(charts[0].PNG))
		if err != nil {
			t.Fatal(err)
		}
		return pixelsOf(img, 255, 0, 0)
	}
	// Two markers and the legend's: each a filled triangle of many pixels.
	if n := red(points); n < 3*20 {
		t.Errorf("%d drift-red pixels with 2 drift windows", n)
	}
	for i := range points {
		points[i].Drift = false
	}
	if n := red(points); n != 0 {
		t.Errorf("%d drift-red pixels without drift", n)
	}
	if got := Champions(points)["engagement"]; got != "slow" {
		t.Errorf("champion %q, want slow (0.05 lower loss)", got)
	}
}

func writeRows(t *testing.T, dir, table string, rows ...any) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, table), 0o755); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, r := range rows {
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(append(line, '\n'))
	}
	if err := os.WriteFile(filepath.Join(dir, table, "part-0.jsonl"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDirSourceReadsFinalPanesOnly writes early, on-time and late panes of
// the same windows, as a stream does, and checks only the final ones count.
func TestDirSourceReadsFinalPanesOnly(t *testing.T) {
	dir := t.TempDir()
	pane := func(start string, idx int64, timing string, final bool) monitor.PaneColumns {
		return monitor.PaneColumns{WindowStart: start, WindowEnd: start, PaneTiming: timing, PaneIndex: idx, IsFinal: final}
	}
	w0, w1 := "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"
	writeRows(t, dir, monitor.TableCategoryMetrics,
		monitor.CategoryMetrics{PaneColumns: pane(w0, 0, "EARLY", false), Category: "music", ActivityColumns: monitor.ActivityColumns{Views: 5}},
		monitor.CategoryMetrics{PaneColumns: pane(w0, 1, "ON_TIME", true), Category: "music", ActivityColumns: monitor.ActivityColumns{Views: 7, Carts: 1}},
		monitor.CategoryMetrics{PaneColumns: pane(w0, 0, "ON_TIME", true), Category: "diy", ActivityColumns: monitor.ActivityColumns{Views: 2}},
		monitor.CategoryMetrics{PaneColumns: pane(w1, 0, "ON_TIME", false), Category: "diy", ActivityColumns: monitor.ActivityColumns{Views: 4}},
		monitor.CategoryMetrics{PaneColumns: pane(w1, 1, "LATE", true), Category: "diy", ActivityColumns: monitor.ActivityColumns{Views: 6}},
	)
	writeRows(t, dir, monitor.TableTrending,
		trending.Row{WindowEnd: w1, Scope: "global", Rank: 1, ItemID: "i1", IsFinal: false},
		trending.Row{WindowEnd: w1, Scope: "global", Rank: 1, ItemID: "i2", IsFinal: true},
		trending.Row{WindowEnd: w1, Scope: "music", Rank: 1, ItemID: "i3", IsFinal: true},
	)
	writeRows(t, dir, monitor.TableUserSessions,
		sessions.Row{UserID: "u1", Events: 3, Converted: false, IsFinal: false},
		sessions.Row{UserID: "u1", Events: 4, Converted: true, IsFinal: true},
		sessions.Row{UserID: "u2", Events: 4, Converted: false, IsFinal: true},
	)
	src := DirSource{Dir: dir}
	ctx := context.Background()

	counts, err := src.ActionCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, c := range counts {
		if c.Events != 0 {
			got[c.WindowStart.Format("15:04")+" "+c.Action] = c.Events
		}
	}
	if want := map[string]int64{"00:00 view": 9, "00:00 cart": 1, "00:01 view": 6}; !reflect.DeepEqual(got, want) {
		t.Errorf("action counts %v, want %v", got, want)
	}

	ranks, err := src.TrendingRanks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ranks) != 1 || ranks[0].ItemID != "i2" {
		t.Errorf("trending %+v, want the final global i2 only", ranks)
	}

	lengths, err := src.SessionLengths(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []SessionLength{{Events: 4, Sessions: 2, Converted: 1}}; !reflect.DeepEqual(lengths, want) {
		t.Errorf("session lengths %+v, want %+v", lengths, want)
	}
}

func TestDeadReasonClasses(t *testing.T) {
	dead := []DeadLetterCount{
		{`unknown action "VIEWED"`, 3},
		{`unknown action "teleport"`, 2},
		{`invalid JSON: unexpected data after the object, at offset 242`, 4},
		{`invalid JSON: unexpected data after the object, at offset 17`, 1},
		{`bad event_time "01/01/2026 00:11": want RFC 3339 with a zone or Unix milliseconds`, 2},
		{`negative watch_seconds -30.9`, 1},
		{`negative watch_seconds -2`, 1},
		{`invalid UTF-8`, 1},
		{`too late: event_time 2026-01-01T00:00:00Z is past its window's allowed lateness (5m0s)`, 6},
		{``, 1},
	}
	want := []DeadReason{
		{"too late", 6},
		{"invalid JSON: unexpected data after the object", 5}, // ties by name
		{"unknown action …", 5},
		{"bad event_time …", 2},
		{"negative watch_seconds …", 2},
		{"(no reason)", 1},
		{"invalid UTF-8", 1},
	}
	got := summariseDead(dead)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}
