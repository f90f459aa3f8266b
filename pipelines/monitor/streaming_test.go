package monitor_test

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/teststream"

	"github.com/pulse-analytics/pulse/pipelines/monitor"
	"github.com/pulse-analytics/pulse/transforms/clean"
	"github.com/pulse-analytics/pulse/transforms/jsonl"
	"github.com/pulse-analytics/pulse/transforms/parse"
)

func TestMain(m *testing.M) { ptest.Main(m) }

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func line(id string, at time.Duration) string {
	return fmt.Sprintf(`{"event_id":%q,"user_id":"u-%s","item_id":"i1","action":"view","event_time":%d,"category":"music"}`,
		id, id, t0.Add(at).UnixMilli())
}

func ms(d time.Duration) int64 { return t0.Add(d).UnixMilli() }

// TestStreamingPanes drives the monitor with a TestStream: two events and
// processing time passing give an EARLY pane, the watermark passing the
// window's end an ON_TIME pane, an event within the allowed lateness a
// LATE pane, and an event later than that changes nothing.
func TestStreamingPanes(t *testing.T) {
	ts := teststream.NewConfig()
	must(t, ts.AdvanceWatermark(ms(0)))
	must(t, ts.AddElements(ms(10*time.Second), line("e1", 10*time.Second), line("e2", 20*time.Second)))
	ts.AdvanceProcessingTime((11 * time.Second).Milliseconds())
	must(t, ts.AdvanceWatermark(ms(61*time.Second)))
	ts.AdvanceProcessingTime((11 * time.Second).Milliseconds())
	must(t, ts.AddElements(ms(62*time.Second), line("e3", 30*time.Second)))
	ts.AdvanceProcessingTime((11 * time.Second).Milliseconds())
	must(t, ts.AdvanceWatermark(ms(10*time.Minute)))
	must(t, ts.AddElements(ms(10*time.Minute), line("e4", 40*time.Second)))
	ts.AdvanceProcessingTime((11 * time.Second).Milliseconds())
	must(t, ts.AdvanceWatermarkToInfinity())

	p, s := beam.NewPipelineWithRoot()
	events, _ := parse.Lines(s, "test", teststream.Create(s, ts))
	cfg := monitor.Defaults()
	cfg.Streaming = true
	tables, err := monitor.Build(s, cfg, clean.Events(s, events))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	jsonl.Write(s, out, monitor.TableItemMetrics, tables.ItemMetrics)
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}

	rows := read[monitor.ItemMetrics](t, filepath.Join(out, monitor.TableItemMetrics))
	slices.SortFunc(rows, func(a, b monitor.ItemMetrics) int { return cmp.Compare(a.PaneIndex, b.PaneIndex) })
	for _, r := range rows {
		t.Logf("pane %d %s final=%v events=%d", r.PaneIndex, r.PaneTiming, r.IsFinal, r.Events)
	}
	if len(rows) < 3 {
		t.Fatalf("got %d panes, want early, on-time and late panes", len(rows))
	}
	if r := rows[0]; r.PaneTiming != "EARLY" || r.Events != 2 || r.IsFinal {
		t.Errorf("first pane %s with %d events, want an EARLY pane of 2 events before the watermark", r.PaneTiming, r.Events)
	}
	var onTime, late bool
	for i, r := range rows {
		if r.WindowStart != "2026-01-01T00:00:00Z" || r.WindowEnd != "2026-01-01T00:01:00Z" {
			t.Errorf("row in unexpected window [%s, %s)", r.WindowStart, r.WindowEnd)
		}
		if r.PaneIndex != int64(i) {
			t.Errorf("pane indexes %d at position %d: want 0, 1, 2, ...", r.PaneIndex, i)
		}
		if i > 0 && r.Events < rows[i-1].Events {
			t.Errorf("pane %d has %d events after %d: accumulating panes never shrink", i, r.Events, rows[i-1].Events)
		}
		if r.Events > 3 {
			t.Errorf("pane %d holds %d events: the event beyond the allowed lateness must not count", i, r.Events)
		}
		onTime = onTime || (r.PaneTiming == "ON_TIME" && r.Events == 2)
		late = late || (r.PaneTiming == "LATE" && r.Events == 3)
	}
	if !onTime {
		t.Error("no ON_TIME pane with the 2 on-time events")
	}
	if !late {
		t.Error("no LATE pane with the late event (3 events)")
	}
	if last := rows[len(rows)-1]; !last.IsFinal || last.Events != 3 {
		t.Errorf("last pane final=%v with %d events, want the final pane with 3", last.IsFinal, last.Events)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func read[T any](t *testing.T, dir string) []T {
	t.Helper()
	rows, err := jsonl.Read[T](dir)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
