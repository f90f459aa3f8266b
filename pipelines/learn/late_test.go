package learn_test

import (
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/teststream"

	"github.com/pulse-analytics/pulse/pipelines/learn"
	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/jsonl"
	"github.com/pulse-analytics/pulse/transforms/parse"
)

// TestLateExamplesAreLearned streams purchases, moves the watermark past
// their batch window, then sends one more purchase of that window: behind
// the watermark, within the allowed lateness. It must be scored and
// learned from like the others; with no lateness the batching drops it,
// uncounted, which the second case shows the test can see.
func TestLateExamplesAreLearned(t *testing.T) {
	purchase := func(id string, at time.Duration) string {
		e := event.Event{EventID: id, UserID: "u", ItemID: "i", Action: event.Purchase, EventTime: t0 + at.Milliseconds(),
			Amount: 2, HasAmount: true, Features: map[string]float64{"f1": 1, "f2": 0}}
		return string(e.AppendJSON(nil))
	}
	for _, tc := range []struct {
		lateness time.Duration
		want     int
	}{{5 * time.Minute, 3}, {0, 2}} {
		ts := teststream.NewConfig()
		must := func(err error) {
			if err != nil {
				t.Fatal(err)
			}
		}
		must(ts.AdvanceWatermark(t0))
		must(ts.AddElements(t0+10_000, purchase("p1", 10*time.Second), purchase("p2", 20*time.Second)))
		must(ts.AdvanceWatermark(t0 + (3 * time.Minute).Milliseconds()))
		must(ts.AddElements(t0+30_000, purchase("p3", 30*time.Second)))
		must(ts.AdvanceWatermarkToInfinity())

		p, s := beam.NewPipelineWithRoot()
		events, _ := parse.Lines(s, "test", teststream.Create(s, ts))
		tables, err := learn.Build(s, learn.Config{Models: parseSpecs(t, rlsSpec), Batch: time.Minute, Lateness: tc.lateness}, events)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		jsonl.Write(s, dir, learn.TablePredictions, beam.Flatten(s, tables.Predictions...))
		jsonl.Write(s, dir, learn.TableModelSnapshots, tables.ModelSnapshots)
		if err := ptest.Run(p); err != nil {
			t.Fatalf("lateness %v: %v", tc.lateness, err)
		}

		preds := readRows[learn.Prediction](t, dir, learn.TablePredictions)
		ids := map[string]bool{}
		for _, r := range preds {
			ids[r.EventID] = true
		}
		if len(ids) != tc.want {
			t.Errorf("lateness %v: predictions for %v, want %d purchases scored", tc.lateness, ids, tc.want)
		}
		snaps := readRows[learn.ModelSnapshot](t, dir, learn.TableModelSnapshots)
		if got := decode(t, latest(t, snaps, "spend", "global")).Examples(); got != int64(tc.want) {
			t.Errorf("lateness %v: the final model learned %d examples, want %d", tc.lateness, got, tc.want)
		}
	}
}
