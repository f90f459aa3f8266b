package learn_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pulse-analytics/pulse/pipelines/learn"
	"github.com/pulse-analytics/pulse/transforms/alerts"
	"github.com/pulse-analytics/pulse/transforms/gen"
)

// A bounded run's trainers fire once per key, at the end, instead of once
// per batch, and trainers and scorers run in as many parts as the events
// come in: every table must hold exactly the rows of the run that fires
// per batch, in one part.
func TestBoundedWritesTheSameRows(t *testing.T) {
	lines := generated(t, gen.Config{Seed: 5, Rate: 10, Users: 2000}, 6000) // ten minutes of event time
	// Plus a model snapshotted every minute, not every ten.
	ms := append(learn.DefaultModels(), parseSpecs(t, strings.Replace(rlsSpec, `"spend"`, `"spend_1m"`, 1))...)
	want := run(t, learn.Config{Models: ms}, lines)
	for _, parts := range []int{1, 2, 3} {
		t.Run(fmt.Sprint(parts, "parts"), func(t *testing.T) {
			split := make([][]string, parts)
			for i, l := range lines {
				split[i%parts] = append(split[i%parts], l)
			}
			dirs := [2]string{want, runParts(t, learn.Config{Models: ms, Bounded: true}, split...)}
			same[learn.Prediction](t, dirs, learn.TablePredictions)
			same[learn.ModelMetrics](t, dirs, learn.TableModelMetrics)
			same[learn.ModelSnapshot](t, dirs, learn.TableModelSnapshots)
			same[alerts.Row](t, dirs, "alerts")
		})
	}
}

// same fails t unless table holds the same rows, in any order, in both
// directories, and some.
func same[T any](t *testing.T, dirs [2]string, table string) {
	t.Helper()
	var rows [2][]string
	for i, dir := range dirs {
		for _, r := range readRows[T](t, dir, table) {
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			rows[i] = append(rows[i], string(b))
		}
		slices.Sort(rows[i])
	}
	if len(rows[0]) == 0 && table != "alerts" {
		t.Errorf("%s: no rows", table)
	}
	if !slices.Equal(rows[0], rows[1]) {
		t.Errorf("%s: %d rows per batch, %d bounded, or they differ", table, len(rows[0]), len(rows[1]))
	}
	t.Logf("%s: %d rows", table, len(rows[0]))
}
