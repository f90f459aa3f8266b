package linreg

import (
	"testing"

	"github.com/pulse-analytics/pulse/models"
	"github.com/pulse-analytics/pulse/models/internal/fuzzutil"
)

// FuzzUnmarshal: decoding arbitrary bytes returns an error or a usable
// regressor, never panics.
func FuzzUnmarshal(f *testing.F) {
	fuzzutil.Limit()
	for _, cfg := range []Config{{Dim: 4, Eta: 0.1}, {Dim: 4, Optimizer: Normalized, Eta: 0.1, L2: 0.1}} {
		r, _ := New(cfg)
		r.PredictLearn(models.Dense([]float64{1, 0, 2, 3}), 1)
		b, _ := r.MarshalBinary()
		f.Add(b)
	}
	x := models.Dense([]float64{1, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzutil.Check(t, data, func() *Regressor { return new(Regressor) }, func(r *Regressor) {
			if r.Config().Dim >= 2 {
				r.PredictLearn(x, 1)
			}
		})
	})
}
