package scale

import (
	"testing"

	"github.com/pulse-analytics/pulse/models"
	"github.com/pulse-analytics/pulse/models/internal/fuzzutil"
)

// FuzzUnmarshal: decoding arbitrary bytes returns an error or a usable
// scaler, never panics.
func FuzzUnmarshal(f *testing.F) {
	fuzzutil.Limit()
	s, _ := NewStandard(3)
	s.Learn(models.Dense([]float64{1, 2, 3}))
	b, _ := s.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzutil.Check(t, data, func() *Standard { return new(Standard) }, func(s *Standard) {
			var dst models.Vector
			s.Transform(&dst, models.Dense([]float64{1}))
		})
	})
}
