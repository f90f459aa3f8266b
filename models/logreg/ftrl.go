// Package logreg is online logistic regression for labels y in {0, 1}:
// FTRL-Proximal (McMahan et al., "Ad click prediction: a view from the
// trenches", KDD 2013) with per-coordinate learning rates and L1/L2
// regularisation, and a Classifier trained by SGD, AdaGrad or normalized
// updates. Both predict the probability σ(w·x) = 1/(1 + e^(−w·x)).
package logreg

import (
	"fmt"
	"math"

	"github.com/pulse-analytics/pulse/models"
	"github.com/pulse-analytics/pulse/models/internal/codec"
	"github.com/pulse-analytics/pulse/models/internal/mathx"
	"github.com/pulse-analytics/pulse/models/metric"
)

func init() { codec.Register(codec.KindFTRL, func() any { return new(FTRL) }) }

// FTRLConfig holds FTRL-Proximal's hyper-parameters (the paper's names).
type FTRLConfig struct {
	Dim       int     // number of weights: d for dense input, 1<<bits for hashed
	Alpha     float64 // α > 0, scale of the per-coordinate learning rate α/(β + √nᵢ)
	Beta      float64 // β >= 0
	L1        float64 // λ₁ >= 0
	L2        float64 // λ₂ >= 0
	AUCWindow int     // progressive AUC over this many recent examples; 0: none
}

func (c FTRLConfig) validate() error {
	fin := func(v float64) bool { return !math.IsInf(v, 0) && !math.IsNaN(v) }
	switch {
	case c.Dim < 1 || c.Dim > models.MaxDim:
		return fmt.Errorf("Dim %d out of range [1, %d]", c.Dim, models.MaxDim)
	case !(c.Alpha > 0) || !fin(c.Alpha):
		return fmt.Errorf("Alpha %v must be positive and finite", c.Alpha)
	case !(c.Beta >= 0) || !fin(c.Beta), !(c.L1 >= 0) || !fin(c.L1), !(c.L2 >= 0) || !fin(c.L2):
		return fmt.Errorf("Beta %v, L1 %v and L2 %v must be non-negative and finite", c.Beta, c.L1, c.L2)
	case c.AUCWindow < 0 || c.AUCWindow > 1<<24:
		return fmt.Errorf("AUCWindow %d out of range [0, 2^24]", c.AUCWindow)
	}
	return nil
}

// coord is one coordinate's state, kept together so a sparse update
// touches one cache line per feature. sq = √n and w is the weight that
// (z, n) define; both are cached to save a square root and a division
// per feature on prediction.
type coord struct{ w, z, n, sq float64 }

// FTRL is FTRL-Proximal logistic regression. Per coordinate i it keeps
// zᵢ and nᵢ (the sum of squared gradients); the weight is
//
//	wᵢ = 0                                        if |zᵢ| <= λ₁
//	wᵢ = −(zᵢ − sgn(zᵢ)λ₁) / ((β + √nᵢ)/α + λ₂)   otherwise
//
// and learning (x, y) with p = σ(w·x), gᵢ = (p − y)xᵢ does
//
//	σᵢ = (√(nᵢ + gᵢ²) − √nᵢ)/α;  zᵢ += gᵢ − σᵢwᵢ;  nᵢ += gᵢ²
//
// for every feature present in x. Create it with NewFTRL or
// UnmarshalBinary.
type FTRL struct {
	cfg               FTRLConfig
	invAlpha, alphaL2 float64 // 1/α and αλ₂, derived from cfg
	c                 []coord
	t                 int64
	metrics           *metric.Set
}

var _ models.Learner = (*FTRL)(nil)

// NewFTRL returns an untrained FTRL-Proximal learner.
func NewFTRL(c FTRLConfig) (*FTRL, error) {
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("logreg: FTRL: %w", err)
	}
	return newFTRL(c), nil
}

func newFTRL(c FTRLConfig) *FTRL {
	return &FTRL{cfg: c, invAlpha: 1 / c.Alpha, alphaL2: c.Alpha * c.L2, c: make([]coord, c.Dim),
		metrics: metric.NewClassification(c.AUCWindow)}
}

// Config returns the hyper-parameters.
func (f *FTRL) Config() FTRLConfig { return f.cfg }

// Weight returns wᵢ.
func (f *FTRL) Weight(i int) float64 { return f.c[i].w }

// State returns zᵢ and nᵢ.
func (f *FTRL) State(i int) (z, n float64) { return f.c[i].z, f.c[i].n }

// weight is wᵢ as a function of (zᵢ, √nᵢ), written with one division:
// −(z − sgn(z)λ₁)/((β + √n)/α + λ₂) = −α(z − sgn(z)λ₁)/(β + √n + αλ₂).
func (f *FTRL) weight(z, sq float64) float64 {
	l1 := f.cfg.L1
	if math.Abs(z) <= l1 {
		return 0
	}
	if z < 0 {
		l1 = -l1
	}
	return f.cfg.Alpha * (l1 - z) / (f.cfg.Beta + sq + f.alphaL2)
}

func (f *FTRL) margin(x models.Vector) float64 {
	var s float64
	c := f.c
	if x.Index == nil {
		c = c[:len(x.Value)]
		for i, v := range x.Value {
			s += c[i].w * v
		}
		return s
	}
	idx := x.Index[:len(x.Value)]
	for k, v := range x.Value {
		s += c[idx[k]].w * v
	}
	return s
}

func sigmoid(m float64) float64 { return mathx.Sigmoid(m) }

// Predict returns the probability that x is positive.
func (f *FTRL) Predict(x models.Vector) float64 { return sigmoid(f.margin(x)) }

// Learn takes one FTRL-Proximal step on (x, y), y in {0, 1}.
func (f *FTRL) Learn(x models.Vector, y float64) { f.learn(x, y) }

// PredictLearn predicts x, records the prediction in Metrics, learns
// (x, y) and returns the prediction.
func (f *FTRL) PredictLearn(x models.Vector, y float64) float64 {
	p := f.learn(x, y)
	f.metrics.Update(y, p)
	return p
}

func (f *FTRL) learn(x models.Vector, y float64) float64 {
	p := sigmoid(f.margin(x))
	f.t++
	d := p - y
	if x.Index == nil {
		c := f.c[:len(x.Value)]
		for i, v := range x.Value {
			if g := d * v; g != 0 { // g = 0 changes nothing: skip
				f.step(&c[i], g)
			}
		}
		return p
	}
	idx := x.Index[:len(x.Value)]
	for k, v := range x.Value {
		if g := d * v; g != 0 {
			f.step(&f.c[idx[k]], g)
		}
	}
	return p
}

// step applies a non-zero gradient g to one coordinate.
func (f *FTRL) step(c *coord, g float64) {
	n := c.n + g*g
	sq := math.Sqrt(n)
	z := c.z + g - (sq-c.sq)*f.invAlpha*c.w
	c.z, c.n, c.sq = z, n, sq
	// c.w = f.weight(z, sq), inlined by hand.
	l1 := f.cfg.L1
	if math.Abs(z) <= l1 {
		c.w = 0
		return
	}
	if z < 0 {
		l1 = -l1
	}
	c.w = f.cfg.Alpha * (l1 - z) / (f.cfg.Beta + sq + f.alphaL2)
}

// Examples returns the number of examples learned.
func (f *FTRL) Examples() int64 { return f.t }

// Metrics returns the progressive log loss, accuracy and windowed AUC.
func (f *FTRL) Metrics() *metric.Set { return f.metrics }

// Merge folds in another FTRL with the same Config. Per coordinate the
// merged weight is the average of the two weights weighted by nᵢ (the
// accumulated squared gradients; by example count where both are zero),
// nᵢ is the sum, and zᵢ is the value that gives the merged weight under
// the merged nᵢ (0 when the weight is 0). Example counts and mergeable
// metrics add up.
func (f *FTRL) Merge(other models.Learner) error {
	o, ok := other.(*FTRL)
	if !ok {
		return fmt.Errorf("logreg: merge %T into FTRL: %w", other, models.ErrIncompatible)
	}
	if f.cfg != o.cfg {
		return fmt.Errorf("logreg: merge FTRL: %w: configs differ (%+v vs %+v)", models.ErrIncompatible, f.cfg, o.cfg)
	}
	ta, tb := float64(f.t), float64(o.t)
	ca, cb := 0.5, 0.5
	if ta+tb > 0 {
		ca, cb = ta/(ta+tb), tb/(ta+tb)
	}
	for i := range f.c {
		a, b := &f.c[i], &o.c[i]
		var w float64
		if s := a.n + b.n; s > 0 {
			w = (a.n*a.w + b.n*b.w) / s
		} else {
			w = ca*a.w + cb*b.w
		}
		a.n += b.n
		a.sq = math.Sqrt(a.n)
		a.z = 0
		if w != 0 {
			a.z = -w * (f.cfg.Beta + a.sq + f.alphaL2) * f.invAlpha
			if w > 0 {
				a.z -= f.cfg.L1
			} else {
				a.z += f.cfg.L1
			}
		}
		a.w = f.weight(a.z, a.sq) // keep w a function of (z, n), as decoding assumes
	}
	f.t += o.t
	return f.metrics.Merge(o.metrics)
}

// Clone returns a deep copy.
func (f *FTRL) Clone() *FTRL {
	c := *f
	c.c = append([]coord(nil), f.c...)
	c.metrics = f.metrics.Clone()
	return &c
}

// MarshalBinary returns a snapshot: the config, example count, (zᵢ, nᵢ)
// for the coordinates that have been updated, and the metrics.
func (f *FTRL) MarshalBinary() ([]byte, error) {
	mb, err := f.metrics.MarshalBinary()
	if err != nil {
		return nil, err
	}
	e := codec.NewEncoder(codec.KindFTRL, 64+len(mb))
	e.U32(uint32(f.cfg.Dim))
	e.F64(f.cfg.Alpha)
	e.F64(f.cfg.Beta)
	e.F64(f.cfg.L1)
	e.F64(f.cfg.L2)
	e.U32(uint32(f.cfg.AUCWindow))
	e.I64(f.t)
	e.Rows(len(f.c), 2, func(i, j int) float64 {
		if j == 0 {
			return f.c[i].z
		}
		return f.c[i].n
	})
	e.Bytes(mb)
	return e.Finish(), nil
}

// UnmarshalBinary restores a snapshot written by MarshalBinary.
func (f *FTRL) UnmarshalBinary(data []byte) error {
	d, err := codec.Open(data, codec.KindFTRL)
	if err != nil {
		return fmt.Errorf("logreg: decode FTRL snapshot: %w", err)
	}
	var c FTRLConfig
	c.Dim = int(d.U32())
	c.Alpha, c.Beta, c.L1, c.L2 = d.F64(), d.F64(), d.F64(), d.F64()
	c.AUCWindow = int(d.U32())
	if err := d.Err(); err != nil {
		return fmt.Errorf("logreg: decode FTRL snapshot: %w", err)
	}
	if err := c.validate(); err != nil {
		return fmt.Errorf("logreg: decode FTRL snapshot: %w: %v", codec.ErrCorrupt, err)
	}
	if err := codec.CheckElems(4 * c.Dim); err != nil {
		return fmt.Errorf("logreg: decode FTRL snapshot: %w", err)
	}
	n := newFTRL(c)
	n.t = d.Count()
	d.Rows(c.Dim, 2, func(i, j int, v float64) {
		if j == 0 {
			n.c[i].z = v
		} else if !(v >= 0) {
			d.Fail("negative n at %d", i)
		} else {
			n.c[i].n = v
		}
	})
	mb := d.Bytes()
	if err := d.Finish(); err != nil {
		return fmt.Errorf("logreg: decode FTRL snapshot: %w", err)
	}
	if err := n.metrics.UnmarshalBinary(mb); err != nil {
		return fmt.Errorf("logreg: decode FTRL snapshot: %w", err)
	}
	if n.metrics.Task() != metric.Classification || (n.metrics.AUC == nil) != (c.AUCWindow == 0) ||
		n.metrics.AUC != nil && n.metrics.AUC.Window() != c.AUCWindow {
		return fmt.Errorf("logreg: decode FTRL snapshot: %w: metrics do not match the config", codec.ErrCorrupt)
	}
	for i := range n.c {
		if cc := &n.c[i]; cc.n != 0 || cc.z != 0 {
			cc.sq = math.Sqrt(cc.n)
			cc.w = n.weight(cc.z, cc.sq)
		}
	}
	*f = *n
	return nil
}
