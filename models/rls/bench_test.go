package rls

import (
	"testing"

	"github.com/pulse-analytics/pulse/models/internal/benchutil"
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
	benchutil.Run(b, func(i int) {
		k := i & (len(xs) - 1)
		f.PredictLearn(xs[k], ys[k])
	})
}

func BenchmarkRLSDense16(b *testing.B) { bench(b, 16) }
func BenchmarkRLSDense64(b *testing.B) { bench(b, 64) }
