package logreg

import (
	"testing"

	"github.com/pulse-analytics/pulse/models"
	"github.com/pulse-analytics/pulse/models/internal/fuzzutil"
)

// FuzzUnmarshal feeds arbitrary bytes to the FTRL and Classifier decoders:
// they must return an error or a usable learner, never panic.
func FuzzUnmarshal(f *testing.F) {
	fuzzutil.Limit()
	ft, _ := NewFTRL(FTRLConfig{Dim: 8, Alpha: 0.1, Beta: 1, L1: 0.1, AUCWindow: 4})
	c, _ := New(Config{Dim: 8, Optimizer: AdaGrad, Eta: 0.1, AUCWindow: 3})
	s, _ := New(Config{Dim: 8, Eta: 0.1})
	xs, ys := stream(6, 8, true, 1)
	for i := range xs {
		ft.PredictLearn(xs[i], ys[i])
		c.PredictLearn(xs[i], ys[i])
		s.PredictLearn(xs[i], ys[i])
	}
	for _, l := range []models.Learner{ft, c, s} {
		b, _ := l.MarshalBinary()
		f.Add(b)
	}
	f.Add([]byte("PLSM\x01\x00\x03\x00garbage"))
	x := models.Sparse([]uint32{0, 3, 7}, []float64{1, -2, 0.5})
	f.Fuzz(func(t *testing.T, data []byte) {
		use := func(l models.Learner) {
			dim := 0
			switch v := l.(type) {
			case *FTRL:
				dim = v.Config().Dim
			case *Classifier:
				dim = v.Config().Dim
			}
			if dim >= 8 {
				l.PredictLearn(x, 1)
			}
		}
		fuzzutil.Check(t, data, func() *FTRL { return new(FTRL) }, func(l *FTRL) { use(l) })
		fuzzutil.Check(t, data, func() *Classifier { return new(Classifier) }, func(l *Classifier) { use(l) })
	})
}
