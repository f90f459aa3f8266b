package logreg

import (
	"math/rand/v2"
	"testing"

	"github.com/pulse-analytics/pulse/models"
	"github.com/pulse-analytics/pulse/models/internal/benchutil"
)

// benchPool returns 4096 examples (cycled by the benchmarks): dense with d
// features, or sparse with 20 active features hashed uniformly into 2^18.
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
		if r.IntN(3) == 0 {
			ys[k] = 1
		}
	}
	return xs, ys
}

func benchLearner(b *testing.B, l models.Learner, d int, sparse bool) {
	xs, ys := benchPool(d, sparse)
	for i := range xs { // warm up: touch every weight once
		l.PredictLearn(xs[i], ys[i])
	}
	benchutil.Run(b, func(i int) {
		k := i & (len(xs) - 1)
		l.PredictLearn(xs[k], ys[k])
	})
}

func benchFTRL(b *testing.B, dim int) *FTRL {
	f, err := NewFTRL(FTRLConfig{Dim: dim, Alpha: 0.1, Beta: 1, L1: 0.01, L2: 0.01})
	if err != nil {
		b.Fatal(err)
	}
	return f
}

func newClassifier(b *testing.B, dim int, opt Optimizer) *Classifier {
	c, err := New(Config{Dim: dim, Optimizer: opt, Eta: 0.05, Epsilon: 1e-8})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func BenchmarkFTRLDense16(b *testing.B)        { benchLearner(b, benchFTRL(b, 16), 16, false) }
func BenchmarkFTRLDense64(b *testing.B)        { benchLearner(b, benchFTRL(b, 64), 64, false) }
func BenchmarkFTRLSparse20of2e18(b *testing.B) { benchLearner(b, benchFTRL(b, 1<<18), 0, true) }
func BenchmarkSGDDense16(b *testing.B)         { benchLearner(b, newClassifier(b, 16, SGD), 16, false) }
func BenchmarkSGDDense64(b *testing.B)         { benchLearner(b, newClassifier(b, 64, SGD), 64, false) }
func BenchmarkSGDSparse20of2e18(b *testing.B)  { benchLearner(b, newClassifier(b, 1<<18, SGD), 0, true) }
func BenchmarkAdaGradDense16(b *testing.B)     { benchLearner(b, newClassifier(b, 16, AdaGrad), 16, false) }
func BenchmarkAdaGradDense64(b *testing.B)     { benchLearner(b, newClassifier(b, 64, AdaGrad), 64, false) }
func BenchmarkAdaGradSparse20of2e18(b *testing.B) {
	benchLearner(b, newClassifier(b, 1<<18, AdaGrad), 0, true)
}

func BenchmarkFTRLMarshal2e18(b *testing.B) {
	f := benchFTRL(b, 1<<18)
	xs, ys := benchPool(0, true)
	for i := range xs {
		f.Learn(xs[i], ys[i])
	}
	b.ReportAllocs()
	var n int
	for i := 0; i < b.N; i++ {
		s, _ := f.MarshalBinary()
		n = len(s)
	}
	b.ReportMetric(float64(n), "bytes")
}
