// Package ols is exact ordinary (or ridge) least squares from sufficient
// statistics: it keeps A = Σxxᵀ, b = Σxy and n, and solves
// (A + ridge·I)w = b by Cholesky factorisation. The statistics are sums, so
// merging the statistics of any partition of the data (bundles, shards,
// keys) gives the fit of the whole, up to floating-point rounding.
//
// There is no implicit intercept: add a constant feature for one.
package ols

import (
	"fmt"
	"math"

	"github.com/pulse-analytics/pulse/models"
	"github.com/pulse-analytics/pulse/models/internal/codec"
	"github.com/pulse-analytics/pulse/models/internal/mat"
	"github.com/pulse-analytics/pulse/models/metric"
)

func init() { codec.Register(codec.KindOLS, func() any { return new(Regressor) }) }

// MaxDim is the largest Dim OLS accepts (A has Dim² entries).
const MaxDim = 4096

// Config holds the hyper-parameters.
type Config struct {
	Dim   int     // number of features, at most MaxDim
	Ridge float64 // ridge penalty >= 0 added to A's diagonal when solving
}

func (c Config) validate() error {
	switch {
	case c.Dim < 1 || c.Dim > MaxDim:
		return fmt.Errorf("Dim %d out of range [1, %d]", c.Dim, MaxDim)
	case !(c.Ridge >= 0) || math.IsInf(c.Ridge, 0):
		return fmt.Errorf("Ridge %v must be non-negative and finite", c.Ridge)
	}
	return nil
}

// Regressor accumulates least-squares statistics and solves them lazily:
// Predict re-solves when examples arrived since the last solve, so a
// Predict after each Learn costs one O(d³) Cholesky. Create it with New or
// UnmarshalBinary.
type Regressor struct {
	cfg     Config
	a       []float64 // Σxxᵀ, row-major; only the upper triangle is kept
	b       []float64 // Σxy
	n       int64
	w       []float64 // last successful solution
	stale   bool      // statistics changed since w was solved
	l       []float64 // scratch: Cholesky factor
	sol     []float64 // scratch: solution
	metrics *metric.Set
}

var _ models.Learner = (*Regressor)(nil)

// New returns an empty regressor; it predicts 0 until it can solve.
func New(c Config) (*Regressor, error) {
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("ols: %w", err)
	}
	return alloc(c), nil
}

func alloc(c Config) *Regressor {
	d := c.Dim
	return &Regressor{cfg: c, a: make([]float64, d*d), b: make([]float64, d), w: make([]float64, d),
		l: make([]float64, d*d), sol: make([]float64, d), metrics: metric.NewRegression()}
}

// Config returns the hyper-parameters.
func (r *Regressor) Config() Config { return r.cfg }

// Learn adds (x, y) to the statistics.
func (r *Regressor) Learn(x models.Vector, y float64) {
	d := r.cfg.Dim
	r.n++
	r.stale = true
	if x.Index == nil {
		for i, u := range x.Value {
			if u == 0 {
				continue
			}
			r.b[i] += u * y
			row := r.a[i*d : i*d+len(x.Value)]
			for j := i; j < len(row); j++ {
				row[j] += u * x.Value[j]
			}
		}
		return
	}
	// Every ordered pair lands once in the upper triangle, so repeated
	// indices count as the sum of their values, as in a dense vector.
	for p, i := range x.Index {
		u := x.Value[p]
		r.b[i] += u * y
		for q, j := range x.Index {
			if i <= j {
				r.a[int(i)*d+int(j)] += u * x.Value[q]
			}
		}
	}
}

// Solve solves the statistics and returns the coefficients, which alias
// the regressor. On failure (fewer independent examples than features and
// no ridge) it returns an error and keeps the previous coefficients.
func (r *Regressor) Solve() ([]float64, error) {
	if !r.stale {
		return r.w, nil
	}
	d := r.cfg.Dim
	for i := 0; i < d; i++ { // lower triangle of L from the upper of A
		for j := 0; j <= i; j++ {
			r.l[i*d+j] = r.a[j*d+i]
		}
		r.l[i*d+i] += r.cfg.Ridge
	}
	if err := mat.Cholesky(r.l, d); err != nil {
		return r.w, fmt.Errorf("ols: solve %d examples: %w", r.n, err)
	}
	copy(r.sol, r.b)
	mat.SolveCholesky(r.l, d, r.sol)
	copy(r.w, r.sol)
	r.stale = false
	return r.w, nil
}

// Predict returns w·x, solving first if the statistics changed.
func (r *Regressor) Predict(x models.Vector) float64 {
	r.Solve() // on failure keep predicting with the last solution
	return x.Dot(r.w)
}

// PredictLearn predicts x, records the prediction in Metrics, learns
// (x, y) and returns the prediction.
func (r *Regressor) PredictLearn(x models.Vector, y float64) float64 {
	p := r.Predict(x)
	r.metrics.Update(y, p)
	r.Learn(x, y)
	return p
}

// Examples returns the number of examples learned.
func (r *Regressor) Examples() int64 { return r.n }

// Metrics returns the progressive MAE, RMSE and R².
func (r *Regressor) Metrics() *metric.Set { return r.metrics }

// Merge adds another Regressor's statistics (same Config): exact up to
// rounding, in any order. Metrics add up.
func (r *Regressor) Merge(other models.Learner) error {
	o, ok := other.(*Regressor)
	if !ok {
		return fmt.Errorf("ols: merge %T: %w", other, models.ErrIncompatible)
	}
	if r.cfg != o.cfg {
		return fmt.Errorf("ols: merge: %w: configs differ (%+v vs %+v)", models.ErrIncompatible, r.cfg, o.cfg)
	}
	for i, v := range o.a {
		r.a[i] += v
	}
	for i, v := range o.b {
		r.b[i] += v
	}
	r.n += o.n
	r.stale = true
	return r.metrics.Merge(o.metrics)
}

// MarshalBinary returns a snapshot: config, n, the upper triangle of A, b,
// the current coefficients and whether they are stale, and the metrics.
func (r *Regressor) MarshalBinary() ([]byte, error) {
	mb, err := r.metrics.MarshalBinary()
	if err != nil {
		return nil, err
	}
	d := r.cfg.Dim
	e := codec.NewEncoder(codec.KindOLS, 40+len(mb)+16*d+4*d*(d+1))
	e.U32(uint32(d))
	e.F64(r.cfg.Ridge)
	e.I64(r.n)
	e.Bool(r.stale)
	e.UpperTriangle(r.a, d)
	e.F64s(r.b)
	e.F64s(r.w)
	e.Bytes(mb)
	return e.Finish(), nil
}

// UnmarshalBinary restores a snapshot written by MarshalBinary.
func (r *Regressor) UnmarshalBinary(data []byte) error {
	d, err := codec.Open(data, codec.KindOLS)
	if err != nil {
		return fmt.Errorf("ols: decode snapshot: %w", err)
	}
	var c Config
	c.Dim = int(d.U32())
	c.Ridge = d.F64()
	if err := d.Err(); err != nil {
		return fmt.Errorf("ols: decode snapshot: %w", err)
	}
	if err := c.validate(); err != nil {
		return fmt.Errorf("ols: decode snapshot: %w: %v", codec.ErrCorrupt, err)
	}
	if err := codec.CheckElems(2 * c.Dim * c.Dim); err != nil {
		return fmt.Errorf("ols: decode snapshot: %w", err)
	}
	if d.Remaining() < 8*c.Dim*(c.Dim+1)/2 {
		return fmt.Errorf("ols: decode snapshot: %w: A truncated", codec.ErrCorrupt)
	}
	n := alloc(c)
	n.n = d.Count()
	n.stale = d.Bool()
	d.UpperTriangle(n.a, c.Dim, false)
	d.F64s(n.b)
	d.F64s(n.w)
	mb := d.Bytes()
	if err := d.Finish(); err != nil {
		return fmt.Errorf("ols: decode snapshot: %w", err)
	}
	if err := n.metrics.UnmarshalBinary(mb); err != nil {
		return fmt.Errorf("ols: decode snapshot: %w", err)
	}
	if n.metrics.Task() != metric.Regression {
		return fmt.Errorf("ols: decode snapshot: %w: classification metrics", codec.ErrCorrupt)
	}
	*r = *n
	return nil
}
