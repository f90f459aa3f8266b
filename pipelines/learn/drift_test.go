package learn_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pulse-analytics/pulse/pipelines/learn"
	"github.com/pulse-analytics/pulse/transforms/alerts"
	"github.com/pulse-analytics/pulse/transforms/event"
)

// When the concept flips mid-stream, Page-Hinkley flags the rise of the
// progressive log loss: a model_metrics row with drift and an alert, both
// after the flip and none before.
func TestDriftAlert(t *testing.T) {
	const n, flip = 2000, 1000
	r := rand.New(rand.NewPCG(5, 6))
	var lines []string
	for i := range n {
		f := r.NormFloat64()
		y := 0.0
		if (f > 0) == (i < flip) {
			y = 1
		}
		e := event.Event{
			EventID: fmt.Sprintf("e%05d", i), UserID: "u", ItemID: "i", Action: event.View,
			EventTime: t0 + int64(i)*1000, Label: y, HasLabel: true, Features: map[string]float64{"f": f},
		}
		lines = append(lines, string(e.AppendJSON(nil)))
	}
	ms := parseSpecs(t, `[{"name":"flip","kind":"logistic","alpha":0.5,"label":"label","features":{"numeric":["features.f"]},"bits":8}]`)
	dir := run(t, learn.Config{Models: ms, Batch: time.Minute}, lines)

	flipAt := time.UnixMilli(t0 + flip*1000).UTC().Format(time.RFC3339)
	var drifted []string
	for _, m := range readRows[learn.ModelMetrics](t, dir, learn.TableModelMetrics) {
		if m.Drift {
			drifted = append(drifted, m.WindowEnd)
			if m.WindowEnd <= flipAt {
				t.Errorf("drift flagged in window ending %s, before the flip at %s", m.WindowEnd, flipAt)
			}
		}
	}
	if len(drifted) == 0 {
		t.Fatal("no window flagged drift after the concept flipped")
	}
	as := readRows[alerts.Row](t, dir, "alerts")
	if len(as) != len(drifted) {
		t.Errorf("%d alerts for %d drifted windows", len(as), len(drifted))
	}
	for _, a := range as {
		if a.Scope != learn.ScopeModel || a.Key != "flip/global" || a.Metric != "drift:log_loss" || a.Value <= a.Baseline {
			t.Errorf("alert %+v: want scope model, key flip/global, metric drift:log_loss, value above baseline", a)
		}
	}
	t.Logf("drift flagged in windows ending %v (flip at %s)", drifted, flipAt)
}
