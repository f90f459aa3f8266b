// Package linear is the gradient-trained linear model shared by linreg and
// logreg: one weight per feature, trained by SGD, AdaGrad or normalized
// (scale-invariant) updates on the squared or logistic loss.
package linear

import (
	"fmt"
	"math"

	"github.com/pulse-analytics/pulse/models"
	"github.com/pulse-analytics/pulse/models/internal/codec"
	"github.com/pulse-analytics/pulse/models/internal/mathx"
	"github.com/pulse-analytics/pulse/models/metric"
)

// Loss is the training loss.
type Loss uint8

const (
	// Squared is ½(ŷ − y)², predicting ŷ = w·x.
	Squared Loss = 1
	// Logistic is the log loss, predicting p = σ(w·x) for y in {0, 1}.
	Logistic Loss = 2
)

// Optimizer selects the update rule; the values are stored in snapshots.
type Optimizer uint8

// Optimizers.
const (
	SGD        Optimizer = 0
	AdaGrad    Optimizer = 1
	Normalized Optimizer = 2
)

// Schedule is SGD's learning-rate schedule.
type Schedule uint8

// Schedules.
const (
	Constant Schedule = 0
	InvSqrt  Schedule = 1
)

// Params are the hyper-parameters.
type Params struct {
	Dim       int
	Optimizer Optimizer
	Schedule  Schedule
	Eta       float64
	L2        float64
	Epsilon   float64
	AUCWindow int // classification only
}

// Validate checks p.
func (p Params) Validate() error {
	switch {
	case p.Dim < 1 || p.Dim > models.MaxDim:
		return fmt.Errorf("Dim %d out of range [1, %d]", p.Dim, models.MaxDim)
	case p.Optimizer > Normalized:
		return fmt.Errorf("unknown Optimizer %d", p.Optimizer)
	case p.Schedule > InvSqrt:
		return fmt.Errorf("unknown Schedule %d", p.Schedule)
	case !(p.Eta > 0) || math.IsInf(p.Eta, 0):
		return fmt.Errorf("Eta %v must be positive and finite", p.Eta)
	case !(p.L2 >= 0) || math.IsInf(p.L2, 0):
		return fmt.Errorf("L2 %v must be non-negative and finite", p.L2)
	case !(p.Epsilon >= 0) || math.IsInf(p.Epsilon, 0):
		return fmt.Errorf("Epsilon %v must be non-negative and finite", p.Epsilon)
	case p.AUCWindow < 0 || p.AUCWindow > 1<<24:
		return fmt.Errorf("AUCWindow %d out of range [0, 2^24]", p.AUCWindow)
	}
	return nil
}

// Model is the learner's state.
type Model struct {
	P    Params
	Loss Loss
	W    []float64
	// S is AdaGrad's per-coordinate sum of squared gradients, or the
	// normalized update's per-coordinate largest |x| seen; nil for SGD.
	S []float64
	// T is the number of examples learned.
	T int64
	// N is the normalized update's running Σᵢ xᵢ²/sᵢ².
	N       float64
	Metrics *metric.Set
}

// New returns a zero model.
func New(p Params, loss Loss) *Model {
	m := &Model{P: p, Loss: loss, W: make([]float64, p.Dim)}
	if p.Optimizer != SGD {
		m.S = make([]float64, p.Dim)
	}
	if loss == Logistic {
		m.Metrics = metric.NewClassification(p.AUCWindow)
	} else {
		m.Metrics = metric.NewRegression()
	}
	return m
}

func (m *Model) link(margin float64) float64 {
	if m.Loss == Logistic {
		return mathx.Sigmoid(margin)
	}
	return margin
}

// Predict returns the prediction for x.
func (m *Model) Predict(x models.Vector) float64 {
	if m.P.Optimizer != Normalized {
		return m.link(x.Dot(m.W))
	}
	// The normalized update rescales a weight before predicting when its
	// feature exceeds the largest magnitude seen; do the same without
	// storing it, with the same operations as learn.
	var s float64
	for k, v := range x.Value {
		i := k
		if x.Index != nil {
			i = int(x.Index[k])
		}
		w, a := m.W[i], math.Abs(v)
		if si := m.S[i]; a > si {
			w = w * (si * si) / (a * a)
		}
		s += w * v
	}
	return m.link(s)
}

// Learn trains on (x, y) and returns the prediction made before the update.
func (m *Model) Learn(x models.Vector, y float64) float64 {
	if m.P.Optimizer == Normalized {
		return m.learnNormalized(x, y)
	}
	pred := m.link(x.Dot(m.W))
	m.T++
	dl := pred - y // derivative of the loss in the margin, for both losses
	w, l2 := m.W, m.P.L2
	switch m.P.Optimizer {
	case SGD:
		eta := m.P.Eta
		if m.P.Schedule == InvSqrt {
			eta /= math.Sqrt(float64(m.T))
		}
		if x.Index == nil {
			w := w[:len(x.Value)]
			for i, v := range x.Value {
				w[i] -= eta * (dl*v + l2*w[i])
			}
			break
		}
		idx := x.Index[:len(x.Value)]
		for k, v := range x.Value {
			i := idx[k]
			w[i] -= eta * (dl*v + l2*w[i])
		}
	case AdaGrad:
		eta, eps, s := m.P.Eta, m.P.Epsilon, m.S[:len(w)]
		if x.Index == nil {
			w, s := w[:len(x.Value)], s[:len(x.Value)]
			for i, v := range x.Value {
				if g := dl*v + l2*w[i]; g != 0 { // g = 0 changes nothing (and 0/0 if ε = 0)
					s[i] += g * g
					w[i] -= eta * g / (math.Sqrt(s[i]) + eps)
				}
			}
			break
		}
		idx := x.Index[:len(x.Value)]
		for k, v := range x.Value {
			i := idx[k]
			if g := dl*v + l2*w[i]; g != 0 {
				s[i] += g * g
				w[i] -= eta * g / (math.Sqrt(s[i]) + eps)
			}
		}
	}
	return pred
}

// learnNormalized is algorithm NG of Ross, Mineiro and Langford,
// "Normalized online learning" (UAI 2013).
func (m *Model) learnNormalized(x models.Vector, y float64) float64 {
	w, s := m.W, m.S
	var margin, norm float64
	for k, v := range x.Value {
		i := k
		if x.Index != nil {
			i = int(x.Index[k])
		}
		a := math.Abs(v)
		if si := s[i]; a > si {
			w[i] = w[i] * (si * si) / (a * a)
			s[i] = a
		}
		margin += w[i] * v
		if v != 0 {
			norm += (v * v) / (s[i] * s[i])
		}
	}
	pred := m.link(margin)
	m.T++
	m.N += norm
	if m.N == 0 {
		return pred // only zero features so far: nothing to learn
	}
	dl := pred - y
	rate := m.P.Eta * float64(m.T) / m.N
	for k, v := range x.Value {
		i := k
		if x.Index != nil {
			i = int(x.Index[k])
		}
		if si := s[i]; si != 0 {
			w[i] -= rate / (si * si) * (dl*v + m.P.L2*w[i])
		}
	}
	return pred
}

// Merge folds o into m: SGD and normalized weights are averaged weighted by
// example count (normalized scales take the maximum, N adds up),
// AdaGrad weights per coordinate by accumulated squared gradients (by
// example count where both are zero), whose sums are added.
func (m *Model) Merge(o *Model) error {
	if m.P != o.P || m.Loss != o.Loss {
		return fmt.Errorf("%w: hyper-parameters differ (%+v vs %+v)", models.ErrIncompatible, m.P, o.P)
	}
	ta, tb := float64(m.T), float64(o.T)
	ca, cb := 0.5, 0.5
	if ta+tb > 0 {
		ca, cb = ta/(ta+tb), tb/(ta+tb)
	}
	switch m.P.Optimizer {
	case SGD:
		for i := range m.W {
			m.W[i] = ca*m.W[i] + cb*o.W[i]
		}
	case AdaGrad:
		for i := range m.W {
			ga, gb := m.S[i], o.S[i]
			if ga+gb > 0 {
				m.W[i] = (ga*m.W[i] + gb*o.W[i]) / (ga + gb)
			} else {
				m.W[i] = ca*m.W[i] + cb*o.W[i]
			}
			m.S[i] = ga + gb
		}
	case Normalized:
		// Weights are in the features' own units, so they average as
		// they are; the scales take the larger. (Rescaling by the NG rule
		// first would shrink the shard that saw the smaller maximum.)
		for i := range m.W {
			m.W[i] = ca*m.W[i] + cb*o.W[i]
			m.S[i] = max(m.S[i], o.S[i])
		}
		m.N += o.N
	}
	m.T += o.T
	return m.Metrics.Merge(o.Metrics)
}

// Clone returns a deep copy.
func (m *Model) Clone() *Model {
	c := *m
	c.W = append([]float64(nil), m.W...)
	if m.S != nil {
		c.S = append([]float64(nil), m.S...)
	}
	c.Metrics = m.Metrics.Clone()
	return &c
}

// Marshal encodes m as a snapshot of the given kind.
func (m *Model) Marshal(kind codec.Kind) ([]byte, error) {
	mb, err := m.Metrics.MarshalBinary()
	if err != nil {
		return nil, err
	}
	e := codec.NewEncoder(kind, 64+len(mb)) // Columns grows it to the table's size
	e.U8(uint8(m.Loss))
	e.U32(uint32(m.P.Dim))
	e.U8(uint8(m.P.Optimizer))
	e.U8(uint8(m.P.Schedule))
	e.F64(m.P.Eta)
	e.F64(m.P.L2)
	e.F64(m.P.Epsilon)
	e.U32(uint32(m.P.AUCWindow))
	e.I64(m.T)
	e.F64(m.N)
	if m.S == nil {
		e.Columns(m.W)
	} else {
		e.Columns(m.W, m.S)
	}
	e.Bytes(mb)
	return e.Finish(), nil
}

// Unmarshal decodes a snapshot of the given kind and loss.
func Unmarshal(data []byte, kind codec.Kind, loss Loss) (*Model, error) {
	d, err := codec.Open(data, kind)
	if err != nil {
		return nil, err
	}
	if l := Loss(d.U8()); d.Err() == nil && l != loss {
		d.Fail("loss %d, want %d", l, loss)
	}
	var p Params
	p.Dim = int(d.U32())
	p.Optimizer = Optimizer(d.U8())
	p.Schedule = Schedule(d.U8())
	p.Eta, p.L2, p.Epsilon = d.F64(), d.F64(), d.F64()
	p.AUCWindow = int(d.U32())
	if err := d.Err(); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", codec.ErrCorrupt, err)
	}
	if loss != Logistic && p.AUCWindow != 0 {
		return nil, fmt.Errorf("%w: AUC window for a regressor", codec.ErrCorrupt)
	}
	if err := codec.CheckElems(2 * p.Dim); err != nil {
		return nil, err
	}
	m := New(p, loss)
	m.T, m.N = d.Count(), d.F64()
	if m.S == nil {
		d.Rows(p.Dim, 1, func(i, _ int, v float64) { m.W[i] = v })
	} else {
		d.Rows(p.Dim, 2, func(i, j int, v float64) {
			if j == 0 {
				m.W[i] = v
			} else {
				m.S[i] = v
			}
		})
	}
	mb := d.Bytes()
	if err := d.Finish(); err != nil {
		return nil, err
	}
	if err := m.Metrics.UnmarshalBinary(mb); err != nil {
		return nil, err
	}
	if want := m.Metrics.Task(); (loss == Logistic) != (want == metric.Classification) {
		return nil, fmt.Errorf("%w: metrics of task %d for loss %d", codec.ErrCorrupt, want, loss)
	}
	if m.Metrics.AUC != nil && m.Metrics.AUC.Window() != p.AUCWindow || m.Metrics.AUC == nil && p.AUCWindow != 0 && loss == Logistic {
		return nil, fmt.Errorf("%w: AUC window does not match AUCWindow %d", codec.ErrCorrupt, p.AUCWindow)
	}
	return m, nil
}
