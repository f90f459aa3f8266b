package rls

import (
	"testing"
)

func bench(b *testing.B, d int) {
	f, err := New(Config{Dim: d, Lambda: 0.999, Delta: 1})
	if err != nil {
		b.Fatal(err)
	}
	xs, ys := problem(4096, d, false, 1)
	for i := range xs {
		f.PredictLearn(xs[i], ys[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i & (len(xs) - 1)
		f.PredictLearn(xs[k], ys[k])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
}

func BenchmarkRLSDense16(b *testing.B) { bench(b, 16) }
func BenchmarkRLSDense64(b *testing.B) { bench(b, 64) }
