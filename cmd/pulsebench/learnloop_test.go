package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/pulse-analytics/pulse/pipelines/job"
	"github.com/pulse-analytics/pulse/pipelines/learn"
	"github.com/pulse-analytics/pulse/transforms/jsonl"
)

// TestMain runs on prism unsplit, as cmd/pulse does (job.UnsplitOnPrism).
func TestMain(m *testing.M) {
	job.UnsplitOnPrism("")
	ptest.Main(m)
}

// The models loop makes, per default model, as many updates as the learn
// job has progressive predictions (one per example learned) on the same
// generated file with duplicates, late and malformed lines: the two sides
// of the benchmark do the same learning work.
func TestModelsLoopMatchesLearnJobUpdates(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "events.jsonl")
	if err := generate(in, 10000, 42); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	st, err := learnLoop(f, learn.DefaultModels())
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	p, s := beam.NewPipelineWithRoot()
	if err := job.Build(s, job.Config{Pipeline: job.Learn, Input: in, Output: out}); err != nil {
		t.Fatal(err)
	}
	if err := beamx.Run(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	rows, err := jsonl.Read[learn.Prediction](filepath.Join(out, learn.TablePredictions))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, r := range rows {
		if r.Stage == learn.StageProgressive {
			got[r.Model]++
		}
	}
	t.Logf("updates per model: loop %v, job %v", st.PerModel, got)
	var sum int64
	for _, m := range learn.DefaultModels() {
		sum += st.PerModel[m.ID()]
		if st.PerModel[m.ID()] != got[m.Name] {
			t.Errorf("%s: loop made %d updates, the job learned %d examples", m.Name, st.PerModel[m.ID()], got[m.Name])
		}
	}
	if sum != st.Updates || st.PerModel["engagement"] == 0 || st.PerModel["spend"] == 0 {
		t.Errorf("loop updates %d, per model %v: want a positive count for engagement and spend, summing to the total", st.Updates, st.PerModel)
	}
}
