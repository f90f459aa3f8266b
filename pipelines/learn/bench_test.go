package learn_test

import (
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/pulse-analytics/pulse/pipelines/learn"
	"github.com/pulse-analytics/pulse/transforms/gen"
	"github.com/pulse-analytics/pulse/transforms/parse"
	"github.com/pulse-analytics/pulse/transforms/spec"
)

// The learn pipeline end to end on prism over a generated stream, per
// model set: the default models, each alone, and each sharded one unsharded. Reports input events per
// second of wall time (all events are read; each model trains on those it
// sees).
func BenchmarkDefaultModels(b *testing.B) {
	const n = 50000
	g, err := gen.New(gen.Config{Seed: 7})
	if err != nil {
		b.Fatal(err)
	}
	lines := make([]string, n)
	var buf []byte
	for i := range lines {
		buf, _ = g.Next(buf[:0])
		lines[i] = string(buf)
	}
	sets := map[string][]spec.Model{"all": learn.DefaultModels()}
	for _, m := range learn.DefaultModels() {
		sets[m.Name] = []spec.Model{m}
		if m.Sharded() { // the same model on one key, for the cost of sharding
			m.Shards = 0
			sets[m.Name+"_unsharded"] = []spec.Model{m}
		}
	}
	for name, ms := range sets {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				p, s := beam.NewPipelineWithRoot()
				events, _ := parse.Lines(s, "bench", beam.CreateList(s, lines))
				if _, err := learn.Build(s, learn.Config{Models: ms, Batch: time.Minute}, events); err != nil {
					b.Fatal(err)
				}
				if _, err := beamx.RunWithMetrics(b.Context(), p); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
