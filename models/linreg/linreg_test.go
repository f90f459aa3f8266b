package linreg

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/pulse-analytics/pulse/models"
	"github.com/pulse-analytics/pulse/models/logreg"
)

// TestGolden checks one step of each rule by hand on x = (1, 2), y = 3,
// then x = (2, -1), y = 0 (Eta 0.1, L2 0.5 where set).
func TestGolden(t *testing.T) {
	x1, x2 := models.Dense([]float64{1, 2}), models.Dense([]float64{2, -1})
	tests := []struct {
		name string
		cfg  Config
		w    []float64 // weights after the first example
		p2   float64   // prediction for x2
	}{
		// g = (0−3)(1, 2) = (−3, −6); w = −0.1g.
		{"SGD", Config{Dim: 2, Eta: 0.1}, []float64{0.3, 0.6}, 0},
		{"SGD L2", Config{Dim: 2, Eta: 0.1, L2: 0.5}, []float64{0.3, 0.6}, 0},
		// t = 1: same first step; second step's rate is 0.1/√2.
		{"SGD 1/sqrt(t)", Config{Dim: 2, Eta: 0.1, Schedule: InvSqrt}, []float64{0.3, 0.6}, 0},
		// G = (9, 36): w = −0.1·g/√G = (0.1, 0.1).
		{"AdaGrad", Config{Dim: 2, Optimizer: AdaGrad, Eta: 0.1}, []float64{0.1, 0.1}, 0.1},
		// s = (1, 2), N = 2, t = 1: w = −0.1·(1/2)·g/s² = (0.15, 0.075).
		{"Normalized", Config{Dim: 2, Optimizer: Normalized, Eta: 0.1}, []float64{0.15, 0.075}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if p := r.PredictLearn(x1, 3); p != 0 {
				t.Fatalf("first prediction %v", p)
			}
			for i, w := range tt.w {
				if math.Abs(r.Weights()[i]-w) > 1e-15 {
					t.Errorf("w = %v, want %v", r.Weights(), tt.w)
				}
			}
			p2 := r.Predict(x2)
			want := 2*tt.w[0] - tt.w[1]
			if tt.cfg.Optimizer == Normalized {
				// x2 raises s₀ to 2: w₀ is rescaled by (1/2)² before predicting.
				want = 2*tt.w[0]/4 - tt.w[1]
			}
			if math.Abs(p2-want) > 1e-15 {
				t.Errorf("second prediction %v, want %v", p2, want)
			}
			r.PredictLearn(x2, 0)
			if tt.cfg.L2 > 0 {
				// g = p2·x2 + λw
				g0 := p2*2 + 0.5*tt.w[0]
				if got := r.Weights()[0]; math.Abs(got-(tt.w[0]-0.1*g0)) > 1e-15 {
					t.Errorf("L2 step: w0 = %v, want %v", got, tt.w[0]-0.1*g0)
				}
			}
			if tt.cfg.Schedule == InvSqrt {
				g0 := p2 * 2
				if got := r.Weights()[0]; math.Abs(got-(tt.w[0]-0.1/math.Sqrt2*g0)) > 1e-15 {
					t.Errorf("1/√t step: w0 = %v", got)
				}
			}
		})
	}
}

// TestNormalizedScaleInvariant: multiplying a feature by 1000 must leave the
// normalized learner's predictions unchanged (up to rounding), while plain
// SGD diverges.
func TestNormalizedScaleInvariant(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	a, _ := New(Config{Dim: 3, Optimizer: Normalized, Eta: 0.5})
	b, _ := New(Config{Dim: 3, Optimizer: Normalized, Eta: 0.5})
	for i := 0; i < 2000; i++ {
		x := []float64{r.NormFloat64(), r.NormFloat64(), 1}
		y := 2*x[0] - x[1] + 0.5 + 0.01*r.NormFloat64()
		pa := a.PredictLearn(models.Dense(x), y)
		x[0] *= 1000
		pb := b.PredictLearn(models.Dense(x), y)
		if math.Abs(pa-pb) > 1e-9*(1+math.Abs(pa)) {
			t.Fatalf("example %d: %v vs %v", i, pa, pb)
		}
	}
	if rmse := a.Metrics().RMSE.Value(); !(rmse < 0.3) {
		t.Errorf("progressive RMSE %v", rmse)
	}
	for j, w := range []float64{2, -1, 0.5} {
		if got := a.Weights()[j]; math.Abs(got-w) > 0.05 {
			t.Errorf("w = %v, want ≈ (2, -1, 0.5)", a.Weights())
		}
	}
}

func TestLearnsAndMerges(t *testing.T) {
	truth := []float64{1, -2, 0.5, 3}
	cfgs := map[string]Config{
		"SGD":        {Dim: 4, Eta: 0.02},
		"InvSqrt":    {Dim: 4, Eta: 0.05, Schedule: InvSqrt},
		"AdaGrad":    {Dim: 4, Optimizer: AdaGrad, Eta: 0.5, Epsilon: 1e-8},
		"Normalized": {Dim: 4, Optimizer: Normalized, Eta: 1},
	}
	for name, cfg := range cfgs {
		r := rand.New(rand.NewPCG(5, 5))
		a, _ := New(cfg)
		b, _ := New(cfg)
		for i := 0; i < 4000; i++ {
			x := make([]float64, 4)
			for j := range x {
				x[j] = r.NormFloat64()
			}
			y := models.Dense(x).Dot(truth) + 0.1*r.NormFloat64()
			if i%2 == 0 {
				a.PredictLearn(models.Dense(x), y)
			} else {
				b.PredictLearn(models.Dense(x), y)
			}
		}
		if err := a.Merge(b); err != nil {
			t.Fatal(err)
		}
		for j, w := range a.Weights() {
			if math.Abs(w-truth[j]) > 0.15 {
				t.Errorf("%s: merged weights %v, want ≈ %v", name, a.Weights(), truth)
				break
			}
		}
		if a.Examples() != 4000 || a.Metrics().N() != 4000 {
			t.Errorf("%s: examples %d", name, a.Examples())
		}
	}
	a, _ := New(cfgs["SGD"])
	c, _ := logreg.New(logreg.Config{Dim: 4, Eta: 0.02})
	if err := a.Merge(c); !errors.Is(err, models.ErrIncompatible) {
		t.Errorf("merge of a classifier: %v", err)
	}
}

func TestResumeBitIdentical(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	for _, cfg := range []Config{{Dim: 50, Eta: 0.05, L2: 0.01, Schedule: InvSqrt}, {Dim: 50, Optimizer: AdaGrad, Eta: 0.1},
		{Dim: 50, Optimizer: Normalized, Eta: 0.1}} {
		a, _ := New(cfg)
		var b models.Learner
		b, _ = New(cfg)
		for i := 0; i < 500; i++ {
			idx := []uint32{uint32(r.IntN(50)), uint32(r.IntN(50)), uint32(r.IntN(50))}
			val := []float64{r.NormFloat64() * 10, r.NormFloat64(), 1}
			x := models.Sparse(idx, val)
			y := val[0]*0.1 - val[1]
			if i == 250 {
				s, _ := b.MarshalBinary()
				var err error
				if b, err = models.Unmarshal(s); err != nil {
					t.Fatal(err)
				}
			}
			if pa, pb := a.PredictLearn(x, y), b.PredictLearn(x, y); math.Float64bits(pa) != math.Float64bits(pb) {
				t.Fatalf("%+v: example %d: %v vs %v", cfg, i, pb, pa)
			}
		}
		sa, _ := a.MarshalBinary()
		sb, _ := b.MarshalBinary()
		if string(sa) != string(sb) {
			t.Errorf("%+v: final snapshots differ", cfg)
		}
	}
}
