package logreg

import (
	"fmt"

	"github.com/pulse-analytics/pulse/models"
	"github.com/pulse-analytics/pulse/models/internal/codec"
	"github.com/pulse-analytics/pulse/models/internal/linear"
	"github.com/pulse-analytics/pulse/models/metric"
)

func init() { codec.Register(codec.KindLogReg, func() any { return new(Classifier) }) }

// Optimizer is the Classifier's update rule. Its values are stored in
// snapshots.
type Optimizer uint8

const (
	// SGD is w ← w − ηₜ·g with g = (p − y)x + λw and ηₜ set by Schedule.
	SGD Optimizer = 0
	// AdaGrad is Gᵢ ← Gᵢ + gᵢ², wᵢ ← wᵢ − η·gᵢ/(√Gᵢ + ε), per coordinate.
	AdaGrad Optimizer = 1
	// Normalized is algorithm NG of Ross, Mineiro and Langford (2013).
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

// Config holds a Classifier's hyper-parameters.
type Config struct {
	Dim       int       // number of weights: d for dense input, 1<<bits for hashed
	Optimizer Optimizer // zero value: SGD
	Schedule  Schedule  // SGD only; zero value: Constant
	Eta       float64   // learning rate, > 0
	L2        float64   // L2 regularisation strength, >= 0
	Epsilon   float64   // AdaGrad: added to √G, outside the root, >= 0
	AUCWindow int       // progressive AUC over this many recent examples; 0: none
}

// Classifier is logistic regression trained by SGD, AdaGrad or normalized
// updates. Create it with New or UnmarshalBinary.
type Classifier struct{ m *linear.Model }

var _ models.Learner = (*Classifier)(nil)

// New returns an untrained classifier.
func New(c Config) (*Classifier, error) {
	p := linear.Params{Dim: c.Dim, Optimizer: linear.Optimizer(c.Optimizer),
		Schedule: linear.Schedule(c.Schedule), Eta: c.Eta, L2: c.L2, Epsilon: c.Epsilon,
		AUCWindow: c.AUCWindow}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("logreg: %w", err)
	}
	return &Classifier{linear.New(p, linear.Logistic)}, nil
}

// Config returns the hyper-parameters.
func (c *Classifier) Config() Config {
	p := c.m.P
	return Config{p.Dim, Optimizer(p.Optimizer), Schedule(p.Schedule), p.Eta, p.L2, p.Epsilon, p.AUCWindow}
}

// Weights returns the weight vector. It aliases the model: do not modify.
func (c *Classifier) Weights() []float64 { return c.m.W }

// Predict returns the probability σ(w·x) that x is positive.
func (c *Classifier) Predict(x models.Vector) float64 { return c.m.Predict(x) }

// Learn takes one step on (x, y), y in {0, 1}.
func (c *Classifier) Learn(x models.Vector, y float64) { c.m.Learn(x, y) }

// PredictLearn predicts x, records the prediction in Metrics, learns
// (x, y) and returns the prediction.
func (c *Classifier) PredictLearn(x models.Vector, y float64) float64 {
	p := c.m.Learn(x, y)
	c.m.Metrics.Update(y, p)
	return p
}

// Examples returns the number of examples learned.
func (c *Classifier) Examples() int64 { return c.m.T }

// Metrics returns the progressive log loss, accuracy and windowed AUC.
func (c *Classifier) Metrics() *metric.Set { return c.m.Metrics }

// Merge folds in another Classifier with the same Config: SGD and
// normalized weights are averaged weighted by example count, AdaGrad
// weights per coordinate weighted by accumulated squared gradients (which
// add up), like Vowpal Wabbit's model merging. Example counts and
// mergeable metrics add up.
func (c *Classifier) Merge(other models.Learner) error {
	o, ok := other.(*Classifier)
	if !ok {
		return fmt.Errorf("logreg: merge %T: %w", other, models.ErrIncompatible)
	}
	if err := c.m.Merge(o.m); err != nil {
		return fmt.Errorf("logreg: merge: %w", err)
	}
	return nil
}

// Clone returns a deep copy.
func (c *Classifier) Clone() *Classifier { return &Classifier{c.m.Clone()} }

// MarshalBinary returns a snapshot of the whole classifier.
func (c *Classifier) MarshalBinary() ([]byte, error) { return c.m.Marshal(codec.KindLogReg) }

// UnmarshalBinary restores a snapshot written by MarshalBinary.
func (c *Classifier) UnmarshalBinary(data []byte) error {
	m, err := linear.Unmarshal(data, codec.KindLogReg, linear.Logistic)
	if err != nil {
		return fmt.Errorf("logreg: decode snapshot: %w", err)
	}
	c.m = m
	return nil
}
