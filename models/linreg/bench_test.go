package linreg

import (
	"math/rand/v2"
	"testing"

	"github.com/pulse-analytics/pulse/models"
	"github.com/pulse-analytics/pulse/models/internal/benchutil"
)

// benchPool returns 4096 examples cycled by the benchmarks: dense with d
// features, or 20 active features hashed uniformly into 2^18.
func benchPool(d int, sparse bool) ([]models.Vector, []float64) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 4096
	width := d
	if sparse {
		width = 20
	}
	// One backing array, as a pipeline refills one buffer per event: the
	// vector being learned is contiguous and hot, the weights are not.
	idx := make([]uint32, n*width)
	val := make([]float64, n*width)
	xs := make([]models.Vector, n)
	ys := make([]float64, n)
	for k := range xs {
		v := val[k*width : (k+1)*width]
		if sparse {
			ix := idx[k*width : (k+1)*width]
			for j := range ix {
				ix[j], v[j] = uint32(r.IntN(1<<18)), 1
			}
			xs[k] = models.Sparse(ix, v)
		} else {
			for j := range v {
				v[j] = r.NormFloat64()
			}
			xs[k] = models.Dense(v)
		}
		ys[k] = r.NormFloat64()
	}
	return xs, ys
}

func bench(b *testing.B, cfg Config, sparse bool) {
	if sparse {
		cfg.Dim = 1 << 18
	}
	l, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	xs, ys := benchPool(cfg.Dim, sparse)
	for i := range xs {
		l.PredictLearn(xs[i], ys[i])
	}
	benchutil.Run(b, func(i int) {
		k := i & (len(xs) - 1)
		l.PredictLearn(xs[k], ys[k])
	})
}

var (
	sgd  = Config{Eta: 0.01}
	ada  = Config{Optimizer: AdaGrad, Eta: 0.01, Epsilon: 1e-8}
	norm = Config{Optimizer: Normalized, Eta: 0.01}
)

func dim(c Config, d int) Config { c.Dim = d; return c }

func BenchmarkSGDDense16(b *testing.B)               { bench(b, dim(sgd, 16), false) }
func BenchmarkSGDDense64(b *testing.B)               { bench(b, dim(sgd, 64), false) }
func BenchmarkSGDSparse20of2e18(b *testing.B)        { bench(b, sgd, true) }
func BenchmarkAdaGradDense16(b *testing.B)           { bench(b, dim(ada, 16), false) }
func BenchmarkAdaGradDense64(b *testing.B)           { bench(b, dim(ada, 64), false) }
func BenchmarkAdaGradSparse20of2e18(b *testing.B)    { bench(b, ada, true) }
func BenchmarkNormalizedDense16(b *testing.B)        { bench(b, dim(norm, 16), false) }
func BenchmarkNormalizedDense64(b *testing.B)        { bench(b, dim(norm, 64), false) }
func BenchmarkNormalizedSparse20of2e18(b *testing.B) { bench(b, norm, true) }
