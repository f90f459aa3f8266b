package learn_test

import (
	"encoding/json"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/pulse-analytics/pulse/models"
	"github.com/pulse-analytics/pulse/models/ols"
	"github.com/pulse-analytics/pulse/models/rls"
	"github.com/pulse-analytics/pulse/pipelines/learn"
	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/jsonl"
	tlearn "github.com/pulse-analytics/pulse/transforms/learn"
	"github.com/pulse-analytics/pulse/transforms/parse"
)

// shardedRLSSpec is rlsSpec on 4 shards merged every minute, with a
// snapshot at every merge.
var shardedRLSSpec = strings.Replace(rlsSpec, `"snapshot":"1m"`, `"snapshot":"1m","shards":4,"merge":"1m"`, 1)

// shardedOLSSpec is the same regression as exact least squares with a
// small ridge (the 61 hashed columns no example uses need it to solve).
var shardedOLSSpec = strings.NewReplacer(`"name":"spend","kind":"rls","lambda":1,"delta":1`, `"name":"spend_ols","kind":"ols","ridge":0.001`).Replace(shardedRLSSpec)

// Sharded RLS (λ = 1) and OLS models merged every minute equal, at every
// merge, the single model run on every example before the boundary: their
// statistics add up. Each merge bumps the version, and every prediction is
// the merged model of the previous boundary applied to the event, carrying
// that model's version.
func TestShardedRegressionEqualsSingleFitAtMerges(t *testing.T) {
	const n = 600
	lines, events := linearStream(n)
	ms := parseSpecs(t, shardedRLSSpec[:len(shardedRLSSpec)-1]+","+shardedOLSSpec[1:])
	dir := run(t, learn.Config{Models: ms, Batch: 30 * time.Second}, lines)
	slices.SortFunc(events, func(a, b event.Event) int {
		if a.EventTime != b.EventTime {
			return int(a.EventTime - b.EventTime)
		}
		return strings.Compare(a.EventID, b.EventID)
	})
	byID := map[string]*event.Event{}
	for i := range events {
		byID[events[i].EventID] = &events[i]
	}
	allSnaps := readRows[learn.ModelSnapshot](t, dir, learn.TableModelSnapshots)
	allPreds := readRows[learn.Prediction](t, dir, learn.TablePredictions)
	allMetrics := readRows[learn.ModelMetrics](t, dir, learn.TableModelMetrics)
	for _, m := range ms {
		t.Run(m.Kind, func(t *testing.T) {
			fz, err := m.Featurizer()
			if err != nil {
				t.Fatal(err)
			}
			var snaps []learn.ModelSnapshot
			for _, s := range allSnaps {
				if s.Model == m.Name {
					snaps = append(snaps, s)
				}
			}
			sort.Slice(snaps, func(i, j int) bool { return snaps[i].Version < snaps[j].Version })
			// The stream spans ten minutes: ten merges, one snapshot each.
			if len(snaps) != 10 {
				t.Fatalf("%d snapshots, want one per merge: 10", len(snaps))
			}
			byVersion := map[int64]models.Learner{}
			var worst float64
			for k, s := range snaps {
				bd, err := time.Parse(time.RFC3339Nano, s.SnapshotTime)
				if err != nil {
					t.Fatal(err)
				}
				if s.Version != int64(k+1) || bd.UnixMilli() != t0+int64(k+1)*60000 {
					t.Fatalf("snapshot %d: version %d at %s, want version %d at minute %d", k, s.Version, s.SnapshotTime, k+1, k+1)
				}
				got := decode(t, s)
				byVersion[s.Version] = got
				want, err := m.NewLearner()
				if err != nil {
					t.Fatal(err)
				}
				for i := range events {
					if events[i].EventTime < bd.UnixMilli() {
						want.Learn(fz.Vector(&events[i]), events[i].Amount)
					}
				}
				if got.Examples() != want.Examples() || s.Examples != want.Examples() {
					t.Errorf("merge %d: %d examples (row %d), single fit %d", s.Version, got.Examples(), s.Examples, want.Examples())
				}
				gw, ww := weights(t, got), weights(t, want)
				for i, w := range ww {
					worst = max(worst, math.Abs(gw[i]-w))
				}
			}
			t.Logf("largest weight difference from the single fit over 10 merges: %g", worst)
			if worst > 1e-9 {
				t.Errorf("merged weights differ from the single fit by up to %g, want <= 1e-9", worst)
			}
			x := event.Event{Features: map[string]float64{"f1": 1, "f2": 1}}
			if p := byVersion[10].Predict(fz.Vector(&x)); math.Abs(p-2) > 0.05 {
				t.Errorf("merged prediction at f1=f2=1 = %v, want about 2", p)
			}

			var preds []learn.Prediction
			for _, p := range allPreds {
				if p.Model == m.Name {
					preds = append(preds, p)
				}
			}
			if len(preds) != n {
				t.Fatalf("%d predictions, want %d", len(preds), n)
			}
			for _, p := range preds {
				e := byID[p.EventID]
				// Every minute has examples, so the event's minute is the
				// number of merges before it.
				want := (e.EventTime - t0) / 60000
				if p.Version != want || p.Stage != learn.StageProgressive || p.Label == nil || *p.Label != e.Amount {
					t.Fatalf("prediction %+v: want version %d, progressive, label %v", p, want, e.Amount)
				}
				var served float64
				if want > 0 {
					served = byVersion[want].Predict(fz.Vector(e))
				}
				if p.Prediction != served {
					t.Fatalf("prediction of %s = %v, merged model %d gives %v", p.EventID, p.Prediction, want, served)
				}
			}
			rows := 0
			for _, r := range allMetrics {
				if r.Model == m.Name {
					rows++
				}
			}
			if rows != 10 {
				t.Errorf("%d metric rows, want one per merge: 10", rows)
			}
		})
	}
}

// weights returns a regression learner's coefficients.
func weights(t *testing.T, l models.Learner) []float64 {
	t.Helper()
	switch l := l.(type) {
	case *rls.Filter:
		return l.Weights()
	case *ols.Regressor:
		w, err := l.Solve()
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	t.Fatalf("%T is not a regression learner", l)
	return nil
}

// A logistic model on 4 shards, merged every 5 minutes and scoring with
// the merged model of the previous interval, learns the planted engagement
// rule nearly as well as the single model that scores every view with
// everything learned so far. Both are judged on the views of the last 30
// minutes, when the sharded model has been merged from more than 4 intervals
// of outcomes (both overall AUCs are logged).
func TestShardedLogisticNearUnsharded(t *testing.T) {
	const n = 3000
	lines, _ := engagementStream(n)
	warmFrom := time.UnixMilli(t0).Add(20 * time.Minute)
	progressiveAUC := func(doc string) (all, warm float64, versions map[int64]int) {
		dir := run(t, learn.Config{Models: parseSpecs(t, doc), Batch: 5 * time.Minute}, lines)
		var preds, late []learn.Prediction
		versions = map[int64]int{}
		for _, p := range readRows[learn.Prediction](t, dir, learn.TablePredictions) {
			if p.Stage == learn.StageProgressive {
				preds = append(preds, p)
				versions[p.Version]++
				et, err := time.Parse(time.RFC3339Nano, p.EventTime)
				if err != nil {
					t.Fatal(err)
				}
				if !et.Before(warmFrom) {
					late = append(late, p)
				}
			}
		}
		if len(preds) != n {
			t.Fatalf("%d progressive predictions, want %d", len(preds), n)
		}
		return auc(preds), auc(late), versions
	}
	single, singleWarm, _ := progressiveAUC(engagementSpec)
	sharded, shardedWarm, versions := progressiveAUC(strings.Replace(engagementSpec, `"snapshot":"20m"`, `"snapshot":"20m","shards":4,"merge":"5m"`, 1))
	t.Logf("progressive AUC, all views / last 30 min: single model %.4f / %.4f, 4 shards merged every 5 min %.4f / %.4f; predictions per merged version %v",
		single, singleWarm, sharded, shardedWarm, versions)
	if len(versions) < 5 {
		t.Errorf("predictions came from %d merged versions, want the model to be re-merged as the stream goes", len(versions))
	}
	if sharded < 0.7 {
		t.Errorf("sharded AUC over all views %.4f, want > 0.7", sharded)
	}
	if shardedWarm < 0.75 || shardedWarm < singleWarm-0.03 {
		t.Errorf("sharded AUC over the last 30 min %.4f, want > 0.75 and within 0.03 of the single model's %.4f", shardedWarm, singleWarm)
	}
}

// Replaying the same input, the second time in reverse arrival order,
// gives bit-identical snapshots and predictions for sharded models.
func TestShardedReplayIsIdentical(t *testing.T) {
	eng, _ := engagementStream(800)
	lin, _ := linearStream(300)
	lines := append(eng, lin...)
	doc := strings.Replace(engagementSpec, `"snapshot":"20m"`, `"snapshot":"5m","shards":3,"merge":"5m"`, 1)
	ms := parseSpecs(t, doc[:len(doc)-1]+","+shardedRLSSpec[1:])
	var snaps, preds [2][]string
	for i := range 2 {
		if i == 1 {
			slices.Reverse(lines)
		}
		dir, counters := runCounters(t, learn.Config{Models: ms, Batch: time.Minute}, lines)
		// The shard trainers' timers fired in timestamp order: every
		// replica holds exactly its intervals' examples.
		if n := counters[tlearn.CounterLateMerges]; n != 0 || counters[tlearn.CounterMerges] == 0 {
			t.Errorf("replay %d: %d late replicas, %d merges; want 0 and some", i, n, counters[tlearn.CounterMerges])
		}
		for _, s := range readRows[learn.ModelSnapshot](t, dir, learn.TableModelSnapshots) {
			b, _ := json.Marshal(s)
			snaps[i] = append(snaps[i], string(b))
		}
		sort.Strings(snaps[i])
		for _, p := range readRows[learn.Prediction](t, dir, learn.TablePredictions) {
			b, _ := json.Marshal(p)
			preds[i] = append(preds[i], string(b))
		}
		sort.Strings(preds[i])
	}
	if len(snaps[0]) < 5 {
		t.Fatalf("only %d snapshots", len(snaps[0]))
	}
	if !slices.Equal(snaps[0], snaps[1]) {
		t.Errorf("snapshots differ between replays: %d vs %d rows", len(snaps[0]), len(snaps[1]))
	}
	if len(preds[0]) != 2500 || !slices.Equal(preds[0], preds[1]) {
		t.Errorf("predictions differ between replays or are not 2500: %d vs %d rows", len(preds[0]), len(preds[1]))
	}
}

// A merge interval that is not a whole number of batches is refused up
// front, naming the model and the field.
func TestShardedMergeMustHoldWholeBatches(t *testing.T) {
	ms := parseSpecs(t, strings.Replace(shardedRLSSpec, `"merge":"1m"`, `"merge":"90s"`, 1))
	_, s := beam.NewPipelineWithRoot()
	events := beam.Create(s, event.Event{})
	_, err := learn.Build(s, learn.Config{Models: ms, Batch: time.Minute}, events)
	if err == nil || !strings.Contains(err.Error(), "(spend) merge: 1m30s is not a multiple of the 1m0s batch") {
		t.Errorf("Build error %v, want the merge field named", err)
	}
}

// runCounters is run, also returning the pipeline's "pulse" counters.
func runCounters(t *testing.T, cfg learn.Config, lines []string) (string, map[string]int64) {
	t.Helper()
	p, s := beam.NewPipelineWithRoot()
	events, _ := parse.Lines(s, "test", beam.CreateList(s, lines))
	tables, err := learn.Build(s, cfg, events)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	jsonl.Write(s, dir, learn.TablePredictions, beam.Flatten(s, tables.Predictions...))
	jsonl.Write(s, dir, learn.TableModelMetrics, tables.ModelMetrics)
	jsonl.Write(s, dir, learn.TableModelSnapshots, tables.ModelSnapshots)
	res, err := beamx.RunWithMetrics(t.Context(), p)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	counters := map[string]int64{}
	for _, c := range res.Metrics().AllMetrics().Counters() {
		if c.Key.Namespace == "pulse" {
			counters[c.Key.Name] += c.Committed
		}
	}
	return dir, counters
}
