package learn_test

import (
	"testing"

	"github.com/pulse-analytics/pulse/pipelines/learn"
	"github.com/pulse-analytics/pulse/transforms/gen"
)

// The shipped default models all train on a generated stream (conversion
// needs a label field, which generated events lack) and report sane
// progressive metrics. The stream spans under 7 minutes of event time, so
// every positive is learned before every negative: its engagement AUC says
// nothing about the features and is not asserted.
func TestDefaultModelsOnGeneratedStream(t *testing.T) {
	lines := generated(t, gen.Config{Seed: 11, Rate: 50, Users: 20000}, 20000)
	dir := run(t, learn.Config{Models: learn.DefaultModels()}, lines)
	last := map[string]learn.ModelMetrics{}
	for _, m := range readRows[learn.ModelMetrics](t, dir, learn.TableModelMetrics) {
		k := m.Model + "/" + m.Key
		if m.Examples > last[k].Examples {
			last[k] = m
		}
	}
	seen := map[string]int64{}
	for _, m := range last {
		seen[m.Model] += m.Examples
		switch m.Model {
		case "engagement":
			if m.LogLoss == nil || *m.LogLoss <= 0 || *m.LogLoss > 0.69 || m.AUC == nil {
				t.Errorf("engagement metrics %+v: want log loss in (0, ln 2] and an AUC", m)
			} else {
				t.Logf("engagement: %d examples, log loss %.4f, AUC %.4f", m.Examples, *m.LogLoss, *m.AUC)
			}
		case "watch_time", "spend":
			if m.MAE == nil || m.RMSE == nil || m.R2 == nil || *m.RMSE < *m.MAE {
				t.Errorf("%s metrics %+v: want MAE <= RMSE and an R²", m.Model, m)
			}
		}
	}
	for _, name := range []string{"engagement", "watch_time", "spend"} {
		if seen[name] == 0 {
			t.Errorf("model %s learned nothing", name)
		}
	}
	t.Logf("examples per model: %v", seen)
	// Positives are learned when the engagement comes, negatives 30
	// minutes later: both must occur.
	var pos, neg int
	for _, p := range readRows[learn.Prediction](t, dir, learn.TablePredictions) {
		if p.Model == "engagement" && p.Stage == learn.StageProgressive {
			if *p.Label == 1 {
				pos++
			} else {
				neg++
			}
		}
	}
	if pos == 0 || neg == 0 {
		t.Errorf("engagement labels: %d positive, %d negative", pos, neg)
	}
	t.Logf("engagement: %d positive, %d negative views", pos, neg)
	snaps := readRows[learn.ModelSnapshot](t, dir, learn.TableModelSnapshots)
	if len(snaps) < len(last) {
		t.Errorf("%d snapshots for %d model keys", len(snaps), len(last))
	}
}

// generated returns n JSON lines of the generator configured by cfg.
func generated(t *testing.T, cfg gen.Config, n int) []string {
	t.Helper()
	g, err := gen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lines := make([]string, 0, n)
	var buf []byte
	for range n {
		buf, _ = g.Next(buf[:0])
		lines = append(lines, string(buf))
	}
	return lines
}
