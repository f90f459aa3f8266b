// Package linreg is online linear regression on the squared loss
// ½(w·x − y)², trained by SGD (constant or 1/√t learning rate), AdaGrad or
// normalized (scale-invariant) updates, with optional L2 regularisation.
//
// The L2 term λ‖w‖²/2 is applied to the coordinates present in each
// example (all of them for a dense vector), as in Vowpal Wabbit and River.
package linreg

import (
	"fmt"

	"github.com/pulse-analytics/pulse/models"
	"github.com/pulse-analytics/pulse/models/internal/codec"
	"github.com/pulse-analytics/pulse/models/internal/linear"
	"github.com/pulse-analytics/pulse/models/metric"
)

func init() { codec.Register(codec.KindLinReg, func() any { return new(Regressor) }) }

// Optimizer is the update rule. Its values are stored in snapshots.
type Optimizer uint8

const (
	// SGD is w ← w − ηₜ·g with g = (ŷ − y)x + λw and ηₜ set by Schedule.
	SGD Optimizer = 0
	// AdaGrad is Gᵢ ← Gᵢ + gᵢ², wᵢ ← wᵢ − η·gᵢ/(√Gᵢ + ε), per coordinate.
	AdaGrad Optimizer = 1
	// Normalized is algorithm NG of Ross, Mineiro and Langford (2013):
	// SGD made invariant to the scale of each feature, by keeping the
	// largest |xᵢ| seen and rescaling the step per coordinate.
	Normalized Optimizer = 2
)

// Schedule is SGD's learning-rate schedule.
type Schedule uint8

const (
	// Constant uses ηₜ = Eta.
	Constant Schedule = 0
	// InvSqrt uses ηₜ = Eta/√t, t counting examples from 1.
	InvSqrt Schedule = 1
)

// Config holds the hyper-parameters.
type Config struct {
	Dim       int       // number of weights: d for dense input, 1<<bits for hashed
	Optimizer Optimizer // zero value: SGD
	Schedule  Schedule  // SGD only; zero value: Constant
	Eta       float64   // learning rate, > 0
	L2        float64   // L2 regularisation strength, >= 0
	Epsilon   float64   // AdaGrad: added to √G, outside the root, >= 0
}

// Regressor is an online linear regressor. Create it with New or
// UnmarshalBinary.
type Regressor struct{ m *linear.Model }

var _ models.Learner = (*Regressor)(nil)

// New returns an untrained regressor.
func New(c Config) (*Regressor, error) {
	p := params(c)
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("linreg: %w", err)
	}
	return &Regressor{linear.New(p, linear.Squared)}, nil
}

func params(c Config) linear.Params {
	return linear.Params{Dim: c.Dim, Optimizer: linear.Optimizer(c.Optimizer),
		Schedule: linear.Schedule(c.Schedule), Eta: c.Eta, L2: c.L2, Epsilon: c.Epsilon}
}

// Config returns the hyper-parameters.
func (r *Regressor) Config() Config {
	p := r.m.P
	return Config{p.Dim, Optimizer(p.Optimizer), Schedule(p.Schedule), p.Eta, p.L2, p.Epsilon}
}

// Weights returns the weight vector. It aliases the model: do not modify.
func (r *Regressor) Weights() []float64 { return r.m.W }

// Predict returns w·x.
func (r *Regressor) Predict(x models.Vector) float64 { return r.m.Predict(x) }

// Learn takes one gradient step on (x, y).
func (r *Regressor) Learn(x models.Vector, y float64) { r.m.Learn(x, y) }

// PredictLearn predicts x, records the prediction in Metrics, learns
// (x, y) and returns the prediction.
func (r *Regressor) PredictLearn(x models.Vector, y float64) float64 {
	p := r.m.Learn(x, y)
	r.m.Metrics.Update(y, p)
	return p
}

// Examples returns the number of examples learned.
func (r *Regressor) Examples() int64 { return r.m.T }

// Metrics returns the progressive MAE, RMSE and R².
func (r *Regressor) Metrics() *metric.Set { return r.m.Metrics }

// Merge folds in another Regressor with the same Config: SGD and normalized
// weights are averaged weighted by example count, AdaGrad weights per
// coordinate weighted by accumulated squared gradients (which add up), like
// Vowpal Wabbit's model merging. Example counts and metrics add up.
func (r *Regressor) Merge(other models.Learner) error {
	o, ok := other.(*Regressor)
	if !ok {
		return fmt.Errorf("linreg: merge %T: %w", other, models.ErrIncompatible)
	}
	if err := r.m.Merge(o.m); err != nil {
		return fmt.Errorf("linreg: merge: %w", err)
	}
	return nil
}

// Clone returns a deep copy.
func (r *Regressor) Clone() *Regressor { return &Regressor{r.m.Clone()} }

// MarshalBinary returns a snapshot of the whole regressor.
func (r *Regressor) MarshalBinary() ([]byte, error) { return r.m.Marshal(codec.KindLinReg) }

// UnmarshalBinary restores a snapshot written by MarshalBinary.
func (r *Regressor) UnmarshalBinary(data []byte) error {
	m, err := linear.Unmarshal(data, codec.KindLinReg, linear.Squared)
	if err != nil {
		return fmt.Errorf("linreg: decode snapshot: %w", err)
	}
	r.m = m
	return nil
}
