package ols

import (
	"testing"

	"github.com/pulse-analytics/pulse/models"
	"github.com/pulse-analytics/pulse/models/internal/benchutil"
)

// bench measures Learn alone (accumulating statistics) or PredictLearn,
// which re-solves the d×d system before every prediction.
func bench(b *testing.B, d int, predict bool) {
	r, err := New(Config{Dim: d, Ridge: 1e-6})
	if err != nil {
		b.Fatal(err)
	}
	rows, ys := problem(4096, d, 1)
	xs := make([]models.Vector, len(rows))
	for i := range rows {
		xs[i] = models.Dense(rows[i])
		r.PredictLearn(xs[i], ys[i])
	}
	benchutil.Run(b, func(i int) {
		k := i & (len(xs) - 1)
		if predict {
			r.PredictLearn(xs[k], ys[k])
		} else {
			r.Learn(xs[k], ys[k])
		}
	})
}

func BenchmarkOLSLearnDense16(b *testing.B)        { bench(b, 16, false) }
func BenchmarkOLSLearnDense64(b *testing.B)        { bench(b, 64, false) }
func BenchmarkOLSPredictLearnDense16(b *testing.B) { bench(b, 16, true) }
func BenchmarkOLSPredictLearnDense64(b *testing.B) { bench(b, 64, true) }
