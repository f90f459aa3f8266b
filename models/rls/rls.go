// Package rls is recursive least squares with exponential forgetting: the
// exact online solution of the weighted ridge problem
//
//	w_t = argmin λᵗδ‖w‖² + Σᵢ λ^(t−i) (yᵢ − w·xᵢ)²
//	    = (λᵗδI + Σᵢ λ^(t−i) xᵢxᵢᵀ)⁻¹ Σᵢ λ^(t−i) xᵢyᵢ
//
// updated in O(d²) per example with P = (λᵗδI + Σ λ^(t−i)xxᵀ)⁻¹,
// P₀ = δ⁻¹I:
//
//	k = Px/(λ + xᵀPx);  w ← w + k(y − wᵀx);  P ← (P − kxᵀP)/λ
//
// With λ < 1 the model tracks drift (effective memory 1/(1−λ) examples);
// directions that no longer receive data then grow in P ("wind-up"), so
// keep λ close to 1 when features are sparse.
package rls

import (
	"fmt"
	"math"

	"github.com/pulse-analytics/pulse/models"
	"github.com/pulse-analytics/pulse/models/internal/codec"
	"github.com/pulse-analytics/pulse/models/internal/mat"
	"github.com/pulse-analytics/pulse/models/metric"
)

func init() { codec.Register(codec.KindRLS, func() any { return new(Filter) }) }

// MaxDim is the largest Dim RLS accepts (P has Dim² entries).
const MaxDim = 4096

// Config holds the hyper-parameters.
type Config struct {
	Dim    int     // number of features, at most MaxDim
	Lambda float64 // forgetting factor λ in (0, 1]; 1 never forgets
	Delta  float64 // δ > 0: P₀ = δ⁻¹I, the ridge penalty of the prior
}

func (c Config) validate() error {
	switch {
	case c.Dim < 1 || c.Dim > MaxDim:
		return fmt.Errorf("Dim %d out of range [1, %d]", c.Dim, MaxDim)
	case !(c.Lambda > 0 && c.Lambda <= 1):
		return fmt.Errorf("Lambda %v out of range (0, 1]", c.Lambda)
	case !(c.Delta > 0) || math.IsInf(c.Delta, 0):
		return fmt.Errorf("Delta %v must be positive and finite", c.Delta)
	}
	return nil
}

// Filter is a recursive-least-squares regressor. Create it with New or
// UnmarshalBinary.
type Filter struct {
	cfg     Config
	w       []float64
	p       []float64 // P, row-major Dim×Dim, exactly symmetric
	pi      []float64 // scratch: Px
	t       int64
	metrics *metric.Set
}

var _ models.Learner = (*Filter)(nil)

// New returns an untrained filter with w = 0 and P = δ⁻¹I.
func New(c Config) (*Filter, error) {
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("rls: %w", err)
	}
	f := alloc(c)
	for i := 0; i < c.Dim; i++ {
		f.p[i*c.Dim+i] = 1 / c.Delta
	}
	return f, nil
}

func alloc(c Config) *Filter {
	return &Filter{cfg: c, w: make([]float64, c.Dim), p: make([]float64, c.Dim*c.Dim),
		pi: make([]float64, c.Dim), metrics: metric.NewRegression()}
}

// Config returns the hyper-parameters.
func (f *Filter) Config() Config { return f.cfg }

// Weights returns w. It aliases the filter: do not modify.
func (f *Filter) Weights() []float64 { return f.w }

// P returns the row-major inverse information matrix. It aliases the
// filter: do not modify.
func (f *Filter) P() []float64 { return f.p }

// Predict returns w·x.
func (f *Filter) Predict(x models.Vector) float64 { return x.Dot(f.w) }

// Learn updates w and P with (x, y).
func (f *Filter) Learn(x models.Vector, y float64) { f.learn(x, y) }

// PredictLearn predicts x, records the prediction in Metrics, learns
// (x, y) and returns the prediction.
func (f *Filter) PredictLearn(x models.Vector, y float64) float64 {
	p := f.learn(x, y)
	f.metrics.Update(y, p)
	return p
}

func (f *Filter) learn(x models.Vector, y float64) float64 {
	d := f.cfg.Dim
	pred := x.Dot(f.w)
	f.t++
	// π = Px = Σⱼ xⱼ P[j,:] (P is symmetric): whole rows, contiguous.
	pi := f.pi
	clear(pi)
	for k, v := range x.Value {
		j := k
		if x.Index != nil {
			j = int(x.Index[k])
		}
		if v == 0 {
			continue
		}
		row := f.p[j*d : j*d+d]
		for i, pv := range row {
			pi[i] += v * pv
		}
	}
	denom := f.cfg.Lambda + x.Dot(pi)
	c := 1 / denom
	e := (y - pred) * c
	for i, v := range pi {
		f.w[i] += v * e
	}
	// P ← (P − ππᵀ/denom)/λ; πᵢπⱼ is computed in the same order for (i, j)
	// and (j, i), so P stays exactly symmetric.
	inv := 1 / f.cfg.Lambda
	for i, a := range pi {
		row := f.p[i*d : i*d+d]
		if a == 0 && inv == 1 {
			continue
		}
		for j, b := range pi {
			row[j] = (row[j] - a*b*c) * inv
		}
	}
	return pred
}

// Examples returns the number of examples learned.
func (f *Filter) Examples() int64 { return f.t }

// Metrics returns the progressive MAE, RMSE and R².
func (f *Filter) Metrics() *metric.Set { return f.metrics }

// Merge folds in another Filter with the same Config, as if the receiver's
// stream had been followed by other's: in information form A = P⁻¹,
// b = Aw (A = λᵗδI + Σλ^(t−i)xxᵀ, b = Σλ^(t−i)xy),
//
//	A = λ^t_o·A_r + A_o − λ^t_o·δI,  b = λ^t_o·b_r + b_o
//
// which is exact in exact arithmetic (and symmetric in the two operands
// when λ = 1); it costs two d×d inversions. Example counts and metrics
// add up.
func (f *Filter) Merge(other models.Learner) error {
	o, ok := other.(*Filter)
	if !ok {
		return fmt.Errorf("rls: merge %T: %w", other, models.ErrIncompatible)
	}
	if f.cfg != o.cfg {
		return fmt.Errorf("rls: merge: %w: configs differ (%+v vs %+v)", models.ErrIncompatible, f.cfg, o.cfg)
	}
	d := f.cfg.Dim
	ar := append([]float64(nil), f.p...)
	ao := append([]float64(nil), o.p...)
	if err := mat.InverseSPD(ar, d, f.pi); err != nil {
		return fmt.Errorf("rls: merge: invert receiver's P: %w", err)
	}
	if err := mat.InverseSPD(ao, d, f.pi); err != nil {
		return fmt.Errorf("rls: merge: invert other's P: %w", err)
	}
	decay := math.Pow(f.cfg.Lambda, float64(o.t))
	b := make([]float64, d)
	for i := 0; i < d; i++ {
		var br, bo float64
		for j := 0; j < d; j++ {
			br += ar[i*d+j] * f.w[j]
			bo += ao[i*d+j] * o.w[j]
		}
		b[i] = decay*br + bo
	}
	for i := range ar {
		ar[i] = decay*ar[i] + ao[i]
	}
	for i := 0; i < d; i++ {
		ar[i*d+i] -= decay * f.cfg.Delta
	}
	if err := mat.InverseSPD(ar, d, f.pi); err != nil {
		return fmt.Errorf("rls: merge: invert merged information: %w", err)
	}
	for i := 0; i < d; i++ {
		var s float64
		for j := 0; j < d; j++ {
			s += ar[i*d+j] * b[j]
		}
		f.w[i] = s
	}
	copy(f.p, ar)
	f.t += o.t
	return f.metrics.Merge(o.metrics)
}

// MarshalBinary returns a snapshot: config, example count, w, the upper
// triangle of P and the metrics.
func (f *Filter) MarshalBinary() ([]byte, error) {
	mb, err := f.metrics.MarshalBinary()
	if err != nil {
		return nil, err
	}
	d := f.cfg.Dim
	e := codec.NewEncoder(codec.KindRLS, 40+len(mb)+8*d+4*d*(d+1))
	e.U32(uint32(d))
	e.F64(f.cfg.Lambda)
	e.F64(f.cfg.Delta)
	e.I64(f.t)
	e.F64s(f.w)
	e.UpperTriangle(f.p, d)
	e.Bytes(mb)
	return e.Finish(), nil
}

// UnmarshalBinary restores a snapshot written by MarshalBinary.
func (f *Filter) UnmarshalBinary(data []byte) error {
	d, err := codec.Open(data, codec.KindRLS)
	if err != nil {
		return fmt.Errorf("rls: decode snapshot: %w", err)
	}
	var c Config
	c.Dim = int(d.U32())
	c.Lambda, c.Delta = d.F64(), d.F64()
	if err := d.Err(); err != nil {
		return fmt.Errorf("rls: decode snapshot: %w", err)
	}
	if err := c.validate(); err != nil {
		return fmt.Errorf("rls: decode snapshot: %w: %v", codec.ErrCorrupt, err)
	}
	if err := codec.CheckElems(c.Dim * c.Dim); err != nil {
		return fmt.Errorf("rls: decode snapshot: %w", err)
	}
	if d.Remaining() < 8*c.Dim*(c.Dim+1)/2 {
		return fmt.Errorf("rls: decode snapshot: %w: P truncated", codec.ErrCorrupt)
	}
	n := alloc(c)
	n.t = d.Count()
	d.F64s(n.w)
	d.UpperTriangle(n.p, c.Dim, true)
	mb := d.Bytes()
	if err := d.Finish(); err != nil {
		return fmt.Errorf("rls: decode snapshot: %w", err)
	}
	if err := n.metrics.UnmarshalBinary(mb); err != nil {
		return fmt.Errorf("rls: decode snapshot: %w", err)
	}
	if n.metrics.Task() != metric.Regression {
		return fmt.Errorf("rls: decode snapshot: %w: classification metrics", codec.ErrCorrupt)
	}
	*f = *n
	return nil
}
