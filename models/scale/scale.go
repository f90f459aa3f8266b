// Package scale keeps running means and variances with Welford's
// algorithm and standardises features online. Statistics merge exactly
// (up to rounding) with the pairwise formula of Chan, Golub and LeVeque,
// so shards and keys can be combined in any order.
package scale

import (
	"fmt"
	"math"

	"github.com/pulse-analytics/pulse/models"
	"github.com/pulse-analytics/pulse/models/internal/codec"
)

// Welford is the running count, mean and sum of squared deviations M2 of
// a stream of numbers. The zero value is empty and ready to use.
type Welford struct {
	N    int64
	Mean float64
	M2   float64
}

// Add adds one observation.
func (w *Welford) Add(x float64) {
	w.N++
	d := x - w.Mean
	w.Mean += d / float64(w.N)
	w.M2 += d * (x - w.Mean)
}

// Merge adds o's observations (Chan et al.):
// δ = mean_o − mean, M2 += M2_o + δ²·n·n_o/(n + n_o).
func (w *Welford) Merge(o Welford) {
	if o.N == 0 {
		return
	}
	if w.N == 0 {
		*w = o
		return
	}
	n := w.N + o.N
	d := o.Mean - w.Mean
	w.M2 += o.M2 + d*d*float64(w.N)*float64(o.N)/float64(n)
	w.Mean += d * float64(o.N) / float64(n)
	w.N = n
}

// Variance returns the population variance M2/N (0 when empty), as
// scikit-learn's StandardScaler and River use.
func (w Welford) Variance() float64 {
	if w.N == 0 {
		return 0
	}
	return w.M2 / float64(w.N)
}

// SampleVariance returns M2/(N−1) (0 with fewer than two observations).
func (w Welford) SampleVariance() float64 {
	if w.N < 2 {
		return 0
	}
	return w.M2 / float64(w.N-1)
}

// Std returns the population standard deviation.
func (w Welford) Std() float64 { return math.Sqrt(w.Variance()) }

// MaxDim is the largest Dim a Standard scaler accepts.
const MaxDim = 1 << 26

// Standard standardises features to zero mean and unit variance with
// per-feature Welford statistics. Only the features present in a vector
// are updated and transformed (absent sparse features stay absent, as in
// River's StandardScaler). In progressive use, Learn then Transform.
type Standard struct{ stats []Welford }

// NewStandard returns a scaler for dim features.
func NewStandard(dim int) (*Standard, error) {
	if dim < 1 || dim > MaxDim {
		return nil, fmt.Errorf("scale: dim %d out of range [1, %d]", dim, MaxDim)
	}
	return &Standard{stats: make([]Welford, dim)}, nil
}

// Dim returns the number of features.
func (s *Standard) Dim() int { return len(s.stats) }

// Stats returns feature i's statistics.
func (s *Standard) Stats(i int) Welford { return s.stats[i] }

// Learn adds x's present features to the statistics.
func (s *Standard) Learn(x models.Vector) {
	for k, v := range x.Value {
		i := k
		if x.Index != nil {
			i = int(x.Index[k])
		}
		s.stats[i].Add(v)
	}
}

// Transform writes x standardised into dst, reusing dst's storage: value
// (v − mean)/std, or v − mean where the variance is 0. A sparse dst shares
// x's Index slice.
func (s *Standard) Transform(dst *models.Vector, x models.Vector) {
	dst.Index = x.Index
	dst.Value = dst.Value[:0]
	for k, v := range x.Value {
		i := k
		if x.Index != nil {
			i = int(x.Index[k])
		}
		st := s.stats[i]
		v -= st.Mean
		if sd := st.Std(); sd > 0 {
			v /= sd
		}
		dst.Value = append(dst.Value, v)
	}
}

// Merge adds o's statistics feature by feature.
func (s *Standard) Merge(o *Standard) error {
	if len(s.stats) != len(o.stats) {
		return fmt.Errorf("scale: merge %d features into %d: %w", len(o.stats), len(s.stats), models.ErrIncompatible)
	}
	for i := range s.stats {
		s.stats[i].Merge(o.stats[i])
	}
	return nil
}

// MarshalBinary returns a snapshot of the statistics.
func (s *Standard) MarshalBinary() ([]byte, error) {
	e := codec.NewEncoder(codec.KindScaler, 16)
	e.U32(uint32(len(s.stats)))
	e.Rows(len(s.stats), 3, func(i, j int) float64 {
		switch j {
		case 0:
			return float64(s.stats[i].N) // exact below 2^53
		case 1:
			return s.stats[i].Mean
		}
		return s.stats[i].M2
	})
	return e.Finish(), nil
}

// UnmarshalBinary restores a snapshot written by MarshalBinary.
func (s *Standard) UnmarshalBinary(data []byte) error {
	d, err := codec.Open(data, codec.KindScaler)
	if err != nil {
		return fmt.Errorf("scale: decode snapshot: %w", err)
	}
	dim := int(d.U32())
	if d.Err() == nil && (dim < 1 || dim > MaxDim) {
		d.Fail("dim %d", dim)
	}
	if err := d.Err(); err != nil {
		return fmt.Errorf("scale: decode snapshot: %w", err)
	}
	if err := codec.CheckElems(3 * dim); err != nil {
		return fmt.Errorf("scale: decode snapshot: %w", err)
	}
	stats := make([]Welford, dim)
	d.Rows(dim, 3, func(i, j int, v float64) {
		switch j {
		case 0:
			if !(v >= 0 && v < 1<<53 && v == math.Trunc(v)) {
				d.Fail("bad count %v", v)
			}
			stats[i].N = int64(v)
		case 1:
			stats[i].Mean = v
		default:
			stats[i].M2 = v
		}
	})
	if err := d.Finish(); err != nil {
		return fmt.Errorf("scale: decode snapshot: %w", err)
	}
	s.stats = stats
	return nil
}
