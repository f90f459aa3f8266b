package gen_test

import (
	"testing"

	"github.com/pulse-analytics/pulse/transforms/gen"
)

// BenchmarkNext measures steady-state generation with every fault enabled;
// events/s is the figure pulsegen's throughput follows.
func BenchmarkNext(b *testing.B) {
	g, err := gen.New(gen.Config{Seed: 1, Duplicates: 0.01, Late: 0.01, Malformed: 0.01})
	if err != nil {
		b.Fatal(err)
	}
	var buf []byte
	var n int64
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = g.Next(buf[:0])
		n += int64(len(buf)) + 1
	}
	b.SetBytes(n / int64(b.N))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkNew measures set-up, dominated by the warm-up before Start.
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		if _, err := gen.New(gen.Config{Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
