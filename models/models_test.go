package models_test

import (
	"errors"
	"math"
	"testing"

	"github.com/pulse-analytics/pulse/models"
	"github.com/pulse-analytics/pulse/models/linreg"
	"github.com/pulse-analytics/pulse/models/logreg"
	"github.com/pulse-analytics/pulse/models/ols"
	"github.com/pulse-analytics/pulse/models/rls"
)

func TestVector(t *testing.T) {
	w := []float64{1, 2, 3, 4}
	tests := []struct {
		name string
		x    models.Vector
		dot  float64
		ok   bool
	}{
		{"dense", models.Dense([]float64{1, 1, 1}), 6, true},
		{"sparse repeated", models.Sparse([]uint32{3, 0, 3}, []float64{1, 2, 0.5}), 8, true},
		{"empty sparse", models.Sparse(nil, nil), 0, true},
		{"dense too long", models.Dense(make([]float64, 5)), 0, false},
		{"index out of range", models.Sparse([]uint32{4}, []float64{1}), 0, false},
		{"lengths differ", models.Vector{Index: []uint32{1, 2}, Value: []float64{1}}, 0, false},
	}
	for _, tt := range tests {
		if err := tt.x.Check(len(w)); (err == nil) != tt.ok {
			t.Errorf("%s: Check = %v", tt.name, err)
		}
		if tt.ok {
			if got := tt.x.Dot(w); got != tt.dot {
				t.Errorf("%s: Dot = %v, want %v", tt.name, got, tt.dot)
			}
		}
	}
	var x models.Vector
	for round := 0; round < 2; round++ {
		x.Reset()
		x.Append(2, 1.5)
		x.Append(0, -1)
		if x.IsDense() || x.Len() != 2 || x.Dot(w) != 3.5 {
			t.Errorf("round %d: %+v", round, x)
		}
	}
	if n := testing.AllocsPerRun(100, func() { x.Reset(); x.Append(1, 1); x.Append(2, 2) }); n != 0 {
		t.Errorf("Reset/Append allocate %v per vector", n)
	}
}

func snapshots(t *testing.T) map[string][]byte {
	t.Helper()
	f, _ := logreg.NewFTRL(logreg.FTRLConfig{Dim: 4, Alpha: 0.1, Beta: 1, AUCWindow: 3})
	c, _ := logreg.New(logreg.Config{Dim: 4, Optimizer: logreg.AdaGrad, Eta: 0.1})
	l, _ := linreg.New(linreg.Config{Dim: 4, Eta: 0.1})
	r, _ := rls.New(rls.Config{Dim: 4, Lambda: 1, Delta: 1})
	o, _ := ols.New(ols.Config{Dim: 4, Ridge: 1})
	out := map[string][]byte{}
	x := models.Sparse([]uint32{0, 2}, []float64{1, -1})
	for name, lr := range map[string]models.Learner{"ftrl": f, "logreg": c, "linreg": l, "rls": r, "ols": o} {
		lr.PredictLearn(x, 1)
		b, err := lr.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		out[name] = b
	}
	return out
}

func TestUnmarshalDispatch(t *testing.T) {
	want := map[string]string{"ftrl": "*logreg.FTRL", "logreg": "*logreg.Classifier", "linreg": "*linreg.Regressor",
		"rls": "*rls.Filter", "ols": "*ols.Regressor"}
	for name, b := range snapshots(t) {
		l, err := models.Unmarshal(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := typeName(l); got != want[name] {
			t.Errorf("%s decoded as %s", name, got)
		}
		if l.Examples() != 1 || l.Metrics().N() != 1 {
			t.Errorf("%s: examples %d", name, l.Examples())
		}
	}
}

func typeName(l models.Learner) string {
	switch l.(type) {
	case *logreg.FTRL:
		return "*logreg.FTRL"
	case *logreg.Classifier:
		return "*logreg.Classifier"
	case *linreg.Regressor:
		return "*linreg.Regressor"
	case *rls.Filter:
		return "*rls.Filter"
	case *ols.Regressor:
		return "*ols.Regressor"
	}
	return "?"
}

// TestCorruptSnapshots truncates each snapshot at every length and flips
// every bit of it: all must fail with ErrCorrupt, none may panic.
func TestCorruptSnapshots(t *testing.T) {
	for name, b := range snapshots(t) {
		for n := 0; n < len(b); n++ {
			if _, err := models.Unmarshal(b[:n]); !errors.Is(err, models.ErrCorrupt) {
				t.Fatalf("%s truncated to %d: err = %v", name, n, err)
			}
		}
		for i := 0; i < 8*len(b); i++ {
			c := append([]byte(nil), b...)
			c[i/8] ^= 1 << (i % 8)
			if _, err := models.Unmarshal(c); !errors.Is(err, models.ErrCorrupt) {
				t.Fatalf("%s with bit %d flipped: err = %v", name, i, err)
			}
		}
		if _, err := models.Unmarshal(append(b, 0)); err == nil {
			t.Errorf("%s with a trailing byte accepted", name)
		}
	}
	if _, err := models.Unmarshal([]byte("PLSM\x01\x00\xff\x00\x00\x00\x00\x00")); !errors.Is(err, models.ErrCorrupt) {
		t.Errorf("unknown kind: %v", err)
	}
}

func TestSnapshotFloatBits(t *testing.T) {
	// Weights like -0, subnormals and NaN survive a snapshot bit for bit.
	r, _ := linreg.New(linreg.Config{Dim: 3, Eta: 1})
	w := r.Weights()
	w[0], w[1], w[2] = math.Copysign(0, -1), 5e-324, math.NaN()
	b, _ := r.MarshalBinary()
	var s linreg.Regressor
	if err := s.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	for i := range w {
		if math.Float64bits(s.Weights()[i]) != math.Float64bits(w[i]) {
			t.Errorf("weight %d: %v, want %v", i, s.Weights()[i], w[i])
		}
	}
}
